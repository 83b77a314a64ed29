import { Stack } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { DkimAlerting } from './alerting';
import { type DkimSentinelOptions, type DkimSentinelSettings, resolveSettings } from './config';
import type { DkimMemberRole } from './member-role';
import { DkimMonitoring } from './monitoring';
import { DkimOrganizationScan } from './organization';
import { DkimScanner } from './scanner';
import { DkimState } from './state';

/** Props of the reusable construct: every setting is optional and validated (see the README table). */
export interface DkimSentinelProps extends DkimSentinelOptions {}

/**
 * The whole monitor as one construct, for teams that add it to their own CDK app: the scheduled scanner,
 * alerting (SNS email, AWS Chatbot, Slack webhook), and the dashboard and alarms. With `organization` or
 * `accounts` it scans every member account through a read-only member role ({@link DkimMemberRole}),
 * fanned out by a Step Functions state machine.
 */
export class DkimSentinel extends Construct {
  readonly settings: DkimSentinelSettings;
  readonly alerting: DkimAlerting;
  readonly state: DkimState;
  readonly scanner: DkimScanner;
  readonly monitoring: DkimMonitoring;
  /** Central mode (`organization=true` or `accounts=...`): the state machine fanning out over the shards. */
  readonly organization?: DkimOrganizationScan;

  constructor(scope: Construct, id: string, props: DkimSentinelProps = {}) {
    super(scope, id);
    this.settings = resolveSettings(props, { region: Stack.of(this).region });
    // Alarm names are unique per account and region: prefix them with the stack's name and this
    // construct's path in it, so two stacks (or two sentinels in one stack) never collide.
    const stack = Stack.of(this);
    const pathInStack = this.node.scopes
      .slice(stack.node.scopes.length)
      .map((scope) => scope.node.id)
      .join('-');
    const alarmNamePrefix = `${stack.stackName}-${pathInStack}-`;
    this.alerting = new DkimAlerting(this, 'Alerting', { settings: this.settings, alarmNamePrefix });
    this.state = new DkimState(this, 'State');
    this.scanner = new DkimScanner(this, 'Scanner', {
      stateTable: this.state.table,
      settings: this.settings,
      topic: this.alerting.topic,
      topicKey: this.alerting.topicKey,
      slackWebhookSecret: this.alerting.slackWebhookSecret,
      central: this.settings.central,
    });
    if (this.settings.central) {
      this.organization = new DkimOrganizationScan(this, 'Organization', {
        settings: this.settings,
        central: this.settings.central,
        scanner: this.scanner.function,
        noticeTopic: this.alerting.alarmTopic,
        topicKey: this.alerting.topicKey,
        failedInvocations: this.scanner.failedInvocations,
      });
    }
    this.monitoring = new DkimMonitoring(this, 'Monitoring', {
      settings: this.settings,
      scanner: this.scanner.function,
      scannerLogGroup: this.scanner.logGroup,
      failedInvocations: this.scanner.failedInvocations,
      alertTopic: this.alerting.topic,
      alarmTopic: this.alerting.alarmTopic,
      opsTopic: this.alerting.opsTopic,
      alarmNamePrefix,
      organization: this.organization && { stateMachine: this.organization.stateMachine },
    });
  }
}
