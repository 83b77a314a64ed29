import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import {
  CentralDimension,
  CentralMetricName,
  Dimension,
  METRIC_NAMESPACE,
  MetricName,
  SERVICE_NAME,
} from '../lambda/contract';
import type { DkimSentinelSettings } from './config';

export interface DkimMonitoringProps {
  readonly settings: DkimSentinelSettings;
  readonly scanner: lambda.IFunction;
  /** The scanner's log group, for the identities-in-trouble table (no per-metric cost). */
  readonly scannerLogGroup: logs.ILogGroup;
  readonly failedInvocations: sqs.IQueue;
  /** The DKIM alert topic: its delivery failures are watched. */
  readonly alertTopic: sns.ITopic;
  /** Where the monitor's own alarms notify (the ops topic when there is one, else the alert topic). */
  readonly alarmTopic: sns.ITopic;
  /** The ops topic, when there is one: its delivery failures are reported on the alert topic. */
  readonly opsTopic?: sns.ITopic;
  /** Every alarm's name starts with this (the topics let only alarms so named publish). */
  readonly alarmNamePrefix: string;
  /** Central mode: the state machine that runs every shard. @default - single-account mode */
  readonly organization?: OrganizationWatchProps;
}

/** What the organization overview and its alarms watch. */
export interface OrganizationWatchProps {
  readonly stateMachine: sfn.IStateMachine;
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
  /** Runs keep ending before every identity is reached: raise the SES rate or check less often. */
  readonly notReachedAlarm: cloudwatch.Alarm;
  /** The alert topic could not deliver a notification (an email bounced, Chatbot refused it). */
  readonly alertDeliveryAlarm: cloudwatch.Alarm;
  /** The ops topic could not deliver a notification; notifies the alert topic. */
  readonly opsDeliveryAlarm?: cloudwatch.Alarm;
  /** Central mode: an organization-wide run failed or timed out. */
  readonly failedExecutionsAlarm?: cloudwatch.Alarm;
  /** Central mode: a shard's scan failed after retries (the other shards completed). */
  readonly shardFailuresAlarm?: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: DkimMonitoringProps) {
    super(scope, id);
    const period = Duration.minutes(props.settings.scheduleMinutes);
    const notify = new actions.SnsAction(props.alarmTopic);
    const alarmName = (name: string) => `${props.alarmNamePrefix}${name}`;

    // No completed run within two schedule periods. Missing data is breaching: no data IS the failure.
    this.heartbeatAlarm = new cloudwatch.Alarm(this, 'Heartbeat', {
      alarmName: alarmName('Heartbeat'),
      alarmDescription: `SES DKIM sentinel: no scan completed within two schedule periods (${props.settings.schedule}); DKIM is not being watched.`,
      // Central mode: a run is an execution of the state machine (each shard reports its own failures).
      metric: props.organization
        ? props.organization.stateMachine.metricSucceeded({ period, statistic: 'Sum' })
        : runMetric(MetricName.RunCompleted, period),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: 2,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    });
    // One cut-short run is fine (the next starts where it stopped); six in a row mean the fleet has outgrown
    // the SES rate and every identity is now checked only every few runs.
    this.notReachedAlarm = new cloudwatch.Alarm(this, 'IdentitiesNotReached', {
      alarmName: alarmName('IdentitiesNotReached'),
      alarmDescription:
        'SES DKIM sentinel: six runs in a row ended before reaching every identity; raise sesRequestsPerSecond (after raising the SES quota) or the schedule period.',
      // Central mode: every shard reports; any shard left unfinished counts (Maximum across shards).
      metric: runMetric(MetricName.IdentitiesNotReached, period, props.settings.central ? 'Maximum' : 'Minimum'),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 6,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.errorsAlarm = new cloudwatch.Alarm(this, 'ScannerErrors', {
      alarmName: alarmName('ScannerErrors'),
      alarmDescription: 'SES DKIM sentinel: the scanner failed (see its log group).',
      metric: props.scanner.metricErrors({ period: Duration.minutes(5), statistic: 'Sum' }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.failedInvocationsAlarm = new cloudwatch.Alarm(this, 'FailedInvocations', {
      alarmName: alarmName('FailedInvocations'),
      alarmDescription:
        'SES DKIM sentinel: a scheduled scan could not run even after retries (a message arrived in the failed-invocations queue).',
      // Messages arriving, not messages waiting: the queue keeps them 14 days, and an alarm on the backlog
      // would stay in ALARM all that time and hide every later failure.
      metric: props.failedInvocations.metricNumberOfMessagesSent({ period: Duration.minutes(5), statistic: 'Sum' }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.discoveryErrorsAlarm = new cloudwatch.Alarm(this, 'DiscoveryErrors', {
      alarmName: alarmName('DiscoveryErrors'),
      alarmDescription:
        'SES DKIM sentinel: SES could not be read in a region or for an identity (permissions? throttling?); those identities are not watched.',
      metric: runMetric(MetricName.DiscoveryErrors, period, 'Maximum'),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    const deliveryFailures = (topic: sns.ITopic) =>
      topic.metric('NumberOfNotificationsFailed', { period: Duration.minutes(5), statistic: 'Sum' });
    // An alarm on the alert topic's failures that notified the alert topic would report a broken channel
    // through itself: with opsEmails it goes to the ops topic. Without, it still reaches the subscribers
    // that work (one address bounces, the others and Slack get it); opsEmails gives it a separate channel.
    this.alertDeliveryAlarm = new cloudwatch.Alarm(this, 'AlertDeliveryFailures', {
      alarmName: alarmName('AlertDeliveryFailures'),
      alarmDescription:
        'SES DKIM sentinel: the alert topic could not deliver a notification (a bounced email, a broken Chatbot subscription).',
      metric: deliveryFailures(props.alertTopic),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    const selfAlarms = [
      this.heartbeatAlarm,
      this.errorsAlarm,
      this.failedInvocationsAlarm,
      this.discoveryErrorsAlarm,
      this.alertDeliveryAlarm,
      this.notReachedAlarm,
    ];
    for (const alarm of selfAlarms) {
      alarm.addAlarmAction(notify);
      alarm.addOkAction(notify);
    }
    if (props.opsTopic) {
      // The ops channel's own failures go the other way, to the alert topic.
      this.opsDeliveryAlarm = new cloudwatch.Alarm(this, 'OpsDeliveryFailures', {
        alarmName: alarmName('OpsDeliveryFailures'),
        alarmDescription:
          'SES DKIM sentinel: the ops topic could not deliver a notification about the monitor (a bounced opsEmails address).',
        metric: deliveryFailures(props.opsTopic),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      const toAlerts = new actions.SnsAction(props.alertTopic);
      this.opsDeliveryAlarm.addAlarmAction(toAlerts);
      this.opsDeliveryAlarm.addOkAction(toAlerts);
      selfAlarms.push(this.opsDeliveryAlarm);
    }

    if (props.organization) {
      [this.failedExecutionsAlarm, this.shardFailuresAlarm] = this.watchOrganization(props.organization, props, notify);
      selfAlarms.push(this.failedExecutionsAlarm, this.shardFailuresAlarm);
    }

    const perIdentity = (name: string, label: string) =>
      new cloudwatch.MathExpression({
        expression: `SEARCH('{${METRIC_NAMESPACE},${Dimension.Identity},${Dimension.IdentityRegion},${Dimension.Service}} MetricName="${name}"', 'Maximum', ${period.toSeconds()})`,
        label,
        period,
      });
    const byHealth = (name: string) =>
      new cloudwatch.MathExpression({
        expression: `SEARCH('{${METRIC_NAMESPACE},${Dimension.Health},${Dimension.Service}} MetricName="${name}"', 'Maximum', ${period.toSeconds()})`,
        label: '',
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
            alarms: selfAlarms,
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
              'stats latest(health) as health, latest(mailFromHealth) as mailFrom, latest(dmarcHealth) as dmarc, latest(@timestamp) as seen by identity, region',
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
        [
          new cloudwatch.GraphWidget({
            title: 'Identities by MAIL FROM health (custom MAIL FROM domains)',
            left: [byHealth(MetricName.MailFromByHealth)],
            leftYAxis: { min: 0 },
            width: 12,
          }),
          new cloudwatch.GraphWidget({
            title: 'Identities by DMARC health',
            left: [byHealth(MetricName.DmarcByHealth)],
            leftYAxis: { min: 0 },
            width: 12,
          }),
        ],
        [
          new cloudwatch.GraphWidget({
            title: 'Scale: SES calls, throttles, identities not reached, skipped runs',
            left: [
              runMetric(MetricName.SesCalls, period).with({ label: 'SES calls' }),
              runMetric(MetricName.StaleAttributes, period, 'Maximum').with({
                label: 'checked with cached attributes',
              }),
            ],
            right: [
              runMetric(MetricName.SesThrottled, period).with({ label: 'SES throttled' }),
              runMetric(MetricName.IdentitiesNotReached, period, 'Maximum').with({ label: 'not reached' }),
              runMetric(MetricName.RunSkipped, period).with({ label: 'runs skipped (lease held)' }),
            ],
            width: 24,
          }),
        ],
      ],
    });
    if (props.organization)
      for (const row of this.organizationWidgets(props, period)) this.dashboard.addWidgets(...row);
  }

  /** Central mode's own alarms: runs that fail, and shards that fail while the run goes on. */
  private watchOrganization(
    organization: OrganizationWatchProps,
    props: DkimMonitoringProps,
    notify: actions.SnsAction,
  ): [cloudwatch.Alarm, cloudwatch.Alarm] {
    const alarmName = (name: string) => `${props.alarmNamePrefix}${name}`;
    const fiveMinutes = { period: Duration.minutes(5), statistic: 'Sum' };
    const failedExecutionsAlarm = new cloudwatch.Alarm(this, 'FailedExecutions', {
      alarmName: alarmName('FailedExecutions'),
      alarmDescription:
        'SES DKIM sentinel: an organization-wide run failed or timed out (the shard plan could not be made: Organizations access? or a failed shard could not even be reported). See the state machine execution.',
      metric: new cloudwatch.MathExpression({
        expression: 'failed + timedOut',
        usingMetrics: {
          failed: organization.stateMachine.metricFailed(fiveMinutes),
          timedOut: organization.stateMachine.metricTimedOut(fiveMinutes),
        },
        period: Duration.minutes(5),
        label: 'failed or timed-out runs',
      }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    const shardFailuresAlarm = new cloudwatch.Alarm(this, 'ShardFailures', {
      alarmName: alarmName('ShardFailures'),
      alarmDescription:
        'SES DKIM sentinel: the scan of one or more (account, region) shards failed after retries; the topic received a notice naming each. The other shards completed.',
      metric: new cloudwatch.Metric({
        namespace: METRIC_NAMESPACE,
        metricName: CentralMetricName.ShardFailed,
        dimensionsMap: { [Dimension.Service]: SERVICE_NAME },
        period: Duration.minutes(props.settings.scheduleMinutes),
        statistic: 'Sum',
      }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    for (const alarm of [failedExecutionsAlarm, shardFailuresAlarm]) {
      alarm.addAlarmAction(notify);
      alarm.addOkAction(notify);
    }
    return [failedExecutionsAlarm, shardFailuresAlarm];
  }

  /** The organization overview: health per account and region, and the most urgent identities. */
  private organizationWidgets(props: DkimMonitoringProps, period: Duration): cloudwatch.IWidget[][] {
    const perShard = (name: string, statistic: string) =>
      new cloudwatch.MathExpression({
        expression: `SEARCH('{${METRIC_NAMESPACE},${CentralDimension.Account},${CentralDimension.Region},${Dimension.Service}} MetricName="${name}"', '${statistic}', ${period.toSeconds()})`,
        label: '',
        period,
      });
    const logGroupNames = [props.scannerLogGroup.logGroupName];
    return [
      [
        new cloudwatch.TextWidget({
          markdown:
            '# Organization\nEach line is one (account, region) shard. The tables read the scanner log of the dashboard period: the latest line of each identity or shard wins.',
          width: 24,
          height: 2,
        }),
      ],
      [
        new cloudwatch.LogQueryWidget({
          title: 'Identities by health per account and region (latest run of each shard)',
          logGroupNames,
          view: cloudwatch.LogQueryVisualizationType.TABLE,
          queryLines: [
            "filter message = 'shard summary'",
            'stats latest(identities) as identities, latest(health_HEALTHY) as healthy, latest(health_UNKNOWN) as unknown, latest(health_AT_RISK) as atRisk, latest(health_FAILING) as failing, latest(health_REVOKED) as revoked, latest(discoveryErrors) as discoveryErrors, latest(@timestamp) as seen by account, region',
            'sort failing desc, revoked desc, atRisk desc',
            'limit 1000',
          ],
          width: 12,
          height: 8,
        }),
        new cloudwatch.LogQueryWidget({
          title: 'Most urgent: identities in trouble, fewest hours left first',
          logGroupNames,
          view: cloudwatch.LogQueryVisualizationType.TABLE,
          queryLines: [
            "filter message = 'shard identity'",
            'stats latest(health) as health, latest(hoursLeft) as hoursLeft, latest(@timestamp) as seen by account, region, identity',
            'sort hoursLeft asc',
            'limit 100',
          ],
          width: 12,
          height: 8,
        }),
      ],
      [
        new cloudwatch.GraphWidget({
          title: 'At risk, failing or revoked, per account and region',
          left: [perShard(MetricName.IdentitiesFailing, 'Maximum')],
          leftYAxis: { min: 0 },
          width: 8,
        }),
        new cloudwatch.GraphWidget({
          title: 'Discovery errors per account and region (missing member role? throttling?)',
          left: [perShard(MetricName.DiscoveryErrors, 'Maximum')],
          leftYAxis: { min: 0 },
          width: 8,
        }),
        new cloudwatch.GraphWidget({
          title: 'Shards that failed',
          left: [perShard(CentralMetricName.ShardFailed, 'Sum')],
          leftYAxis: { min: 0 },
          width: 8,
        }),
      ],
    ];
  }
}
