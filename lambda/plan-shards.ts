import type { ShardPlan, ShardRef } from './contract';
import type { AccountDirectory, RunLogger } from './ports';

export interface ShardPlanOptions {
  /** Read the accounts from the organization (else `accounts`). */
  readonly organization: boolean;
  readonly accounts: readonly string[];
  /** Accounts of the organization left out. */
  readonly ignoreAccounts: readonly string[];
  readonly regions: readonly string[];
}

/** No shard to scan, or more than one execution can carry: the message says what to change. */
export class ShardPlanError extends Error {
  override readonly name = 'ShardPlanError';
}

/**
 * Step Functions caps a state's output at 256 KiB (262,144 bytes); the plan is the Map's input, so it stays
 * well under it. At about 45 bytes a shard this is roughly 4,400 (account, region) shards.
 */
export const MAX_PLAN_BYTES = 200_000;

/** Organizations' account states; `Status` (retired 2026-09-09) had ACTIVE too. Only these are scanned. */
const SCANNABLE_STATES = new Set(['ACTIVE']);

/**
 * The shard plan of one central run: every (account, region) pair to scan. Accounts come from the
 * organization (ACTIVE only, minus `ignoreAccounts`) or from the configured list; an inactive account
 * (suspended, closing, closed) has no SES to read and is left out, and said so in the log.
 */
export async function planShards(
  directory: AccountDirectory | undefined,
  options: ShardPlanOptions,
  logger: Pick<RunLogger, 'info' | 'warn'>,
): Promise<ShardPlan> {
  let accounts: string[];
  if (options.organization) {
    if (!directory) throw new ShardPlanError('organization mode needs the Organizations account directory');
    const listed = await directory.listAccounts();
    const inactive = listed.filter((a) => !SCANNABLE_STATES.has(a.state));
    if (inactive.length > 0) {
      logger.info('accounts left out: not ACTIVE', {
        accounts: inactive.map((a) => ({ account: a.id, state: a.state })),
      });
    }
    const ignored = new Set(options.ignoreAccounts);
    const known = new Set(listed.map((a) => a.id));
    const strangers = options.ignoreAccounts.filter((id) => !known.has(id));
    if (strangers.length > 0) {
      // Not an error (the account may have left the organization), but likely a typo worth seeing.
      logger.warn('ignoreAccounts names accounts that are not in the organization', { accounts: strangers });
    }
    accounts = listed.filter((a) => SCANNABLE_STATES.has(a.state) && !ignored.has(a.id)).map((a) => a.id);
  } else {
    accounts = [...options.accounts];
  }
  accounts = [...new Set(accounts)].sort();
  if (accounts.length === 0) {
    throw new ShardPlanError(
      options.organization
        ? `no ACTIVE account left to scan in the organization (ignoreAccounts: ${options.ignoreAccounts.join(',') || 'none'})`
        : 'no account to scan: set accounts=111111111111,222222222222 or organization=true',
    );
  }
  if (options.regions.length === 0) throw new ShardPlanError('no region to scan: set regions=eu-west-1,...');
  const shards: ShardRef[] = accounts.flatMap((account) => options.regions.map((region) => ({ account, region })));
  const plan: ShardPlan = { shards, accounts: accounts.length };
  const bytes = Buffer.byteLength(JSON.stringify(plan));
  if (bytes > MAX_PLAN_BYTES) {
    throw new ShardPlanError(
      `${shards.length} shards (${accounts.length} accounts x ${options.regions.length} regions) make a ${bytes}-byte plan, over the ${MAX_PLAN_BYTES} bytes one Step Functions state may pass on: scan fewer regions, add accounts to ignoreAccounts, or split the organization across two deployments with accounts=...`,
    );
  }
  logger.info('shard plan', { accounts: accounts.length, regions: options.regions.length, shards: shards.length });
  return plan;
}
