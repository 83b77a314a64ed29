import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { Dimension, METRIC_NAMESPACE, MetricName, SERVICE_NAME } from '../lambda/metrics/metric-names';
import type { DkimSentinelSettings } from './config';

export interface DkimMonitoringProps {
  readonly settings: DkimSentinelSettings;
  readonly scanner: lambda.IFunction;
  /** The scanner's log group, for the identities-in-trouble table (no per-metric cost). */
  readonly scannerLogGroup: logs.ILogGroup;
  readonly failedInvocations: sqs.IQueue;
  readonly topic: sns.ITopic;
}

/** A metric the scanner emits per run (dimension `service`). */
export function runMetric(name: string, period: Duration, statistic = 'Sum'): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: METRIC_NAMESPACE,
    metricName: name,
    dimensionsMap: { [Dimension.Service]: SERVICE_NAME },
    period,
    statistic,
  });
}

/**
 * The fleet and the monitor's own health at a glance, and the alarms that watch the monitor itself: a
 * monitor that silently stops is worse than none.
 */
export class DkimMonitoring extends Construct {
  readonly dashboard: cloudwatch.Dashboard;
  readonly heartbeatAlarm: cloudwatch.Alarm;
  readonly errorsAlarm: cloudwatch.Alarm;
  readonly failedInvocationsAlarm: cloudwatch.Alarm;
  readonly discoveryErrorsAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: DkimMonitoringProps) {
    super(scope, id);
    const period = Duration.minutes(props.settings.scheduleMinutes);
    const notify = new actions.SnsAction(props.topic);

    // No completed run within two schedule periods. Missing data is breaching: no data IS the failure.
    this.heartbeatAlarm = new cloudwatch.Alarm(this, 'Heartbeat', {
      alarmDescription: `SES DKIM sentinel: no scan completed within two schedule periods (${props.settings.schedule}); DKIM is not being watched.`,
      metric: runMetric(MetricName.RunCompleted, period),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: 2,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    });
    this.errorsAlarm = new cloudwatch.Alarm(this, 'ScannerErrors', {
      alarmDescription: 'SES DKIM sentinel: the scanner failed (see its log group).',
      metric: props.scanner.metricErrors({ period: Duration.minutes(5), statistic: 'Sum' }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.failedInvocationsAlarm = new cloudwatch.Alarm(this, 'FailedInvocations', {
      alarmDescription:
        'SES DKIM sentinel: a scheduled scan could not run even after retries (messages in the failed-invocations queue).',
      metric: props.failedInvocations.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(5),
        statistic: 'Maximum',
      }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.discoveryErrorsAlarm = new cloudwatch.Alarm(this, 'DiscoveryErrors', {
      alarmDescription:
        'SES DKIM sentinel: SES could not be read in a region or for an identity (permissions? throttling?); those identities are not watched.',
      metric: runMetric(MetricName.DiscoveryErrors, period, 'Maximum'),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    for (const alarm of [
      this.heartbeatAlarm,
      this.errorsAlarm,
      this.failedInvocationsAlarm,
      this.discoveryErrorsAlarm,
    ]) {
      alarm.addAlarmAction(notify);
      alarm.addOkAction(notify);
    }

    const perIdentity = (name: string, label: string) =>
      new cloudwatch.MathExpression({
        expression: `SEARCH('{${METRIC_NAMESPACE},${Dimension.Identity},${Dimension.IdentityRegion},${Dimension.Service}} MetricName="${name}"', 'Maximum', ${period.toSeconds()})`,
        label,
        period,
      });
    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      defaultInterval: Duration.days(7),
      widgets: [
        [
          new cloudwatch.TextWidget({
            markdown:
              '# SES DKIM sentinel\nHealth level per identity: 0 healthy/pending/disabled, 1 unknown, 2 at risk, 3 failing (SES stopped signing), 4 revoked.',
            width: 24,
            height: 2,
          }),
        ],
        [
          new cloudwatch.SingleValueWidget({
            title: 'Fleet (last run)',
            metrics: [
              runMetric(MetricName.IdentitiesChecked, period, 'Maximum').with({ label: 'checked' }),
              runMetric(MetricName.IdentitiesFailing, period, 'Maximum').with({ label: 'at risk, failing or revoked' }),
              runMetric(MetricName.IdentitiesUnknown, period, 'Maximum').with({ label: 'unknown' }),
            ],
            width: 12,
            height: 4,
          }),
          new cloudwatch.AlarmStatusWidget({
            title: 'The monitor itself',
            alarms: [this.heartbeatAlarm, this.errorsAlarm, this.failedInvocationsAlarm, this.discoveryErrorsAlarm],
            width: 12,
            height: 4,
          }),
        ],
        [
          new cloudwatch.LogQueryWidget({
            title: 'Identities needing attention (latest run that saw each)',
            logGroupNames: [props.scannerLogGroup.logGroupName],
            view: cloudwatch.LogQueryVisualizationType.TABLE,
            queryLines: [
              "filter message = 'identity needs attention'",
              'stats latest(health) as health, latest(@timestamp) as seen by identity, region',
              'sort seen desc',
              'limit 100',
            ],
            width: 24,
            height: 6,
          }),
        ],
        [
          new cloudwatch.GraphWidget({
            title: 'Identities in trouble (health level)',
            left: [perIdentity('HealthLevel', '')],
            leftYAxis: { min: 0, max: 4 },
            width: 12,
          }),
          new cloudwatch.GraphWidget({
            title: 'Hours left before SES may revoke DKIM (open incidents)',
            left: [perIdentity('HoursLeft', '')],
            leftYAxis: { min: 0 },
            width: 12,
          }),
          new cloudwatch.GraphWidget({
            title: 'Failing records per identity',
            left: [perIdentity('FailingRecords', '')],
            leftYAxis: { min: 0 },
            width: 12,
          }),
        ],
        [
          new cloudwatch.GraphWidget({
            title: 'Fleet over time',
            left: [
              runMetric(MetricName.IdentitiesFailing, period, 'Maximum').with({ label: 'at risk, failing or revoked' }),
              runMetric(MetricName.IdentitiesUnknown, period, 'Maximum').with({ label: 'unknown' }),
              runMetric(MetricName.AlertsSent, period).with({ label: 'alerts sent' }),
            ],
            width: 12,
          }),
          new cloudwatch.GraphWidget({
            title: 'Scanner: runs, duration, DNS queries',
            left: [
              runMetric(MetricName.RunCompleted, period).with({ label: 'runs completed' }),
              props.scanner.metricErrors({ period, label: 'errors' }),
            ],
            right: [
              runMetric(MetricName.RunDuration, period, 'Maximum').with({ label: 'duration (ms)' }),
              runMetric(MetricName.DnsQueries, period).with({ label: 'DNS queries' }),
            ],
            width: 12,
          }),
        ],
      ],
    });
  }
}
