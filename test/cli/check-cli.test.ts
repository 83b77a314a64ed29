import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JsonReport } from '../../lambda/domain/render-report';
import { type DkimWorld, SIGNING_ZONE, startDkimWorld, TOKENS } from '../support/dkim-world';
import { runEntryPoint } from '../support/run-entry-point';

// The real entry point in a child process, against knotd + unbound on 127.0.21.x.
const SUBNET = '127.0.21';
const PORT = 15321;

const run = (args: string[], env: NodeJS.ProcessEnv = {}) => runEntryPoint('check', args, env);

const identity = (name: string, tokens: readonly string[], status = 'SUCCESS') => ({
  IdentityName: name,
  Region: 'eu-west-1',
  IdentityType: 'DOMAIN',
  VerificationStatus: status,
  DkimAttributes: {
    SigningEnabled: true,
    Status: status,
    Tokens: tokens,
    SigningAttributesOrigin: 'AWS_SES',
    SigningHostedZone: `${SIGNING_ZONE}.`,
  },
});

describe('npm run check (end to end)', () => {
  let world: DkimWorld;
  let dir: string;
  let dnsFlags: string[];
  const file = async (name: string, content: unknown) => {
    const path = join(dir, name);
    await writeFile(path, typeof content === 'string' ? content : JSON.stringify(content));
    return path;
  };

  beforeAll(async () => {
    world = await startDkimWorld(SUBNET, PORT);
    dir = await mkdtemp(join(tmpdir(), 'check-cli-'));
    dnsFlags = [
      '--resolvers',
      `${world.resolver.address}:${PORT}`,
      '--authoritative-port',
      String(PORT),
      '--timeout-ms',
      '300',
    ];
  });
  afterAll(async () => {
    await world?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('prints the JSON report and exits 1 when an identity needs attention', async () => {
    const identities = await file('mixed.json', [
      identity('good.test', TOKENS.good),
      identity('typo.test', TOKENS.typo),
      identity('slow.test', TOKENS.slow),
    ]);

    const { code, stdout, stderr } = await run(['--identities', identities, '--json', ...dnsFlags]);

    expect(stderr).toBe('');
    expect(code).toBe(1);
    const report = JSON.parse(stdout) as JsonReport;
    expect(report.identities.map((i) => [i.identity, i.region, i.health])).toEqual([
      ['typo.test', 'eu-west-1', 'AT_RISK'],
      ['slow.test', 'eu-west-1', 'UNKNOWN'],
      ['good.test', 'eu-west-1', 'HEALTHY'],
    ]);
    const mistyped = report.identities[0]?.records[2];
    expect(mistyped).toMatchObject({
      name: 'typotok3._domainkey.typo.test',
      type: 'CNAME',
      expected: `typotok3.${SIGNING_ZONE}`,
    });
    expect(mistyped?.findings.map((f) => f.code)).toEqual(['RECORD_MISMATCH']);
    expect(mistyped?.findings[0]).toEqual(
      expect.objectContaining({
        code: 'RECORD_MISMATCH',
        message: expect.any(String),
        servers: expect.any(Array),
        dig: expect.stringContaining('dig @'),
      }),
    );
    expect(mistyped?.answers[0]).toEqual({
      server: `ns1.typo.test (${SUBNET}.11:${PORT})`,
      view: 'authoritative',
      rcode: 'NOERROR',
      values: [`CNAME typotokx.${SIGNING_ZONE}`],
      verdict: 'MISMATCH',
    });
    const slow = report.identities[1];
    expect(slow?.records.flatMap((r) => r.findings.map((f) => f.code))).not.toContain('RECORD_MISSING');
    expect(report.errors).toEqual([]);
  });

  it('exits 0 with a readable table when every identity is healthy (or pending with correct records)', async () => {
    const identities = await file('good.json', [
      identity('good.test', TOKENS.good),
      { ...identity('good.test', TOKENS.good, 'PENDING'), Region: 'us-east-1' },
    ]);

    const { code, stdout } = await run(['--identities', identities, ...dnsFlags]);

    expect(code).toBe(0);
    expect(stdout).toContain('[ok] HEALTHY  good.test');
    expect(stdout).toContain('[..] PENDING  good.test');
    expect(stdout).toContain('ok on 2 nameservers and 1 resolver');
    expect(stdout).not.toContain('\u001b['); // no colour when not a terminal
  });

  it('exits 1 for a PENDING setup whose records are definitely wrong: SES will fail it after 72 hours', async () => {
    const identities = await file('pending.json', [identity('stale.test', TOKENS.stale, 'PENDING')]);

    const { code, stdout } = await run(['--identities', identities, ...dnsFlags]);

    expect(code).toBe(1);
    expect(stdout).toContain('AT_RISK  stale.test');
  });

  const usageErrors: [string, () => Promise<string[]>, RegExp][] = [
    ['an unknown flag', async () => ['--frobnicate'], /^check: Unknown option '--frobnicate'/],
    [
      'a bad port',
      async () => ['--authoritative-port', '99999'],
      /^check: --authoritative-port must be a whole number from 1 to 65535, got "99999"$/,
    ],
    [
      'a bad timeout',
      async () => ['--timeout-ms', 'soon'],
      /^check: --timeout-ms must be a whole number from 50 to 60000, got "soon"$/,
    ],
    [
      'a negative timeout',
      async () => ['--timeout-ms', '-1'],
      /^check: --timeout-ms must be a whole number from 50 to 60000, got "-1"$/,
    ],
    [
      'a negative port',
      async () => ['--authoritative-port', '-53'],
      /^check: --authoritative-port must be a whole number from 1 to 65535, got "-53"$/,
    ],
    [
      'a null item without --region (the item is wrong, not the region)',
      async () => ['--identities', await file('null.json', '[null]'), ...dnsFlags],
      /^check: .*null\.json item 1: expected a GetEmailIdentity object with IdentityName, got null$/,
    ],
    [
      'a bad resolver',
      async () => ['--resolvers', 'dns.google'],
      /^check: --resolvers: "dns.google" is not an IP address/,
    ],
    ['a bad region', async () => ['--region', 'Ireland'], /^check: --region: "Ireland" is not an AWS region name/],
    [
      'no region and no identities file',
      async () => ['--resolvers', `${SUBNET}.53:${PORT}`],
      /^check: no region: pass --region/,
    ],
    [
      'an unreachable resolver',
      async () => [
        '--identities',
        await file('one.json', [identity('good.test', TOKENS.good)]),
        '--resolvers',
        `${SUBNET}.99:${PORT}`,
        '--timeout-ms',
        '200',
      ],
      /^check: resolver 127\.0\.21\.99:15321 is unreachable \(.*\): check --resolvers$/,
    ],
    [
      'a missing identities file',
      async () => ['--identities', join(dir, 'nope.json'), ...dnsFlags],
      /^check: .*nope\.json: cannot read the identities file \(ENOENT\)$/,
    ],
    [
      'an identities file that is not JSON',
      async () => ['--identities', await file('broken.json', '[{"IdentityName": '), ...dnsFlags],
      /^check: .*broken\.json: not valid JSON/,
    ],
    [
      'an identities file that is an object',
      async () => ['--identities', await file('object.json', { IdentityName: 'a' }), ...dnsFlags],
      /expected a JSON array of GetEmailIdentity objects, got object$/,
    ],
    [
      'an identity with a bad status',
      async () => [
        '--identities',
        await file('status.json', [identity('good.test', TOKENS.good, 'VERIFIED')]),
        ...dnsFlags,
      ],
      /^check: .*status\.json item 1 \(good\.test\): DkimAttributes: Status must be one of PENDING, SUCCESS, FAILED, TEMPORARY_FAILURE, NOT_STARTED, got "VERIFIED"$/,
    ],
    [
      'an identity listed twice',
      async () => [
        '--identities',
        await file('twice.json', [identity('good.test', TOKENS.good), identity('GOOD.test', TOKENS.good)]),
        ...dnsFlags,
      ],
      /item 2: good\.test in eu-west-1 is listed twice$/,
    ],
  ];
  it.each(usageErrors)('exits 2 with one clear line for %s', async (_label, args, message) => {
    const { code, stdout, stderr } = await run(await args());

    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr.trim()).toMatch(message);
  });

  it('reads an identities file saved with a UTF-8 byte order mark', async () => {
    const identities = await file('bom.json', `\uFEFF${JSON.stringify([identity('good.test', TOKENS.good)])}`);

    const { code, stderr } = await run(['--identities', identities, ...dnsFlags]);

    expect(stderr).toBe('');
    expect(code).toBe(0);
  });

  it('accepts --no-route53 (Route 53 is never read with an identities file anyway)', async () => {
    const identities = await file('good-only.json', [identity('good.test', TOKENS.good)]);

    const { code, stdout } = await run(['--identities', identities, '--no-route53', ...dnsFlags]);

    expect(code).toBe(0);
    expect(stdout).not.toContain('ROUTE53');
  });

  it('checks MAIL FROM and DMARC too: a custom MAIL FROM domain without its MX exits 1; --no-mail-from and --no-dmarc leave them out', async () => {
    // Prepare: DKIM is fine; the MAIL FROM domain has no MX (nor SPF) in this world, and no DMARC record.
    const identities = await file('mail-from.json', [
      {
        ...identity('good.test', TOKENS.good),
        MailFromAttributes: {
          MailFromDomain: 'bounce.good.test',
          MailFromDomainStatus: 'SUCCESS',
          BehaviorOnMxFailure: 'USE_DEFAULT_VALUE',
        },
      },
    ]);

    // Act
    const all = await run(['--identities', identities, ...dnsFlags]);
    const json = await run(['--identities', identities, '--json', ...dnsFlags]);
    const noDmarc = await run(['--identities', identities, '--no-dmarc', ...dnsFlags]);
    const neither = await run(['--identities', identities, '--no-dmarc', '--no-mail-from', ...dnsFlags]);

    // Assess
    expect(all.code).toBe(1);
    expect(all.stdout).toContain('[ok] HEALTHY  good.test');
    expect(all.stdout).toMatch(/^ {4}MAIL FROM bounce\.good\.test: SES SUCCESS, USE_DEFAULT_VALUE, AT_RISK$/m);
    expect(all.stdout).toContain('MAIL_FROM_MX_MISSING');
    expect(all.stdout).toMatch(/^ {4}DMARC _dmarc\.good\.test no policy: HEALTHY$/m);
    expect(all.stdout).toContain('DMARC_MISSING');
    const report = JSON.parse(json.stdout) as JsonReport;
    expect(report.identities[0]).toMatchObject({
      health: 'HEALTHY',
      mailFrom: { domain: 'bounce.good.test', health: 'AT_RISK' },
      dmarc: { domain: 'good.test', health: 'HEALTHY' },
    });
    expect(noDmarc.code).toBe(1);
    expect(noDmarc.stdout).toContain('MAIL FROM bounce.good.test');
    expect(noDmarc.stdout).not.toContain('DMARC');
    expect(neither.code).toBe(0);
    expect(neither.stdout).not.toMatch(/MAIL FROM|DMARC/);
  });

  it('prints help and exits 0', async () => {
    const { code, stdout } = await run(['--help']);

    expect(code).toBe(0);
    expect(stdout).toContain('--authoritative-port N');
    expect(stdout).toContain('--no-mail-from');
    expect(stdout).toContain('--no-dmarc');
  });
});
