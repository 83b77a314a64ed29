import { AssumeRoleCommand, type STSClient } from '@aws-sdk/client-sts';
import type { SesDirectory } from '../ports';
import { describeAwsError, errorName, type RetryOptions, retryThrottled } from './aws-retry';

/** Temporary credentials, shaped like the SDK's `AwsCredentialIdentity` (any client's `credentials` takes them). */
export interface AwsCredentialIdentity {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
  readonly expiration?: Date;
}

/** A credential provider, as SDK clients take it. */
export type AwsCredentialIdentityProvider = () => Promise<AwsCredentialIdentity>;

/** The member role could not be assumed: the message names the account, the role and the fix. */
export class MemberRoleError extends Error {
  override readonly name = 'MemberRoleError';
}

export interface MemberRoleOptions {
  readonly sts: STSClient;
  /** The role the member-role stack creates in every member account. */
  readonly memberRoleName: string;
  /** Sent as `ExternalId` when the member role requires one. */
  readonly externalId?: string;
  /** `aws`, `aws-us-gov`, `aws-cn`: taken from the function's own ARN. @default aws */
  readonly partition?: string;
  /** Shown in the member account's CloudTrail as the session name. @default ses-dkim-sentinel */
  readonly sessionName?: string;
  readonly retry?: RetryOptions;
}

/** Refresh a little before STS's expiry so no call is signed with credentials about to lapse. */
const EXPIRY_MARGIN_MS = 5 * 60_000;

/**
 * Credentials of the read-only member role, one AssumeRole per account and process (refreshed before they
 * expire), retried when STS throttles. A refusal becomes a {@link MemberRoleError} naming the fix: a member
 * account without the role is a finding, never a silent gap.
 */
export class MemberRoleCredentials {
  private readonly cache = new Map<string, Promise<AwsCredentialIdentity>>();

  constructor(private readonly options: MemberRoleOptions) {}

  roleArn(account: string): string {
    return `arn:${this.options.partition ?? 'aws'}:iam::${account}:role/${this.options.memberRoleName}`;
  }

  /** A credential provider for SDK clients of this account (lazy: nothing is assumed until a client signs). */
  providerFor(account: string): AwsCredentialIdentityProvider {
    return () => this.credentialsFor(account);
  }

  credentialsFor(account: string): Promise<AwsCredentialIdentity> {
    const cached = this.cache.get(account);
    if (cached) return cached.then((c) => (fresh(c) ? c : this.refresh(account)));
    return this.refresh(account);
  }

  private refresh(account: string): Promise<AwsCredentialIdentity> {
    const assumed = this.assume(account);
    this.cache.set(account, assumed);
    // A refusal is not remembered: the next shard of this account (or the next run) asks STS again, so a
    // role deployed in the meantime is picked up without a cold start.
    assumed.catch(() => {
      if (this.cache.get(account) === assumed) this.cache.delete(account);
    });
    return assumed;
  }

  private async assume(account: string): Promise<AwsCredentialIdentity> {
    const roleArn = this.roleArn(account);
    try {
      const response = await retryThrottled(
        () =>
          this.options.sts.send(
            new AssumeRoleCommand({
              RoleArn: roleArn,
              RoleSessionName: this.options.sessionName ?? 'ses-dkim-sentinel',
              ExternalId: this.options.externalId,
              DurationSeconds: 3600,
            }),
          ),
        this.options.retry,
      );
      const c = response.Credentials;
      if (!c?.AccessKeyId || !c.SecretAccessKey) throw new Error('AssumeRole returned no credentials');
      return {
        accessKeyId: c.AccessKeyId,
        secretAccessKey: c.SecretAccessKey,
        sessionToken: c.SessionToken,
        expiration: c.Expiration,
      };
    } catch (error) {
      throw new MemberRoleError(explain(account, roleArn, error));
    }
  }
}

function fresh(credentials: AwsCredentialIdentity): boolean {
  return !credentials.expiration || credentials.expiration.getTime() - Date.now() > EXPIRY_MARGIN_MS;
}

function explain(account: string, roleArn: string, error: unknown): string {
  const cause = describeAwsError(error);
  if (errorName(error) === 'AccessDenied' || errorName(error) === 'AccessDeniedException') {
    return `account ${account}: cannot assume ${roleArn} (${cause}): deploy the member-role stack set to account ${account} (StackSets never deploy to the management account: deploy the member-role stack there directly), and check that its trust names this scanner's role`;
  }
  return `account ${account}: cannot assume ${roleArn} (${cause})`;
}

/**
 * One member account's SES directory: the member role is assumed before the first SES call, so a missing
 * role fails the listing once, as this shard's discovery error naming the fix, and no SDK client ever
 * signs with a provider that cannot deliver credentials.
 */
export class MemberRoleDirectory implements SesDirectory {
  readonly region: string;

  constructor(
    private readonly inner: SesDirectory,
    private readonly credentials: () => Promise<unknown>,
  ) {
    this.region = inner.region;
  }

  get calls() {
    return this.inner.calls;
  }

  async listPage(nextToken: string | undefined) {
    await this.credentials();
    return this.inner.listPage(nextToken);
  }

  async dkimAttributes(names: readonly string[]) {
    await this.credentials();
    return this.inner.dkimAttributes(names);
  }

  async mailFromAttributes(names: readonly string[]) {
    await this.credentials();
    return this.inner.mailFromAttributes(names);
  }

  async emailIdentity(name: string) {
    await this.credentials();
    return this.inner.emailIdentity(name);
  }
}
