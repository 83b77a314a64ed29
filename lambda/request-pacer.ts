/**
 * A token bucket that hands out request slots at a steady rate: SES documents one request per second per
 * region for its identity reads, and a caller that waits for its slot is throttled only when another
 * client shares the account's quota. Slots are reserved in order, so concurrent callers never burst.
 */
export class RequestPacer {
  private nextSlot = Number.NEGATIVE_INFINITY;
  private readonly intervalMs: number;
  /** Requests granted so far. */
  granted = 0;

  /**
   * @param requestsPerSecond the documented (or raised) rate; must be positive
   * @param now the clock (injected so tests and the benchmark can run on simulated time)
   * @param sleep waits on that clock
   */
  constructor(
    requestsPerSecond: number,
    private readonly now: () => number,
    private readonly sleep: (ms: number) => Promise<void>,
  ) {
    if (!(requestsPerSecond > 0)) throw new RangeError(`requestsPerSecond must be positive, got ${requestsPerSecond}`);
    this.intervalMs = 1000 / requestsPerSecond;
  }

  /** Wait for the next free slot. */
  async take(): Promise<void> {
    const now = this.now();
    const slot = Math.max(now, this.nextSlot);
    this.nextSlot = slot + this.intervalMs;
    this.granted++;
    if (slot > now) await this.sleep(slot - now);
  }

  /** After a throttle: push every later slot back so the server's bucket can refill. */
  backOff(ms: number): void {
    this.nextSlot = Math.max(this.nextSlot, this.now()) + ms;
  }
}
