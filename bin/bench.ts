#!/usr/bin/env node
/**
 * The benchmarks (measured, not timed tests), against loopback DNS servers in a separate process:
 * - `npm run bench [-- --domains N]`: diagnoses a synthetic fleet (N domains, 3 Easy DKIM CNAMEs each, two
 *   authoritative servers each, the default three resolvers, one domain in 20 broken), prints identities/s,
 *   DNS queries/s, wall time and peak memory, then asks the same questions with `xargs -P16 dig` on the same
 *   servers and prints the ratio (`--dig-sample N|all`: how many of the questions dig asks, default 2,000,
 *   evenly spread; the rest extrapolated). Ceiling: 1,000 domains in under 20 s on 2 cores.
 * - `npm run bench -- --ses N`: one scheduled run over N identities of one region behind mocked SES that
 *   allows one request per second on a simulated clock (see bin/bench/ses-scan.ts).
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { DnsProber } from '../lambda/adapters/dns/dkim-dns-prober';
import { type DnsEndpoint, type DnsQuestion, DnsTransport } from '../lambda/adapters/dns/dns-transport';
import { checkDkim } from '../lambda/check-dkim';
import type { SesIdentity } from '../lambda/domain/ses-identity';
import { fleetDomain, fleetTokens, isBrokenDomain } from './bench/fleet';
import { sesScanBench } from './bench/ses-scan';

const CEILING_SECONDS_PER_1000 = 20;
const RESOLVERS = [100, 101, 102].map((h) => `127.0.54.${h}`);

function count(name: string, raw: string | undefined, max: number): number | string {
  const n = Number(raw);
  return Number.isInteger(n) && n >= 1 && n <= max
    ? n
    : `bench: --${name} must be a whole number from 1 to ${max}, got "${raw}"`;
}

/** Start the fleet's DNS process; resolves once it listens. */
async function startFleetDns(port: number, domains: number, broken: boolean) {
  const child = spawn(
    join(__dirname, '..', 'node_modules', '.bin', 'tsx'),
    [join(__dirname, 'bench', 'fleet-dns.ts'), String(port), String(domains), ...(broken ? ['broken'] : [])],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => (d.toString().includes('ready') ? resolve() : undefined));
    child.on('exit', (code) => reject(new Error(`the fleet's DNS process exited with ${code}`)));
  });
  return child;
}

/** Ask `questions` with `xargs -P16 dig`, one dig per question, and return the wall time in seconds. */
async function digTime(questions: readonly { endpoint: DnsEndpoint; question: DnsQuestion }[]): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'dkim-bench-'));
  try {
    const file = join(dir, 'questions');
    writeFileSync(
      file,
      questions
        .map(
          ({ endpoint, question }) =>
            `@${endpoint.address} -p ${endpoint.port} ${question.name} ${question.type} ${question.recursionDesired ? '+rec' : '+norec'} +tries=1 +time=2`,
        )
        .join('\n'),
    );
    const started = performance.now();
    await new Promise<void>((resolve, reject) =>
      execFile(
        'sh',
        ['-c', `xargs -P16 -L1 dig +noall +answer < ${file} > /dev/null`],
        { maxBuffer: 1 << 26 },
        (error) => (error ? reject(error) : resolve()),
      ),
    );
    return (performance.now() - started) / 1000;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Every `step`-th question, so dig's sample spreads over the whole run. */
function sample<T>(items: readonly T[], size: number): T[] {
  if (size >= items.length) return [...items];
  const step = items.length / size;
  return Array.from({ length: size }, (_, i) => items[Math.floor(i * step)] as T);
}

async function dnsBench(domains: number, port: number, digSample: number): Promise<number> {
  const identities: SesIdentity[] = Array.from({ length: domains }, (_, i) => ({
    name: fleetDomain(i),
    region: 'eu-west-1',
    type: 'DOMAIN',
    dkim: {
      signingEnabled: true,
      status: 'SUCCESS',
      tokens: fleetTokens(i),
      origin: 'AWS_SES',
      signingHostedZone: 'dkim.amazonses.com',
    },
  }));
  const transport = new DnsTransport({ timeoutMs: 2000 });
  // Every question the engine asks, for dig to ask again.
  const asked: { endpoint: DnsEndpoint; question: DnsQuestion }[] = [];
  const query = transport.query.bind(transport);
  transport.query = (endpoint, question, budget) => {
    asked.push({ endpoint, question });
    return query(endpoint, question, budget);
  };
  const prober = new DnsProber(transport, {
    resolvers: RESOLVERS.map((address) => ({ address, port })),
    authoritativePort: port,
  });
  let peakRss = process.memoryUsage().rss;
  let peakHeap = process.memoryUsage().heapUsed;
  const sampler = setInterval(() => {
    const m = process.memoryUsage();
    peakRss = Math.max(peakRss, m.rss);
    peakHeap = Math.max(peakHeap, m.heapUsed);
  }, 20);
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  const report = await checkDkim({ listIdentities: async () => ({ identities, errors: [] }) }, prober);
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  clearInterval(sampler);
  transport.close();
  const broken = identities.filter((_, i) => isBrokenDomain(i)).length;
  const healthy = report.identities.filter((r) => r.health === 'HEALTHY').length;
  const atRisk = report.identities.filter((r) => r.health === 'AT_RISK').length;
  // One dig process per question costs about 13 ms of CPU: a sample keeps the default run short.
  const digged = sample(asked, digSample);
  const digSampleSeconds = await digTime(digged);
  const digSeconds = (digSampleSeconds * asked.length) / digged.length;
  const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;
  const ceiling = (CEILING_SECONDS_PER_1000 * domains) / 1000;
  const lines = [
    `domains             ${domains} (3 records each, 2 authoritative servers each, ${RESOLVERS.length} resolvers, ${broken} broken)`,
    `healthy             ${healthy}/${domains - broken}; at risk ${atRisk}/${broken}`,
    `wall time           ${seconds.toFixed(2)} s (ceiling: ${ceiling.toFixed(0)} s)`,
    `identities/s        ${(domains / seconds).toFixed(0)}`,
    `engine CPU          ${((cpu.user + cpu.system) / 1e6).toFixed(2)} s`,
    `DNS queries         ${transport.stats.queries} (${(transport.stats.queries / seconds).toFixed(0)}/s; ${transport.stats.timeouts} timeouts, ${transport.stats.tcpFallbacks} over TCP)`,
    `peak memory         ${mib(peakRss)} RSS, ${mib(peakHeap)} heap (engine process only)`,
    `xargs -P16 dig      ${digSampleSeconds.toFixed(2)} s for ${digged.length} of the same ${asked.length} questions on the same servers${digged.length < asked.length ? ` (${digSeconds.toFixed(1)} s for all, extrapolated)` : ''}: the engine took ${(seconds / digSeconds).toFixed(3)}x dig's time`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  if (healthy !== domains - broken || atRisk !== broken) {
    process.stderr.write('bench: the synthetic domains were not diagnosed as built: the figures are not valid\n');
    return 1;
  }
  if (seconds > ceiling) {
    process.stderr.write(`bench: slower than the ceiling of ${ceiling.toFixed(0)} s\n`);
    return 1;
  }
  return 0;
}

async function main(): Promise<number> {
  // The pinned SDK warns about Node 20 on every client; the benchmark's output is its figures.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  const { values } = parseArgs({
    options: { domains: { type: 'string' }, ses: { type: 'string' }, 'dig-sample': { type: 'string' } },
  });
  const digSample =
    values['dig-sample'] === 'all'
      ? Number.POSITIVE_INFINITY
      : count('dig-sample', values['dig-sample'] ?? '2000', 1_000_000);
  const ses = values.ses === undefined ? undefined : count('ses', values.ses, 20_000);
  const domains = count('domains', values.domains ?? '1000', 20_000);
  for (const n of [ses, domains, digSample]) {
    if (typeof n === 'string') {
      process.stderr.write(`${n}\n`);
      return 2;
    }
  }
  const port = 20_000 + Math.floor(Math.random() * 40_000);
  const fleet = (ses ?? domains) as number;
  const child = await startFleetDns(port, fleet, ses === undefined);
  try {
    return ses === undefined ? await dnsBench(fleet, port, digSample as number) : await sesScanBench(fleet, port);
  } finally {
    child.kill('SIGTERM');
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`bench: ${(error as Error)?.stack ?? String(error)}\n`);
    process.exitCode = 2;
  },
);
