import * as path from 'node:path';
import { Duration, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { CentralEnv, ScannerEnv } from '../lambda/contract';
import type { CentralSettings, DkimSentinelSettings } from './config';

/** Easy DKIM tokens are 32 characters: the only `_domainkey` names the Route 53 repair may write. */
const SES_DKIM_TOKEN_LENGTH = 32;

/**
 * The Route 53 repair's one write: UPSERT only, CNAME only, and only names with a 32-character label
 * before _domainkey, the length of SES's Easy DKIM tokens: `*._domainkey.*` would also let it overwrite
 * another provider's selector (Microsoft 365's selector1._domainkey). In StringLike `?` is one character.
 * Shared by the scanner (single-account mode) and the member role (central mode).
 */
export function dkimRepairStatement(hostedZoneArns: readonly string[]): iam.PolicyStatement {
  return new iam.PolicyStatement({
    actions: ['route53:ChangeResourceRecordSets'],
    resources: [...hostedZoneArns],
    conditions: {
      'ForAllValues:StringEquals': {
        'route53:ChangeResourceRecordSetsActions': ['UPSERT'],
        'route53:ChangeResourceRecordSetsRecordTypes': ['CNAME'],
      },
      'ForAllValues:StringLike': {
        'route53:ChangeResourceRecordSetsNormalizedRecordNames': [`${'?'.repeat(SES_DKIM_TOKEN_LENGTH)}._domainkey.*`],
      },
    },
  });
}

export interface DkimScannerProps {
  readonly settings: DkimSentinelSettings;
  /** Where the scanner publishes alerts. */
  readonly topic: sns.ITopic;
  /** The topic's customer managed key, when it has one. @default - the topic is not encrypted with a customer key */
  readonly topicKey?: kms.IKey;
  /** The table holding each identity's alert lifecycle. */
  readonly stateTable: dynamodb.ITable;
  /** The secret holding a Slack incoming-webhook URL. @default - no webhook */
  readonly slackWebhookSecret?: secretsmanager.ISecret;
  /**
   * Central mode: the function scans one (account, region) shard per invocation through the member role,
   * and the organization's state machine, not a rule of its own, runs it. @default - single-account mode
   */
  readonly central?: CentralSettings;
}

/**
 * The scanner: the engine as a Lambda function, run on a schedule, with its own log group and a queue
 * that catches invocations that failed, so no failure vanishes.
 */
export class DkimScanner extends Construct {
  readonly function: nodejs.NodejsFunction;
  readonly failedInvocations: sqs.Queue;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: DkimScannerProps) {
    super(scope, id);
    const { settings, central } = props;

    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.failedInvocations = new sqs.Queue(this, 'FailedInvocations', {
      retentionPeriod: Duration.days(14),
      enforceSSL: true,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
    });

    // Its own role instead of AWSLambdaBasicExecutionRole: it may write to its own log group and nothing else.
    const role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'SES DKIM sentinel scanner: SES read-only, publish alerts, write its own logs',
    });
    this.logGroup.grantWrite(role);
    Validations.of(this.failedInvocations).acknowledge({
      id: 'AwsSolutions::AwsSolutions-SQS3',
      reason: 'This queue is itself the dead-letter queue of the schedule and of failed asynchronous invocations.',
    });

    this.function = new nodejs.NodejsFunction(this, 'Function', {
      role,
      description:
        'Checks the DKIM records of every SES identity on every nameserver and alerts before SES revokes DKIM',
      entry: path.join(__dirname, '..', 'lambda', central ? 'shard-handler.ts' : 'handler.ts'),
      handler: 'handler',
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: 512,
      // The shortest schedule (15 minutes) is the longest a Lambda may run. Runs never overlap thanks to a
      // lease item in the state table, not reserved concurrency: accounts whose concurrency quota is 10
      // cannot reserve any (AWS keeps a minimum unreserved), and `cdk deploy` would fail there. In central
      // mode the state machine's Map bounds how many shards run at once.
      timeout: Duration.minutes(Math.min(15, settings.scheduleMinutes)),
      logGroup: this.logGroup,
      environment: {
        [ScannerEnv.Regions]: settings.regions.join(','),
        [ScannerEnv.Resolvers]: settings.resolvers.join(','),
        [ScannerEnv.AlertTopicArn]: props.topic.topicArn,
        [ScannerEnv.IgnoreIdentities]: settings.ignoreIdentities.join(','),
        [ScannerEnv.IdentityMetrics]: String(settings.identityMetrics),
        [ScannerEnv.GraceDays]: String(settings.graceDays),
        [ScannerEnv.ReminderHours]: settings.reminderHours.join(','),
        [ScannerEnv.ConfirmRuns]: String(settings.confirmRuns),
        [ScannerEnv.ConfirmOnEveryServer]: String(settings.confirmOnEveryServer),
        [ScannerEnv.CannotVerifyRuns]: String(settings.cannotVerifyRuns),
        [ScannerEnv.DigestThreshold]: String(settings.digestThreshold),
        [ScannerEnv.StateTable]: props.stateTable.tableName,
        [ScannerEnv.Route53]: String(settings.route53),
        [ScannerEnv.AutoRepair]: String(settings.autoRepair),
        [ScannerEnv.SesRequestsPerSecond]: String(settings.sesRequestsPerSecond),
        [ScannerEnv.SesAttributeRefreshPerRun]: String(settings.sesAttributeRefreshPerRun),
        [ScannerEnv.CheckMailFrom]: String(settings.mailFromCheck),
        [ScannerEnv.CheckDmarc]: String(settings.dmarcCheck),
        ...(props.slackWebhookSecret ? { [ScannerEnv.SlackWebhookSecretArn]: props.slackWebhookSecret.secretArn } : {}),
        ...(central ? centralEnvironment(central) : {}),
        POWERTOOLS_LOG_LEVEL: settings.logLevel,
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        // Without it the source map is shipped and never read: a failed run would log `index.js:1:734512`.
        NODE_OPTIONS: '--enable-source-maps',
      },
      bundling: {
        minify: true,
        // Source maps on, read by NODE_OPTIONS above. Measured (Node 20.20, 2 cores, median of 31 fresh
        // processes; bundle 0.95 MB, map 3.6 MB): importing the bundle 96 ms without a map vs 107-121 ms with
        // the map and --enable-source-maps; the first error stack 1 ms vs 54-79 ms (the map is parsed
        // then); the whole process 162 ms vs 224-277 ms. About 0.1 s on a cold start of an hourly job, for
        // stack traces that name lambda/<file>.ts:<line> when a run fails and the Errors alarm sends
        // someone to the log.
        sourceMap: true,
        target: 'node22',
        // Bundle the pinned SDK rather than the runtime's, so what was tested is what runs.
        externalModules: [],
      },
      // A failed run is retried once; one that fails again lands in the queue and its alarm.
      retryAttempts: 1,
      maxEventAge: Duration.hours(1),
      onFailure: new SqsDestination(this.failedInvocations),
    });

    // Publish on this topic only; with a customer key, exactly the two key actions SNS needs (grantPublish
    // would add kms:GenerateDataKey*).
    this.function.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['sns:Publish'], resources: [props.topic.topicArn] }),
    );
    props.topicKey?.grant(this.function, 'kms:GenerateDataKey', 'kms:Decrypt');
    if (central) this.allowAssumingMemberRoles(role, central);
    else this.allowReadingThisAccount(role, settings);
    // The state table: identity states, the run lease, cursors and the SES attribute cache. Single-item reads
    // and conditional writes and deletes, and the one scan a run makes to load them.
    this.function.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem', 'dynamodb:Scan'],
        resources: [props.stateTable.tableArn],
      }),
    );
    props.slackWebhookSecret?.grantRead(this.function);

    if (central) return;
    new events.Rule(this, 'Schedule', {
      description: `Runs the SES DKIM scan ${settings.schedule}`,
      // SES rechecks DKIM records on its own cadence and gives about 5 days of grace: an hourly scan
      // catches a broken record long before revocation at a cost of cents.
      schedule: events.Schedule.expression(settings.schedule),
      targets: [
        new targets.LambdaFunction(this.function, {
          event: events.RuleTargetInput.fromObject({ source: 'ses-dkim-sentinel.schedule' }),
          deadLetterQueue: this.failedInvocations,
          retryAttempts: 2,
          maxEventAge: Duration.hours(1),
        }),
      ],
    });
  }

  /** Single-account mode: SES and Route 53 of this account, read-only unless autoRepair. */
  private allowReadingThisAccount(role: iam.Role, settings: DkimSentinelSettings): void {
    const stack = Stack.of(this);
    // SES read-only. The list actions and the v1 batch reads (100 identities a call) support no
    // resource-level permissions (resource "*"), so they are confined to the monitored regions with a
    // condition; GetEmailIdentity is scoped to identity ARNs. The MAIL FROM batch read only with its check.
    this.function.addToRolePolicy(
      new iam.PolicyStatement({
        actions: [
          'ses:ListEmailIdentities',
          'ses:ListIdentities',
          'ses:GetIdentityDkimAttributes',
          ...(settings.mailFromCheck ? ['ses:GetIdentityMailFromDomainAttributes'] : []),
        ],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:RequestedRegion': [...settings.regions] } },
      }),
    );
    this.function.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['ses:GetEmailIdentity'],
        resources: settings.regions.map((region) =>
          stack.formatArn({ service: 'ses', region, resource: 'identity', resourceName: '*' }),
        ),
      }),
    );
    // cdk-nag names resources as they appear in the template: tokens become <AWS::Region>, <AWS::AccountId>.
    const regionInArn = (region: string) => (Token.isUnresolved(region) ? '<AWS::Region>' : region);
    const account = Token.isUnresolved(stack.account) ? '<AWS::AccountId>' : stack.account;
    Validations.of(role).acknowledge({
      id: 'AwsSolutions::AwsSolutions-IAM5[Resource::*]',
      reason:
        'ses:ListEmailIdentities, ses:ListIdentities, ses:GetIdentityDkimAttributes and ses:GetIdentityMailFromDomainAttributes support no resource-level permissions; the statement is limited to the monitored regions by aws:RequestedRegion.',
    });
    for (const region of settings.regions) {
      Validations.of(role).acknowledge({
        id: `AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ses:${regionInArn(region)}:${account}:identity/*]`,
        reason: 'The scanner reads every SES identity of the region, discovered at run time; the action is read-only.',
      });
    }
    if (settings.route53) {
      // Route 53 read-only: ListHostedZonesByName has no resource-level permissions.
      this.function.addToRolePolicy(
        new iam.PolicyStatement({ actions: ['route53:ListHostedZonesByName'], resources: ['*'] }),
      );
      this.function.addToRolePolicy(
        new iam.PolicyStatement({
          actions: ['route53:GetHostedZone', 'route53:ListResourceRecordSets'],
          resources: [`arn:${stack.partition}:route53:::hostedzone/*`],
        }),
      );
      Validations.of(role).acknowledge({
        id: 'AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:route53:::hostedzone/*]',
        reason:
          'The scanner reads the hosted zones named like each monitored domain, found at run time; read-only unless autoRepair, and then only UPSERTs of _domainkey CNAMEs.',
      });
    }
    if (settings.autoRepair) {
      this.function.addToRolePolicy(
        dkimRepairStatement(
          settings.autoRepairZoneIds.length > 0
            ? settings.autoRepairZoneIds.map((id) => `arn:${stack.partition}:route53:::hostedzone/${id}`)
            : [`arn:${stack.partition}:route53:::hostedzone/*`],
        ),
      );
    }
  }

  /**
   * Central mode: the only thing the scanner may do in other accounts is assume the read-only member role
   * (SES and Route 53 are read through it). With listed accounts the statement names each role; with the
   * whole organization it is any account's role of that name, confined to the organization by
   * aws:ResourceOrgID when organizationId is set.
   */
  private allowAssumingMemberRoles(role: iam.Role, central: CentralSettings): void {
    const partition = Stack.of(this).partition;
    const roleArn = (account: string) => `arn:${partition}:iam::${account}:role/${central.memberRoleName}`;
    this.function.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['sts:AssumeRole'],
        resources: central.organization ? [roleArn('*')] : central.accounts.map(roleArn),
        ...(central.organizationId
          ? { conditions: { StringEquals: { 'aws:ResourceOrgID': central.organizationId } } }
          : {}),
      }),
    );
    if (central.organization) {
      Validations.of(role).acknowledge({
        id: `AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:iam::*:role/${central.memberRoleName}]`,
        reason:
          'The member accounts are read from AWS Organizations at run time; only the read-only member role of that name may be assumed (and only inside the organization when organizationId is set).',
      });
    }
  }
}

/** The shard function's view of central mode. */
function centralEnvironment(central: CentralSettings): Record<string, string> {
  return {
    [CentralEnv.MemberRoleName]: central.memberRoleName,
    [CentralEnv.Organization]: String(central.organization),
    [CentralEnv.Accounts]: central.accounts.join(','),
    ...(central.externalId ? { [CentralEnv.ExternalId]: central.externalId } : {}),
  };
}
