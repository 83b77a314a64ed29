import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { CentralDimension, MetricName, type ShardRef } from '../contract';
import { QUIET_HEALTHS } from '../domain/assess-identity';
import type { RunFigures, RunLogger, RunMetrics } from '../ports';

/**
 * A shard's metrics and its lines for the organization overview. The run metrics carry `Account` and
 * `Region` (one metric set per shard: bounded by accounts x regions); the discovery errors are also sent
 * without them, so the one DiscoveryErrors alarm sees every shard. Each identity in trouble or in an open
 * incident is logged with its account and hours left, for the dashboard's most-urgent table.
 */
export class ShardRunMetrics implements RunMetrics {
  constructor(
    private readonly shard: ShardRef,
    /** Records the run metrics; its `Metrics` must carry the `Account` default dimension. */
    private readonly inner: RunMetrics,
    /** The `Metrics` behind `inner`: the shard's region is added to its next flush. */
    private readonly shardMetrics: Metrics,
    /** Metrics with only the service dimension: what the fleet-wide alarms watch. */
    private readonly fleetMetrics: Metrics,
    private readonly logger: Pick<RunLogger, 'info'>,
  ) {}

  recordSkipped(): void {
    this.shardMetrics.addDimension(CentralDimension.Region, this.shard.region);
    this.inner.recordSkipped();
  }

  record(figures: RunFigures): void {
    this.shardMetrics.addDimension(CentralDimension.Region, this.shard.region);
    this.inner.record(figures);
    this.fleetMetrics.addMetric(MetricName.DiscoveryErrors, MetricUnit.Count, figures.discoveryErrors);
    // The not-reached alarm watches the fleet-wide metric too: a shard left unfinished run after run is seen.
    this.fleetMetrics.addMetric(MetricName.IdentitiesNotReached, MetricUnit.Count, figures.notReached);
    this.fleetMetrics.publishStoredMetrics();
    // `identities` holds those needing attention; `healthCounts` the whole shard.
    for (const report of figures.identities) {
      const left = figures.hoursLeft.get(`${report.region}#${report.identity}`);
      if (QUIET_HEALTHS.has(report.health) && left === undefined) continue;
      this.logger.info('shard identity', {
        account: this.shard.account,
        region: report.region,
        identity: report.identity,
        health: report.health,
        hoursLeft: left,
      });
    }
    this.logger.info('shard summary', {
      account: this.shard.account,
      region: this.shard.region,
      identities: Object.values(figures.healthCounts).reduce((a, b) => a + (b ?? 0), 0),
      discoveryErrors: figures.discoveryErrors,
      notReached: figures.notReached,
      ...Object.fromEntries(Object.entries(figures.healthCounts).map(([health, n]) => [`health_${health}`, n])),
    });
  }
}
