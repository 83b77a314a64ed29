import { type AlertLifecycleSettings, advanceLifecycle } from './alert-lifecycle';
import { type CheckReport, checkDkim } from './check-dkim';
import { QUIET_HEALTHS } from './domain/assess-identity';
import { hoursLeft, stateKey } from './domain/lifecycle';
import type { AlertContext } from './domain/render-alert';
import type {
  AlertChannel,
  DkimDnsProbe,
  HostedZoneSource,
  IdentitySource,
  RunLogger,
  RunMetrics,
  StateStore,
} from './ports';

export type { RunLogger } from './ports';

export interface ScanDependencies {
  readonly source: IdentitySource;
  readonly probe: DkimDnsProbe;
  readonly store: StateStore;
  readonly channels: readonly AlertChannel[];
  readonly metrics: RunMetrics;
  readonly logger: RunLogger;
  readonly dnsQueries: () => number;
  readonly now: () => number;
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
}

/** Thrown after a run in which some alerts could not be delivered or stored, so the Errors alarm fires. */
export class AlertDeliveryError extends Error {
  override readonly name = 'AlertDeliveryError';
}

/** One scheduled run: check every identity, advance each one's alert lifecycle, record metrics. */
export async function runScan(deps: ScanDependencies, options: ScanOptions): Promise<CheckReport> {
  const started = deps.now();
  const report = await checkDkim(deps.source, deps.probe, {
    ignore: options.ignore,
    route53: options.route53,
    autoRepair: options.autoRepair,
  });
  // `message` is a key Powertools reserves (and drops): the reason goes under its own name.
  for (const error of report.errors) {
    deps.logger.warn('SES discovery error', { region: error.region, identity: error.identity, reason: error.message });
  }
  const failedRegions = new Set(report.errors.filter((e) => !e.identity).map((e) => e.region));
  const listedKeys = new Set([
    ...report.identities.map((r) => stateKey(r.region, r.identity)),
    ...report.errors.flatMap((e) => (e.identity ? [stateKey(e.region, e.identity)] : [])),
  ]);
  for (const identity of report.identities.filter((r) => !QUIET_HEALTHS.has(r.health))) {
    deps.logger.info('identity needs attention', {
      identity: identity.identity,
      region: identity.region,
      health: identity.health,
      report: identity,
    });
  }
  const outcome = await advanceLifecycle(
    report.identities,
    options.lifecycle,
    options.context ?? {},
    {
      store: deps.store,
      channels: deps.channels,
      now: deps.now,
      invocationId: deps.invocationId,
      logger: deps.logger,
    },
    {
      monitoredRegions: options.regions,
      completeRegions: options.regions.filter((r) => !failedRegions.has(r)),
      listedKeys,
    },
  );
  for (const n of outcome.delivered) deps.logger.info('notification delivered', { ...n });
  const now = deps.now();
  deps.metrics.record({
    identities: report.identities,
    hoursLeft: new Map(
      outcome.states
        .filter((s) => s.incident?.deadline && s.phase !== 'EXPIRED')
        .map((s) => [s.key, hoursLeft(s.incident, now) ?? 0] as const),
    ),
    discoveryErrors: report.errors.length,
    dnsQueries: deps.dnsQueries(),
    alertsSent: outcome.delivered.length,
    durationMs: now - started,
  });
  deps.logger.info('run complete', {
    identities: report.identities.length,
    needingAttention: report.identities.filter((r) => !QUIET_HEALTHS.has(r.health)).length,
    discoveryErrors: report.errors.length,
    notificationsDelivered: outcome.delivered.length,
  });
  if (outcome.failures.length > 0) {
    throw new AlertDeliveryError(
      `${outcome.failures.length} alert delivery or state failure(s): ${[...new Set(outcome.failures)].join('; ')}`,
    );
  }
  return report;
}
