import type { ShardRef } from './contract';
import type { IdentityState } from './domain/lifecycle';
import type { StateStore } from './ports';

/**
 * One shard's view of the shared state table. Central mode stores each identity under
 * `<account>#<region>#<identity>` (two accounts may own the same domain in the same region), while the
 * lifecycle keeps deciding on `<region>#<identity>`: this store adds the account on the way in and strips it
 * on the way out, so single-account keys are untouched. `list` returns this shard's states only, so the
 * lifecycle's sweep of vanished identities never closes another shard's (or another region's) incidents.
 */
export class ShardStateStore implements StateStore {
  private readonly prefix: string;

  constructor(
    private readonly inner: StateStore,
    private readonly shard: ShardRef,
  ) {
    this.prefix = `${shard.account}#`;
  }

  /** The key a state has in the table: `<account>#<region>#<identity>`. */
  storedKey(key: string): string {
    return `${this.prefix}${key}`;
  }

  async get(key: string): Promise<IdentityState | undefined> {
    return this.strip(await this.inner.get(this.storedKey(key)));
  }

  put(state: IdentityState): Promise<void> {
    // The account is kept as its own attribute too, for whoever reads the table.
    return this.inner.put({ ...state, key: this.storedKey(state.key), account: this.shard.account } as IdentityState);
  }

  remove(key: string, version: number): Promise<void> {
    return this.inner.remove(this.storedKey(key), version);
  }

  async list(): Promise<IdentityState[]> {
    const mine = `${this.prefix}${this.shard.region}#`;
    return (await this.inner.list()).flatMap((s) => (s.key.startsWith(mine) ? [this.strip(s) as IdentityState] : []));
  }

  private strip(state: IdentityState | undefined): IdentityState | undefined {
    if (!state) return undefined;
    const { account: _account, ...rest } = state as IdentityState & { account?: string };
    return { ...rest, key: rest.key.slice(this.prefix.length) };
  }
}
