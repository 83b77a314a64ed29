/**
 * The ports the use cases need, declared on the use-case side: adapters implement them, and nothing here
 * imports an adapter.
 */
import type { IdentityObservation, IdentityReport } from './domain/assess-identity';
import type { Route53ChangeBatch, Route53Observation } from './domain/diagnose-route53';
import type { ExpectedRecord, MailAuthPlan } from './domain/expected-records';
import type { IdentityState } from './domain/lifecycle';
import type { MailAuthObservation } from './domain/mail-auth-observations';
import type { RenderedAlert } from './domain/render-alert';
import type { SesIdentity, SesV1MailFromAttributes } from './domain/ses-identity';
import type { CachedMailFrom, CachedSesAttributes, SesV1DkimAttributes } from './domain/ses-v1';

/** Another invocation wrote this identity's state first: re-read and decide again. */
export class StaleStateError extends Error {
  override readonly name = 'StaleStateError';
}

/** Per-identity lifecycle state. Writes are conditional on the version, so concurrent runs cannot clobber. */
export interface StateStore {
  get(key: string): Promise<IdentityState | undefined>;
  /** Write `state` if the stored version is still `state.version - 1` (absent for version 1). */
  put(state: IdentityState): Promise<void>;
  /** Delete the state if the stored version is still `version`. */
  remove(key: string, version: number): Promise<void>;
  /** Every stored state (strongly consistent, every page). */
  list(): Promise<IdentityState[]>;
}

/** Somewhere an alert can be delivered. */
export interface AlertChannel {
  readonly name: string;
  send(alert: RenderedAlert): Promise<void>;
}

/** The narrow logger the use cases need (Powertools' Logger fits). Never pass a `message` key in `extra`. */
export interface RunLogger {
  info(message: string, extra: Record<string, unknown>): void;
  warn(message: string, extra: Record<string, unknown>): void;
  error(message: string, extra: Record<string, unknown>): void;
}

/** A region (or one identity in it) that SES could not describe. */
export interface DiscoveryError {
  readonly region: string;
  readonly identity?: string;
  readonly message: string;
}

/** Where identities come from: SES itself, or a file shaped like its answers. */
export interface IdentitySource {
  listIdentities(): Promise<{ identities: SesIdentity[]; errors: DiscoveryError[] }>;
}

/** One page of SES v1 `ListIdentities`. */
export interface IdentityNamePage {
  readonly names: readonly string[];
  readonly nextToken?: string;
}

/**
 * One region's SES, read at the rate SES allows: v1 batch reads for everyone, v2 `GetEmailIdentity` where v1
 * cannot answer. Each call is paced and retried on throttling; a call that keeps failing throws.
 */
export interface SesDirectory {
  readonly region: string;
  /** One page of identity names (both types, the same request on every page). */
  listPage(nextToken: string | undefined): Promise<IdentityNamePage>;
  /** v1 DKIM attributes of up to 100 identities; a name missing from the map is unknown. */
  dkimAttributes(names: readonly string[]): Promise<ReadonlyMap<string, SesV1DkimAttributes>>;
  /** v1 custom MAIL FROM attributes of up to 100 identities; a name missing from the map is unknown. */
  mailFromAttributes(names: readonly string[]): Promise<ReadonlyMap<string, SesV1MailFromAttributes>>;
  /** The full v2 view of one identity; undefined when SES no longer has it. */
  emailIdentity(name: string): Promise<SesIdentity | undefined>;
  /** Calls made so far (every attempt), for metrics and the benchmark. */
  readonly calls: { v1: number; v2: number; throttled: number };
}

/** v2 attributes kept between runs, per region; written only when they change or are refreshed. */
export interface AttributeCache {
  load(region: string): Promise<Map<string, CachedSesAttributes>>;
  save(entry: CachedSesAttributes): Promise<void>;
}

/**
 * Custom MAIL FROM domains kept between runs, per region: only identities that have one get an entry, and
 * it is written only when it changes (or grows old), never once per identity and run.
 */
export interface MailFromCache {
  loadMailFrom(region: string): Promise<Map<string, CachedMailFrom>>;
  saveMailFrom(entry: CachedMailFrom): Promise<void>;
  removeMailFrom(region: string, name: string): Promise<void>;
}

/** Where a cut-short run stopped in a region, so the next run starts there. */
export interface ScanCursorStore {
  getCursor(region: string): Promise<string | undefined>;
  /** Store the cursor (undefined: start at the beginning next time). */
  putCursor(region: string, cursor: string | undefined): Promise<void>;
}

/** Keeps runs from overlapping without reserved concurrency: a lease item with an expiry. */
export interface RunLease {
  /** Take the lease for `holder` until `until` (epoch ms); false when another live holder has it. */
  acquire(holder: string, now: number, until: number): Promise<boolean>;
  release(holder: string): Promise<void>;
}

/** The probe's view of DNS that the rest of the product depends on. */
export interface DkimDnsProbe {
  /** Probe every expected record of one domain from every vantage point. */
  observe(domain: string, records: readonly ExpectedRecord[]): Promise<IdentityObservation>;
}

/** The probe's view of the MAIL FROM and DMARC records (the same vantage points as DKIM's). */
export interface MailAuthProbe {
  /** Probe one identity's MAIL FROM and DMARC lookups on every authoritative server and resolver. */
  observeMailAuth(plan: MailAuthPlan): Promise<MailAuthObservation>;
}

/** Everything the checks probe: an identity's DKIM records, and its MAIL FROM and DMARC records. */
export type IdentityProbe = DkimDnsProbe & MailAuthProbe;

/** The port the engine uses to read (and, when allowed, change) the account's hosted zones. */
export interface HostedZoneSource {
  /** Public hosted zones named `domain` or any parent down to `apex`, with their DKIM records (cached per run). */
  zonesFor(domain: string, apex: string): Promise<Route53Observation>;
  /** Apply a change batch (UPSERTs only); returns the change ID. */
  apply(batch: Route53ChangeBatch): Promise<string>;
}

/** What one run did, for metrics. */
export interface RunFigures {
  /** Reports of identities that need attention (per-identity metrics are emitted for these only). */
  readonly identities: readonly IdentityReport[];
  /** Identities checked this run, by health (the whole fleet, not only those needing attention). */
  readonly healthCounts: Readonly<Partial<Record<IdentityReport['health'], number>>>;
  /** Identities with a custom MAIL FROM domain checked this run, by that check's health. */
  readonly mailFromHealthCounts?: Readonly<Partial<Record<IdentityReport['health'], number>>>;
  /** Identities whose DMARC record was checked this run, by that check's health. */
  readonly dmarcHealthCounts?: Readonly<Partial<Record<IdentityReport['health'], number>>>;
  /** Identities SES listed that this run did not reach before its deadline. */
  readonly notReached: number;
  /** Identities checked with cached SES attributes older than this run (not re-read). */
  readonly staleAttributes: number;
  /** SES API calls (v1 and v2, every attempt) and how many were throttled. */
  readonly sesCalls: number;
  readonly sesThrottled: number;
  /** Hours before the deadline, per state key (`<region>#<identity>`), for identities in an open incident. */
  readonly hoursLeft: ReadonlyMap<string, number>;
  readonly discoveryErrors: number;
  readonly dnsQueries: number;
  readonly alertsSent: number;
  readonly durationMs: number;
}

/** The port for recording a run's metrics. */
export interface RunMetrics {
  record(figures: RunFigures): void;
  /** This invocation found another run holding the lease and did nothing. */
  recordSkipped(): void;
}

/** An account of the organization as the directory reports it; `state` is `State`, else the retired `Status`. */
export interface MemberAccount {
  readonly id: string;
  readonly state: string;
}

/** Where central mode finds the accounts of the organization. */
export interface AccountDirectory {
  /** Every account (every page), whatever its state. */
  listAccounts(): Promise<MemberAccount[]>;
}

/** The account directory could not be read; the message says what to do. */
export class AccountDirectoryError extends Error {
  override readonly name = 'AccountDirectoryError';
}
