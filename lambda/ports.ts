/**
 * The ports the use cases need, declared on the use-case side: adapters implement them, and nothing here
 * imports an adapter.
 */
import type { IdentityState } from './domain/lifecycle';
import type { RenderedAlert } from './domain/render-alert';

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
