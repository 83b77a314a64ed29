/**
 * The ports the use cases need, declared on the use-case side: adapters implement them, and nothing here
 * imports an adapter.
 */
import type { IdentityObservation, IdentityReport } from './domain/assess-identity';
import type { Route53ChangeBatch, Route53Observation } from './domain/diagnose-route53';
import type { ExpectedRecord } from './domain/expected-records';
import type { IdentityState } from './domain/lifecycle';
import type { RenderedAlert } from './domain/render-alert';
import type { SesIdentity } from './domain/ses-identity';

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

/** The probe's view of DNS that the rest of the product depends on. */
export interface DkimDnsProbe {
  /** Probe every expected record of one domain from every vantage point. */
  observe(domain: string, records: readonly ExpectedRecord[]): Promise<IdentityObservation>;
}

/** The port the engine uses to read (and, when allowed, change) the account's hosted zones. */
export interface HostedZoneSource {
  /** Public hosted zones named `domain` or any parent down to `apex`, with their DKIM records (cached per run). */
  zonesFor(domain: string, apex: string): Promise<Route53Observation>;
  /** Apply a change batch (UPSERTs only); returns the change ID. */
  apply(batch: Route53ChangeBatch): Promise<string>;
}

/** What one run did, for metrics. */
export interface RunFigures {
  readonly identities: readonly IdentityReport[];
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
