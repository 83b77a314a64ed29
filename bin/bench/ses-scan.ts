/**
 * `npm run bench -- --ses N`: one scheduled run of the real scanner (discovery, DNS probing, lifecycle)
 * over N identities in one region behind mocked SES clients that allow one request per second on a
 * simulated clock, with the fleet's DNS on loopback. The identities are mostly Easy DKIM SUCCESS, plus
 * BYODKIM, failing, pending and email-address identities. Prints
 * `ses-scan: N identities, C SES calls, T simulated s, D dropped` and fails when D > 0 or T > 300.
 */
import { performance } from 'node:perf_hooks';
import { DnsProber } from '../../lambda/adapters/dns/dkim-dns-prober';
import { DnsTransport } from '../../lambda/adapters/dns/dns-transport';
import { SesRegionDirectory } from '../../lambda/adapters/ses-directory';
import { DEFAULT_LIFECYCLE, type IdentityState } from '../../lambda/domain/lifecycle';
import type { CachedMailFrom, CachedSesAttributes } from '../../lambda/domain/ses-v1';
import type { AttributeCache, MailFromCache, RunFigures, ScanCursorStore, StateStore } from '../../lambda/ports';
import { StaleStateError } from '../../lambda/ports';
import { RenewingProbe } from '../../lambda/renewing-probe';
import { runScan } from '../../lambda/run-scan';
import { type FakeIdentity, FakeSesRegion, SimulatedClock } from './fake-ses';
import { fleetDomain, isByoDkimDomain } from './fleet';

/** The slowest a run may be (simulated seconds) before the benchmark fails; the goal is half of it. */
const MAX_SECONDS = 300;
const GOAL_SECONDS = 150;

/** The identity of fleet index i: domains, with a few of each other kind spread through the fleet. */
export function sesFleet(count: number): FakeIdentity[] {
  return Array.from({ length: count }, (_, i): FakeIdentity => {
    if (i < Math.min(20, count / 50)) return { name: `news@${fleetDomain(i)}`, kind: 'email' };
    if (isByoDkimDomain(i)) return { name: fleetDomain(i), kind: 'byodkim' };
    if (i % 2500 === 200) return { name: fleetDomain(i), kind: 'easy', status: 'TemporaryFailure' };
    if (i % 2500 === 300) return { name: fleetDomain(i), kind: 'easy', status: 'Pending' };
    return { name: fleetDomain(i), kind: 'easy' };
  });
}

/** The state table in memory (conditional on versions, like DynamoDbStateStore). */
class MemoryStateStore implements StateStore, AttributeCache, MailFromCache, ScanCursorStore {
  readonly states = new Map<string, IdentityState>();
  readonly attributes = new Map<string, CachedSesAttributes>();
  readonly mailFrom = new Map<string, CachedMailFrom>();
  writes = 0;
  async get(key: string) {
    return this.states.get(key);
  }
  async put(state: IdentityState) {
    if ((this.states.get(state.key)?.version ?? 0) !== state.version - 1) throw new StaleStateError(state.key);
    this.writes++;
    this.states.set(state.key, state);
  }
  async remove(key: string) {
    this.writes++;
    this.states.delete(key);
  }
  async list() {
    return [...this.states.values()];
  }
  async load() {
    return new Map(this.attributes);
  }
  async save(entry: CachedSesAttributes) {
    this.writes++;
    this.attributes.set(entry.name, entry);
  }
  async loadMailFrom() {
    return new Map(this.mailFrom);
  }
  async saveMailFrom(entry: CachedMailFrom) {
    this.writes++;
    this.mailFrom.set(entry.name, entry);
  }
  async removeMailFrom(_region: string, name: string) {
    this.writes++;
    this.mailFrom.delete(name);
  }
  async getCursor() {
    return undefined;
  }
  async putCursor() {
    this.writes++;
  }
}

/** Run the benchmark against the fleet DNS already listening on `port`; returns the exit code. */
export async function sesScanBench(count: number, port: number): Promise<number> {
  const clock = new SimulatedClock();
  const region = new FakeSesRegion('eu-west-1', sesFleet(count), clock);
  const transport = new DnsTransport({ timeoutMs: 2000 });
  const store = new MemoryStateStore();
  let figures: RunFigures | undefined;
  const startRss = process.memoryUsage().rss;
  let peakRss = startRss;
  let peakHeap = process.memoryUsage().heapUsed;
  const sampler = setInterval(() => {
    const m = process.memoryUsage();
    peakRss = Math.max(peakRss, m.rss);
    peakHeap = Math.max(peakHeap, m.heapUsed);
  }, 20);
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  const outcome = await runScan(
    {
      directories: [
        new SesRegionDirectory({
          region: 'eu-west-1',
          v1: region.v1,
          v2: region.v2,
          now: clock.now,
          sleep: clock.sleep,
        }),
      ],
      probe: new RenewingProbe(
        () =>
          new DnsProber(transport, {
            resolvers: [100, 101, 102].map((h) => ({ address: `127.0.54.${h}`, port })),
            authoritativePort: port,
          }),
      ),
      store,
      cache: store,
      mailFromCache: store,
      cursors: store,
      channels: [{ name: 'bench', send: async () => undefined }],
      metrics: {
        record: (f) => {
          figures = f;
        },
        recordSkipped: () => undefined,
      },
      logger: { info: () => undefined, warn: () => undefined, error: () => undefined },
      dnsQueries: () => transport.stats.queries,
      now: () => Date.parse('2026-11-23T00:00:00Z') + clock.now(),
      // A Lambda invocation's 15 minutes, on the simulated clock.
      remainingMs: () => 900_000 - clock.now(),
      invocationId: 'bench',
    },
    {
      lifecycle: { ...DEFAULT_LIFECYCLE, digestThreshold: 5, claimLeaseMs: 20 * 60_000 },
      regions: ['eu-west-1'],
      refreshPerRun: 20,
    },
  );
  const wallSeconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  clearInterval(sampler);
  transport.close();
  const seconds = clock.now() / 1000;
  const calls = region.calls.list + region.calls.dkim + region.calls.mailFrom + region.calls.get;
  // Dropped: neither checked nor reported as a discovery error (an error is reported, so not silent).
  const dropped = count - outcome.checked - outcome.errors.filter((e) => e.identity).length;
  const health = figures?.healthCounts ?? {};
  const lines = [
    `ses-scan: ${count} identities, ${calls} SES calls, ${seconds.toFixed(0)} simulated s, ${dropped} dropped`,
    `  SES calls           ${region.calls.list} ListIdentities, ${region.calls.dkim} GetIdentityDkimAttributes, ${region.calls.mailFrom} GetIdentityMailFromDomainAttributes, ${region.calls.get} GetEmailIdentity; ${region.calls.throttled} throttled`,
    `  checked             ${outcome.checked} (${Object.entries(health)
      .map(([h, n]) => `${h} ${n}`)
      .join(', ')}); ${outcome.notReached} not reached; ${outcome.errors.length} discovery errors`,
    `  state writes        ${store.writes} (lifecycle states and SES attribute cache)`,
    `  DNS                 ${transport.stats.queries} queries, ${transport.stats.timeouts} timeouts`,
    `  wall time           ${wallSeconds.toFixed(1)} s (DNS on loopback in real time; SES on the simulated clock)`,
    `  engine CPU          ${cpuSeconds.toFixed(1)} s (${((cpuSeconds / count) * 1000).toFixed(2)} s per 1,000 identities)`,
    `  peak memory         ${(peakRss / 1024 / 1024).toFixed(0)} MiB RSS (goal: under 256; ${(startRss / 1024 / 1024).toFixed(0)} MiB before the run), ${(peakHeap / 1024 / 1024).toFixed(0)} MiB heap`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  if (dropped > 0) {
    process.stderr.write(`bench: ${dropped} identities were neither checked nor reported\n`);
    return 1;
  }
  if (seconds > MAX_SECONDS) {
    process.stderr.write(`bench: ${seconds.toFixed(0)} simulated s is over ${MAX_SECONDS} (goal ${GOAL_SECONDS})\n`);
    return 1;
  }
  return 0;
}
