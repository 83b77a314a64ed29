import { describe, expect, it } from 'vitest';
import { type FakeIdentity, FakeSesRegion, SimulatedClock } from '../../bin/bench/fake-ses';
import { SesRegionDirectory } from '../../lambda/adapters/ses-directory';
import { checkSesRegions } from '../../lambda/check-ses-regions';
import { FakeProbe } from '../support/fake-probe';

const domains = (n: number, prefix: string): FakeIdentity[] =>
  Array.from({ length: n }, (_, i) => ({ name: `${prefix}${String(i).padStart(4, '0')}.example`, kind: 'easy' }));

describe('checkSesRegions (the CLI reading SES)', () => {
  it('reads 1,000 identities in v1 batches: about 21 calls and seconds, not 1,000', async () => {
    // Prepare
    const clock = new SimulatedClock();
    const fleet: FakeIdentity[] = [
      ...domains(999, 'd'),
      { name: 'zz-bounce.example', kind: 'easy', mailFrom: { domain: 'mail.zz-bounce.example', status: 'Failed' } },
    ];
    const region = new FakeSesRegion('eu-west-1', fleet, clock);
    const directory = new SesRegionDirectory({
      region: 'eu-west-1',
      v1: region.v1,
      v2: region.v2,
      now: clock.now,
      sleep: clock.sleep,
    });

    // Act
    const report = await checkSesRegions([directory], new FakeProbe(), { now: clock.now });

    // Assess: one list page, ten DKIM and ten MAIL FROM batches, no v2 read for Easy DKIM SUCCESS.
    expect(region.calls).toEqual({ list: 1, dkim: 10, mailFrom: 10, get: 0, throttled: 0 });
    expect(clock.now() / 1000).toBeLessThanOrEqual(21);
    expect(report.identities).toHaveLength(1000);
    expect(report.errors).toEqual([]);
    // DKIM is fine everywhere; the failed MAIL FROM setup, read in its MAIL FROM batch, is reported.
    const bounce = report.identities.find((r) => r.identity === 'zz-bounce.example');
    expect(bounce).toMatchObject({ health: 'HEALTHY', mailFrom: { sesStatus: 'FAILED', health: 'REVOKED' } });
  });

  it('sorts every region worst first and leaves out ignored names; the checks can be turned off', async () => {
    const clock = new SimulatedClock();
    const eu = new FakeSesRegion(
      'eu-west-1',
      [...domains(2, 'e'), { name: 'bad.example', kind: 'easy', status: 'TemporaryFailure' }],
      clock,
    );
    const us = new FakeSesRegion('us-east-1', domains(2, 'u'), clock);
    const directories = [eu, us].map(
      (r) => new SesRegionDirectory({ region: r.region, v1: r.v1, v2: r.v2, now: clock.now, sleep: clock.sleep }),
    );

    const report = await checkSesRegions(directories, new FakeProbe(), {
      ignore: ['U0001.example'],
      checkMailFrom: false,
      checkDmarc: false,
      now: clock.now,
    });

    expect(report.identities.map((r) => `${r.identity} ${r.region} ${r.health}`)).toEqual([
      'bad.example eu-west-1 FAILING',
      'e0000.example eu-west-1 HEALTHY',
      'e0001.example eu-west-1 HEALTHY',
      'u0000.example us-east-1 HEALTHY',
    ]);
    expect(eu.calls.mailFrom + us.calls.mailFrom).toBe(0);
    expect(report.identities.every((r) => !r.mailFrom && !r.dmarc)).toBe(true);
  });
});
