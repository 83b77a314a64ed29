import { GetEmailIdentityCommand, ListEmailIdentitiesCommand, type SESv2Client } from '@aws-sdk/client-sesv2';
import { parseSesIdentity, type SesIdentity } from '../domain/ses-identity';
import { Limiter } from '../limiter';
import type { DiscoveryError, IdentitySource } from '../ports';
import { describeAwsError, errorName, retryThrottled } from './aws-retry';

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
}

/**
 * Lists every SES identity in each region (`ListEmailIdentities`, every page) and reads its DKIM attributes
 * (`GetEmailIdentity`). A region that fails is reported as such; the other regions still complete.
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

  private async listRegion(region: string): Promise<{ identities: SesIdentity[]; errors: DiscoveryError[] }> {
    const client = this.options.clientFor(region);
    const names: string[] = [];
    try {
      let nextToken: string | undefined;
      do {
        const page = await this.withRetry(() =>
          client.send(new ListEmailIdentitiesCommand({ PageSize: 1000, NextToken: nextToken })),
        );
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
            const response = await this.withRetry(() =>
              client.send(new GetEmailIdentityCommand({ EmailIdentity: name })),
            );
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
