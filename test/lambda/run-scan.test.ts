import { Metrics } from '@aws-lambda-powertools/metrics';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { easyTokens, type FakeIdentity, FakeSesRegion, SimulatedClock } from '../../bin/bench/fake-ses';
import { DynamoDbScanLedger, DynamoDbStateStore } from '../../lambda/adapters/dynamodb-state-store';
import { PowertoolsRunMetrics } from '../../lambda/adapters/run-metrics';
import { SesRegionDirectory } from '../../lambda/adapters/ses-directory';
import { DEFAULT_LIFECYCLE } from '../../lambda/domain/lifecycle';
import type { RenderedAlert } from '../../lambda/domain/render-alert';
import type { RunLogger } from '../../lambda/ports';
import { runScan } from '../../lambda/run-scan';
import { startDynalite } from '../support/dynalite';
import { FakeProbe } from '../support/fake-probe';

const settings = { ...DEFAULT_LIFECYCLE, digestThreshold: 50, claimLeaseMs: 20 * 60_000 };
const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };
const domains = (n: number) =>
  Array.from({ length: n }, (_, i): FakeIdentity => ({ name: `h${String(i).padStart(4, '0')}.example`, kind: 'easy' }));

describe('runScan: a whole run against dynalite, mocked SES and a DNS stand-in', () => {
  let db: Awaited<ReturnType<typeof startDynalite>>;
  let emf: Record<string, unknown>[];
  beforeAll(async () => {
    db = await startDynalite('run-scan-state');
  });
  afterAll(async () => {
    await db?.stop();
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });

  /** One run of the scanner's use case with real adapters for DynamoDB and metrics. */
  async function run(
    region: FakeSesRegion,
    clock: SimulatedClock,
    options: {
      probe?: FakeProbe;
      deadlineMs?: number;
      refreshPerRun?: number;
      invocationId: string;
      checkMailFrom?: boolean;
      checkDmarc?: boolean;
      logger?: RunLogger;
    },
  ) {
    const sent: RenderedAlert[] = [];
    emf = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      for (const line of String(chunk)
        .split('\n')
        .filter((l) => l.includes('"_aws"')))
        emf.push(JSON.parse(line));
      return true;
    });
    const ledger = new DynamoDbScanLedger(db.doc, db.tableName);
    const started = clock.now();
    const outcome = await runScan(
      {
        directories: [
          new SesRegionDirectory({
            region: region.region,
            v1: region.v1,
            v2: region.v2,
            now: clock.now,
            sleep: clock.sleep,
          }),
        ],
        probe: options.probe ?? new FakeProbe(),
        store: new DynamoDbStateStore(db.doc, db.tableName),
        cache: ledger,
        mailFromCache: ledger,
        cursors: ledger,
        lease: ledger,
        channels: [{ name: 'sns', send: async (alert) => void sent.push(alert) }],
        metrics: new PowertoolsRunMetrics(
          new Metrics({ namespace: 'SesDkimSentinel', serviceName: 'ses-dkim-sentinel' }),
          true,
        ),
        logger: options.logger ?? silent,
        dnsQueries: () => 0,
        now: () => Date.parse('2026-11-23T00:00:00Z') + clock.now(),
        remainingMs: () => (options.deadlineMs ?? 900_000) - (clock.now() - started),
        invocationId: options.invocationId,
      },
      {
        lifecycle: settings,
        regions: [region.region],
        refreshPerRun: options.refreshPerRun ?? 0,
        checkMailFrom: options.checkMailFrom,
        checkDmarc: options.checkDmarc,
      },
    );
    vi.restoreAllMocks();
    return { outcome, sent };
  }

  it('a healthy 1,000-identity fleet writes only the lease and where the MAIL FROM slice stands, and emits no per-identity metric', async () => {
    // Prepare
    const clock = new SimulatedClock();
    const region = new FakeSesRegion('eu-west-1', domains(1000), clock);
    const writes: string[] = [];
    const send = db.doc.send.bind(db.doc);

    // Act: two hourly runs, counting every DynamoDB write of the second (the steady state).
    await run(region, clock, { invocationId: 'run-1' });
    clock.advance(3_600_000);
    vi.spyOn(db.doc, 'send').mockImplementation(((command: { constructor: { name: string } }) => {
      if (/Put|Delete|Update/.test(command.constructor.name)) writes.push(command.constructor.name);
      return send(command as never);
    }) as never);
    const { outcome } = await run(region, clock, { invocationId: 'run-2' });

    // Assess
    expect(outcome).toMatchObject({ skipped: false, checked: 1000, needingAttention: 0, notReached: 0 });
    // The lease, taken and given back, and the MAIL FROM slice's position (one item a run, not per identity).
    expect(writes).toEqual(['PutCommand', 'PutCommand', 'DeleteCommand']);
    const dimensionSets = new Set(
      emf.flatMap((e) =>
        (e._aws as { CloudWatchMetrics: { Dimensions: string[][] }[] }).CloudWatchMetrics.flatMap((m) =>
          m.Dimensions.map((d) => d.map((name) => `${name}=${e[name]}`).join(',')),
        ),
      ),
    );
    expect([...dimensionSets].sort()).toEqual([
      'service=ses-dkim-sentinel',
      'service=ses-dkim-sentinel,Health=HEALTHY',
    ]);
    expect(emf.find((e) => e.IdentitiesByHealth !== undefined)?.IdentitiesByHealth).toBe(1000);
    expect(emf.find((e) => e.DmarcByHealth !== undefined)).toMatchObject({ Health: 'HEALTHY', DmarcByHealth: 1000 });
    expect(emf.find((e) => e.MailFromByHealth !== undefined)).toBeUndefined();
    expect(emf.every((e) => e.Identity === undefined)).toBe(true);
  });

  it('never closes an identity cut off by the deadline as vanished; closes one SES no longer lists', async () => {
    // Prepare: one identity with a record missing on every server (DETECTED on the first run).
    const clock = new SimulatedClock();
    const fleet = [...domains(300), { name: 'zz-broken.example', kind: 'easy' as const }];
    const region = new FakeSesRegion('eu-west-1', fleet, clock);
    const [token] = easyTokens('zz-broken.example');
    const probe = new FakeProbe(new Set([`${token}._domainkey.zz-broken.example`]));
    const first = await run(region, clock, { probe, invocationId: 'cut-1' });
    clock.advance(3_600_000);

    // Act: a run whose deadline lets it read the listing and a batch or two (zz-broken comes last), then a
    // run after the identity was deleted from SES.
    const cut = await run(region, clock, { probe, deadlineMs: 93_000, invocationId: 'cut-2' });
    clock.advance(3_600_000);
    region.identities.delete('zz-broken.example');
    const deleted = await run(region, clock, { probe, invocationId: 'cut-3' });

    // Assess
    expect(first.sent.map((a) => a.subject)).toEqual([expect.stringMatching(/^DKIM DETECTED: zz-broken\.example/)]);
    expect(cut.outcome.notReached).toBeGreaterThan(0);
    expect(cut.outcome.regions[0]?.notReached).toContain('zz-broken.example');
    expect(cut.sent).toEqual([]);
    expect(emf.length).toBeGreaterThan(0);
    expect(deleted.sent.map((a) => a.subject)).toEqual([expect.stringMatching(/^DKIM CLOSED: zz-broken\.example/)]);
  });

  it('counts custom MAIL FROM domains by health and logs the one needing attention, without per-identity metrics', async () => {
    // Prepare: DKIM is fine everywhere; one custom MAIL FROM setup has FAILED in SES.
    const clock = new SimulatedClock();
    const fleet: FakeIdentity[] = [
      ...domains(20),
      { name: 'mf-ok.example', kind: 'easy', mailFrom: { domain: 'bounce.mf-ok.example', status: 'Success' } },
      { name: 'mf-bad.example', kind: 'easy', mailFrom: { domain: 'bounce.mf-bad.example', status: 'Failed' } },
    ];
    const region = new FakeSesRegion('eu-west-1', fleet, clock);
    const logged: Record<string, unknown>[] = [];
    const logger = {
      ...silent,
      info: (message: string, extra: Record<string, unknown>) => void logged.push({ message, ...extra }),
    };

    // Act
    const { outcome } = await run(region, clock, { invocationId: 'mail-from-1', logger });

    // Assess
    expect(outcome).toMatchObject({ checked: 22, needingAttention: 0 });
    expect(region.calls.mailFrom).toBe(1);
    const counts = Object.fromEntries(
      emf.filter((e) => e.MailFromByHealth !== undefined).map((e) => [e.Health, e.MailFromByHealth]),
    );
    expect(counts).toEqual({ REVOKED: 1, HEALTHY: 1 });
    expect(emf.every((e) => e.Identity === undefined)).toBe(true);
    const attention = logged.filter((l) => l.message === 'identity needs attention');
    expect(attention.map((l) => [l.identity, l.health, l.mailFromHealth])).toEqual([
      ['mf-bad.example', 'HEALTHY', 'REVOKED'],
    ]);
  });

  it('with both checks off reads no MAIL FROM attributes and counts no MAIL FROM or DMARC health', async () => {
    const clock = new SimulatedClock();
    const region = new FakeSesRegion(
      'eu-west-1',
      [...domains(5), { name: 'mf.example', kind: 'easy', mailFrom: { domain: 'b.mf.example', status: 'Failed' } }],
      clock,
    );
    const probe = new FakeProbe();

    await run(region, clock, { invocationId: 'checks-off', probe, checkMailFrom: false, checkDmarc: false });

    expect(region.calls.mailFrom).toBe(0);
    expect(probe.observedMailAuth).toEqual([]);
    expect(emf.filter((e) => e.MailFromByHealth !== undefined || e.DmarcByHealth !== undefined)).toEqual([]);
  });
});
