import * as path from 'node:path';
import { type CfnElement, Duration, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import {
  CentralDimension,
  CentralEnv,
  CentralMetricName,
  METRIC_NAMESPACE,
  ScannerEnv,
  SERVICE_NAME,
  SHARD_PLAN_ITEMS,
} from '../lambda/contract';
import type { CentralSettings, DkimSentinelSettings } from './config';

export interface DkimOrganizationScanProps {
  readonly settings: DkimSentinelSettings;
  readonly central: CentralSettings;
  /** The scanner in central mode: one invocation scans one (account, region) shard. */
  readonly scanner: lambda.IFunction;
  /** Where a failed shard is announced (the monitor's own health: the ops topic when there is one). */
  readonly noticeTopic: sns.ITopic;
  /** The topics' customer managed key, when they have one. @default - not encrypted with a customer key */
  readonly topicKey?: kms.IKey;
  /** Where the schedule puts a run it could not start. */
  readonly failedInvocations: sqs.IQueue;
}

/**
 * Central mode: a Standard state machine plans the (account, region) shards, then a Distributed Map scans
 * each shard with the scanner function, at most `shardConcurrency` at once, and a last step closes the
 * incidents of accounts and regions the plan no longer has. Each shard is its own child
 * execution with its own history: an organization's thousands of shards never meet the parent's
 * 25,000-event history cap nor Inline Map's 40 concurrent iterations. A shard that fails after retries
 * is caught in its child, counted (`ShardFailed`, with Account and Region) and announced on the topic,
 * and the other shards go on.
 */
export class DkimOrganizationScan extends Construct {
  readonly planner: nodejs.NodejsFunction;
  readonly plannerLogGroup: logs.LogGroup;
  readonly stateMachine: sfn.StateMachine;
  readonly logGroup: logs.LogGroup;
  readonly schedule: events.Rule;

  constructor(scope: Construct, id: string, props: DkimOrganizationScanProps) {
    super(scope, id);
    const { settings, central } = props;

    this.plannerLogGroup = new logs.LogGroup(this, 'PlannerLogs', {
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const plannerRole = new iam.Role(this, 'PlannerRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'SES DKIM sentinel shard planner: list the organization accounts, write its own logs',
    });
    this.plannerLogGroup.grantWrite(plannerRole);
    this.planner = new nodejs.NodejsFunction(this, 'Planner', {
      role: plannerRole,
      description: 'Lists the (account, region) shards the SES DKIM sentinel scans in this run',
      entry: path.join(__dirname, '..', 'lambda', 'plan-handler.ts'),
      handler: 'handler',
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: 256,
      timeout: Duration.minutes(2),
      logGroup: this.plannerLogGroup,
      environment: {
        [ScannerEnv.Regions]: settings.regions.join(','),
        [CentralEnv.MemberRoleName]: central.memberRoleName,
        [CentralEnv.Organization]: String(central.organization),
        [CentralEnv.Accounts]: central.accounts.join(','),
        [CentralEnv.IgnoreAccounts]: central.ignoreAccounts.join(','),
        POWERTOOLS_LOG_LEVEL: settings.logLevel,
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        NODE_OPTIONS: '--enable-source-maps',
      },
      bundling: { minify: true, sourceMap: true, target: 'node22', externalModules: [] },
    });
    if (central.organization) {
      // ListAccounts supports no resource-level permissions.
      plannerRole.addToPolicy(new iam.PolicyStatement({ actions: ['organizations:ListAccounts'], resources: ['*'] }));
      Validations.of(plannerRole).acknowledge({
        id: 'AwsSolutions::AwsSolutions-IAM5[Resource::*]',
        reason: 'organizations:ListAccounts supports no resource-level permissions; it is read-only.',
      });
    }

    this.logGroup = new logs.LogGroup(this, 'StateMachineLogs', {
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const definition = this.definition(props);
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      comment: 'SES DKIM sentinel: plan the (account, region) shards, scan each, report the shards that fail',
      stateMachineType: sfn.StateMachineType.STANDARD,
      definitionBody: sfn.DefinitionBody.fromChainable(definition),
      // Long enough for thousands of shards at the configured concurrency; a hung run still ends and alarms.
      timeout: Duration.hours(23),
      logs: { destination: this.logGroup, level: sfn.LogLevel.ALL, includeExecutionData: true },
    });
    // PutMetricData supports no resource-level permissions: confined to the monitor's namespace instead.
    this.stateMachine.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['cloudwatch:PutMetricData'],
        resources: ['*'],
        conditions: { StringEquals: { 'cloudwatch:namespace': METRIC_NAMESPACE } },
      }),
    );
    props.topicKey?.grant(this.stateMachine, 'kms:GenerateDataKey', 'kms:Decrypt');
    const stateMachineRole = this.stateMachine.role;
    Validations.of(stateMachineRole).acknowledge({
      id: 'AwsSolutions::AwsSolutions-IAM5[Resource::*]',
      reason:
        'cloudwatch:PutMetricData supports no resource-level permissions (limited to the monitor namespace by cloudwatch:namespace); the log delivery actions of Step Functions require "*".',
    });
    // cdk-nag names resources as they appear in the template: logical IDs and pseudo parameters.
    const stack = Stack.of(this);
    const logicalId = (construct: Construct) =>
      stack.resolve(stack.getLogicalId(construct.node.defaultChild as CfnElement)) as string;
    const region = Token.isUnresolved(stack.region) ? '<AWS::Region>' : stack.region;
    const account = Token.isUnresolved(stack.account) ? '<AWS::AccountId>' : stack.account;
    for (const fn of [props.scanner, this.planner]) {
      Validations.of(stateMachineRole).acknowledge({
        id: `AwsSolutions::AwsSolutions-IAM5[Resource::<${logicalId(fn)}.Arn>:*]`,
        reason: 'Invoking any version or alias of this function (what the Lambda task grants).',
      });
    }
    const executions = `arn:<AWS::Partition>:states:${region}:${account}:execution:{"Fn::Select":[6,{"Fn::Split":[":",{"Ref":"${logicalId(this.stateMachine)}"}]}]}`;
    for (const resource of [`${executions}:*`, `${executions}/Shards:*`]) {
      Validations.of(this.stateMachine).acknowledge({
        id: `AwsSolutions::AwsSolutions-IAM5[Resource::${resource}]`,
        reason:
          "The Distributed Map starts, describes and stops this state machine's own child executions, whose names are made at run time.",
      });
    }
    Validations.of(this.stateMachine).acknowledge({
      id: 'AwsSolutions::AwsSolutions-SF2',
      reason:
        'X-Ray adds cost and little here: every execution and child execution keeps its own history, logged in full to the state machine log group, and each Lambda logs to its own group.',
    });

    this.schedule = new events.Rule(this, 'Schedule', {
      description: `Runs the organization-wide SES DKIM scan ${settings.schedule}`,
      schedule: events.Schedule.expression(settings.schedule),
      targets: [
        new targets.SfnStateMachine(this.stateMachine, {
          input: events.RuleTargetInput.fromObject({ source: 'ses-dkim-sentinel.schedule' }),
          deadLetterQueue: props.failedInvocations,
          retryAttempts: 2,
          maxEventAge: Duration.hours(1),
        }),
      ],
    });
  }

  /** Plan → Distributed Map over the shards (scan, or record and announce the shard's failure) → sweep. */
  private definition(props: DkimOrganizationScanProps): sfn.IChainable {
    const plan = new tasks.LambdaInvoke(this, 'Plan', {
      comment: 'The (account, region) shards of this run',
      lambdaFunction: this.planner,
      payload: sfn.TaskInput.fromObject({ source: 'ses-dkim-sentinel.plan' }),
      payloadResponseOnly: true,
    });
    plan.addRetry({
      errors: ['Lambda.TooManyRequestsException'],
      interval: Duration.seconds(5),
      maxAttempts: 4,
      backoffRate: 2,
    });

    const scanShard = new tasks.LambdaInvoke(this, 'ScanShard', {
      comment: 'Scan one region of one member account through its read-only member role',
      lambdaFunction: props.scanner,
      payload: sfn.TaskInput.fromObject({
        account: sfn.JsonPath.stringAt('$.account'),
        region: sfn.JsonPath.stringAt('$.region'),
      }),
      payloadResponseOnly: true,
      // Lambda's own service errors are retried by the task's defaults; a throttled invoke (account
      // concurrency) is retried here too. The scanner's own errors are not: they go to the Catch.
    });
    scanShard.addRetry({
      errors: ['Lambda.TooManyRequestsException'],
      interval: Duration.seconds(10),
      maxAttempts: 5,
      backoffRate: 2,
      jitterStrategy: sfn.JitterType.FULL,
    });

    const recordFailure = new sfn.CustomState(this, 'RecordShardFailure', {
      stateJson: {
        Type: 'Task',
        Comment: 'ShardFailed, once for the alarm (service) and once per shard (Account, Region)',
        Resource: `arn:${Stack.of(this).partition}:states:::aws-sdk:cloudwatch:putMetricData`,
        Parameters: {
          Namespace: METRIC_NAMESPACE,
          MetricData: [
            {
              MetricName: CentralMetricName.ShardFailed,
              Dimensions: [{ Name: 'service', Value: SERVICE_NAME }],
              Unit: 'Count',
              Value: 1,
            },
            {
              MetricName: CentralMetricName.ShardFailed,
              Dimensions: [
                { Name: 'service', Value: SERVICE_NAME },
                { Name: CentralDimension.Account, 'Value.$': '$.account' },
                { Name: CentralDimension.Region, 'Value.$': '$.region' },
              ],
              Unit: 'Count',
              Value: 1,
            },
          ],
        },
        ResultPath: null,
      },
    });
    recordFailure.addRetry({ errors: ['States.ALL'], interval: Duration.seconds(2), maxAttempts: 3, backoffRate: 2 });

    const text = sfn.JsonPath.format(
      'The SES DKIM scan of account {} in {} failed ({}), after retries: DKIM of that account and region was not checked in this run. The other shards completed. Details: Step Functions execution {}',
      sfn.JsonPath.stringAt('$.account'),
      sfn.JsonPath.stringAt('$.region'),
      sfn.JsonPath.stringAt('$.failure.Error'),
      sfn.JsonPath.stringAt('$$.Execution.Id'),
    );
    const subject = sfn.JsonPath.format(
      'DKIM SCAN FAILED: account {} in {}',
      sfn.JsonPath.stringAt('$.account'),
      sfn.JsonPath.stringAt('$.region'),
    );
    // Chatbot drops plain text: it gets a custom notification (JSON, as a string) under `https`.
    const composeNotice = new sfn.Pass(this, 'ComposeShardNotice', {
      parameters: {
        'account.$': '$.account',
        'region.$': '$.region',
        text,
        subject,
        chatbot: {
          version: '1.0',
          source: 'custom',
          content: {
            textType: 'client-markdown',
            title: subject,
            description: text,
          },
          metadata: {
            eventType: 'ShardFailed',
            summary: subject,
          },
        },
      },
    });
    const notify = new tasks.SnsPublish(this, 'NotifyShardFailure', {
      topic: props.noticeTopic,
      subject: sfn.JsonPath.stringAt('$.subject'),
      messagePerSubscriptionType: true,
      message: sfn.TaskInput.fromObject({
        default: sfn.JsonPath.stringAt('$.text'),
        email: sfn.JsonPath.stringAt('$.text'),
        https: sfn.JsonPath.jsonToString(sfn.JsonPath.objectAt('$.chatbot')),
      }),
      resultPath: sfn.JsonPath.DISCARD,
    });
    notify.addRetry({ errors: ['States.ALL'], interval: Duration.seconds(2), maxAttempts: 3, backoffRate: 2 });
    const shardReported = new sfn.Succeed(this, 'ShardFailureReported');
    recordFailure.addCatch(composeNotice, { resultPath: sfn.JsonPath.DISCARD });
    recordFailure.next(composeNotice);
    composeNotice.next(notify);
    notify.next(shardReported);
    // One shard's failure is caught inside its child execution: the Map run never sees a failed item
    // unless reporting it failed too (then the run fails, loudly, through the failed-executions alarm).
    scanShard.addCatch(recordFailure, { errors: ['States.ALL'], resultPath: '$.failure' });

    const shards = new sfn.DistributedMap(this, 'ScanShards', {
      comment: 'One child execution per (account, region) shard',
      itemsPath: sfn.JsonPath.stringAt(`$.${SHARD_PLAN_ITEMS}`),
      maxConcurrency: props.central.shardConcurrency,
      mapExecutionType: sfn.StateMachineType.STANDARD,
      label: 'Shards',
      resultPath: sfn.JsonPath.DISCARD,
    });
    shards.itemProcessor(scanShard);

    // Accounts and regions this plan no longer has: their open incidents are closed with a notice.
    const sweep = new tasks.LambdaInvoke(this, 'CloseUnplanned', {
      comment: 'Close the incidents of accounts and regions no longer scanned',
      lambdaFunction: props.scanner,
      payload: sfn.TaskInput.fromObject({ sweep: true, shards: sfn.JsonPath.listAt(`$.${SHARD_PLAN_ITEMS}`) }),
      payloadResponseOnly: true,
      resultPath: sfn.JsonPath.DISCARD,
    });
    sweep.addRetry({
      errors: ['Lambda.TooManyRequestsException'],
      interval: Duration.seconds(10),
      maxAttempts: 5,
      backoffRate: 2,
    });
    return plan.next(shards).next(sweep);
  }
}
