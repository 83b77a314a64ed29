import type { SESClient } from '@aws-sdk/client-ses';
import { GetEmailIdentityCommand, ListEmailIdentitiesCommand, type SESv2Client } from '@aws-sdk/client-sesv2';
import { parseSesIdentity, type SesIdentity } from '../domain/ses-identity';
import { fullReadReason, identityFromV1, type SesV1DkimAttributes } from '../domain/ses-v1';
import { Limiter } from '../limiter';
import type { DiscoveryError, IdentitySource } from '../ports';
import { RequestPacer } from '../request-pacer';
import { describeAwsError, errorName, retryThrottled } from './aws-retry';
import { SesRegionDirectory, V1_BATCH_SIZE } from './ses-directory';

export interface SesIdentitySourceOptions {
  readonly regions: readonly string[];
  /** A client per region (injected so tests can mock it and the handler can reuse it). */
  readonly clientFor: (region: string) => SESv2Client;
  /** GetEmailIdentity calls in flight per region. SES throttles control-plane calls hard. @default 2 */
  readonly concurrency?: number;
  /** Attempts for a throttled call (TooManyRequestsException). @default 8 */
  readonly maxAttempts?: number;
  /** First backoff delay; doubles each attempt, with full jitter. @default 500 */
  readonly baseDelayMs?: number;
  /** Injected for tests. */
  readonly sleep?: (ms: number) => Promise<void>;
  /**
   * An SES v1 client per region: identities are then read 100 at a time (`GetIdentityDkimAttributes`) and
   * with v2 only where v1 cannot describe them, about 110 calls for 10,000 identities instead of 10,000.
   * @default - every identity is read with v2 `GetEmailIdentity`
   */
  readonly v1ClientFor?: (region: string) => SESClient;
  /** SES requests per second and region (SES documents 1). @default 1 */
  readonly requestsPerSecond?: number;
  /** Injected clock for the pacing. @default Date.now */
  readonly now?: () => number;
}

/**
 * Lists every SES identity in each region and reads its DKIM attributes, paced at SES's rate: with
 * `v1ClientFor`, v1 batch reads plus v2 where needed; without, `ListEmailIdentities` and one
 * `GetEmailIdentity` per identity. A region that fails is reported as such; the other regions still complete.
 */
export class SesIdentitySource implements IdentitySource {
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(private readonly options: SesIdentitySourceOptions) {
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  async listIdentities(): Promise<{ identities: SesIdentity[]; errors: DiscoveryError[] }> {
    const results = await Promise.all(this.options.regions.map((region) => this.listRegion(region)));
    return { identities: results.flatMap((r) => r.identities), errors: results.flatMap((r) => r.errors) };
  }

  private withRetry<T>(call: () => Promise<T>): Promise<T> {
    return retryThrottled(call, {
      maxAttempts: this.options.maxAttempts,
      baseDelayMs: this.options.baseDelayMs,
      sleep: this.sleep,
    });
  }

  /** The batch path: v1 for everyone, v2 where v1 cannot answer (no cache: the CLI runs once). */
  private async listRegionInBatches(
    region: string,
    v1: SESClient,
  ): Promise<{ identities: SesIdentity[]; errors: DiscoveryError[] }> {
    const directory = new SesRegionDirectory({
      region,
      v1,
      v2: this.options.clientFor(region),
      requestsPerSecond: this.options.requestsPerSecond,
      maxAttempts: this.options.maxAttempts,
      baseDelayMs: this.options.baseDelayMs,
      now: this.options.now,
      sleep: this.sleep,
    });
    const names: string[] = [];
    try {
      let token: string | undefined;
      do {
        const page = await directory.listPage(token);
        names.push(...page.names);
        token = page.nextToken;
      } while (token);
    } catch (error) {
      return {
        identities: [],
        errors: [{ region, message: `could not list SES identities: ${describeAwsError(error)}` }],
      };
    }
    const identities: SesIdentity[] = [];
    const errors: DiscoveryError[] = [];
    for (let start = 0; start < names.length; start += V1_BATCH_SIZE) {
      const batch = names.slice(start, start + V1_BATCH_SIZE);
      let answers: ReadonlyMap<string, SesV1DkimAttributes>;
      try {
        answers = await directory.dkimAttributes(batch);
      } catch (error) {
        for (const name of batch) {
          errors.push({ region, identity: name, message: `could not read ${name}: ${describeAwsError(error)}` });
        }
        continue;
      }
      for (const name of batch) {
        const v1Answer = answers.get(name);
        if (v1Answer && !fullReadReason(v1Answer, undefined)) {
          identities.push(identityFromV1(name, region, v1Answer, undefined));
          continue;
        }
        try {
          const full = await directory.emailIdentity(name);
          if (full) identities.push(full);
        } catch (error) {
          errors.push({ region, identity: name, message: `could not read ${name}: ${describeAwsError(error)}` });
        }
      }
    }
    identities.sort((a, b) => a.name.localeCompare(b.name));
    return { identities, errors };
  }

  private async listRegion(region: string): Promise<{ identities: SesIdentity[]; errors: DiscoveryError[] }> {
    const v1 = this.options.v1ClientFor?.(region);
    if (v1) return this.listRegionInBatches(region, v1);
    const client = this.options.clientFor(region);
    // Paced at SES's documented rate, so the calls are spread rather than throttled.
    const pacer = new RequestPacer(this.options.requestsPerSecond ?? 1, this.options.now ?? Date.now, this.sleep);
    const names: string[] = [];
    try {
      let nextToken: string | undefined;
      do {
        const page = await this.withRetry(async () => {
          await pacer.take();
          return client.send(new ListEmailIdentitiesCommand({ PageSize: 1000, NextToken: nextToken }));
        });
        for (const item of page.EmailIdentities ?? []) if (item.IdentityName) names.push(item.IdentityName);
        nextToken = page.NextToken;
      } while (nextToken);
    } catch (error) {
      return {
        identities: [],
        errors: [{ region, message: `could not list SES identities: ${describeAwsError(error)}` }],
      };
    }
    const limiter = new Limiter(this.options.concurrency ?? 2);
    const identities: SesIdentity[] = [];
    const errors: DiscoveryError[] = [];
    await Promise.all(
      names.map((name) =>
        limiter.run(async () => {
          try {
            const response = await this.withRetry(async () => {
              await pacer.take();
              return client.send(new GetEmailIdentityCommand({ EmailIdentity: name }));
            });
            identities.push(parseSesIdentity(response, name, region, `SES ${region}`));
          } catch (error) {
            // Deleted between the list and the read: nothing to monitor.
            if (errorName(error) === 'NotFoundException') return;
            errors.push({ region, identity: name, message: `could not read ${name}: ${describeAwsError(error)}` });
          }
        }),
      ),
    );
    identities.sort((a, b) => a.name.localeCompare(b.name));
    return { identities, errors };
  }
}
