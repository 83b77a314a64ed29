import type { ShardRef } from './contract';
import { runScan, type ScanDependencies, type ScanOptions } from './run-scan';
import { ShardStateStore } from './shard-state-store';

/** What a shard scan returns to the state machine: small (the Map keeps every item's output). */
export interface ShardResult {
  readonly account: string;
  readonly region: string;
  readonly identities: number;
  readonly needingAttention: number;
  /** Identities listed but left for the next run by the deadline. */
  readonly notReached: number;
  readonly discoveryErrors: number;
}

/** A bad shard event: one line naming the value and what was expected. */
export class ShardEventError extends Error {
  override readonly name = 'ShardEventError';
}

/** The shard in a Map item, checked against the configured regions (the item came from our own plan). */
export function parseShard(event: unknown, regions: readonly string[]): ShardRef {
  const { account, region } = (typeof event === 'object' && event !== null ? event : {}) as Record<string, unknown>;
  if (typeof account !== 'string' || !/^\d{12}$/.test(account) || typeof region !== 'string') {
    throw new ShardEventError(
      `a shard event must be {"account": "<12 digits>", "region": "<region>"}, got ${JSON.stringify(event)}`,
    );
  }
  if (!regions.includes(region))
    throw new ShardEventError(`shard region "${region}" is not one of the monitored regions (${regions.join(', ')})`);
  return { account, region };
}

/**
 * One (account, region) shard of a central run: the same engine and lifecycle as single-account mode, on
 * this shard's identities, with its own slice of the state table and alerts that name the account.
 */
export async function scanShard(shard: ShardRef, deps: ScanDependencies, options: ScanOptions): Promise<ShardResult> {
  const outcome = await runScan(
    { ...deps, store: new ShardStateStore(deps.store, shard) },
    {
      ...options,
      // Only this shard's region: stored identities of other regions are not in this shard's store view.
      regions: [shard.region],
      context: { ...options.context, account: shard.account },
    },
  );
  return {
    account: shard.account,
    region: shard.region,
    identities: outcome.checked,
    needingAttention: outcome.needingAttention,
    notReached: outcome.notReached,
    discoveryErrors: outcome.errors.length,
  };
}
