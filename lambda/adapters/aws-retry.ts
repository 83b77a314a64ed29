/** Error names AWS services use for "slow down": SES (TooManyRequestsException), Route 53 (Throttling,
 * PriorRequestNotComplete), and the SDK's generic ThrottlingException. */
const THROTTLING = new Set([
  'TooManyRequestsException',
  'ThrottlingException',
  'Throttling',
  'PriorRequestNotComplete',
]);

export function errorName(error: unknown): string {
  return (error as { name?: string })?.name ?? 'Error';
}

/** One line for a user, e.g. `AccessDeniedException: User ... is not authorized`. */
export function describeAwsError(error: unknown): string {
  const message = ((error as Error)?.message ?? String(error)).split('\n')[0];
  return `${errorName(error)}: ${message}`;
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
      if (!THROTTLING.has(errorName(error)) || attempt >= attempts) throw error;
      await sleep(Math.random() * base * 2 ** (attempt - 1));
    }
  }
}
