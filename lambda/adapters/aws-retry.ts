import { describeAwsError, errorName } from '../describe-error';

export { describeAwsError, errorName };

/** Error names AWS services use for "slow down": SES (TooManyRequestsException), Route 53 (Throttling,
 * PriorRequestNotComplete), and the SDK's generic ThrottlingException. */
const THROTTLING = new Set([
  'TooManyRequestsException',
  'ThrottlingException',
  'Throttling',
  'PriorRequestNotComplete',
]);

/** Whether an AWS error means "slow down" (SES v1 says `Throttling`, v2 `TooManyRequestsException`). */
export function isThrottling(error: unknown): boolean {
  return THROTTLING.has(errorName(error));
}

export interface RetryOptions {
  /** Attempts in all. @default 8 */
  readonly maxAttempts?: number;
  /** First delay; doubles each attempt, with full jitter. @default 500 */
  readonly baseDelayMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
}

/** Call an AWS API, retrying throttling with exponential backoff and full jitter; other errors pass through. */
export async function retryThrottled<T>(call: () => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const attempts = options.maxAttempts ?? 8;
  const base = options.baseDelayMs ?? 500;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      if (!isThrottling(error) || attempt >= attempts) throw error;
      await sleep(Math.random() * base * 2 ** (attempt - 1));
    }
  }
}
