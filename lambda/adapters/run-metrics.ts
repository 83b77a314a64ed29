import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { Dimension, MetricName } from '../contract';
import type { Health, IdentityReport } from '../domain/assess-identity';
import type { RunFigures, RunMetrics } from '../ports';

/** The HealthLevel metric's value per health. */
export const HEALTH_LEVEL: Readonly<Record<Health, number>> = {
  HEALTHY: 0,
  PENDING: 0,
  DISABLED: 0,
  UNKNOWN: 1,
  AT_RISK: 2,
  FAILING: 3,
  REVOKED: 4,
};

const FAILING = new Set(['AT_RISK', 'FAILING', 'REVOKED']);

/** CloudWatch metrics through Powertools (EMF in the function's log: no PutMetricData permission needed). */
export class PowertoolsRunMetrics implements RunMetrics {
  constructor(
    private readonly metrics: Metrics,
    private readonly perIdentity: boolean,
  ) {}

  record(figures: RunFigures): void {
    if (this.perIdentity) {
      // A single metric flushes on addMetric and forgets its dimensions: one per value.
      const emit = (report: IdentityReport, name: string, value: number) => {
        const single = this.metrics.singleMetric();
        single.addDimension(Dimension.Identity, report.identity);
        single.addDimension(Dimension.IdentityRegion, report.region);
        single.addMetric(name, MetricUnit.Count, value);
      };
      for (const report of figures.identities) {
        emit(report, MetricName.HealthLevel, HEALTH_LEVEL[report.health]);
        emit(
          report,
          MetricName.FailingRecords,
          report.records.filter((r) => r.findings.some((f) => f.severity === 'problem')).length,
        );
        const left = figures.hoursLeft.get(`${report.region}#${report.identity}`);
        if (left !== undefined) emit(report, MetricName.HoursLeft, left);
      }
    }
    const count = (pick: (r: IdentityReport) => boolean) => figures.identities.filter(pick).length;
    this.metrics.addMetric(MetricName.IdentitiesChecked, MetricUnit.Count, figures.identities.length);
    this.metrics.addMetric(
      MetricName.IdentitiesFailing,
      MetricUnit.Count,
      count((r) => FAILING.has(r.health)),
    );
    this.metrics.addMetric(
      MetricName.IdentitiesUnknown,
      MetricUnit.Count,
      count((r) => r.health === 'UNKNOWN'),
    );
    this.metrics.addMetric(MetricName.DiscoveryErrors, MetricUnit.Count, figures.discoveryErrors);
    this.metrics.addMetric(MetricName.DnsQueries, MetricUnit.Count, figures.dnsQueries);
    this.metrics.addMetric(MetricName.AlertsSent, MetricUnit.Count, figures.alertsSent);
    this.metrics.addMetric(MetricName.RunDuration, MetricUnit.Milliseconds, figures.durationMs);
    this.metrics.addMetric(MetricName.RunCompleted, MetricUnit.Count, 1);
    this.metrics.publishStoredMetrics();
  }
}
