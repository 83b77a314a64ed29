import {
  GetIdentityDkimAttributesCommand,
  GetIdentityMailFromDomainAttributesCommand,
  ListIdentitiesCommand,
  type SESClient,
} from '@aws-sdk/client-ses';
import { GetEmailIdentityCommand, type SESv2Client } from '@aws-sdk/client-sesv2';
import { parseSesIdentity, type SesIdentity, type SesV1MailFromAttributes } from '../domain/ses-identity';
import type { SesV1DkimAttributes } from '../domain/ses-v1';
import { Limiter } from '../limiter';
import type { IdentityNamePage, SesDirectory } from '../ports';
import { RequestPacer } from '../request-pacer';
import { errorName, isThrottling } from './aws-retry';

/** A server-side or network failure the SDK would have retried (its own retries are off: they are unpaced). */
function isTransient(error: unknown): boolean {
  const e = error as { $retryable?: unknown; $metadata?: { httpStatusCode?: number } };
  return Boolean(e?.$retryable) || (e?.$metadata?.httpStatusCode ?? 0) >= 500;
}

/** v1 `GetIdentityDkimAttributes` and `GetIdentityMailFromDomainAttributes` take at most 100 identities a call. */
export const V1_BATCH_SIZE = 100;
/** v1 `ListIdentities` returns at most 1,000 names a page. */
export const V1_PAGE_SIZE = 1000;

export interface SesRegionDirectoryOptions {
  readonly region: string;
  /** SES v1 client for the region (batch reads). */
  readonly v1: SESClient;
  /** SES v2 client for the region (`GetEmailIdentity`). */
  readonly v2: SESv2Client;
  /** This region's SES request rate (every call, v1 and v2 together). @default 1 */
  readonly requestsPerSecond?: number;
  /** Attempts for a throttled call. @default 8 */
  readonly maxAttempts?: number;
  /** Extra pause after a throttle, doubled each attempt, with jitter. @default 1000 */
  readonly baseDelayMs?: number;
  /** Injected clock and sleep (simulated time in tests and the benchmark). @default Date.now and setTimeout */
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
}

/**
 * One region's SES behind a token bucket at SES's documented rate (1 request/s per region unless raised),
 * so throttling is the exception: calls are paced rather than burst and retried. At most
 * ceil(rate) calls are in flight; at 1 request/s one at a time is enough.
 */
export class SesRegionDirectory implements SesDirectory {
  readonly region: string;
  readonly calls = { v1: 0, v2: 0, throttled: 0 };
  private readonly pacer: RequestPacer;
  private readonly inFlight: Limiter;

  constructor(private readonly options: SesRegionDirectoryOptions) {
    this.region = options.region;
    const rate = options.requestsPerSecond ?? 1;
    this.pacer = new RequestPacer(
      rate,
      options.now ?? Date.now,
      options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
    );
    this.inFlight = new Limiter(Math.max(1, Math.ceil(rate)));
  }

  async listPage(nextToken: string | undefined): Promise<IdentityNamePage> {
    // No IdentityType: both types, and the same request on every page (SES requires it).
    const page = await this.paced('v1', () =>
      this.options.v1.send(new ListIdentitiesCommand({ MaxItems: V1_PAGE_SIZE, NextToken: nextToken })),
    );
    return { names: page.Identities ?? [], nextToken: page.NextToken || undefined };
  }

  async dkimAttributes(names: readonly string[]): Promise<ReadonlyMap<string, SesV1DkimAttributes>> {
    if (names.length > V1_BATCH_SIZE) throw new RangeError(`at most ${V1_BATCH_SIZE} identities a call`);
    const answer = await this.paced('v1', () =>
      this.options.v1.send(new GetIdentityDkimAttributesCommand({ Identities: [...names] })),
    );
    return new Map(Object.entries(answer.DkimAttributes ?? {}));
  }

  async mailFromAttributes(names: readonly string[]): Promise<ReadonlyMap<string, SesV1MailFromAttributes>> {
    if (names.length > V1_BATCH_SIZE) throw new RangeError(`at most ${V1_BATCH_SIZE} identities a call`);
    const answer = await this.paced('v1', () =>
      this.options.v1.send(new GetIdentityMailFromDomainAttributesCommand({ Identities: [...names] })),
    );
    return new Map(Object.entries(answer.MailFromDomainAttributes ?? {}));
  }

  async emailIdentity(name: string): Promise<SesIdentity | undefined> {
    try {
      const answer = await this.paced('v2', () =>
        this.options.v2.send(new GetEmailIdentityCommand({ EmailIdentity: name })),
      );
      return parseSesIdentity(answer, name, this.region, `SES ${this.region}`);
    } catch (error) {
      // Deleted between the list and the read: nothing to monitor.
      if (errorName(error) === 'NotFoundException') return undefined;
      throw error;
    }
  }

  private paced<T>(api: 'v1' | 'v2', call: () => Promise<T>): Promise<T> {
    const attempts = this.options.maxAttempts ?? 8;
    const base = this.options.baseDelayMs ?? 1000;
    return this.inFlight.run(async () => {
      for (let attempt = 1; ; attempt++) {
        await this.pacer.take();
        this.calls[api]++;
        try {
          return await call();
        } catch (error) {
          const throttled = isThrottling(error);
          if (!(throttled || isTransient(error)) || attempt >= attempts) throw error;
          if (throttled) this.calls.throttled++;
          // Someone else shares the quota: leave SES room before the next call of this region.
          this.pacer.backOff(base * 2 ** (attempt - 1) * (0.5 + Math.random() / 2));
        }
      }
    });
  }
}
