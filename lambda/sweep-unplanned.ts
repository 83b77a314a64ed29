import { type AlertLifecycleDependencies, type AlertLifecycleSettings, advanceLifecycle } from './alert-lifecycle';
import type { ShardRef } from './contract';
import type { IdentityState } from './domain/lifecycle';
import type { AlertContext } from './domain/render-alert';
import type { StateStore } from './ports';

/** What the sweep closed and what it could not deliver or store. */
export interface SweepResult {
  /** CLOSED notices delivered. */
  readonly noticesDelivered: number;
  readonly failures: readonly string[];
}

/** The account of a central-mode key (`<account>#<region>#<identity>`); undefined for a single-account key. */
function accountOf(key: string): string | undefined {
  return /^(\d{12})#/.exec(key)?.[1];
}

/**
 * The stored states no shard of this run will see: accounts that left the organization or were ignored,
 * regions removed from `regions`, and single-account keys left from before central mode. Reads are
 * restricted to them; writes pass through (the keys are the table's own).
 */
class UnplannedStates implements StateStore {
  constructor(
    private readonly inner: StateStore,
    private readonly planned: ReadonlySet<string>,
    private readonly account: string | undefined,
  ) {}
  get(key: string) {
    return this.inner.get(key);
  }
  put(state: IdentityState) {
    return this.inner.put(state);
  }
  remove(key: string, version: number) {
    return this.inner.remove(key, version);
  }
  async list() {
    return (await this.inner.list()).filter(
      (s) => accountOf(s.key) === this.account && !this.planned.has(`${this.account}#${s.region}`),
    );
  }
}

/**
 * After every shard ran: close the incidents of accounts and regions that are no longer scanned, with the
 * same CLOSED notice single-account mode sends for a region removed from monitoring, one account at a time
 * (so each notice names its account). Without it those incidents would stay open and silent until they
 * expire.
 */
export async function sweepUnplanned(
  shards: readonly ShardRef[],
  store: StateStore,
  settings: AlertLifecycleSettings,
  context: AlertContext,
  deps: Omit<AlertLifecycleDependencies, 'store'>,
): Promise<SweepResult> {
  const planned = new Set(shards.map((s) => `${s.account}#${s.region}`));
  const stored = await store.list();
  const accounts = [
    ...new Set(stored.filter((s) => !planned.has(`${accountOf(s.key)}#${s.region}`)).map((s) => accountOf(s.key))),
  ];
  let noticesDelivered = 0;
  const failures: string[] = [];
  for (const account of accounts) {
    const outcome = await advanceLifecycle(
      [],
      settings,
      { ...context, ...(account ? { account } : {}) },
      { ...deps, store: new UnplannedStates(store, planned, account) },
      { monitoredRegions: [], completeRegions: [], listedKeys: new Set() },
    );
    noticesDelivered += outcome.delivered.length;
    failures.push(...outcome.failures);
  }
  return { noticesDelivered, failures };
}
