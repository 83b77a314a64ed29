#!/usr/bin/env node
/**
 * `npm run bench [-- --domains N]`: diagnoses a synthetic fleet (N domains, 3 Easy DKIM CNAMEs each, two
 * authoritative servers each, one resolver) against loopback servers in a separate process, and prints
 * identities/s, DNS queries/s, wall time and peak memory. Floor: 1,000 domains in under 20 s on 2 cores.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { DnsProber } from '../lambda/adapters/dns/dkim-dns-prober';
import { DnsTransport } from '../lambda/adapters/dns/dns-transport';
import { checkDkim } from '../lambda/check-dkim';
import type { SesIdentity } from '../lambda/domain/ses-identity';
import { fleetDomain, fleetTokens } from './bench/fleet';

const CEILING_SECONDS_PER_1000 = 20;

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { domains: { type: 'string', default: '1000' } } });
  const domains = Number(values.domains);
  if (!Number.isInteger(domains) || domains < 1 || domains > 20_000) {
    process.stderr.write(`bench: --domains must be a whole number from 1 to 20000, got "${values.domains}"\n`);
    return 2;
  }
  const port = 20_000 + Math.floor(Math.random() * 40_000);
  const child = spawn(
    join(__dirname, '..', 'node_modules', '.bin', 'tsx'),
    [join(__dirname, 'bench', 'fleet-dns.ts'), String(port), String(domains)],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  try {
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => (d.toString().includes('ready') ? resolve() : undefined));
      child.on('exit', (code) => reject(new Error(`the fleet's DNS process exited with ${code}`)));
    });
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
    const prober = new DnsProber(transport, {
      resolvers: [{ address: '127.0.54.100', port }],
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
    const report = await checkDkim({ listIdentities: async () => ({ identities, errors: [] }) }, prober);
    const seconds = (performance.now() - started) / 1000;
    clearInterval(sampler);
    const healthy = report.identities.filter((r) => r.health === 'HEALTHY').length;
    const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;
    const ceiling = (CEILING_SECONDS_PER_1000 * domains) / 1000;
    const lines = [
      `domains             ${domains} (3 records each, 2 authoritative servers each, 1 resolver)`,
      `healthy             ${healthy}/${domains}`,
      `wall time           ${seconds.toFixed(2)} s (ceiling: ${ceiling.toFixed(0)} s)`,
      `identities/s        ${(domains / seconds).toFixed(0)}`,
      `DNS queries         ${transport.stats.queries} (${(transport.stats.queries / seconds).toFixed(0)}/s; ${transport.stats.timeouts} timeouts, ${transport.stats.tcpFallbacks} over TCP)`,
      `peak memory         ${mib(peakRss)} RSS, ${mib(peakHeap)} heap (engine process only)`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
    if (healthy !== domains) {
      process.stderr.write('bench: not every synthetic domain was diagnosed HEALTHY: the figures are not valid\n');
      return 1;
    }
    if (seconds > ceiling) {
      process.stderr.write(`bench: slower than the ceiling of ${ceiling.toFixed(0)} s\n`);
      return 1;
    }
    return 0;
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
