import { describe, expect, it } from 'vitest';
import {
  easyTokens,
  type FakeIdentity,
  type FakeSesOptions,
  FakeSesRegion,
  SimulatedClock,
} from '../../bin/bench/fake-ses';
import { SesRegionDirectory } from '../../lambda/adapters/ses-directory';
import type { IdentityReport } from '../../lambda/domain/assess-identity';
import type { CachedMailFrom, CachedSesAttributes } from '../../lambda/domain/ses-v1';
import type { AttributeCache, MailFromCache, ScanCursorStore } from '../../lambda/ports';
import { scanRegion } from '../../lambda/scan-region';
import { FakeProbe } from '../support/fake-probe';

/** The cache and cursors a DynamoDB table would hold, in memory, counting writes. */
class MemoryLedger implements AttributeCache, ScanCursorStore, MailFromCache {
  readonly entries = new Map<string, CachedSesAttributes>();
  readonly mailFrom = new Map<string, CachedMailFrom>();
  mailFromWrites = 0;
  async loadMailFrom(region: string) {
    return new Map([...this.mailFrom.values()].filter((e) => e.region === region).map((e) => [e.name, e]));
  }
  async saveMailFrom(entry: CachedMailFrom) {
    this.mailFromWrites++;
    this.mailFrom.set(`${entry.region}#${entry.name}`, entry);
  }
  async removeMailFrom(region: string, name: string) {
    this.mailFromWrites++;
    this.mailFrom.delete(`${region}#${name}`);
  }
  readonly cursors = new Map<string, string>();
  writes = 0;
  async load(region: string) {
    return new Map([...this.entries.values()].filter((e) => e.region === region).map((e) => [e.name, e]));
  }
  async save(entry: CachedSesAttributes) {
    this.writes++;
    this.entries.set(`${entry.region}#${entry.name}`, entry);
  }
  async getCursor(region: string) {
    return this.cursors.get(region);
  }
  async putCursor(region: string, cursor: string | undefined) {
    if (cursor === undefined) this.cursors.delete(region);
    else this.cursors.set(region, cursor);
  }
}

const domains = (n: number, prefix = 'd') =>
  Array.from(
    { length: n },
    (_, i): FakeIdentity => ({ name: `${prefix}${String(i).padStart(5, '0')}.example`, kind: 'easy' }),
  );

/** One region scan on the simulated clock; `deadlineMs` is the invocation's whole time. */
async function scan(
  identities: readonly FakeIdentity[],
  options: {
    clock?: SimulatedClock;
    ses?: FakeSesOptions;
    ledger?: MemoryLedger;
    refreshPerRun?: number;
    deadlineMs?: number;
    probe?: FakeProbe;
    region?: FakeSesRegion;
    checkMailFrom?: boolean;
    checkDmarc?: boolean;
  } = {},
) {
  const clock = options.clock ?? new SimulatedClock();
  const region = options.region ?? new FakeSesRegion('eu-west-1', identities, clock, options.ses);
  const directory = new SesRegionDirectory({
    region: 'eu-west-1',
    v1: region.v1,
    v2: region.v2,
    now: clock.now,
    sleep: clock.sleep,
  });
  const started = clock.now();
  const reports: IdentityReport[] = [];
  const result = await scanRegion(
    {
      directory,
      probe: options.probe ?? new FakeProbe(),
      cache: options.ledger,
      mailFromCache: options.ledger,
      cursors: options.ledger,
      now: clock.now,
      remainingMs: () => (options.deadlineMs ?? 900_000) - (clock.now() - started),
    },
    { refreshPerRun: options.refreshPerRun ?? 0, checkMailFrom: options.checkMailFrom, checkDmarc: options.checkDmarc },
    (report) => {
      reports.push(report);
    },
  );
  return { result, reports, region, directory, seconds: (clock.now() - started) / 1000 };
}

describe('scanRegion (SES v1 + v2 mocks at 1 request/s on a simulated clock)', () => {
  it('reads 2,500 identities with 3 list pages and 25 batch reads (DKIM and MAIL FROM each), paced, none throttled, every one checked', async () => {
    // Prepare
    const fleet = domains(2500);

    // Act
    const { result, reports, region, seconds } = await scan(fleet);

    // Assess: without a MAIL FROM cache, every identity's MAIL FROM attributes are read every run.
    expect(region.calls).toEqual({ list: 3, dkim: 25, mailFrom: 25, get: 0, throttled: 0 });
    expect(seconds).toBeLessThanOrEqual(53);
    expect(result).toMatchObject({ listingComplete: true, reached: 2500, notReached: [], errors: [] });
    expect(reports.filter((r) => r.health === 'HEALTHY')).toHaveLength(2500);
    expect(new Set(reports.map((r) => r.identity)).size).toBe(2500);
  });

  it('treats both throttle codes as "slow down": a shared quota costs time, never an identity', async () => {
    const { result, region, directory } = await scan(domains(450), { ses: { throttleEvery: 3 } });

    expect(region.calls.throttled).toBeGreaterThan(0);
    expect(directory.calls.throttled).toBe(region.calls.throttled);
    expect(result).toMatchObject({ reached: 450, errors: [], notReached: [] });
  });

  it('reads v2 only where v1 cannot answer: a failure, a pending setup, BYODKIM, a name missing from the v1 map', async () => {
    // Prepare
    const fleet: FakeIdentity[] = [
      ...domains(5),
      { name: 'failing.example', kind: 'easy', status: 'TemporaryFailure' },
      { name: 'new-setup.example', kind: 'easy', status: 'Pending' },
      { name: 'byo.example', kind: 'byodkim' },
      { name: 'unlisted-by-v1.example', kind: 'easy' },
      { name: 'off.example', kind: 'disabled' },
    ];

    // Act
    const { reports, region } = await scan(fleet, { ses: { missingFromV1: ['unlisted-by-v1.example'] } });

    // Assess
    expect(region.calls.get).toBe(4);
    const byName = new Map(reports.map((r) => [r.identity, r]));
    expect(byName.get('failing.example')).toMatchObject({
      health: 'FAILING',
      sesStatus: 'TEMPORARY_FAILURE',
      sesLastSuccess: '2026-11-22T06:00:00.000Z',
    });
    expect(byName.get('new-setup.example')).toMatchObject({ dkimSetupStartedAt: '2026-11-01T00:00:00.000Z' });
    expect(byName.get('byo.example')).toMatchObject({ health: 'HEALTHY', signingOrigin: 'EXTERNAL' });
    expect(byName.get('byo.example')?.records.map((r) => `${r.name} ${r.type}`)).toEqual([
      'sel1._domainkey.byo.example TXT',
    ]);
    expect(byName.get('unlisted-by-v1.example')).toMatchObject({ health: 'HEALTHY' });
    expect(byName.get('off.example')).toMatchObject({ health: 'DISABLED' });
  });

  it('never reports a problem on v1 alone: an identity DNS shows broken is read with v2 before it is reported', async () => {
    const [broken] = easyTokens('d00001.example');
    const probe = new FakeProbe(new Set([`${broken}._domainkey.d00001.example`]));

    const { reports, region } = await scan(domains(3), { probe });

    expect(region.calls.get).toBe(1);
    expect(reports.find((r) => r.identity === 'd00001.example')).toMatchObject({
      health: 'AT_RISK',
      signingOrigin: 'AWS_SES',
    });
  });

  it('makes an identity whose reads keep failing a discovery error for that identity only', async () => {
    const fleet = domains(150);
    const failing = new Map<string, 'v1' | 'v2'>([['d00120.example', 'v1']]);
    const fleetWithV2 = [...fleet, { name: 'broken-v2.example', kind: 'byodkim' as const }];
    failing.set('broken-v2.example', 'v2');

    const { result } = await scan(fleetWithV2, { ses: { failing } });

    // Sorted, broken-v2 comes first: the second batch (d00099..d00149) holds d00120, fails after its
    // retries, and its 51 identities are errors.
    expect(result.errors.filter((e) => e.identity?.startsWith('d0'))).toHaveLength(51);
    expect(result.errors.find((e) => e.identity === 'broken-v2.example')?.message).toMatch(
      /^could not read broken-v2\.example \(new identity, not Easy DKIM tokens\): InternalFailure/,
    );
    expect(result.errors.every((e) => e.identity !== undefined)).toBe(true);
    expect(result.reached).toBe(99);
    expect(result.listingComplete).toBe(true);
  });

  it('keeps v2 attributes between runs and refreshes a rolling slice: each at most ceil(N / slice) runs old, written only when read', async () => {
    // Prepare: 50 Easy DKIM identities, 10 refreshes a run.
    const clock = new SimulatedClock();
    const ledger = new MemoryLedger();
    const fleet = domains(50);
    const region = new FakeSesRegion('eu-west-1', fleet, clock);
    const readsPerRun: number[] = [];
    const writesPerRun: number[] = [];

    // Act: seven hourly runs.
    for (let run = 0; run < 7; run++) {
      const before = { get: region.calls.get, writes: ledger.writes };
      await scan(fleet, { clock, region, ledger, refreshPerRun: 10 });
      readsPerRun.push(region.calls.get - before.get);
      writesPerRun.push(ledger.writes - before.writes);
      clock.advance(3_600_000);
    }

    // Assess: the slice, and nothing else, is read and written every run; after 5 runs all are cached, and
    // the oldest entry is never more than 5 runs old.
    expect(readsPerRun).toEqual([10, 10, 10, 10, 10, 10, 10]);
    expect(writesPerRun).toEqual([10, 10, 10, 10, 10, 10, 10]);
    const ages = [...ledger.entries.values()].map((e) => (clock.now() - Date.parse(e.readAt)) / 3_600_000);
    expect(ages).toHaveLength(50);
    expect(Math.max(...ages)).toBeLessThan(5.5);
  });

  it('without a refresh budget, a healthy cached fleet costs no v2 read and no cache write', async () => {
    const clock = new SimulatedClock();
    const ledger = new MemoryLedger();
    const fleet: FakeIdentity[] = [...domains(20), { name: 'byo.example', kind: 'byodkim' }];
    const region = new FakeSesRegion('eu-west-1', fleet, clock);
    await scan(fleet, { clock, region, ledger });
    const first = { get: region.calls.get, writes: ledger.writes };

    const { reports } = await scan(fleet, { clock, region, ledger });

    expect(first).toEqual({ get: 1, writes: 1 });
    expect(region.calls.get).toBe(1);
    expect(ledger.writes).toBe(1);
    // BYODKIM comes from the cache: v1 alone could not say it is BYODKIM.
    expect(reports.find((r) => r.identity === 'byo.example')?.signingOrigin).toBe('EXTERNAL');
  });

  it('stops before the deadline, stores a cursor, and the next runs start there until everyone is reached', async () => {
    // Prepare: 3,000 identities; each invocation may run 100 s (90 s of it kept as the margin): about ten
    // SES calls a run, three of them for the listing.
    const clock = new SimulatedClock();
    const ledger = new MemoryLedger();
    const fleet = domains(3000);
    const region = new FakeSesRegion('eu-west-1', fleet, clock);
    const seen = new Map<string, number>();

    // Act
    const runs: { reached: number; notReached: number; cursor?: string; listed: number }[] = [];
    for (let run = 0; run < 3; run++) {
      const { result, reports } = await scan(fleet, { clock, region, ledger, deadlineMs: 100_000 });
      for (const r of reports) seen.set(r.identity, (seen.get(r.identity) ?? 0) + 1);
      runs.push({
        reached: result.reached,
        notReached: result.notReached.length,
        cursor: ledger.cursors.get('eu-west-1'),
        listed: result.listed.length,
      });
      clock.advance(3_600_000);
    }

    // Assess: each run reaches a different part; all listed names are reported as listed regardless.
    for (const run of runs) {
      expect(run.listed).toBe(3000);
      expect(run.reached + run.notReached).toBe(3000);
      expect(run.reached).toBeGreaterThan(0);
      expect(run.notReached).toBeGreaterThan(0);
    }
    expect(new Set(runs.map((r) => r.cursor)).size).toBe(3);
    expect(runs[0]?.cursor).toBe(`d${String((runs[0]?.reached ?? 0) - 1).padStart(5, '0')}.example`);
    // No identity is checked twice before every identity has been checked once (in these three runs).
    expect([...seen.values()].every((n) => n === 1)).toBe(true);
    expect(seen.size).toBe(runs.reduce((sum, r) => sum + r.reached, 0));
  });

  it('stops reading v2 one a second when the deadline comes in the middle of a batch, leaving the rest for the next run', async () => {
    // Prepare: 60 BYODKIM identities, each needing a v2 read; 30 s of the run are usable.
    const fleet = Array.from(
      { length: 60 },
      (_, i): FakeIdentity => ({ name: `b${String(i).padStart(2, '0')}.example`, kind: 'byodkim' }),
    );
    const ledger = new MemoryLedger();

    // Act
    const { result, region } = await scan(fleet, { ledger, deadlineMs: 120_000 });

    // Assess: about 28 reads (after the list and the batch), no errors, the rest not reached, cursor set.
    expect(result.errors).toEqual([]);
    expect(result.reached).toBe(region.calls.get);
    expect(result.reached).toBeGreaterThan(20);
    expect(result.reached).toBeLessThan(32);
    expect(result.notReached).toHaveLength(60 - result.reached);
    expect(ledger.cursors.get('eu-west-1')).toBe(`b${String(result.reached - 1).padStart(2, '0')}.example`);
  });

  it('checks an identity without keys of its own after the domain it inherits DKIM from, even when that comes later', async () => {
    const fleet: FakeIdentity[] = [
      ...domains(3),
      { name: 'mail.zz-brand.example', kind: 'inherits' },
      { name: 'news@zz-brand.example', kind: 'email' },
      { name: 'zz-brand.example', kind: 'easy' },
    ];

    // In zone order a domain comes before its subdomains; a cursor left by a cut-short run can put them
    // on either side of the wrap, as here: the run starts with the subdomain.
    const ledger = new MemoryLedger();
    ledger.cursors.set('eu-west-1', 'zz-brand.example');

    const { reports } = await scan(fleet, { ledger });

    const order = reports.map((r) => r.identity);
    expect(order[0]).toBe('news@zz-brand.example');
    expect(order.indexOf('zz-brand.example')).toBeLessThan(order.indexOf('mail.zz-brand.example'));
    expect(reports.find((r) => r.identity === 'mail.zz-brand.example')).toMatchObject({
      health: 'HEALTHY',
      inheritedFrom: 'zz-brand.example',
    });
    expect(reports.find((r) => r.identity === 'news@zz-brand.example')).toMatchObject({ health: 'HEALTHY' });
  });

  it('two regions scan in parallel, each at its own rate: the time is the larger region, not the sum', async () => {
    const clock = new SimulatedClock();
    const eu = new FakeSesRegion('eu-west-1', domains(900), clock);
    const us = new FakeSesRegion('us-east-1', domains(900, 'u'), clock);
    const started = clock.now();

    const results = await Promise.all(
      [eu, us].map((region) =>
        scanRegion(
          {
            directory: new SesRegionDirectory({
              region: region.region,
              v1: region.v1,
              v2: region.v2,
              now: clock.now,
              sleep: clock.sleep,
            }),
            probe: new FakeProbe(),
            now: clock.now,
            remainingMs: () => 900_000,
          },
          {},
          () => undefined,
        ),
      ),
    );

    expect(results.map((r) => r.reached)).toEqual([900, 900]);
    expect(eu.calls.throttled + us.calls.throttled).toBe(0);
    // Each region: 1 list page + 9 DKIM batches + 9 MAIL FROM batches = 19 calls, one a second.
    expect((clock.now() - started) / 1000).toBeLessThanOrEqual(19);
  });
});

describe('scanRegion: MAIL FROM and DMARC', () => {
  const withMailFrom = (
    fleet: FakeIdentity[],
    index: number,
    status: 'Pending' | 'Success' | 'Failed' | 'TemporaryFailure',
  ): FakeIdentity[] =>
    fleet.map((identity, i) =>
      i === index ? { ...identity, mailFrom: { domain: `bounce.${identity.name}`, status } } : identity,
    );

  it('reads MAIL FROM attributes 100 identities a call beside DKIM, and checks MAIL FROM and DMARC of healthy identities', async () => {
    // Prepare
    const fleet = withMailFrom(domains(250), 7, 'Success');
    const probe = new FakeProbe();

    // Act
    const { reports, region } = await scan(fleet, { probe });

    // Assess
    expect(region.calls).toMatchObject({ dkim: 3, mailFrom: 3, get: 0 });
    const byName = new Map(reports.map((r) => [r.identity, r]));
    expect(byName.get('d00007.example')).toMatchObject({
      health: 'HEALTHY',
      mailFrom: { domain: 'bounce.d00007.example', sesStatus: 'SUCCESS', health: 'HEALTHY' },
      dmarc: { recordName: '_dmarc.d00007.example', policy: 'reject', health: 'HEALTHY' },
    });
    expect(byName.get('d00008.example')?.mailFrom).toBeUndefined();
    expect(byName.get('d00008.example')?.dmarc).toMatchObject({ policy: 'reject', health: 'HEALTHY' });
    expect(probe.observedMailAuth).toHaveLength(250);
  });

  it('with a MAIL FROM cache reads a rolling slice of 4 batches a run, keeps the domains found, and probes them every run', async () => {
    // Prepare: 1,000 identities; the one with a custom MAIL FROM domain is in the third run's slice.
    const clock = new SimulatedClock();
    const fleet = withMailFrom(domains(1000), 950, 'TemporaryFailure');
    const region = new FakeSesRegion('eu-west-1', fleet, clock);
    const ledger = new MemoryLedger();
    const run = async () => {
      const before = { ...region.calls };
      const { reports } = await scan(fleet, { clock, region, ledger });
      const calls = { mailFrom: region.calls.mailFrom - before.mailFrom, get: region.calls.get - before.get };
      return { calls, report: reports.find((r) => r.identity === 'd00950.example') };
    };

    // Act and assess: runs 1 and 2 read 0-399 and 400-799; d00950 is not known yet.
    const first = await run();
    expect(first.calls.mailFrom).toBe(4);
    expect(first.report?.mailFrom).toBeUndefined();
    expect((await run()).report?.mailFrom).toBeUndefined();
    // Run 3 reads 800-999 and wraps to 0-199: the TEMPORARY_FAILURE is seen, from v1, and cached.
    const third = await run();
    expect(third.calls).toEqual({ mailFrom: 4, get: 0 });
    expect(third.report?.mailFrom).toMatchObject({ sesStatus: 'TEMPORARY_FAILURE', health: 'FAILING' });
    expect(ledger.mailFromWrites).toBe(1);
    // Run 4 does not read it with v1: the cached domain is still probed, and the problem, seen on cached
    // attributes, is confirmed with one v2 read (which now says SES is happy again).
    region.identities.set('d00950.example', {
      ...(fleet[950] as FakeIdentity),
      mailFrom: { domain: 'bounce.d00950.example', status: 'Success' },
    });
    const fourth = await run();
    expect(fourth.calls).toEqual({ mailFrom: 4, get: 1 });
    expect(fourth.report?.mailFrom).toMatchObject({ sesStatus: 'SUCCESS', health: 'HEALTHY' });
    expect(ledger.mailFromWrites).toBe(2);
    // Run 5: nothing changed, nothing written; the domain is still checked.
    const fifth = await run();
    expect(fifth.calls).toEqual({ mailFrom: 4, get: 0 });
    expect(fifth.report?.mailFrom).toMatchObject({ sesStatus: 'SUCCESS', health: 'HEALTHY' });
    expect(ledger.mailFromWrites).toBe(2);
  });

  it('forgets a custom MAIL FROM domain that SES no longer lists', async () => {
    const fleet = withMailFrom(domains(3), 1, 'Success');
    const clock = new SimulatedClock();
    const region = new FakeSesRegion('eu-west-1', fleet, clock);
    const ledger = new MemoryLedger();
    await scan(fleet, { clock, region, ledger });
    expect(ledger.mailFrom.size).toBe(1);

    region.identities.set('d00001.example', { name: 'd00001.example', kind: 'easy' });
    const { reports } = await scan(fleet, { clock, region, ledger });

    expect(ledger.mailFrom.size).toBe(0);
    expect(reports.find((r) => r.identity === 'd00001.example')?.mailFrom).toBeUndefined();
  });

  it('turned off, makes no MAIL FROM call and probes no MAIL FROM or DMARC record', async () => {
    const probe = new FakeProbe();
    const { reports, region } = await scan(withMailFrom(domains(150), 3, 'Failed'), {
      probe,
      checkMailFrom: false,
      checkDmarc: false,
    });

    expect(region.calls.mailFrom).toBe(0);
    expect(probe.observedMailAuth).toEqual([]);
    expect(reports.every((r) => r.mailFrom === undefined && r.dmarc === undefined)).toBe(true);
  });

  it('with only DMARC off, still checks MAIL FROM', async () => {
    const probe = new FakeProbe();
    const { reports, region } = await scan(withMailFrom(domains(5), 3, 'Success'), { probe, checkDmarc: false });

    expect(region.calls.mailFrom).toBe(1);
    expect(reports.find((r) => r.identity === 'd00003.example')?.mailFrom).toMatchObject({ health: 'HEALTHY' });
    expect(reports.every((r) => r.dmarc === undefined)).toBe(true);
  });

  it('reports a MAIL FROM value SES spells in no known way as a discovery error of that identity, and still checks its DKIM', async () => {
    const fleet = domains(3);
    const clock = new SimulatedClock();
    const region = new FakeSesRegion('eu-west-1', fleet, clock);
    region.identities.set('d00001.example', {
      name: 'd00001.example',
      kind: 'easy',
      // biome-ignore lint/suspicious/noExplicitAny: an enum value SES does not document
      mailFrom: { domain: 'bounce.d00001.example', status: 'Verifying' as any },
    });

    const { result, reports } = await scan(fleet, { clock, region });

    expect(result.errors).toHaveLength(1);
    expect(result.errors[0]).toMatchObject({ identity: 'd00001.example' });
    expect(result.errors[0]?.message).toMatch(/MailFromDomainStatus must be one of .*got "Verifying"/);
    expect(reports.find((r) => r.identity === 'd00001.example')).toMatchObject({ health: 'HEALTHY' });
  });
});
