import { Limiter } from '../../limiter';

/** Limits on the DNS work one identity, or one zone, can cause. */
export interface QueryBudgetLimits {
  /** Packets sent (every attempt, EDNS fallback and TCP retry counts). */
  readonly maxQueries: number;
  /** Wall-clock time from the budget's creation, in milliseconds. */
  readonly maxMs: number;
  /** Queries in flight at once for this scope, so one zone cannot take the transport's shared slots. */
  readonly maxInFlight: number;
}

/**
 * The work a zone's data may make the scanner do: data from DNS is untrusted, and a zone that lists a
 * thousand addresses or a hundred dead servers must end as an inconclusive finding on that zone, not as a
 * stall for every other identity. Once exceeded, every further query under this budget fails at once
 * without a packet being sent.
 */
export class QueryBudget {
  /** Packets charged so far. */
  spent = 0;
  /** Why the budget ran out (the first reason), once it has. */
  exhausted?: string;
  readonly limiter: Limiter;
  private readonly deadline: number;

  /** @param scope what the budget is for, in words (`identity example.com`, `zone example.com`). */
  constructor(
    readonly scope: string,
    readonly limits: QueryBudgetLimits,
    private readonly now: () => number = Date.now,
  ) {
    this.deadline = now() + limits.maxMs;
    this.limiter = new Limiter(limits.maxInFlight);
  }

  /** Milliseconds left before the deadline (0 once it has passed). */
  remainingMs(): number {
    return Math.max(0, this.deadline - this.now());
  }

  /** Mark the time as used up (an answer did not come before the deadline); returns why. */
  expire(): string {
    this.exhausted ??= `the ${this.scope} used its time budget of ${this.limits.maxMs} ms`;
    return this.exhausted;
  }

  /** Charge one packet. Returns why it may not be sent, or undefined when it may. */
  charge(): string | undefined {
    if (this.exhausted) return this.exhausted;
    if (this.remainingMs() <= 0) {
      this.exhausted = `the ${this.scope} used its time budget of ${this.limits.maxMs} ms`;
    } else if (this.spent >= this.limits.maxQueries) {
      this.exhausted = `the ${this.scope} used its budget of ${this.limits.maxQueries} DNS queries`;
    } else {
      this.spent++;
      return undefined;
    }
    return this.exhausted;
  }
}
