import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import type { DkimSentinelOptions } from '../../lib/config';
import { DkimSentinel } from '../../lib/dkim-sentinel';
import { synthTemplate, testApp } from './synth';
import {
  type AccessCheck,
  alarmChecks,
  type CfnTemplate,
  decide,
  ENV,
  functionChecks,
  ruleChecks,
  servicePublishChecks,
  stateMachineChecks,
  TemplateResolver,
} from './template-access';

const variants: [string, DkimSentinelOptions][] = [
  ['plain', {}],
  ['encryptTopic', { encryptTopic: true }],
  ['opsEmails', { alertEmails: 'alerts@example.com', opsEmails: 'ops@example.com' }],
  [
    'encryptTopic and opsEmails, Slack',
    {
      encryptTopic: true,
      opsEmails: 'ops@example.com',
      slackWorkspaceId: 'T0',
      slackChannelId: 'C0',
      slackWebhookSecretName: 'hook',
    },
  ],
];

function resolverFor(settings: DkimSentinelOptions): TemplateResolver {
  return new TemplateResolver(synthTemplate(settings).template.toJSON() as CfnTemplate);
}

/** An environment-agnostic stack: region and account stay pseudo parameters the resolver must fill. */
function agnosticResolver(settings: DkimSentinelOptions): TemplateResolver {
  const stack = new Stack(testApp(), ENV.stackName);
  new DkimSentinel(stack, 'Sentinel', { regions: 'eu-west-1', ...settings });
  return new TemplateResolver(Template.fromStack(stack).toJSON() as CfnTemplate);
}

async function denied(checks: AccessCheck[]): Promise<string[]> {
  const decisions = await Promise.all(checks.map(async (check) => [check.pair, await decide(check)] as const));
  return decisions.filter(([, decision]) => decision !== 'Allowed').map(([pair, decision]) => `${pair}: ${decision}`);
}

describe.each(variants)('every sender can reach its target (%s)', (_label, settings) => {
  for (const [kind, resolver] of [
    ['a stack with an account and region', () => resolverFor(settings)],
    ['an environment-agnostic stack', () => agnosticResolver(settings)],
  ] as const) {
    it(`lets CloudWatch publish every alarm notification to its topic, in ${kind}`, async () => {
      const t = resolver();
      const checks = alarmChecks(t);

      expect(t.ofType('AWS::CloudWatch::Alarm').length).toBeGreaterThanOrEqual(5);
      expect(checks.length).toBeGreaterThanOrEqual(10);
      expect(await denied(checks)).toEqual([]);
    });
  }

  it('lets the schedule invoke the scanner and dead-letter to its queue; the scanner reach its table, topic and failure queue', async () => {
    const t = resolverFor(settings);
    const checks = [...ruleChecks(t), ...functionChecks(t)];
    const pairs = checks.map((c) => c.pair).join('\n');

    expect(pairs).toMatch(/rule .* -> function/);
    expect(pairs).toMatch(/rule .* dead letters -> queue/);
    expect(pairs).toMatch(/-> table .*dynamodb:PutItem/);
    expect(pairs).toMatch(/-> topic .*sns:Publish/);
    expect(pairs).toMatch(/on failure -> queue/);
    if (settings.encryptTopic) expect(pairs).toMatch(/key \(kms:GenerateDataKey\)/);
    if (settings.slackWebhookSecretName) expect(pairs).toMatch(/-> secret \(secretsmanager:GetSecretValue\)/);
    expect(await denied(checks)).toEqual([]);
  });

  it('does not let anything else publish: another account, an alarm not named like the monitor, no statement', async () => {
    const t = resolverFor(settings);
    const topics = t.ofType('AWS::SNS::Topic').map(([id]) => id);
    const alarm = t.ofType('AWS::CloudWatch::Alarm')[0]?.[0] as string;
    const alarmArn = t.arn(alarm);
    const otherAccount = alarmArn.replace(ENV.account, '999999999999');
    const otherName = alarmArn.replace(/alarm:.*/, 'alarm:SomeoneElses-Heartbeat');
    for (const topic of topics) {
      const fromOtherAccount = servicePublishChecks(
        t,
        topic,
        'cloudwatch.amazonaws.com',
        otherAccount,
        '999999999999',
        'x',
      );
      const confused = servicePublishChecks(t, topic, 'cloudwatch.amazonaws.com', otherAccount, ENV.account, 'x');
      const otherAlarm = servicePublishChecks(t, topic, 'cloudwatch.amazonaws.com', otherName, ENV.account, 'x');
      const legit = servicePublishChecks(t, topic, 'cloudwatch.amazonaws.com', alarmArn, ENV.account, 'x');
      const withoutStatement = legit.map((check) => ({
        ...check,
        resourcePolicy: check.resourcePolicy && {
          ...check.resourcePolicy,
          Statement: check.resourcePolicy.Statement.filter((s) => s.Sid !== 'CloudWatchAlarmsOfTheMonitor'),
        },
      }));

      expect(await denied(legit)).toEqual([]);
      for (const checks of [fromOtherAccount, confused, otherAlarm, withoutStatement]) {
        expect(await denied(checks)).toHaveLength(checks.length);
      }
    }
  });
});

describe('the delivery checks themselves', () => {
  it('fail when a topic policy has no CloudWatch statement, as the stack had before', async () => {
    const t = resolverFor({});
    // The stack before this fix: the topic policy held only the TLS Deny.
    type PolicyResource = { Properties: { PolicyDocument: { Statement: { Sid?: string }[] } } };
    const before = structuredClone(t.template) as unknown as { Resources: Record<string, PolicyResource> };
    for (const [id] of t.ofType('AWS::SNS::TopicPolicy')) {
      const document = (before.Resources[id] as PolicyResource).Properties.PolicyDocument;
      document.Statement = document.Statement.filter((s) => s.Sid === 'AllowPublishThroughSSLOnly');
    }
    const checks = alarmChecks(new TemplateResolver(before as unknown as CfnTemplate));

    expect(checks.length).toBeGreaterThan(0);
    expect(await denied(checks)).toHaveLength(checks.length);
  });

  it('fail when the schedule may not invoke the function', async () => {
    const t = resolverFor({});
    const stripped = structuredClone(t.template) as { Resources: Record<string, { Type: string }> };
    for (const [id, r] of Object.entries(stripped.Resources))
      if (r.Type === 'AWS::Lambda::Permission') delete stripped.Resources[id];

    expect(await denied(ruleChecks(new TemplateResolver(stripped as CfnTemplate)))).toEqual([
      expect.stringMatching(/rule .* -> function .*ImplicitlyDenied/),
    ]);
  });

  it('fail loudly on an intrinsic the resolver does not know, instead of passing unread', () => {
    const t = new TemplateResolver({ Resources: {} });

    expect(() => t.resolve({ 'Fn::Sub': 'arn:aws:sns:eu-west-1:123456789012:x' })).toThrow('does not know Fn::Sub');
    expect(t.resolve({ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':', { Ref: 'AWS::Region' }]] })).toBe(
      'arn:aws:eu-west-1',
    );
  });
});

describe('self-monitoring alarms', () => {
  it('names every alarm with the stack name and watches the alert topic for failed deliveries', () => {
    const { template } = synthTemplate({});
    const names = Object.values(template.findResources('AWS::CloudWatch::Alarm')).map(
      (a) => (a as { Properties: { AlarmName: string } }).Properties.AlarmName,
    );

    expect(names.sort()).toEqual([
      'Test-Sentinel-AlertDeliveryFailures',
      'Test-Sentinel-DiscoveryErrors',
      'Test-Sentinel-FailedInvocations',
      'Test-Sentinel-Heartbeat',
      'Test-Sentinel-IdentitiesNotReached',
      'Test-Sentinel-ScannerErrors',
    ]);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/SNS',
      MetricName: 'NumberOfNotificationsFailed',
      Dimensions: [
        { Name: 'TopicName', Value: { 'Fn::GetAtt': [Match.stringLikeRegexp('AlertingTopic'), 'TopicName'] } },
      ],
      Statistic: 'Sum',
      TreatMissingData: 'notBreaching',
    });
  });

  it('alarms on failed invocations arriving, not on the 14-day backlog, so the alarm returns to OK', () => {
    const { template } = synthTemplate({});

    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/SQS',
      MetricName: 'NumberOfMessagesSent',
      Statistic: 'Sum',
      Period: 300,
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
    expect(JSON.stringify(template.toJSON())).not.toContain('ApproximateNumberOfMessagesVisible');
  });

  it('with opsEmails, sends the monitor alarms to a separate ops topic and its failures to the alert topic', () => {
    const t = resolverFor({ alertEmails: 'alerts@example.com', opsEmails: 'ops@example.com, oncall@example.com' });
    const topicId = (pattern: RegExp) => t.ofType('AWS::SNS::Topic').find(([id]) => pattern.test(id))?.[0] as string;
    const alertTopic = topicId(/AlertingTopic[0-9A-F]{8}$/);
    const opsTopic = topicId(/AlertingOpsTopic[0-9A-F]{8}$/);
    const targetOf = (name: string) => {
      const [, alarm] =
        t.ofType('AWS::CloudWatch::Alarm').find(([, a]) => String(a.Properties?.AlarmName).endsWith(name)) ?? [];
      return t.resolve(alarm?.Properties?.AlarmActions);
    };

    expect(targetOf('-Heartbeat')).toEqual([t.arn(opsTopic)]);
    expect(targetOf('-AlertDeliveryFailures')).toEqual([t.arn(opsTopic)]);
    expect(targetOf('-OpsDeliveryFailures')).toEqual([t.arn(alertTopic)]);
    const endpoints = t
      .ofType('AWS::SNS::Subscription')
      .map(
        ([, s]) =>
          `${t.resolve(s.Properties?.TopicArn) === t.arn(opsTopic) ? 'ops' : 'alerts'}:${s.Properties?.Endpoint}`,
      );
    expect(endpoints.sort()).toEqual(['alerts:alerts@example.com', 'ops:oncall@example.com', 'ops:ops@example.com']);
    const [, scanner] = t.ofType('AWS::Lambda::Function')[0] ?? [];
    const environment = scanner?.Properties?.Environment as { Variables: Record<string, unknown> } | undefined;
    const scannerTopic = t.resolve(environment?.Variables.DKIM_ALERT_TOPIC_ARN);
    expect(scannerTopic).toBe(t.arn(alertTopic));
  });

  it('conditions the key policy CloudWatch statement on this account and the monitor alarms', () => {
    const t = resolverFor({ encryptTopic: true });
    const [keyId] = t.ofType('AWS::KMS::Key')[0] ?? [];
    const statement = t.keyPolicy(keyId as string).Statement.find((s) => s.Sid === 'CloudWatchAlarmsOfTheMonitor');

    expect(statement?.Condition).toEqual({
      StringEquals: { 'aws:SourceAccount': ENV.account },
      ArnLike: { 'aws:SourceArn': 'arn:aws:cloudwatch:eu-west-1:123456789012:alarm:Test-Sentinel-*' },
    });
  });
});

const centralVariants: [string, DkimSentinelOptions][] = [
  ['organization', { organization: true, organizationId: 'o-abcdefghij' }],
  [
    'accounts, encryptTopic and opsEmails',
    { accounts: '111111111111,222222222222', encryptTopic: true, opsEmails: 'ops@example.com', externalId: 'ext-1' },
  ],
];

describe.each(centralVariants)('central mode: every sender can reach its target (%s)', (_label, settings) => {
  for (const [kind, resolver] of [
    ['a stack with an account and region', () => resolverFor(settings)],
    ['an environment-agnostic stack', () => agnosticResolver(settings)],
  ] as const) {
    it(`lets CloudWatch publish every alarm notification, the state machine ones included, in ${kind}`, async () => {
      const t = resolver();
      const checks = alarmChecks(t);
      const names = t.ofType('AWS::CloudWatch::Alarm').map(([, a]) => String(a.Properties?.AlarmName));

      expect(names).toEqual(
        expect.arrayContaining([expect.stringMatching(/-FailedExecutions$/), expect.stringMatching(/-ShardFailures$/)]),
      );
      expect(checks.length).toBeGreaterThanOrEqual(14);
      expect(await denied(checks)).toEqual([]);
    });
  }

  it('lets the schedule start the state machine, and the state machine invoke both functions, count failed shards and announce them', async () => {
    const t = resolverFor(settings);
    const checks = [...ruleChecks(t), ...stateMachineChecks(t), ...functionChecks(t)];
    const pairs = checks.map((c) => c.pair).join('\n');

    expect(pairs).toMatch(/rule .* assumes role/);
    expect(pairs).toMatch(/-> state machine .*states:StartExecution/);
    expect(pairs).not.toMatch(/rule .* -> function/);
    expect(pairs).toMatch(/Plan -> function .*Planner/);
    expect(pairs).toMatch(/ScanShard -> function .*ScannerFunction/);
    expect(pairs).toMatch(/ScanShards -> its child executions/);
    expect(pairs).toMatch(/RecordShardFailure -> metrics \(cloudwatch:PutMetricData\)/);
    expect(pairs).toMatch(/NotifyShardFailure -> topic .*\(sns:Publish\)/);
    if (settings.encryptTopic) expect(pairs).toMatch(/NotifyShardFailure -> topic .*'s key \(kms:GenerateDataKey\)/);
    expect(await denied(checks)).toEqual([]);
  });

  it('lets the state machine put metrics only in the monitor namespace', async () => {
    const t = resolverFor(settings);
    const [metrics] = stateMachineChecks(t).filter((c) => c.action === 'cloudwatch:PutMetricData');
    const elsewhere = { ...metrics, context: { ...metrics?.context, 'cloudwatch:namespace': 'AWS/Lambda' } };

    expect(await denied([elsewhere as AccessCheck])).toHaveLength(1);
  });
});
