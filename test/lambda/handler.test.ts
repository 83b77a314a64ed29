import { GetEmailIdentityCommand, ListEmailIdentitiesCommand, SESv2Client } from '@aws-sdk/client-sesv2';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
// Type only: the module reads its environment at import, so it is imported below, after the env is set.
import type { handler as Handler } from '../../lambda/handler';
import { startDynalite } from '../support/dynalite';

const TOPIC = 'arn:aws:sns:eu-west-1:123456789012:ses-dkim-sentinel-alerts';
const ses = mockClient(SESv2Client);
const sns = mockClient(SNSClient);

const identity = (status: string, signing = true) => ({
  IdentityType: 'DOMAIN',
  VerificationStatus: 'SUCCESS',
  DkimAttributes: {
    SigningEnabled: signing,
    Status: status,
    Tokens: ['tok1', 'tok2', 'tok3'],
    SigningAttributesOrigin: 'AWS_SES',
    SigningHostedZone: 'dkim.amazonses.com',
  },
  // Two hours ago: the revocation clock started then, so about 118 hours are left.
  VerificationInfo: { LastSuccessTimestamp: new Date(Date.now() - 2 * 3_600_000) },
  $metadata: {},
});
const context = {
  invokedFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:scanner',
  awsRequestId: 'req-1',
  functionName: 'scanner',
} as Context;

describe('the scanner handler', () => {
  let handler: typeof Handler;
  let db: Awaited<ReturnType<typeof startDynalite>>;
  let stdout: string[];
  const saved = { ...process.env };

  beforeAll(async () => {
    db = await startDynalite('scanner-state');
    const endpoint = await db.doc.config.endpoint?.();
    Object.assign(process.env, {
      // The real DynamoDB client of the handler, pointed at dynalite.
      AWS_ENDPOINT_URL_DYNAMODB: `${endpoint?.protocol}//${endpoint?.hostname}:${endpoint?.port}`,
      AWS_REGION: 'eu-west-1',
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      DKIM_STATE_TABLE: 'scanner-state',
      DKIM_REGIONS: 'eu-west-1',
      // A closed loopback port: every DNS lookup fails at once, so nothing leaves the machine.
      DKIM_RESOLVERS: '127.0.23.1:9',
      DKIM_ALERT_TOPIC_ARN: TOPIC,
      DKIM_DNS_TIMEOUT_MS: '200',
      DKIM_GRACE_DAYS: '5',
    });
    ({ handler } = await import('../../lambda/handler.js'));
  });
  afterAll(async () => {
    process.env = saved;
    await db?.stop();
  });
  beforeEach(() => {
    ses.reset();
    sns.reset();
    stdout = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      stdout.push(String(chunk));
      return true;
    });
    // Expected error logs (an undeliverable alert) are part of what is asserted, not noise for the reader.
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
      stdout.push(String(chunk));
      return true;
    });
  });

  it('announces a confirmed problem once with the hours left, stays quiet on one inconclusive run, and emits EMF metrics', async () => {
    // Prepare
    ses.on(ListEmailIdentitiesCommand).resolves({
      EmailIdentities: ['failing.example', 'unverifiable.example', 'off.example'].map((IdentityName) => ({
        IdentityName,
        IdentityType: 'DOMAIN',
        SendingEnabled: true,
      })),
    });
    ses
      .on(GetEmailIdentityCommand, { EmailIdentity: 'failing.example' })
      .resolves(identity('TEMPORARY_FAILURE') as never);
    ses.on(GetEmailIdentityCommand, { EmailIdentity: 'unverifiable.example' }).resolves(identity('SUCCESS') as never);
    ses.on(GetEmailIdentityCommand, { EmailIdentity: 'off.example' }).resolves(identity('SUCCESS', false) as never);
    sns.on(PublishCommand).resolves({ MessageId: 'm-1' });

    // Act
    const result = await handler({ source: 'ses-dkim-sentinel.schedule' }, context);
    const again = await handler({ source: 'ses-dkim-sentinel.schedule' }, { ...context, awsRequestId: 'req-2' });
    vi.restoreAllMocks();

    // Assess: SES's TEMPORARY_FAILURE confirms at once; one UNKNOWN run is not worth an alert; the second
    // run repeats nothing.
    expect(result).toEqual({ identities: 3, needingAttention: 2 });
    expect(again).toEqual(result);
    expect(sns).toReceiveCommandTimes(PublishCommand, 1);
    const [input] = sns.commandCalls(PublishCommand).map((c) => c.args[0].input);
    expect(input?.Subject).toMatch(/^DKIM DETECTED: failing\.example \(eu-west-1\), 11[78]h left$/);
    expect(input).toMatchObject({ TopicArn: TOPIC, MessageStructure: 'json' });
    expect(input?.MessageAttributes).toMatchObject({
      identity: { DataType: 'String', StringValue: 'failing.example' },
      stage: { DataType: 'String', StringValue: 'DETECTED' },
      severity: { DataType: 'String', StringValue: 'critical' },
      account: { DataType: 'String', StringValue: '123456789012' },
    });
    const message = JSON.parse(input?.Message ?? '{}');
    expect(message.email).toContain('DKIM problem detected for failing.example in eu-west-1 (account 123456789012)');
    expect(message.email).toMatch(/it may revoke DKIM by \S+: 11[78](\.\d)? hours left\./);
    expect(JSON.parse(message.https)).toMatchObject({
      version: '1.0',
      source: 'custom',
      content: { textType: 'client-markdown', title: input?.Subject },
      metadata: { eventType: 'DkimDETECTED', threadId: 'dkim-eu-west-1-failing.example' },
    });

    const emf = stdout
      .flatMap((chunk) => chunk.split('\n'))
      .filter((line) => line.includes('"_aws"'))
      .map((line) => JSON.parse(line));
    const runs = emf.filter((e) => e.RunCompleted !== undefined);
    expect(runs.map((r) => r.AlertsSent)).toEqual([1, 0]);
    const run = runs[0];
    expect(run).toMatchObject({
      service: 'ses-dkim-sentinel',
      RunCompleted: 1,
      IdentitiesChecked: 3,
      IdentitiesFailing: 1,
      IdentitiesUnknown: 1,
      DiscoveryErrors: 0,
    });
    expect(run._aws.CloudWatchMetrics[0].Namespace).toBe('SesDkimSentinel');
    const firstRun = emf.slice(0, emf.indexOf(run));
    const perIdentity = firstRun
      .filter((e) => e.Identity !== undefined)
      .map((e) => {
        const metric = e._aws.CloudWatchMetrics[0].Metrics[0].Name;
        return `${e.Identity} ${e.IdentityRegion} ${metric}=${metric === 'HoursLeft' ? Math.floor(e[metric] / 10) * 10 : e[metric]}`;
      });
    expect(perIdentity.sort()).toEqual([
      'failing.example eu-west-1 FailingRecords=0',
      'failing.example eu-west-1 HealthLevel=3',
      'failing.example eu-west-1 HoursLeft=110',
      'off.example eu-west-1 FailingRecords=0',
      'off.example eu-west-1 HealthLevel=0',
      'unverifiable.example eu-west-1 FailingRecords=0',
      'unverifiable.example eu-west-1 HealthLevel=1',
    ]);
    for (const e of firstRun.filter((x) => x.Identity !== undefined)) {
      expect(e._aws.CloudWatchMetrics[0].Dimensions[0]).toEqual(
        expect.arrayContaining(['service', 'Identity', 'IdentityRegion']),
      );
    }
  });

  it('fails the invocation (so the Errors alarm fires) when an alert cannot be delivered, after recording the run', async () => {
    ses.on(ListEmailIdentitiesCommand).resolves({
      EmailIdentities: [{ IdentityName: 'revoked.example', IdentityType: 'DOMAIN', SendingEnabled: true }],
    });
    ses.on(GetEmailIdentityCommand).resolves(identity('FAILED') as never);
    sns.on(PublishCommand).rejects(new Error('AuthorizationError: not allowed to publish'));

    // The identities of the previous test are gone from SES now: their CLOSED notices fail the same way.
    await expect(handler({}, context)).rejects.toThrow(
      /^\d+ alert delivery or state failure\(s\): channel sns: AuthorizationError: not allowed to publish$/,
    );
    vi.restoreAllMocks();

    expect(stdout.join('')).toContain('"RunCompleted":1');
    expect(stdout.join('')).toContain('"message":"channel sns failed"');
    expect(stdout.join('')).toContain('"reason":"AuthorizationError: not allowed to publish"');
  });

  it('logs every SES discovery error with its reason (no reserved-key collision)', async () => {
    ses.on(ListEmailIdentitiesCommand).rejects(
      Object.assign(new Error('User is not authorized to perform ses:ListEmailIdentities'), {
        name: 'AccessDeniedException',
      }),
    );
    sns.on(PublishCommand).resolves({ MessageId: 'm-2' });

    await handler({}, { ...context, awsRequestId: 'req-denied' });
    vi.restoreAllMocks();

    const line = stdout
      .join('')
      .split('\n')
      .find((l) => l.includes('"message":"SES discovery error"'));
    expect(line).toContain('not authorized to perform ses:ListEmailIdentities');
    expect(stdout.join('')).not.toContain('is a reserved key');
  });

  it('{"test": true} sends one TEST notification through every channel and reports each result', async () => {
    sns.on(PublishCommand).resolves({ MessageId: 'm-test' });

    const result = await handler({ test: true }, { ...context, awsRequestId: 'req-test' });
    vi.restoreAllMocks();

    expect(result).toEqual({ test: true, allDelivered: true, channels: [{ channel: 'sns', delivered: true }] });
    expect(ses).toReceiveCommandTimes(ListEmailIdentitiesCommand, 0);
    const input = sns.commandCalls(PublishCommand)[0]?.args[0].input;
    expect(input?.Subject).toMatch(/^DKIM TEST: /);
    expect(input?.MessageAttributes?.stage).toEqual({ DataType: 'String', StringValue: 'TEST' });
  });
});
