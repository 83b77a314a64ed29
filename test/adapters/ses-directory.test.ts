import { describe, expect, it } from 'vitest';
import { FakeSesRegion, SimulatedClock } from '../../bin/bench/fake-ses';
import { SesRegionDirectory } from '../../lambda/adapters/ses-directory';

describe('SesRegionDirectory: v1 GetIdentityMailFromDomainAttributes', () => {
  const setup = (throttleEvery?: number) => {
    const clock = new SimulatedClock();
    const region = new FakeSesRegion(
      'eu-west-1',
      [
        { name: 'a.example', kind: 'easy' },
        {
          name: 'b.example',
          kind: 'easy',
          mailFrom: { domain: 'bounce.b.example', status: 'TemporaryFailure', behavior: 'RejectMessage' },
        },
      ],
      clock,
      { throttleEvery },
    );
    const directory = new SesRegionDirectory({
      region: 'eu-west-1',
      v1: region.v1,
      v2: region.v2,
      now: clock.now,
      sleep: clock.sleep,
      baseDelayMs: 10,
    });
    return { region, directory };
  };

  it('reads up to 100 identities a call, in v1 spelling, and counts the call as v1', async () => {
    const { directory } = setup();

    const answers = await directory.mailFromAttributes(['a.example', 'b.example']);

    expect(answers.get('b.example')).toEqual({
      MailFromDomain: 'bounce.b.example',
      MailFromDomainStatus: 'TemporaryFailure',
      BehaviorOnMXFailure: 'RejectMessage',
    });
    expect(answers.get('a.example')?.MailFromDomain).toBeUndefined();
    expect(directory.calls).toEqual({ v1: 1, v2: 0, throttled: 0 });
    await expect(directory.mailFromAttributes(Array.from({ length: 101 }, (_, i) => `d${i}.example`))).rejects.toThrow(
      RangeError,
    );
  });

  it('is paced and retried on throttling like the other reads', async () => {
    const { directory, region } = setup(1);
    // Every call of the shared quota is throttled: the directory gives up after its attempts and says so.
    await expect(directory.mailFromAttributes(['a.example'])).rejects.toThrow(/Rate exceeded/);
    expect(directory.calls.throttled).toBeGreaterThan(0);
    expect(region.calls.mailFrom).toBe(0);
  });
});
