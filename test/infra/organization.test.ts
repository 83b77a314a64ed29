import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import type { DkimSentinelOptions } from '../../lib/config';
import { synthTemplate } from './synth';
import { type CfnTemplate, TemplateResolver } from './template-access';

const ORG: DkimSentinelOptions = {
  organization: true,
  organizationId: 'o-abcdefghij',
  regions: 'eu-west-1,us-east-1',
  shardConcurrency: 25,
  alertEmails: 'a@example.com',
};

interface State {
  Type: string;
  Resource?: string;
  Next?: string;
  End?: boolean;
  Retry?: { ErrorEquals: string[]; MaxAttempts?: number }[];
  Catch?: { ErrorEquals: string[]; Next: string; ResultPath?: string | null }[];
  Parameters?: Record<string, unknown>;
  ItemsPath?: string;
  MaxConcurrency?: number;
  ResultPath?: string | null;
  ItemProcessor?: {
    ProcessorConfig: { Mode: string; ExecutionType: string };
    StartAt: string;
    States: Record<string, State>;
  };
}

function definitionOf(settings: DkimSentinelOptions) {
  const { template } = synthTemplate(settings);
  const t = new TemplateResolver(template.toJSON() as CfnTemplate);
  const [[machineId, machine]] = t.ofType('AWS::StepFunctions::StateMachine') as unknown as [
    [string, { Properties: Record<string, unknown> }],
  ];
  const definition = JSON.parse(t.resolveString(machine.Properties.DefinitionString)) as {
    StartAt: string;
    States: Record<string, State>;
  };
  return { template, t, machineId, definition };
}

/** Every action a role's policies allow, as `action on resource`. */
function allowed(t: TemplateResolver, roleId: string): string[] {
  return t
    .rolePolicies(roleId)
    .flatMap((p) => p.Statement)
    .filter((s) => s.Effect === 'Allow')
    .flatMap((s) => [s.Action].flat().map((a) => `${a} on ${[s.Resource].flat().join(',')}`));
}

describe('central mode: the state machine', () => {
  it('plans, then fans out over the shards in a Distributed Map of Standard child executions, bounded by shardConcurrency', () => {
    const { definition, t } = definitionOf(ORG);
    const plan = definition.States.Plan as State;
    const map = definition.States.ScanShards as State;
    const planner = t.ofType('AWS::Lambda::Function').find(([id]) => id.includes('Planner'))?.[0] as string;

    expect(definition.StartAt).toBe('Plan');
    expect(definition.States.CloseUnplanned).toMatchObject({
      Type: 'Task',
      End: true,
      ResultPath: null,
      Parameters: { sweep: true, 'shards.$': '$.shards' },
    });
    expect(plan).toMatchObject({ Type: 'Task', Next: 'ScanShards', Resource: t.arn(planner) });
    expect(map).toMatchObject({
      Type: 'Map',
      ItemsPath: '$.shards',
      MaxConcurrency: 25,
      ResultPath: null,
      Next: 'CloseUnplanned',
      ItemProcessor: { ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' }, StartAt: 'ScanShard' },
    });
  });

  it("retries Lambda's service errors and throttling per shard, and catches everything else into a report of that shard", () => {
    const { definition, t } = definitionOf(ORG);
    const states = (definition.States.ScanShards as State).ItemProcessor?.States ?? {};
    const scan = states.ScanShard as State;
    const scanner = t.ofType('AWS::Lambda::Function').find(([id]) => id.includes('ScannerFunction'))?.[0] as string;
    const alertTopic = t.ofType('AWS::SNS::Topic')[0]?.[0] as string;

    expect(scan.Resource).toBe(t.arn(scanner));
    expect(scan.Parameters).toEqual({ 'account.$': '$.account', 'region.$': '$.region' });
    expect(scan.Retry?.flatMap((r) => r.ErrorEquals)).toEqual(
      expect.arrayContaining([
        'Lambda.ServiceException',
        'Lambda.AWSLambdaException',
        'Lambda.TooManyRequestsException',
      ]),
    );
    // The scanner's own failures are not retried here (a 15-minute shard would run twice): they are caught.
    expect(scan.Retry?.flatMap((r) => r.ErrorEquals)).not.toContain('States.ALL');
    expect(scan.Catch).toEqual([{ ErrorEquals: ['States.ALL'], ResultPath: '$.failure', Next: 'RecordShardFailure' }]);
    expect(states.RecordShardFailure).toMatchObject({
      Resource: 'arn:aws:states:::aws-sdk:cloudwatch:putMetricData',
      Next: 'ComposeShardNotice',
      Catch: [{ ErrorEquals: ['States.ALL'], Next: 'ComposeShardNotice' }],
    });
    const metricData = (states.RecordShardFailure?.Parameters?.MetricData ?? []) as { Dimensions: unknown[] }[];
    expect(metricData.map((m) => m.Dimensions)).toEqual([
      [{ Name: 'service', Value: 'ses-dkim-sentinel' }],
      [
        { Name: 'service', Value: 'ses-dkim-sentinel' },
        { Name: 'Account', 'Value.$': '$.account' },
        { Name: 'Region', 'Value.$': '$.region' },
      ],
    ]);
    expect(states.NotifyShardFailure).toMatchObject({
      Resource: 'arn:aws:states:::sns:publish',
      Next: 'ShardFailureReported',
      Parameters: {
        TopicArn: t.arn(alertTopic),
        MessageStructure: 'json',
        Message: { 'default.$': '$.text', 'email.$': '$.text', 'https.$': 'States.JsonToString($.chatbot)' },
      },
    });
    expect(JSON.stringify(states.ComposeShardNotice)).toContain('DKIM SCAN FAILED: account {} in {}');
    expect(states.ShardFailureReported?.Type).toBe('Succeed');
  });

  it('announces failed shards on the ops topic when there is one', () => {
    const { definition, t } = definitionOf({ ...ORG, opsEmails: 'ops@example.com' });
    const notify = (definition.States.ScanShards as State).ItemProcessor?.States.NotifyShardFailure as State;
    const opsTopic = t.ofType('AWS::SNS::Topic').find(([id]) => id.includes('OpsTopic'))?.[0] as string;

    expect(notify.Parameters?.TopicArn).toBe(t.arn(opsTopic));
  });

  it('logs every event to its own log group, and the schedule starts it instead of invoking the scanner', () => {
    const { template, t, machineId } = definitionOf(ORG);
    const machine = t.resource(machineId).Properties as {
      LoggingConfiguration: { Level: string; Destinations: { CloudWatchLogsLogGroup: { LogGroupArn: unknown } }[] };
    };
    const logGroup = t.resolveString(machine.LoggingConfiguration.Destinations[0]?.CloudWatchLogsLogGroup.LogGroupArn);
    const rules = t.ofType('AWS::Events::Rule').map(([, r]) => r.Properties?.Targets as { Arn: unknown }[]);

    expect(machine.LoggingConfiguration.Level).toBe('ALL');
    expect(logGroup).toMatch(/StateMachineLogs/);
    expect(rules).toHaveLength(1);
    expect(rules[0]?.map((target) => t.resolveString(target.Arn))).toEqual([t.arn(machineId)]);
    template.resourceCountIs('AWS::Lambda::Permission', 0);
    template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(1 hour)' });
  });
});

describe('central mode: least privilege', () => {
  it('lets the scanner assume only the member role (inside the organization), and read neither SES nor Route 53 itself', () => {
    const { t } = definitionOf(ORG);
    const scannerRole = t.ofType('AWS::IAM::Role').find(([id]) => id.includes('ScannerRole'))?.[0] as string;
    const statements = t.rolePolicies(scannerRole).flatMap((p) => p.Statement);
    const fn = t.ofType('AWS::Lambda::Function').find(([id]) => id.includes('ScannerFunction'))?.[1];

    expect(statements.find((s) => s.Action === 'sts:AssumeRole')).toEqual({
      Effect: 'Allow',
      Action: 'sts:AssumeRole',
      Resource: 'arn:aws:iam::*:role/ses-dkim-sentinel-member',
      Condition: { StringEquals: { 'aws:ResourceOrgID': 'o-abcdefghij' } },
    });
    expect(allowed(t, scannerRole).filter((a) => /^(ses|route53):/.test(a))).toEqual([]);
    expect(fn?.Properties?.Environment).toMatchObject({
      Variables: { DKIM_MEMBER_ROLE_NAME: 'ses-dkim-sentinel-member', DKIM_ORGANIZATION: 'true' },
    });
    expect(fn?.Properties?.ReservedConcurrentExecutions).toBeUndefined();
  });

  it('with listed accounts, names each member role and gives the planner no Organizations access', () => {
    const { t } = definitionOf({ accounts: '111111111111,222222222222', memberRoleName: 'dkim-reader' });
    const role = (part: string) => t.ofType('AWS::IAM::Role').find(([id]) => id.includes(part))?.[0] as string;

    expect(allowed(t, role('ScannerRole')).filter((a) => a.startsWith('sts:'))).toEqual([
      'sts:AssumeRole on arn:aws:iam::111111111111:role/dkim-reader,arn:aws:iam::222222222222:role/dkim-reader',
    ]);
    expect(allowed(t, role('PlannerRole')).filter((a) => !a.startsWith('logs:'))).toEqual([]);
  });

  it('gives the planner organizations:ListAccounts and nothing else beyond its logs', () => {
    const { t } = definitionOf(ORG);
    const planner = t.ofType('AWS::IAM::Role').find(([id]) => id.includes('PlannerRole'))?.[0] as string;

    expect(allowed(t, planner).filter((a) => !a.startsWith('logs:'))).toEqual(['organizations:ListAccounts on *']);
  });

  it('passes cdk-nag (AwsSolutions) in organization and accounts modes', () => {
    // synthTemplate with nag synthesizes with the AwsSolutions checks: an unacknowledged finding throws.
    for (const settings of [ORG, { accounts: '111111111111', encryptTopic: true, externalId: 'ext-1' }]) {
      const { template } = synthTemplate(settings, { nag: true });
      template.resourceCountIs('AWS::StepFunctions::StateMachine', 1);
    }
  });
});

describe('central mode: alarms and dashboard', () => {
  it('beats on succeeded executions, alarms on failed or timed-out runs and on failed shards, all with the stack prefix', () => {
    const { template, machineId } = definitionOf(ORG);
    const names = Object.values(template.findResources('AWS::CloudWatch::Alarm')).map(
      (a) => (a as { Properties: { AlarmName: string } }).Properties.AlarmName,
    );

    expect(names.sort()).toEqual([
      'Test-Sentinel-AlertDeliveryFailures',
      'Test-Sentinel-DiscoveryErrors',
      'Test-Sentinel-FailedExecutions',
      'Test-Sentinel-FailedInvocations',
      'Test-Sentinel-Heartbeat',
      'Test-Sentinel-IdentitiesNotReached',
      'Test-Sentinel-ScannerErrors',
      'Test-Sentinel-ShardFailures',
    ]);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'Test-Sentinel-Heartbeat',
      Namespace: 'AWS/States',
      MetricName: 'ExecutionsSucceeded',
      Dimensions: [{ Name: 'StateMachineArn', Value: { Ref: machineId } }],
      ComparisonOperator: 'LessThanThreshold',
      TreatMissingData: 'breaching',
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'Test-Sentinel-FailedExecutions',
      Metrics: Match.arrayWith([
        Match.objectLike({ Expression: 'failed + timedOut' }),
        Match.objectLike({
          MetricStat: Match.objectLike({ Metric: Match.objectLike({ MetricName: 'ExecutionsFailed' }) }),
        }),
        Match.objectLike({
          MetricStat: Match.objectLike({ Metric: Match.objectLike({ MetricName: 'ExecutionsTimedOut' }) }),
        }),
      ]),
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'Test-Sentinel-ShardFailures',
      Namespace: 'SesDkimSentinel',
      MetricName: 'ShardFailed',
      Dimensions: [{ Name: 'service', Value: 'ses-dkim-sentinel' }],
    });
  });

  it('shows health per account and region and the most urgent identities on the dashboard', () => {
    const { template } = definitionOf(ORG);
    const body = JSON.stringify(template.findResources('AWS::CloudWatch::Dashboard'));

    expect(body).toContain("filter message = 'shard summary'");
    expect(body).toContain('by account, region');
    expect(body).toContain("filter message = 'shard identity'");
    expect(body).toContain('sort hoursLeft asc');
    expect(body).toContain('{SesDkimSentinel,Account,Region,service} MetricName=\\\\\\"IdentitiesFailing\\\\\\"');
  });

  it('leaves single-account mode as it was: no state machine, no member-role access, the Lambda on the schedule', () => {
    const { template } = synthTemplate({});

    const t = new TemplateResolver(template.toJSON() as CfnTemplate);
    const scannerRole = t.ofType('AWS::IAM::Role').find(([id]) => id.includes('ScannerRole'))?.[0] as string;

    template.resourceCountIs('AWS::StepFunctions::StateMachine', 0);
    template.resourceCountIs('AWS::Lambda::Function', 1);
    expect(allowed(t, scannerRole).filter((a) => a.startsWith('sts:'))).toEqual([]);
    expect(allowed(t, scannerRole)).toContain('ses:ListEmailIdentities on *');
  });
});
