import { isIP } from 'node:net';
import { parseArgs } from 'node:util';
import { Route53Client } from '@aws-sdk/client-route-53';
import { SESClient } from '@aws-sdk/client-ses';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { DnsProber } from '../../lambda/adapters/dns/dkim-dns-prober';
import { type DnsEndpoint, DnsTransport } from '../../lambda/adapters/dns/dns-transport';
import { IdentitiesFileError, IdentitiesFileSource } from '../../lambda/adapters/identities-file';
import { Route53HostedZones } from '../../lambda/adapters/route53-hosted-zones';
import { SesRegionDirectory } from '../../lambda/adapters/ses-directory';
import { type CheckReport, checkDkim } from '../../lambda/check-dkim';
import { checkSesRegions } from '../../lambda/check-ses-regions';
import { type IdentityReport, QUIET_HEALTHS } from '../../lambda/domain/assess-identity';
import { renderJson, renderText } from '../../lambda/domain/render-report';
import { InvalidIdentityError, isRegionName } from '../../lambda/domain/ses-identity';

export const DEFAULT_RESOLVERS = ['1.1.1.1', '8.8.8.8', '9.9.9.9'];

export const USAGE = `Usage: npm run check -- [options]

Checks the DKIM records of every SES identity through public resolvers and every authoritative nameserver,
and its custom MAIL FROM domain (MX and SPF) and DMARC record.

  --region a,b               SES regions to read (default: AWS_REGION)
  --identities FILE          read identities from FILE (a JSON array of get-email-identity objects with
                             IdentityName and optional Region) instead of calling SES
  --resolvers h[:p],...      recursive resolvers (default: ${DEFAULT_RESOLVERS.join(',')})
  --authoritative-port N     port for every authoritative nameserver (default: 53)
  --timeout-ms N             timeout of one DNS attempt (default: 2000; 3 attempts)
  --ignore a,b               identities to leave out
  --ipv6                     also query nameservers over IPv6
  --no-route53               skip the Route 53 check (it runs when reading SES, never with --identities)
  --no-mail-from             skip the custom MAIL FROM check (SES's MAIL FROM status, MX and SPF records)
  --no-dmarc                 skip the DMARC check
  --json                     print the report as JSON
  --help                     show this help

Exit status: 0 every identity's DKIM, MAIL FROM and DMARC HEALTHY, PENDING or DISABLED (a DMARC p=none
is only noted); 1 anything else; 2 could not run.`;

/** A user mistake in flags or environment: printed as one line, exit 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export interface CheckIo {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  readonly colour: boolean;
  /** Columns to wrap text at (the terminal's width; 100 when not a terminal). */
  readonly width?: number;
  /** The clock hours left are measured against. @default Date.now */
  readonly now?: () => number;
}

export interface CheckCommandOptions {
  readonly regions: string[];
  readonly identitiesFile?: string;
  readonly resolvers: DnsEndpoint[];
  readonly authoritativePort: number;
  readonly timeoutMs: number;
  readonly ignore: string[];
  readonly ipv6: boolean;
  readonly route53: boolean;
  readonly mailFrom: boolean;
  readonly dmarc: boolean;
  readonly json: boolean;
  readonly help: boolean;
}

function integer(flag: string, value: string | undefined, min: number, max: number, fallback: number): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new UsageError(`${flag} must be a whole number from ${min} to ${max}, got "${value}"`);
  }
  return Number(value);
}

/** Parse `1.1.1.1`, `127.0.0.1:5300`, `[::1]:53` or `::1`. */
export function parseResolver(text: string): DnsEndpoint {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  let address = text;
  let port: string | undefined;
  if (bracketed) {
    address = bracketed[1] ?? '';
    port = bracketed[2];
  } else if (text.split(':').length === 2) {
    [address, port] = text.split(':') as [string, string];
  }
  if (!isIP(address)) {
    throw new UsageError(
      `--resolvers: "${text}" is not an IP address with an optional port (expected e.g. 1.1.1.1 or 127.0.0.1:5300 or [::1]:53)`,
    );
  }
  return { address, port: integer(`--resolvers port in "${text}"`, port, 1, 65_535, 53) };
}

function list(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** Options that take a number: `--timeout-ms -1` must reach the range check, not read as an unknown flag. */
const NUMERIC_OPTIONS = new Set(['--timeout-ms', '--authoritative-port']);

/** `--flag -1` → `--flag=-1` for numeric flags, so a negative number gets the range message. */
function joinNegativeNumbers(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const next = argv[i + 1];
    if (NUMERIC_OPTIONS.has(arg) && next !== undefined && /^-\d/.test(next)) {
      out.push(`${arg}=${next}`);
      i++;
    } else {
      out.push(arg);
    }
  }
  return out;
}

export function parseCheckArgs(argv: readonly string[], env: NodeJS.ProcessEnv): CheckCommandOptions {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: joinNegativeNumbers(argv),
      strict: true,
      allowPositionals: false,
      options: {
        region: { type: 'string' },
        identities: { type: 'string' },
        resolvers: { type: 'string' },
        'authoritative-port': { type: 'string' },
        'timeout-ms': { type: 'string' },
        ignore: { type: 'string' },
        ipv6: { type: 'boolean' },
        'no-route53': { type: 'boolean' },
        'no-mail-from': { type: 'boolean' },
        'no-dmarc': { type: 'boolean' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    throw new UsageError(`${(error as Error).message.split('\n')[0]} (see --help)`);
  }
  const regionText = (values.region as string | undefined) ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  const regions = list(regionText);
  for (const region of regions) {
    if (!isRegionName(region))
      throw new UsageError(`--region: "${region}" is not an AWS region name (expected e.g. eu-west-1)`);
  }
  if (values.resolvers !== undefined && list(values.resolvers as string).length === 0) {
    throw new UsageError('--resolvers needs at least one resolver address');
  }
  const resolvers = list((values.resolvers as string | undefined) ?? DEFAULT_RESOLVERS.join(',')).map(parseResolver);
  if (values.identities === '') throw new UsageError('--identities needs a file name');
  return {
    regions: [...new Set(regions)],
    identitiesFile: values.identities as string | undefined,
    resolvers,
    authoritativePort: integer(
      '--authoritative-port',
      values['authoritative-port'] as string | undefined,
      1,
      65_535,
      53,
    ),
    timeoutMs: integer('--timeout-ms', values['timeout-ms'] as string | undefined, 50, 60_000, 2000),
    ignore: list(values.ignore as string | undefined),
    ipv6: values.ipv6 === true,
    route53: values['no-route53'] !== true,
    mailFrom: values['no-mail-from'] !== true,
    dmarc: values['no-dmarc'] !== true,
    json: values.json === true,
    help: values.help === true,
  };
}

/** Every resolver must answer something (even REFUSED) before a run means anything. */
async function preflightResolvers(transport: DnsTransport, resolvers: readonly DnsEndpoint[]): Promise<void> {
  const results = await Promise.all(
    resolvers.map((r) => transport.query(r, { name: '.', type: 'NS', recursionDesired: true })),
  );
  results.forEach((result, i) => {
    if (!result.ok) {
      const r = resolvers[i] as DnsEndpoint;
      throw new UsageError(`resolver ${r.address}:${r.port} is unreachable (${result.detail}): check --resolvers`);
    }
  });
}

/** Whether a report needs someone: its DKIM, MAIL FROM or DMARC health (a DMARC `p=none` alone does not). */
export function needsAttention(report: IdentityReport): boolean {
  return [report.health, report.mailFrom?.health, report.dmarc?.health].some((h) => h && !QUIET_HEALTHS.has(h));
}

/** Run `check` and return the exit status. Never throws for a user's mistake. */
export async function runCheckCommand(argv: readonly string[], env: NodeJS.ProcessEnv, io: CheckIo): Promise<number> {
  try {
    const options = parseCheckArgs(argv, env);
    if (options.help) {
      io.out(USAGE);
      return 0;
    }
    const transport = new DnsTransport({ timeoutMs: options.timeoutMs });
    await preflightResolvers(transport, options.resolvers);
    const prober = new DnsProber(transport, {
      resolvers: options.resolvers,
      authoritativePort: options.authoritativePort,
      ipv6: options.ipv6,
    });
    const checks = { ignore: options.ignore, checkMailFrom: options.mailFrom, checkDmarc: options.dmarc };
    let report: CheckReport;
    if (options.identitiesFile) {
      report = await checkDkim(new IdentitiesFileSource(options.identitiesFile, options.regions[0]), prober, checks);
    } else {
      if (options.regions.length === 0)
        throw new UsageError('no region: pass --region eu-west-1 (or several, comma-separated) or set AWS_REGION');
      // Read as the scanner reads: v1 batches of 100 identities (DKIM and MAIL FROM), v2 only where v1
      // cannot answer, paced at SES's 1 request/s per region: about 20 s for 1,000 identities, not 1,000 s.
      // The pacing is ours: the SDK's own retries would add unpaced calls.
      const directories = options.regions.map(
        (region) =>
          new SesRegionDirectory({
            region,
            v1: new SESClient({ region, maxAttempts: 1 }),
            v2: new SESv2Client({ region, maxAttempts: 1 }),
          }),
      );
      // Route 53 needs the account's credentials, as SES does: it is checked when SES is read (read-only).
      const route53 = options.route53 ? new Route53HostedZones(new Route53Client({ region: 'us-east-1' })) : undefined;
      report = await checkSesRegions(directories, prober, { ...checks, route53, now: io.now });
    }
    transport.close();
    if (report.identities.length === 0 && report.errors.length > 0 && report.errors.every((e) => !e.identity)) {
      throw new UsageError(report.errors.map((e) => `${e.region}: ${e.message}`).join('; '));
    }
    const now = (io.now ?? Date.now)();
    io.out(
      options.json
        ? renderJson(report.identities, report.errors, now)
        : renderText(report.identities, report.errors, { colour: io.colour, width: io.width, now }),
    );
    const quiet = report.errors.length === 0 && !report.identities.some(needsAttention);
    return quiet ? 0 : 1;
  } catch (error) {
    if (error instanceof UsageError || error instanceof IdentitiesFileError || error instanceof InvalidIdentityError) {
      io.err(`check: ${error.message}`);
      return 2;
    }
    throw error;
  }
}
