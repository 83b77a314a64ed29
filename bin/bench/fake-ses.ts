/**
 * A mocked SES region for the scale benchmark and the discovery tests: SES v1 (`ListIdentities`,
 * `GetIdentityDkimAttributes`, `GetIdentityMailFromDomainAttributes`) and v2 (`GetEmailIdentity`) clients
 * answering like the real APIs (field names, CamelCase v1 enums, pagination, 100-identity batches), and
 * enforcing SES's documented rate of one request per second per region, v1 and v2 together, on a simulated
 * clock: a faster call is throttled (`Throttling` for v1, `TooManyRequestsException` for v2).
 */
import {
  GetIdentityDkimAttributesCommand,
  GetIdentityMailFromDomainAttributesCommand,
  ListIdentitiesCommand,
  SESClient,
  SESServiceException,
} from '@aws-sdk/client-ses';
import {
  GetEmailIdentityCommand,
  NotFoundException,
  SESv2Client,
  SESv2ServiceException,
  TooManyRequestsException,
} from '@aws-sdk/client-sesv2';
import { mockClient } from 'aws-sdk-client-mock';
import { BYODKIM_SELECTOR, easyTokens } from './fleet';

/** A clock that only moves when every sleeper ahead of it has woken: simulated seconds cost nothing. */
export class SimulatedClock {
  private current = 0;
  private readonly timers: { at: number; wake: () => void }[] = [];
  private ticking = false;

  readonly now = (): number => this.current;

  readonly sleep = (ms: number): Promise<void> =>
    new Promise((wake) => {
      this.timers.push({ at: this.current + ms, wake });
      this.schedule();
    });

  /** Move the clock by hand (a test's "an hour later"). */
  advance(ms: number): void {
    this.current += ms;
  }

  private schedule(): void {
    if (this.ticking) return;
    this.ticking = true;
    // Let everything runnable run first, then wake the earliest sleeper.
    setImmediate(() => {
      this.ticking = false;
      this.timers.sort((a, b) => a.at - b.at);
      const next = this.timers.shift();
      if (!next) return;
      this.current = Math.max(this.current, next.at);
      next.wake();
      if (this.timers.length > 0) this.schedule();
    });
  }
}

/** `inherits`: a subdomain without keys of its own, signed with its parent domain's. */
export type FakeKind = 'easy' | 'byodkim' | 'email' | 'disabled' | 'inherits';

/** One identity of the fake region. */
export interface FakeIdentity {
  readonly name: string;
  readonly kind: FakeKind;
  /** v1 spelling. @default Success */
  readonly status?: 'Success' | 'Pending' | 'Failed' | 'TemporaryFailure' | 'NotStarted';
  /** A custom MAIL FROM domain, v1 spelling. @default - none (SES's own) */
  readonly mailFrom?: {
    readonly domain: string;
    readonly status: 'Pending' | 'Success' | 'Failed' | 'TemporaryFailure';
    readonly behavior?: 'UseDefaultValue' | 'RejectMessage';
  };
}

export { easyTokens };

const V2_STATUS = {
  Success: 'SUCCESS',
  Pending: 'PENDING',
  Failed: 'FAILED',
  TemporaryFailure: 'TEMPORARY_FAILURE',
  NotStarted: 'NOT_STARTED',
} as const;

const V2_MAIL_FROM_STATUS = {
  Pending: 'PENDING',
  Success: 'SUCCESS',
  Failed: 'FAILED',
  TemporaryFailure: 'TEMPORARY_FAILURE',
} as const;

export interface FakeSesOptions {
  /** Requests per second SES allows in this region. @default 1 */
  readonly rate?: number;
  /** Names missing from every v1 answer (the map leaves them out). */
  readonly missingFromV1?: readonly string[];
  /** Extra throttles: another client of the same account takes the quota on every n-th call. */
  readonly throttleEvery?: number;
  /** Calls that fail with this error (v1 batch containing the name, or v2 read of it), every time. */
  readonly failing?: ReadonlyMap<string, 'v1' | 'v2'>;
}

/** One SES region: two mocked clients sharing one rate limit on the simulated clock. */
export class FakeSesRegion {
  readonly v1: SESClient;
  readonly v2: SESv2Client;
  readonly calls = { list: 0, dkim: 0, mailFrom: 0, get: 0, throttled: 0 };
  readonly identities = new Map<string, FakeIdentity>();
  private tokens = 1;
  private last = 0;
  private all = 0;

  constructor(
    readonly region: string,
    identities: readonly FakeIdentity[],
    private readonly clock: { now(): number },
    private readonly options: FakeSesOptions = {},
  ) {
    for (const identity of identities) this.identities.set(identity.name, identity);
    this.v1 = new SESClient({ region, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
    this.v2 = new SESv2Client({ region, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
    const v1 = mockClient(this.v1);
    const v2 = mockClient(this.v2);
    v1.on(ListIdentitiesCommand).callsFake((input) => {
      this.admit('v1');
      this.calls.list++;
      const names = [...this.identities.keys()];
      const start = input.NextToken ? Number(input.NextToken) : 0;
      const size = Math.min(input.MaxItems ?? 100, 1000);
      const end = Math.min(names.length, start + size);
      return {
        Identities: names.slice(start, end),
        ...(end < names.length ? { NextToken: String(end) } : {}),
        $metadata: { httpStatusCode: 200 },
      };
    });
    v1.on(GetIdentityDkimAttributesCommand).callsFake((input) => {
      this.admit('v1');
      this.calls.dkim++;
      const asked: string[] = input.Identities ?? [];
      if (asked.length > 100) throw this.error('v1', 'InvalidParameterValue', 'Too many identities');
      if (asked.some((n) => this.options.failing?.get(n) === 'v1'))
        throw this.error('v1', 'InternalFailure', 'We encountered an internal error. Please try again.', 500);
      const missing = new Set(this.options.missingFromV1 ?? []);
      const map: Record<string, unknown> = {};
      for (const name of asked) {
        const identity = this.identities.get(name);
        if (!identity || missing.has(name)) continue;
        map[name] = {
          DkimEnabled: identity.kind !== 'disabled',
          DkimVerificationStatus: identity.status ?? 'Success',
          // What v1 lists for BYODKIM is unconfirmed: modelled as nothing, which the scanner must not trust.
          DkimTokens:
            identity.kind === 'byodkim' || identity.kind === 'inherits' ? [] : easyTokens(this.tokenOwner(identity)),
        };
      }
      return { DkimAttributes: map, $metadata: { httpStatusCode: 200 } };
    });
    v1.on(GetIdentityMailFromDomainAttributesCommand).callsFake((input) => {
      this.admit('v1');
      this.calls.mailFrom++;
      const asked: string[] = input.Identities ?? [];
      if (asked.length > 100) throw this.error('v1', 'InvalidParameterValue', 'Too many identities');
      const map: Record<string, unknown> = {};
      for (const name of asked) {
        const identity = this.identities.get(name);
        if (!identity) continue;
        // SES lists every identity asked about; one without a custom domain has no MailFromDomain.
        map[name] = identity.mailFrom
          ? {
              MailFromDomain: identity.mailFrom.domain,
              MailFromDomainStatus: identity.mailFrom.status,
              BehaviorOnMXFailure: identity.mailFrom.behavior ?? 'UseDefaultValue',
            }
          : { BehaviorOnMXFailure: 'UseDefaultValue' };
      }
      return { MailFromDomainAttributes: map, $metadata: { httpStatusCode: 200 } };
    });
    v2.on(GetEmailIdentityCommand).callsFake((input) => {
      this.admit('v2');
      this.calls.get++;
      const name = input.EmailIdentity as string;
      if (this.options.failing?.get(name) === 'v2') throw this.error('v2', 'InternalFailure', 'internal error', 500);
      const identity = this.identities.get(name);
      if (!identity) {
        throw new NotFoundException({ message: `Email identity ${name} does not exist.`, $metadata: {} });
      }
      return this.v2Answer(identity);
    });
  }

  /** An email address signs with its domain's keys: v1 lists the domain's tokens for it. */
  private tokenOwner(identity: FakeIdentity): string {
    return identity.kind === 'email' ? identity.name.slice(identity.name.indexOf('@') + 1) : identity.name;
  }

  private v2Answer(identity: FakeIdentity) {
    const status = V2_STATUS[identity.status ?? 'Success'];
    const byo = identity.kind === 'byodkim';
    return {
      IdentityType: identity.kind === 'email' ? 'EMAIL_ADDRESS' : 'DOMAIN',
      FeedbackForwardingStatus: true,
      VerifiedForSendingStatus: status === 'SUCCESS',
      VerificationStatus: status,
      DkimAttributes: {
        SigningEnabled: identity.kind !== 'disabled',
        Status: status,
        Tokens: byo ? [BYODKIM_SELECTOR] : identity.kind === 'inherits' ? [] : easyTokens(this.tokenOwner(identity)),
        SigningAttributesOrigin: byo ? 'EXTERNAL' : 'AWS_SES',
        ...(byo ? {} : { SigningHostedZone: 'dkim.amazonses.com.' }),
        CurrentSigningKeyLength: 'RSA_2048_BIT',
        LastKeyGenerationTimestamp: new Date('2026-11-01T00:00:00Z'),
      },
      MailFromAttributes: identity.mailFrom
        ? {
            MailFromDomain: identity.mailFrom.domain,
            MailFromDomainStatus: V2_MAIL_FROM_STATUS[identity.mailFrom.status],
            BehaviorOnMxFailure:
              identity.mailFrom.behavior === 'RejectMessage' ? 'REJECT_MESSAGE' : 'USE_DEFAULT_VALUE',
          }
        : { BehaviorOnMxFailure: 'USE_DEFAULT_VALUE' },
      Policies: {},
      Tags: [],
      VerificationInfo: {
        LastCheckedTimestamp: new Date(Date.UTC(2026, 10, 23, 6)),
        ...(status === 'SUCCESS' || status === 'TEMPORARY_FAILURE'
          ? { LastSuccessTimestamp: new Date(Date.UTC(2026, 10, 22, 6)) }
          : {}),
        ...(status === 'SUCCESS' ? {} : { ErrorType: 'HOST_NOT_FOUND' }),
      },
      $metadata: { httpStatusCode: 200 },
    };
  }

  private error(api: 'v1' | 'v2', name: string, message: string, status = 400): Error {
    const fields = { name, $fault: status >= 500 ? ('server' as const) : ('client' as const), message };
    const $metadata = { httpStatusCode: status };
    return api === 'v1'
      ? new SESServiceException({ ...fields, $metadata })
      : new SESv2ServiceException({ ...fields, $metadata });
  }

  /** SES's rate: a token bucket of one request, refilled at `rate` per second of the simulated clock. */
  private admit(api: 'v1' | 'v2'): void {
    const rate = this.options.rate ?? 1;
    const now = this.clock.now();
    this.tokens = Math.min(1, this.tokens + ((now - this.last) * rate) / 1000);
    this.last = now;
    this.all++;
    const shared = this.options.throttleEvery !== undefined && this.all % this.options.throttleEvery === 0;
    if (this.tokens < 1 - 1e-9 || shared) {
      this.calls.throttled++;
      throw api === 'v1'
        ? this.error('v1', 'Throttling', 'Rate exceeded')
        : new TooManyRequestsException({ message: 'Too many requests', $metadata: { httpStatusCode: 429 } });
    }
    this.tokens -= 1;
  }
}
