import { checkPlan, type Route53Repair } from './check-dkim';
import { describeAwsError } from './describe-error';
import { type IdentityReport, QUIET_HEALTHS } from './domain/assess-identity';
import { planDkimChecks } from './domain/expected-records';
import type { SesIdentity } from './domain/ses-identity';
import {
  type CachedSesAttributes,
  cacheableAttributes,
  fullReadReason,
  identityFromV1,
  inZoneOrder,
  refreshSlice,
  rotateAfter,
  type SesV1DkimAttributes,
  sameAttributes,
} from './domain/ses-v1';
import { Limiter } from './limiter';
import type {
  AttributeCache,
  DiscoveryError,
  DkimDnsProbe,
  HostedZoneSource,
  RunLogger,
  ScanCursorStore,
  SesDirectory,
} from './ports';

/** v1 `GetIdentityDkimAttributes` reads at most this many identities a call. */
const BATCH = 100;
/** Identities read but not yet probed, at most (the next batch waits). */
const MAX_QUEUED = 4 * BATCH;

/** What one (account, region) scan needs: its own SES rate budget (the directory) and its own deadline. */
export interface RegionScanDependencies {
  readonly directory: SesDirectory;
  readonly probe: DkimDnsProbe;
  /** v2 attributes kept between runs. @default - none: every identity v1 cannot describe is read with v2 */
  readonly cache?: AttributeCache;
  /** Where a cut-short run stopped. @default - none: always start at the first name */
  readonly cursors?: ScanCursorStore;
  readonly route53?: HostedZoneSource;
  readonly repair?: Route53Repair;
  readonly now: () => number;
  /** Milliseconds before the run must end (Lambda's `getRemainingTimeInMillis`). */
  readonly remainingMs: () => number;
  readonly logger?: RunLogger;
}

export interface RegionScanOptions {
  /** Identity names (exact, case-insensitive) to leave out. */
  readonly ignore?: readonly string[];
  /** v2 reads a run spends refreshing cached attributes (never-read first, then the oldest). @default 20 */
  readonly refreshPerRun?: number;
  /**
   * No new SES read starts with less than this left, and no DNS probe with less than five sixths of it: an
   * identity's probe may take a minute (its DNS time budget), and the alerts still have to go out.
   * @default 90000
   */
  readonly stopMarginMs?: number;
  /** Identities probed at once. @default 32 */
  readonly concurrency?: number;
}

/** What a region scan reached, and what it did not. */
export interface RegionScanResult {
  readonly region: string;
  /** Every name SES listed (normalized, ignored ones left out), reached or not. */
  readonly listed: readonly string[];
  /** Whether the listing completed: only then may identities missing from it be taken for deleted. */
  readonly listingComplete: boolean;
  /** Identities assessed (each one was passed to `onReport`). */
  readonly reached: number;
  /** Listed identities not reached before the deadline: the next run starts with them. */
  readonly notReached: readonly string[];
  readonly errors: readonly DiscoveryError[];
  /** Identities assessed with cached v2 attributes rather than a read this run. */
  readonly staleAttributes: number;
  /** The oldest cached attributes used this run (ISO 8601). */
  readonly oldestAttributes?: string;
  readonly cacheWrites: number;
  /** The cursor stored for the next run, when this one was cut short. */
  readonly cursor?: string;
}

const normalize = (name: string) => name.trim().toLowerCase().replace(/\.+$/, '');
const parentOf = (name: string) => name.slice(name.indexOf('.') + 1);

/** The listed domain identities an identity without tokens of its own could inherit DKIM from. */
function listedAncestors(name: string, domains: ReadonlySet<string>): string[] {
  const found: string[] = [];
  let domain = name.includes('@') ? name.slice(name.lastIndexOf('@') + 1) : parentOf(name);
  while (domain.includes('.')) {
    if (domains.has(domain)) found.push(domain);
    domain = parentOf(domain);
  }
  if (domain && domains.has(domain)) found.push(domain);
  return found;
}

/**
 * Scan one region of one account: list every identity (v1, 1,000 a page), read DKIM attributes 100 at a
 * time (v1), read v2 only where v1 cannot answer or the cache is due for a refresh, and probe DNS while
 * reading goes on: each identity is passed to `onReport` as soon as it is assessed. Before the deadline it
 * stops starting work and stores a cursor, and the next run starts there, so a fleet too large for one run
 * is checked at least every K runs instead of never.
 */
export async function scanRegion(
  deps: RegionScanDependencies,
  options: RegionScanOptions,
  onReport: (report: IdentityReport) => Promise<void> | void,
): Promise<RegionScanResult> {
  const { directory } = deps;
  const region = directory.region;
  const margin = options.stopMarginMs ?? 90_000;
  const timeLeft = () => deps.remainingMs() > margin;
  // An identity read just before the margin is still probed (or the read was wasted): probes may start
  // until five sixths of it (75 of 90 s: a probe's one-minute budget still ends before delivery).
  const timeToProbe = () => deps.remainingMs() > (margin * 5) / 6;
  const errors: DiscoveryError[] = [];

  // 1. The listing: names only, ten pages for 10,000 identities.
  const rawNames = new Map<string, string>();
  let listingComplete = false;
  try {
    let token: string | undefined;
    do {
      if (!timeLeft()) throw new Error('the run reached its deadline before the listing finished');
      const page = await directory.listPage(token);
      for (const raw of page.names) rawNames.set(normalize(raw), raw);
      token = page.nextToken;
    } while (token);
    listingComplete = true;
  } catch (error) {
    errors.push({ region, message: `could not list SES identities: ${describeAwsError(error)}` });
  }
  const ignored = new Set((options.ignore ?? []).map(normalize));
  const listed = inZoneOrder([...rawNames.keys()].filter((n) => !ignored.has(n)));
  const domains = new Set(listed.filter((n) => !n.includes('@')));

  let cache = new Map<string, CachedSesAttributes>();
  try {
    if (deps.cache) cache = await deps.cache.load(region);
  } catch (error) {
    // Without the cache every identity is read as new: slower, never wrong.
    deps.logger?.warn('SES attribute cache unreadable', { region, reason: describeAwsError(error) });
  }
  const previousCursor = await deps.cursors?.getCursor(region).catch(() => undefined);
  const order = rotateAfter(listed, previousCursor);
  const refresh = deps.cache ? refreshSlice(order, cache, options.refreshPerRun ?? 20) : new Set<string>();

  // 2. Checking, as identities arrive. Identities without tokens of their own (addresses, subdomains) wait
  // for the listed domains they may inherit DKIM from.
  const probes = new Limiter(options.concurrency ?? 32);
  const running: Promise<void>[] = [];
  const settled = new Set<string>();
  const withTokens = new Map<string, SesIdentity>();
  const waiting = new Map<
    string,
    { identity: SesIdentity; fresh: boolean; v1Tokens: readonly string[]; ancestors: string[] }
  >();
  /** Identities this run is done with: assessed, failed to read, or gone from SES. */
  const done = new Set<string>();
  let reached = 0;
  let staleAttributes = 0;
  let oldestAttributes: string | undefined;
  let cacheWrites = 0;

  const saveCache = async (identity: SesIdentity, v1Tokens: readonly string[], refreshed: boolean) => {
    if (!deps.cache) return;
    const entry = cacheableAttributes(identity, v1Tokens, new Date(deps.now()).toISOString());
    const previous = cache.get(identity.name);
    if (!refreshed && sameAttributes(previous, entry)) return;
    try {
      await deps.cache.save(entry);
      cache.set(identity.name, entry);
      cacheWrites++;
    } catch (error) {
      deps.logger?.warn('SES attribute cache not written', { region, identity: identity.name, reason: String(error) });
    }
  };

  const readFull = async (name: string, reason: string): Promise<SesIdentity | 'gone' | 'failed'> => {
    try {
      const full = await directory.emailIdentity(rawNames.get(name) ?? name);
      if (!full) done.add(name);
      return full ?? 'gone';
    } catch (error) {
      errors.push({
        region,
        identity: name,
        message: `could not read ${name} (${reason}): ${describeAwsError(error)}`,
      });
      done.add(name);
      return 'failed';
    }
  };

  // Backpressure: identities read but not yet probed are held in memory; SES may outpace DNS (a raised
  // SES rate, or the benchmark's simulated clock), so reading pauses while too many wait.
  let queued = 0;
  const drained: (() => void)[] = [];
  const room = () => (queued < MAX_QUEUED ? Promise.resolve() : new Promise<void>((resolve) => drained.push(resolve)));

  // Only the listed domains an identity may inherit from take part in its plan (never the whole region).
  const plan = (identity: SesIdentity) => {
    const parents = identity.dkim.tokens.length > 0 ? [] : listedAncestors(identity.name, domains);
    const known = parents.flatMap((p) => withTokens.get(p) ?? []);
    return planDkimChecks([...known, identity]).at(-1);
  };

  const check = (identity: SesIdentity, fresh: boolean, v1Tokens: readonly string[]) => {
    queued++;
    running.push(
      probes.run(async () => {
        try {
          await probeOne(identity, fresh, v1Tokens);
        } finally {
          queued--;
          if (queued < MAX_QUEUED) for (const resolve of drained.splice(0)) resolve();
        }
      }),
    );
  };

  const probeOne = async (identity: SesIdentity, fresh: boolean, v1Tokens: readonly string[]) => {
    // Queued probes that would start too late are left for the next run, like unread batches.
    if (!timeToProbe()) return;
    const first = plan(identity);
    if (!first) return;
    let report = await checkPlan(first, deps.probe, deps.route53);
    if (!fresh && !QUIET_HEALTHS.has(report.health)) {
      // Never raise an alarm on v1's view or on cached attributes alone: read v2 and check again (the
      // probe's answers are cached for the run, so the second look costs SES one call, DNS nothing).
      const full = await readFull(identity.name, `confirming ${report.health}`);
      if (full === 'gone') return;
      if (full !== 'failed') {
        await saveCache(full, v1Tokens, false);
        const second = plan(full);
        if (second) report = await checkPlan(second, deps.probe, deps.route53);
      }
    }
    if (deps.repair) report = await deps.repair.apply(report);
    reached++;
    done.add(identity.name);
    await onReport(report);
  };

  const settle = (name: string) => {
    settled.add(name);
    for (const [key, waiter] of waiting) {
      if (waiter.ancestors.every((a) => settled.has(a))) {
        waiting.delete(key);
        check(waiter.identity, waiter.fresh, waiter.v1Tokens);
      }
    }
  };

  const dispatch = (identity: SesIdentity, fresh: boolean, v1Tokens: readonly string[]) => {
    if (identity.dkim.tokens.length > 0 && identity.type !== 'EMAIL_ADDRESS') withTokens.set(identity.name, identity);
    const ancestors = identity.dkim.tokens.length > 0 ? [] : listedAncestors(identity.name, domains);
    if (ancestors.every((a) => settled.has(a))) check(identity, fresh, v1Tokens);
    else waiting.set(identity.name, { identity, fresh, v1Tokens, ancestors });
    settle(identity.name);
  };

  /** Set when the deadline stopped the reading: what was not read is left for the next run. */
  let cutShort = false;
  for (let start = 0; start < order.length && !cutShort; start += BATCH) {
    if (!timeLeft()) {
      cutShort = true;
      break;
    }
    await room();
    const batch = order.slice(start, start + BATCH);
    let answers: ReadonlyMap<string, SesV1DkimAttributes>;
    try {
      answers = await directory.dkimAttributes(batch.map((n) => rawNames.get(n) ?? n));
    } catch (error) {
      for (const name of batch) {
        errors.push({ region, identity: name, message: `could not read DKIM attributes: ${describeAwsError(error)}` });
        done.add(name);
        settle(name);
      }
      continue;
    }
    const needFullRead: { name: string; reason: string; v1Tokens: readonly string[] }[] = [];
    for (const name of batch) {
      const v1 = answers.get(rawNames.get(name) ?? name);
      const cached = cache.get(name);
      const reason = fullReadReason(v1, cached) ?? (refresh.has(name) ? 'refresh' : undefined);
      if (reason || !v1) {
        needFullRead.push({ name, reason: reason ?? 'refresh', v1Tokens: v1?.DkimTokens ?? [] });
        continue;
      }
      if (cached) {
        staleAttributes++;
        if (!oldestAttributes || cached.readAt < oldestAttributes) oldestAttributes = cached.readAt;
      }
      dispatch(identityFromV1(name, region, v1, cached), false, v1.DkimTokens ?? []);
    }
    for (const { name, reason, v1Tokens } of needFullRead) {
      // v2 reads go one a second: a batch full of them must not carry the run past its deadline.
      if (!timeLeft()) {
        cutShort = true;
        break;
      }
      const full = await readFull(name, reason);
      if (full === 'gone' || full === 'failed') {
        settle(name);
        continue;
      }
      await saveCache(full, v1Tokens, reason === 'refresh');
      dispatch(full, true, v1Tokens);
    }
  }
  if (!cutShort) {
    // Everything was read: whoever still waits has an ancestor that could not be read; check it as it is.
    for (const [key, waiter] of waiting) {
      waiting.delete(key);
      check(waiter.identity, waiter.fresh, waiter.v1Tokens);
    }
  }
  await Promise.all(running);

  // The next run starts right after the last name before the first one not reached (in this run's order).
  const notReached = order.filter((n) => !done.has(n));
  const firstMissed = notReached.length > 0 ? order.indexOf(notReached[0] as string) : -1;
  const cursor = firstMissed > 0 ? order[firstMissed - 1] : undefined;
  if (cursor !== undefined && cursor !== previousCursor) {
    try {
      await deps.cursors?.putCursor(region, cursor);
    } catch (error) {
      deps.logger?.warn('scan cursor not stored', { region, reason: describeAwsError(error) });
    }
  }
  return {
    region,
    listed,
    listingComplete,
    reached,
    notReached,
    errors,
    staleAttributes,
    oldestAttributes,
    cacheWrites,
    cursor,
  };
}
