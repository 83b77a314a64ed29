import { AlertLifecycleRun, type AlertLifecycleSettings } from './alert-lifecycle';
import { Route53Repair } from './check-dkim';
import { describeAwsError } from './describe-error';
import { type Health, type IdentityReport, QUIET_HEALTHS } from './domain/assess-identity';
import { hoursLeft, stateKey } from './domain/lifecycle';
import type { AlertContext } from './domain/render-alert';
import type {
  AlertChannel,
  AttributeCache,
  DiscoveryError,
  HostedZoneSource,
  IdentityProbe,
  MailFromCache,
  RunLease,
  RunLogger,
  RunMetrics,
  ScanCursorStore,
  SesDirectory,
  StateStore,
} from './ports';
import { type RegionScanResult, scanRegion } from './scan-region';

export type { RunLogger } from './ports';

export interface ScanDependencies {
  /** One per monitored region, each with its own SES rate budget. */
  readonly directories: readonly SesDirectory[];
  readonly probe: IdentityProbe;
  readonly store: StateStore;
  readonly cache?: AttributeCache;
  /** Custom MAIL FROM domains kept between runs (then MAIL FROM attributes are read in a rolling slice). */
  readonly mailFromCache?: MailFromCache;
  readonly cursors?: ScanCursorStore;
  /** Keeps runs from overlapping. @default - no lease (tests, a single caller) */
  readonly lease?: RunLease;
  readonly channels: readonly AlertChannel[];
  readonly metrics: RunMetrics;
  readonly logger: RunLogger;
  readonly dnsQueries: () => number;
  readonly now: () => number;
  /** Milliseconds before the invocation is killed (`context.getRemainingTimeInMillis`). */
  readonly remainingMs: () => number;
  readonly invocationId: string;
}

export interface ScanOptions {
  readonly lifecycle: AlertLifecycleSettings;
  /** The regions the monitor watches: stored identities of other regions were removed from monitoring. */
  readonly regions: readonly string[];
  readonly ignore?: readonly string[];
  readonly route53?: HostedZoneSource;
  readonly autoRepair?: boolean;
  readonly context?: AlertContext;
  /** v2 reads per region and run spent refreshing cached attributes. @default 20 */
  readonly refreshPerRun?: number;
  /** Stop starting work with this much time left. @default 90000 */
  readonly stopMarginMs?: number;
  /** Check custom MAIL FROM domains. @default true */
  readonly checkMailFrom?: boolean;
  /** Check DMARC records. @default true */
  readonly checkDmarc?: boolean;
}

/** What one run did. */
export interface ScanOutcome {
  /** True when another run held the lease and this one did nothing. */
  readonly skipped: boolean;
  readonly checked: number;
  readonly needingAttention: number;
  readonly notReached: number;
  readonly errors: readonly DiscoveryError[];
  readonly regions: readonly RegionScanResult[];
}

/** Thrown after a run in which some alerts could not be delivered or stored, so the Errors alarm fires. */
export class AlertDeliveryError extends Error {
  override readonly name = 'AlertDeliveryError';
}

/** How long past the invocation's own deadline the lease is kept, for clock skew. */
const LEASE_SLACK_MS = 60_000;

/**
 * One scheduled run: take the lease, scan every region in parallel (each at its own SES rate, all against
 * one deadline), advance each identity's alert lifecycle as soon as it is assessed, close what SES no longer
 * lists, deliver, record metrics. Cost grows with problems: quiet identities are counted, not logged one by
 * one, and their unchanged state is not written.
 */
export async function runScan(deps: ScanDependencies, options: ScanOptions): Promise<ScanOutcome> {
  const started = deps.now();
  if (
    deps.lease &&
    !(await deps.lease.acquire(deps.invocationId, started, started + deps.remainingMs() + LEASE_SLACK_MS))
  ) {
    deps.logger.warn('another run holds the lease: this invocation exits without scanning', {
      invocationId: deps.invocationId,
    });
    deps.metrics.recordSkipped();
    return { skipped: true, checked: 0, needingAttention: 0, notReached: 0, errors: [], regions: [] };
  }
  try {
    return await scanAll(deps, options, started);
  } finally {
    await deps.lease?.release(deps.invocationId).catch((error: unknown) => {
      // It lapses by itself; the next run only waits for it.
      deps.logger.warn('lease not released', { reason: describeAwsError(error) });
    });
  }
}

async function scanAll(deps: ScanDependencies, options: ScanOptions, started: number): Promise<ScanOutcome> {
  const lifecycle = new AlertLifecycleRun(options.lifecycle, options.context ?? {}, {
    store: deps.store,
    channels: deps.channels,
    now: deps.now,
    invocationId: deps.invocationId,
    logger: deps.logger,
  });
  await lifecycle.load();
  const healthCounts: Partial<Record<Health, number>> = {};
  const mailFromHealthCounts: Partial<Record<Health, number>> = {};
  const dmarcHealthCounts: Partial<Record<Health, number>> = {};
  const attention: IdentityReport[] = [];
  const repair = options.autoRepair && options.route53 ? new Route53Repair(options.route53) : undefined;

  const onReport = async (report: IdentityReport) => {
    healthCounts[report.health] = (healthCounts[report.health] ?? 0) + 1;
    const mailFromHealth = report.mailFrom?.health;
    const dmarcHealth = report.dmarc?.health;
    if (mailFromHealth) mailFromHealthCounts[mailFromHealth] = (mailFromHealthCounts[mailFromHealth] ?? 0) + 1;
    if (dmarcHealth) dmarcHealthCounts[dmarcHealth] = (dmarcHealthCounts[dmarcHealth] ?? 0) + 1;
    // Per-identity metrics follow DKIM's health only; a MAIL FROM or DMARC problem is logged all the same.
    const dkimAttention = !QUIET_HEALTHS.has(report.health);
    if (dkimAttention) attention.push(report);
    if (dkimAttention || [mailFromHealth, dmarcHealth].some((h) => h && !QUIET_HEALTHS.has(h))) {
      deps.logger.info('identity needs attention', {
        identity: report.identity,
        region: report.region,
        health: report.health,
        ...(mailFromHealth ? { mailFromHealth } : {}),
        ...(dmarcHealth ? { dmarcHealth } : {}),
        report,
      });
    }
    await lifecycle.advance(report);
  };
  const regions = await Promise.all(
    deps.directories.map((directory) =>
      scanRegion(
        {
          directory,
          probe: deps.probe,
          cache: deps.cache,
          mailFromCache: deps.mailFromCache,
          cursors: deps.cursors,
          route53: options.route53,
          repair,
          now: deps.now,
          remainingMs: deps.remainingMs,
          logger: deps.logger,
        },
        {
          ignore: options.ignore,
          refreshPerRun: options.refreshPerRun,
          stopMarginMs: options.stopMarginMs,
          checkMailFrom: options.checkMailFrom,
          checkDmarc: options.checkDmarc,
        },
        onReport,
      ),
    ),
  );

  const errors = regions.flatMap((r) => r.errors);
  // `message` is a key Powertools reserves (and drops): the reason goes under its own name.
  for (const error of errors) {
    deps.logger.warn('SES discovery error', { region: error.region, identity: error.identity, reason: error.message });
  }
  for (const region of regions.filter((r) => r.notReached.length > 0)) {
    deps.logger.warn('identities not reached before the deadline: the next run starts with them', {
      region: region.region,
      notReached: region.notReached.length,
      listed: region.listed.length,
      cursor: region.cursor,
      first: region.notReached.slice(0, 20),
    });
  }
  // Everything listed counts as seen, reached or not: an identity only cut off by the deadline is not gone.
  await lifecycle.closeVanished({
    monitoredRegions: options.regions,
    completeRegions: regions.filter((r) => r.listingComplete).map((r) => r.region),
    listedKeys: new Set(regions.flatMap((r) => r.listed.map((name) => stateKey(r.region, name)))),
  });
  const outcome = await lifecycle.deliver();
  for (const n of outcome.delivered) deps.logger.info('notification delivered', { ...n });

  const now = deps.now();
  const notReached = regions.reduce((sum, r) => sum + r.notReached.length, 0);
  const staleAttributes = regions.reduce((sum, r) => sum + r.staleAttributes, 0);
  const calls = deps.directories.reduce(
    (sum, d) => ({ all: sum.all + d.calls.v1 + d.calls.v2, throttled: sum.throttled + d.calls.throttled }),
    { all: 0, throttled: 0 },
  );
  deps.metrics.record({
    identities: attention,
    healthCounts,
    mailFromHealthCounts,
    dmarcHealthCounts,
    hoursLeft: new Map(
      outcome.states
        .filter((s) => s.incident?.deadline && s.phase !== 'EXPIRED')
        .map((s) => [s.key, hoursLeft(s.incident, now) ?? 0] as const),
    ),
    notReached,
    staleAttributes,
    sesCalls: calls.all,
    sesThrottled: calls.throttled,
    discoveryErrors: errors.length,
    dnsQueries: deps.dnsQueries(),
    alertsSent: outcome.delivered.length,
    durationMs: now - started,
  });
  const checked = Object.values(healthCounts).reduce((a, b) => a + b, 0);
  deps.logger.info('run complete', {
    identities: checked,
    needingAttention: attention.length,
    notReached,
    staleAttributes,
    oldestAttributes: regions
      .map((r) => r.oldestAttributes)
      .filter(Boolean)
      .sort()[0],
    sesCalls: calls.all,
    sesThrottled: calls.throttled,
    attributeCacheWrites: regions.reduce((sum, r) => sum + r.cacheWrites, 0),
    discoveryErrors: errors.length,
    notificationsDelivered: outcome.delivered.length,
  });
  if (outcome.failures.length > 0) {
    throw new AlertDeliveryError(
      `${outcome.failures.length} alert delivery or state failure(s): ${[...new Set(outcome.failures)].join('; ')}`,
    );
  }
  return { skipped: false, checked, needingAttention: attention.length, notReached, errors, regions };
}
