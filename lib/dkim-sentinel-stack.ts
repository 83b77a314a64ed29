import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { checkContextKeys, type DkimSentinelOptions, SETTING_KEYS } from './config';
import { DkimSentinel } from './dkim-sentinel';

export interface DkimSentinelStackProps extends StackProps {
  /** Settings; where absent, read from CDK context (cdk.json or `-c key=value`). */
  readonly settings?: DkimSentinelOptions;
}

/** The deployable app's one stack. */
export class DkimSentinelStack extends Stack {
  readonly sentinel: DkimSentinel;

  constructor(scope: Construct, id: string, props: DkimSentinelStackProps = {}) {
    super(scope, id, {
      description: 'ses-dkim-sentinel: watches SES DKIM records and alerts before SES revokes DKIM',
      ...props,
    });
    // A mistyped key (`-c alertEmail=...`, `-c AlertEmails=...`, `-c alert-emails=...`) must not be ignored.
    checkContextKeys(Object.keys(this.node.getAllContext()));
    const options: Record<string, unknown> = { ...props.settings };
    for (const key of SETTING_KEYS) {
      const value = this.node.tryGetContext(key);
      if (options[key] === undefined && value !== undefined) options[key] = value;
    }
    this.sentinel = new DkimSentinel(this, 'Sentinel', options);
    const { alerting, monitoring, scanner } = this.sentinel;
    new CfnOutput(this, 'AlertTopicArn', {
      value: alerting.topic.topicArn,
      description: 'Subscribe more endpoints here',
    });
    if (alerting.opsTopic) {
      new CfnOutput(this, 'OpsTopicArn', {
        value: alerting.opsTopic.topicArn,
        description: "The monitor's own alarms go here (opsEmails)",
      });
    }
    new CfnOutput(this, 'DashboardName', { value: monitoring.dashboard.dashboardName });
    new CfnOutput(this, 'DashboardUrl', {
      value: `https://${this.region}.console.aws.amazon.com/cloudwatch/home?region=${this.region}#dashboards/dashboard/${monitoring.dashboard.dashboardName}`,
      description: 'The CloudWatch dashboard of the monitor',
    });
    new CfnOutput(this, 'ScannerFunctionName', {
      value: scanner.function.functionName,
      description: this.sentinel.organization
        ? 'The shard scanner: the state machine invokes it once per account and region (ScanNowCommand scans now)'
        : 'Invoke it to scan now',
    });
    if (this.sentinel.organization) {
      const { stateMachine } = this.sentinel.organization;
      new CfnOutput(this, 'ScannerRoleArn', {
        value: scanner.function.role?.roleArn ?? '',
        description:
          'Give it to the member-role stack set (parameter ScannerRoleArn): only this role may assume the member roles',
      });
      new CfnOutput(this, 'StateMachineArn', {
        value: stateMachine.stateMachineArn,
        description: 'The organization-wide run: start an execution to scan now',
      });
      new CfnOutput(this, 'ScanNowCommand', {
        value: `aws stepfunctions start-execution --state-machine-arn ${stateMachine.stateMachineArn} --region ${this.region}`,
        description: 'Scans every account and region now',
      });
    }
    new CfnOutput(this, 'TestAlertCommand', {
      value: `aws lambda invoke --function-name ${scanner.function.functionName} --cli-binary-format raw-in-base64-out --payload '{"test":true}' --region ${this.region} /dev/stdout`,
      description: 'Sends a TEST notification through every alert channel: run it after deploying',
    });
  }
}
