import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { Dimension, MetricName } from '../contract';
import { HEALTHS, type Health, type IdentityReport } from '../domain/assess-identity';
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

const FAILING = new Set<Health>(['AT_RISK', 'FAILING', 'REVOKED']);

/**
 * CloudWatch metrics through Powertools (EMF in the function's log: no PutMetricData permission needed).
 * Every per-identity dimension set is a billable metric, so per-identity metrics are emitted only for the
 * identities the run passes (those needing attention); the fleet is counted by health at a fixed cost.
 */
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
    // Only the healths present: a metric not sent in an hour costs nothing for that hour. The MAIL FROM and
    // DMARC checks are counted the same way: fleet counts, never a metric per identity.
    const byHealth = (name: string, counts: RunFigures['healthCounts'] | undefined) => {
      for (const health of HEALTHS.filter((h) => (counts?.[h] ?? 0) > 0)) {
        const single = this.metrics.singleMetric();
        single.addDimension(Dimension.Health, health);
        single.addMetric(name, MetricUnit.Count, counts?.[health] ?? 0);
      }
    };
    byHealth(MetricName.IdentitiesByHealth, figures.healthCounts);
    byHealth(MetricName.MailFromByHealth, figures.mailFromHealthCounts);
    byHealth(MetricName.DmarcByHealth, figures.dmarcHealthCounts);
    const count = (pick: (h: Health) => boolean) =>
      HEALTHS.filter(pick).reduce((sum, h) => sum + (figures.healthCounts[h] ?? 0), 0);
    this.metrics.addMetric(
      MetricName.IdentitiesChecked,
      MetricUnit.Count,
      count(() => true),
    );
    this.metrics.addMetric(
      MetricName.IdentitiesFailing,
      MetricUnit.Count,
      count((h) => FAILING.has(h)),
    );
    this.metrics.addMetric(
      MetricName.IdentitiesUnknown,
      MetricUnit.Count,
      count((h) => h === 'UNKNOWN'),
    );
    // Sent only when there is something to count: a metric not sent in an hour costs nothing that hour, and
    // the alarm on IdentitiesNotReached reads missing data as "all reached".
    if (figures.notReached > 0)
      this.metrics.addMetric(MetricName.IdentitiesNotReached, MetricUnit.Count, figures.notReached);
    if (figures.sesThrottled > 0)
      this.metrics.addMetric(MetricName.SesThrottled, MetricUnit.Count, figures.sesThrottled);
    this.metrics.addMetric(MetricName.StaleAttributes, MetricUnit.Count, figures.staleAttributes);
    this.metrics.addMetric(MetricName.SesCalls, MetricUnit.Count, figures.sesCalls);
    this.metrics.addMetric(MetricName.DiscoveryErrors, MetricUnit.Count, figures.discoveryErrors);
    this.metrics.addMetric(MetricName.DnsQueries, MetricUnit.Count, figures.dnsQueries);
    this.metrics.addMetric(MetricName.AlertsSent, MetricUnit.Count, figures.alertsSent);
    this.metrics.addMetric(MetricName.RunDuration, MetricUnit.Milliseconds, figures.durationMs);
    this.metrics.addMetric(MetricName.RunCompleted, MetricUnit.Count, 1);
    this.metrics.publishStoredMetrics();
  }

  recordSkipped(): void {
    this.metrics.addMetric(MetricName.RunSkipped, MetricUnit.Count, 1);
    this.metrics.publishStoredMetrics();
  }
}
