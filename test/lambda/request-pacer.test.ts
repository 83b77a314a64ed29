import { describe, expect, it } from 'vitest';
import { SimulatedClock } from '../../bin/bench/fake-ses';
import { RequestPacer } from '../../lambda/request-pacer';

describe('RequestPacer', () => {
  it('hands out slots at the rate, in order, to concurrent callers (no burst)', async () => {
    const clock = new SimulatedClock();
    const pacer = new RequestPacer(2, clock.now, clock.sleep);
    const at: number[] = [];

    await Promise.all(Array.from({ length: 5 }, () => pacer.take().then(() => at.push(clock.now()))));

    expect(at).toEqual([0, 500, 1000, 1500, 2000]);
  });

  it('does not bank unused time as a burst, and a back-off pushes every later slot back', async () => {
    const clock = new SimulatedClock();
    const pacer = new RequestPacer(1, clock.now, clock.sleep);
    await pacer.take();
    clock.advance(10_000);
    await pacer.take();
    const free = clock.now();
    pacer.backOff(3000);
    await pacer.take();

    expect(free).toBe(10_000);
    expect(clock.now()).toBe(14_000);
  });

  it('refuses a rate that is not positive', () => {
    expect(() => new RequestPacer(0, Date.now, async () => undefined)).toThrow(
      'requestsPerSecond must be positive, got 0',
    );
  });
});
