import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Stack, Validations } from 'aws-cdk-lib';
import { Capture, Match, Template } from 'aws-cdk-lib/assertions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { DkimSentinel } from '../../lib/dkim-sentinel';
import { synthTemplate, testApp } from './synth';

type Statement = { Action: string | string[]; Resource: unknown; Condition?: unknown; Effect: string };

function statements(template: Template): Statement[] {
  return Object.values(template.findResources('AWS::IAM::Policy')).flatMap(
    (policy) =>
      (policy as { Properties: { PolicyDocument: { Statement: Statement[] } } }).Properties.PolicyDocument.Statement,
  );
}
const actionsOf = (s: Statement) => (Array.isArray(s.Action) ? s.Action : [s.Action]);

describe('DkimSentinelStack', () => {
  const full = synthTemplate({
    alertEmails: ['ops@example.com', 'dns@example.com'],
    slackWorkspaceId: 'T0',
    slackChannelId: 'C0',
    slackWebhookSecretName: 'dkim/slack-webhook',
    regions: ['eu-west-1', 'us-east-1'],
  }).template;
  const minimal = synthTemplate().template;

  it('runs the scanner on arm64, the newest Node.js runtime, without reserved concurrency, with its own log group', () => {
    // Runs are kept apart by a lease in the state table: reserving concurrency fails `cdk deploy` in
    // accounts whose concurrency quota is 10.
    const functions = Object.values(minimal.findResources('AWS::Lambda::Function'));
    expect(functions.map((f) => (f as { Properties: object }).Properties)).toEqual([
      expect.not.objectContaining({ ReservedConcurrentExecutions: expect.anything() }),
    ]);
    minimal.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      Timeout: 900,
      LoggingConfig: { LogGroup: Match.anyValue() },
      Environment: {
        Variables: Match.objectLike({
          DKIM_REGIONS: 'eu-west-1',
          DKIM_RESOLVERS: '1.1.1.1,8.8.8.8,9.9.9.9',
          DKIM_ALERT_TOPIC_ARN: { Ref: Match.stringLikeRegexp('Topic') },
          DKIM_GRACE_DAYS: '5',
          POWERTOOLS_LOG_LEVEL: 'INFO',
        }),
      },
    });
    minimal.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
  });

  it('schedules the scan every hour by default, with a dead-letter queue', () => {
    const dlq = new Capture();
    minimal.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 hour)',
      Targets: [
        Match.objectLike({ DeadLetterConfig: { Arn: { 'Fn::GetAtt': [dlq, 'Arn'] } }, RetryPolicy: Match.anyValue() }),
      ],
    });
    expect(dlq.asString()).toMatch(/FailedInvocations/);
  });

  it('sends failed asynchronous invocations to the same queue, whose alarm notifies the topic', () => {
    minimal.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      MaximumRetryAttempts: 1,
      DestinationConfig: {
        OnFailure: { Destination: { 'Fn::GetAtt': [Match.stringLikeRegexp('FailedInvocations'), 'Arn'] } },
      },
    });
    minimal.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'NumberOfMessagesSent',
      AlarmActions: [{ Ref: Match.stringLikeRegexp('Topic') }],
    });
  });

  it('has a heartbeat alarm that treats missing data as breaching and notifies the topic', () => {
    minimal.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'SesDkimSentinel',
      MetricName: 'RunCompleted',
      Dimensions: [{ Name: 'service', Value: 'ses-dkim-sentinel' }],
      Period: 3600,
      EvaluationPeriods: 2,
      Threshold: 1,
      ComparisonOperator: 'LessThanThreshold',
      TreatMissingData: 'breaching',
      AlarmActions: [{ Ref: Match.stringLikeRegexp('Topic') }],
      OKActions: [{ Ref: Match.stringLikeRegexp('Topic') }],
    });
    minimal.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'Errors',
      Namespace: 'AWS/Lambda',
      TreatMissingData: 'notBreaching',
    });
    minimal.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'DiscoveryErrors' });
    minimal.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
  });

  it('shows identities by MAIL FROM health and by DMARC health on the dashboard, from fleet counts', () => {
    const body = JSON.stringify(minimal.findResources('AWS::CloudWatch::Dashboard'));

    expect(body).toContain('Identities by MAIL FROM health');
    expect(body).toContain('Identities by DMARC health');
    // Searched by the Health dimension, never per identity.
    expect(body).toMatch(/\{SesDkimSentinel,Health,service\} MetricName=\W+MailFromByHealth/);
    expect(body).toMatch(/\{SesDkimSentinel,Health,service\} MetricName=\W+DmarcByHealth/);
    expect(body).toContain('latest(mailFromHealth) as mailFrom');
  });

  it('alarms when six runs in a row leave identities unreached (the fleet outgrew the SES rate), not on one', () => {
    minimal.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'SesDkimSentinel',
      MetricName: 'IdentitiesNotReached',
      Statistic: 'Minimum',
      EvaluationPeriods: 6,
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'notBreaching',
      AlarmActions: [{ Ref: Match.stringLikeRegexp('Topic') }],
    });
    minimal.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          DKIM_SES_REQUESTS_PER_SECOND: '1',
          DKIM_SES_ATTRIBUTE_REFRESH_PER_RUN: '20',
          DKIM_CHECK_MAIL_FROM: 'true',
          DKIM_CHECK_DMARC: 'true',
        }),
      },
    });
  });

  it('turns the MAIL FROM and DMARC checks off by setting, and then grants no MAIL FROM read', () => {
    const off = synthTemplate({ mailFromCheck: false, dmarcCheck: 'false' }).template;

    off.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ DKIM_CHECK_MAIL_FROM: 'false', DKIM_CHECK_DMARC: 'false' }) },
    });
    expect(statements(off).flatMap(actionsOf)).not.toContain('ses:GetIdentityMailFromDomainAttributes');
    expect(statements(off).flatMap(actionsOf)).toContain('ses:GetIdentityDkimAttributes');
  });

  it('keeps lifecycle state in an on-demand table with point-in-time recovery and a TTL, read item by item and by one scan', () => {
    minimal.hasResourceProperties('AWS::DynamoDB::Table', {
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [{ AttributeName: 'key', KeyType: 'HASH' }],
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
    });
    const dynamo = statements(minimal).filter((s) => actionsOf(s).some((a) => a.startsWith('dynamodb:')));
    expect(dynamo.flatMap(actionsOf).sort()).toEqual([
      'dynamodb:DeleteItem',
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:Scan',
    ]);
    expect(JSON.stringify(dynamo[0]?.Resource)).toMatch(/StateTable/);
    minimal.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          DKIM_STATE_TABLE: { Ref: Match.stringLikeRegexp('StateTable') },
          DKIM_REMINDER_HOURS: '72,24,6',
          DKIM_CONFIRM_RUNS: '2',
          DKIM_CANNOT_VERIFY_RUNS: '3',
          DKIM_DIGEST_THRESHOLD: '5',
        }),
      },
    });
  });

  it('enforces TLS on the topic and subscribes each alert email', () => {
    full.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
    full.resourceCountIs('AWS::SNS::Subscription', 2);
    full.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.com' });
    minimal.resourceCountIs('AWS::SNS::Subscription', 0);
    minimal.hasResourceProperties('AWS::SNS::Topic', Match.not(Match.objectLike({ KmsMasterKeyId: Match.anyValue() })));
  });

  it('encrypts the topic with a customer key when asked', () => {
    const { template } = synthTemplate({ encryptTopic: true });

    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
    template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    const kmsActions = statements(template)
      .flatMap(actionsOf)
      .filter((a) => a.startsWith('kms:'));
    expect(kmsActions.sort()).toEqual(['kms:Decrypt', 'kms:GenerateDataKey']);
  });

  it('subscribes AWS Chatbot to the topic with read-only guardrails, not AdministratorAccess', () => {
    const guardrails = new Capture();
    full.hasResourceProperties('AWS::Chatbot::SlackChannelConfiguration', {
      SlackWorkspaceId: 'T0',
      SlackChannelId: 'C0',
      SnsTopicArns: [{ Ref: Match.stringLikeRegexp('Topic') }],
      GuardrailPolicies: guardrails,
    });
    const arns = JSON.stringify(guardrails.asArray());
    expect(arns).toContain('CloudWatchReadOnlyAccess');
    expect(arns).toContain('AmazonSESReadOnlyAccess');
    expect(arns).not.toContain('AdministratorAccess');
    expect(
      Object.keys(
        full.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: Match.stringLikeRegexp('Slack') }] } }),
      ),
    ).toEqual([]);
    minimal.resourceCountIs('AWS::Chatbot::SlackChannelConfiguration', 0);
  });

  it('grants SES read-only, publish on its topic only, and the webhook secret only when configured', () => {
    const all = statements(full);
    const actions = all.flatMap(actionsOf);
    expect(actions.filter((a) => a.includes('*'))).toEqual([]);
    expect(actions.filter((a) => a.startsWith('ses:')).sort()).toEqual([
      'ses:GetEmailIdentity',
      'ses:GetIdentityDkimAttributes',
      'ses:GetIdentityMailFromDomainAttributes',
      'ses:ListEmailIdentities',
      'ses:ListIdentities',
    ]);
    for (const action of [
      'ses:ListEmailIdentities',
      'ses:ListIdentities',
      'ses:GetIdentityDkimAttributes',
      'ses:GetIdentityMailFromDomainAttributes',
    ]) {
      const statement = all.find((s) => actionsOf(s).includes(action));
      expect(statement?.Condition).toEqual({ StringEquals: { 'aws:RequestedRegion': ['eu-west-1', 'us-east-1'] } });
    }
    const get = all.find((s) => actionsOf(s).includes('ses:GetEmailIdentity'));
    expect(JSON.stringify(get?.Resource)).toContain(':ses:eu-west-1:123456789012:identity/*');
    expect(JSON.stringify(get?.Resource)).toContain(':ses:us-east-1:123456789012:identity/*');
    const publish = all.find((s) => actionsOf(s).includes('sns:Publish'));
    expect(publish?.Resource).toEqual({ Ref: expect.stringMatching(/Topic/) });
    const secret = all.find((s) => actionsOf(s).includes('secretsmanager:GetSecretValue'));
    expect(JSON.stringify(secret?.Resource)).toContain('secret:dkim/slack-webhook-??????');
    expect(
      statements(minimal)
        .flatMap(actionsOf)
        .filter((a) => a.startsWith('secretsmanager:')),
    ).toEqual([]);
    // No AWS managed policy on the scanner's role.
    full.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: Match.objectLike({
        Statement: [Match.objectLike({ Principal: { Service: 'lambda.amazonaws.com' } })],
      }),
      ManagedPolicyArns: Match.absent(),
    });
  });

  it('reads Route 53 by default and can write nothing there unless autoRepair is on', () => {
    const route53Actions = (t: Template) =>
      statements(t)
        .flatMap(actionsOf)
        .filter((a) => a.startsWith('route53:'))
        .sort();

    expect(route53Actions(minimal)).toEqual([
      'route53:GetHostedZone',
      'route53:ListHostedZonesByName',
      'route53:ListResourceRecordSets',
    ]);
    expect(route53Actions(synthTemplate({ route53: false }).template)).toEqual([]);
    minimal.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ DKIM_ROUTE53: 'true', DKIM_AUTO_REPAIR: 'false' }) },
    });
  });

  it('with autoRepair, allows only UPSERTs of _domainkey CNAMEs, in the named zones when given', () => {
    const { template } = synthTemplate({ autoRepair: true, autoRepairZoneIds: ['Z0123456789ABC'] });

    const write = statements(template).find((s) => actionsOf(s).includes('route53:ChangeResourceRecordSets'));
    expect(write?.Resource).toEqual({
      'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':route53:::hostedzone/Z0123456789ABC']],
    });
    expect(write?.Condition).toEqual({
      'ForAllValues:StringEquals': {
        'route53:ChangeResourceRecordSetsActions': ['UPSERT'],
        'route53:ChangeResourceRecordSetsRecordTypes': ['CNAME'],
      },
      'ForAllValues:StringLike': {
        'route53:ChangeResourceRecordSetsNormalizedRecordNames': ['????????????????????????????????._domainkey.*'],
      },
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ DKIM_AUTO_REPAIR: 'true' }) },
    });
  });

  it('passes cdk-nag AwsSolutions checks with every option on', () => {
    expect(() =>
      synthTemplate(
        {
          alertEmails: ['a@example.com'],
          slackWorkspaceId: 'T0',
          slackChannelId: 'C0',
          slackWebhookSecretName: 'hook',
          encryptTopic: true,
          opsEmails: ['ops@example.com'],
        },
        { nag: true },
      ),
    ).not.toThrow();
  });

  it('cdk-nag is really checking: an unencrypted, TLS-optional queue fails synth', () => {
    const app = testApp();
    const stack = new Stack(app, 'Bad', { env: { account: '123456789012', region: 'eu-west-1' } });
    new DkimSentinel(stack, 'Sentinel');
    new sqs.Queue(stack, 'Careless', { encryption: sqs.QueueEncryption.UNENCRYPTED });
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));

    expect(() => app.synth()).toThrow();
  });

  it('can be added to another app as a construct', () => {
    const app = testApp();
    const stack = new Stack(app, 'Theirs', { env: { account: '123456789012', region: 'ap-south-2' } });
    const sentinel = new DkimSentinel(stack, 'Dkim', {
      alertEmails: ['team@example.com'],
      schedule: 'rate(30 minutes)',
    });

    expect(sentinel.settings.regions).toEqual(['ap-south-2']);
    Template.fromStack(stack).hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(30 minutes)' });
  });
});

describe('the bundled handler', () => {
  it('bundles with esbuild and the bundle loads, failing a bad environment with one clear line', async () => {
    const app = testApp({ bundle: true });
    new DkimSentinelStackForBundle(app);
    const assembly = app.synth();
    const assetDir = readdirSync(assembly.directory)
      .filter((d) => d.startsWith('asset.'))
      .map((d) => join(assembly.directory, d))
      .find((d) => existsSync(join(d, 'index.js')));
    expect(assetDir).toBeDefined();

    const saved = { ...process.env };
    try {
      Object.assign(process.env, {
        DKIM_REGIONS: 'eu-west-1',
        DKIM_RESOLVERS: '1.1.1.1',
        DKIM_ALERT_TOPIC_ARN: 'arn:aws:sns:eu-west-1:123456789012:alerts',
        DKIM_STATE_TABLE: 'dkim-state',
      });
      const bundle = await import(join(assetDir as string, 'index.js'));
      expect(typeof (bundle.handler ?? bundle.default?.handler)).toBe('function');
    } finally {
      process.env = saved;
    }
    // The source map ships and the function reads it: an error's stack names the TypeScript source.
    expect(existsSync(join(assetDir as string, 'index.js.map'))).toBe(true);
    Template.fromStack(app.node.findChild('Bundled') as Stack).hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ NODE_OPTIONS: '--enable-source-maps' }) },
    });
    const failing = spawnSync(
      process.execPath,
      [
        '--enable-source-maps',
        '-e',
        `require(${JSON.stringify(join(assetDir as string, 'index.js'))}).handler({}, new Proxy({}, { get() { throw new Error('probe'); } })).catch((e) => console.log(e.stack))`,
      ],
      {
        encoding: 'utf8',
        env: {
          ...process.env,
          DKIM_REGIONS: 'eu-west-1',
          DKIM_RESOLVERS: '1.1.1.1',
          DKIM_ALERT_TOPIC_ARN: 'arn:aws:sns:eu-west-1:123456789012:alerts',
          DKIM_STATE_TABLE: 'dkim-state',
        },
      },
    );
    expect(failing.stdout).toMatch(/lambda\/handler\.ts:\d+/);
  }, 60_000);
});

import { DkimSentinelStack } from '../../lib/dkim-sentinel-stack';

class DkimSentinelStackForBundle extends DkimSentinelStack {
  constructor(app: import('aws-cdk-lib').App) {
    super(app, 'Bundled', { env: { account: '123456789012', region: 'eu-west-1' } });
  }
}
