import { checkPlan, type Route53Repair } from './check-dkim';
import { describeAwsError } from './describe-error';
import { type IdentityReport, QUIET_HEALTHS } from './domain/assess-identity';
import { planDkimChecks, withMailAuthPlans } from './domain/expected-records';
import {
  applyMailFromAttributes,
  InvalidIdentityError,
  type SesIdentity,
  type SesV1MailFromAttributes,
} from './domain/ses-identity';
import {
  type CachedMailFrom,
  type CachedSesAttributes,
  cacheableAttributes,
  fullReadReason,
  identityFromV1,
  inZoneOrder,
  mailFromCacheChange,
  mailFromSlice,
  refreshSlice,
  rotateAfter,
  type SesV1DkimAttributes,
  sameAttributes,
} from './domain/ses-v1';
import { Limiter } from './limiter';
import type {
  AttributeCache,
  DiscoveryError,
  HostedZoneSource,
  IdentityProbe,
  MailFromCache,
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
  readonly probe: IdentityProbe;
  /** v2 attributes kept between runs. @default - none: every identity v1 cannot describe is read with v2 */
  readonly cache?: AttributeCache;
  /**
   * Custom MAIL FROM domains kept between runs. With it (and `cursors`), MAIL FROM attributes are read for a
   * rolling slice of identities each run. @default - none: every identity's are read every run
   */
  readonly mailFromCache?: MailFromCache;
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
  /** Check custom MAIL FROM domains (v1 `GetIdentityMailFromDomainAttributes`, MX and SPF). @default true */
  readonly checkMailFrom?: boolean;
  /** Check the DMARC record that applies to each identity's domain. @default true */
  readonly checkDmarc?: boolean;
  /**
   * v1 `GetIdentityMailFromDomainAttributes` calls (100 identities each) a run, when a MAIL FROM cache and a
   * cursor store keep the rest between runs. @default 4
   */
  readonly mailFromBatchesPerRun?: number;
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

  // MAIL FROM: SES v1 reads custom MAIL FROM attributes 100 identities a call, like DKIM's, but at one call
  // a second the extra batch per 100 identities would cost a 10,000-identity region 100 s a run (145 → 245 s).
  // So each run reads a rolling slice (4 batches by default: every identity at most ceil(N / 400) runs old;
  // fleets up to 400 identities every run) and the domains found are cached between runs, so every identity
  // with a custom MAIL FROM domain has its MX and SPF probed every run, and SES's MAIL FROM status is at most
  // that many runs old (any v2 read of the identity, such as the confirmation of a problem, refreshes it).
  // v1's DKIM answer says nothing about MAIL FROM, so there is no cheaper way to know who has one.
  const checkMailFrom = options.checkMailFrom ?? true;
  const mailAuthOptions = { checkMailFrom, checkDmarc: options.checkDmarc ?? true };
  let mailFromCached = new Map<string, CachedMailFrom>();
  try {
    if (checkMailFrom && deps.mailFromCache) mailFromCached = await deps.mailFromCache.loadMailFrom(region);
  } catch (error) {
    deps.logger?.warn('MAIL FROM cache unreadable', { region, reason: describeAwsError(error) });
  }
  const rolling = Boolean(deps.mailFromCache && deps.cursors);
  const sweepKey = `${region}#mail-from`;
  const previousSweep = rolling ? await deps.cursors?.getCursor(sweepKey).catch(() => undefined) : undefined;
  const sweep = checkMailFrom
    ? mailFromSlice(
        listed,
        previousSweep,
        rolling ? Math.max(1, options.mailFromBatchesPerRun ?? 4) * BATCH : Number.POSITIVE_INFINITY,
        BATCH,
      )
    : { names: new Set<string>(), last: undefined };
  let sweepRead = 0;

  // 2. Checking, as identities arrive. Identities without tokens of their own (addresses, subdomains) wait
  // for the listed domains they may inherit DKIM from.
  const probes = new Limiter(options.concurrency ?? 32);
  const running: Promise<void>[] = [];
  const settled = new Set<string>();
  const withTokens = new Map<string, SesIdentity>();
  const waiting = new Map<
    string,
    { identity: SesIdentity; fresh: boolean; v1Tokens: readonly string[]; staleMailFrom: boolean; ancestors: string[] }
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

  /** Keep a fresh view of the identity's MAIL FROM domain (v1 or v2), writing only what changed. */
  const rememberMailFrom = async (identity: SesIdentity) => {
    if (!deps.mailFromCache || !checkMailFrom) return;
    const change = mailFromCacheChange(mailFromCached.get(identity.name), identity.mailFrom, deps.now());
    if (!change) return;
    try {
      if (change === 'remove' || !identity.mailFrom) {
        await deps.mailFromCache.removeMailFrom(region, identity.name);
        mailFromCached.delete(identity.name);
      } else {
        const entry = {
          name: identity.name,
          region,
          mailFrom: identity.mailFrom,
          readAt: new Date(deps.now()).toISOString(),
        };
        await deps.mailFromCache.saveMailFrom(entry);
        mailFromCached.set(identity.name, entry);
      }
      cacheWrites++;
    } catch (error) {
      deps.logger?.warn('MAIL FROM cache not written', { region, identity: identity.name, reason: String(error) });
    }
  };

  /**
   * The identity (read with v1) with its custom MAIL FROM domain: this run's v1 answer, else the cached one.
   * `stale` says it came from the cache.
   */
  const withMailFrom = async (
    identity: SesIdentity,
    answer: SesV1MailFromAttributes | undefined,
  ): Promise<{ identity: SesIdentity; stale: boolean }> => {
    if (!checkMailFrom) return { identity, stale: false };
    if (answer) {
      try {
        const [read] = applyMailFromAttributes([identity], { [identity.name]: answer }, region);
        if (read) {
          await rememberMailFrom(read);
          return { identity: read, stale: false };
        }
      } catch (error) {
        if (!(error instanceof InvalidIdentityError)) throw error;
        // Its DKIM is still checked; the MAIL FROM domain is what the cache last knew.
        errors.push({ region, identity: identity.name, message: error.message });
      }
    }
    const cached = mailFromCached.get(identity.name);
    return { identity: cached ? { ...identity, mailFrom: cached.mailFrom } : identity, stale: Boolean(cached) };
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
    const dkim = planDkimChecks([...known, identity]).at(-1);
    return dkim && withMailAuthPlans([dkim], mailAuthOptions)[0];
  };

  const check = (identity: SesIdentity, fresh: boolean, v1Tokens: readonly string[], staleMailFrom: boolean) => {
    queued++;
    running.push(
      probes.run(async () => {
        try {
          await probeOne(identity, fresh, v1Tokens, staleMailFrom);
        } finally {
          queued--;
          if (queued < MAX_QUEUED) for (const resolve of drained.splice(0)) resolve();
        }
      }),
    );
  };

  const probeOne = async (
    identity: SesIdentity,
    fresh: boolean,
    v1Tokens: readonly string[],
    staleMailFrom: boolean,
  ) => {
    // Queued probes that would start too late are left for the next run, like unread batches.
    if (!timeToProbe()) return;
    const first = plan(identity);
    if (!first) return;
    let report = await checkPlan(first, deps.probe, deps.route53);
    const mailFromDoubt = staleMailFrom && report.mailFrom && !QUIET_HEALTHS.has(report.mailFrom.health);
    if (!fresh && (!QUIET_HEALTHS.has(report.health) || mailFromDoubt)) {
      // Never raise an alarm on v1's view or on cached attributes alone: read v2 and check again (the
      // probe's answers are cached for the run, so the second look costs SES one call, DNS nothing).
      const why = QUIET_HEALTHS.has(report.health) ? `MAIL FROM ${report.mailFrom?.health}` : report.health;
      const full = await readFull(identity.name, `confirming ${why}`);
      if (full === 'gone') return;
      if (full !== 'failed') {
        await saveCache(full, v1Tokens, false);
        await rememberMailFrom(full);
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
        check(waiter.identity, waiter.fresh, waiter.v1Tokens, waiter.staleMailFrom);
      }
    }
  };

  const dispatch = (identity: SesIdentity, fresh: boolean, v1Tokens: readonly string[], staleMailFrom = false) => {
    if (identity.dkim.tokens.length > 0 && identity.type !== 'EMAIL_ADDRESS') withTokens.set(identity.name, identity);
    const ancestors = identity.dkim.tokens.length > 0 ? [] : listedAncestors(identity.name, domains);
    if (ancestors.every((a) => settled.has(a))) check(identity, fresh, v1Tokens, staleMailFrom);
    else waiting.set(identity.name, { identity, fresh, v1Tokens, staleMailFrom, ancestors });
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
    // This batch's share of the MAIL FROM slice, in one call beside its DKIM call.
    const mailFromAnswers = new Map<string, SesV1MailFromAttributes>();
    const sweepNames = batch.filter((n) => sweep.names.has(n));
    if (sweepNames.length > 0) {
      try {
        const found = await directory.mailFromAttributes(sweepNames.map((n) => rawNames.get(n) ?? n));
        for (const name of sweepNames) {
          const answer = found.get(rawNames.get(name) ?? name);
          if (answer) mailFromAnswers.set(name, answer);
        }
        sweepRead += sweepNames.length;
      } catch (error) {
        // Not a reason to skip DKIM: these identities keep their cached MAIL FROM domain this run.
        errors.push({
          region,
          message: `could not read the MAIL FROM attributes of ${sweepNames.length} identities (the cached ones are used): ${describeAwsError(error)}`,
        });
      }
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
      const { identity, stale } = await withMailFrom(
        identityFromV1(name, region, v1, cached),
        mailFromAnswers.get(name),
      );
      dispatch(identity, false, v1.DkimTokens ?? [], stale);
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
      await rememberMailFrom(full);
      dispatch(full, true, v1Tokens);
    }
  }
  if (!cutShort) {
    // Everything was read: whoever still waits has an ancestor that could not be read; check it as it is.
    for (const [key, waiter] of waiting) {
      waiting.delete(key);
      check(waiter.identity, waiter.fresh, waiter.v1Tokens, waiter.staleMailFrom);
    }
  }
  await Promise.all(running);
  // The slice moves on only once all of it was read: a cut-short or failed read is read again next run.
  if (rolling && sweep.last !== undefined && sweepRead === sweep.names.size && sweep.last !== previousSweep) {
    try {
      await deps.cursors?.putCursor(sweepKey, sweep.last);
    } catch (error) {
      deps.logger?.warn('MAIL FROM slice position not stored', { region, reason: describeAwsError(error) });
    }
  }

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
