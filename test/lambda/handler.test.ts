import { GetEmailIdentityCommand, ListEmailIdentitiesCommand, SESv2Client } from '@aws-sdk/client-sesv2';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
// Type only: the module reads its environment at import, so it is imported below, after the env is set.
import type { handler as Handler } from '../../lambda/handler';

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
  VerificationInfo: { LastSuccessTimestamp: new Date('2026-11-21T18:40:03Z') },
  $metadata: {},
});
const context = {
  invokedFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:scanner',
  awsRequestId: 'req-1',
  functionName: 'scanner',
} as Context;

describe('the scanner handler', () => {
  let handler: typeof Handler;
  let stdout: string[];
  const saved = { ...process.env };

  beforeAll(async () => {
    Object.assign(process.env, {
      DKIM_REGIONS: 'eu-west-1',
      // A closed loopback port: every DNS lookup fails at once, so nothing leaves the machine.
      DKIM_RESOLVERS: '127.0.23.1:9',
      DKIM_ALERT_TOPIC_ARN: TOPIC,
      DKIM_DNS_TIMEOUT_MS: '200',
      DKIM_GRACE_DAYS: '5',
    });
    ({ handler } = await import('../../lambda/handler.js'));
  });
  afterAll(() => {
    process.env = saved;
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

  it('alerts for each identity needing attention, with both message variants, and emits EMF metrics', async () => {
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
    vi.restoreAllMocks();

    // Assess
    expect(result).toEqual({ identities: 3, needingAttention: 2 });
    expect(sns).toReceiveCommandTimes(PublishCommand, 2);
    const published = sns.commandCalls(PublishCommand).map((c) => c.args[0].input);
    expect(published.map((p) => p.Subject)).toEqual([
      'DKIM FAILING: failing.example (eu-west-1)',
      'DKIM UNKNOWN: unverifiable.example (eu-west-1)',
    ]);
    for (const input of published) {
      expect(input).toMatchObject({ TopicArn: TOPIC, MessageStructure: 'json' });
      expect(input.Subject?.length).toBeLessThan(100);
      const message = JSON.parse(input.Message ?? '{}');
      expect(message.email).toContain('(account 123456789012)');
      expect(JSON.parse(message.https)).toMatchObject({
        version: '1.0',
        source: 'custom',
        content: { textType: 'client-markdown' },
      });
    }
    expect(JSON.parse(published[1]?.Message ?? '{}').email).toContain('LOOKUP_FAILED');

    const emf = stdout
      .flatMap((chunk) => chunk.split('\n'))
      .filter((line) => line.includes('"_aws"'))
      .map((line) => JSON.parse(line));
    const run = emf.find((e) => e.RunCompleted !== undefined);
    expect(run).toMatchObject({
      service: 'ses-dkim-sentinel',
      RunCompleted: 1,
      IdentitiesChecked: 3,
      IdentitiesFailing: 1,
      IdentitiesUnknown: 1,
      AlertsSent: 2,
      DiscoveryErrors: 0,
    });
    expect(run._aws.CloudWatchMetrics[0].Namespace).toBe('SesDkimSentinel');
    const perIdentity = emf
      .filter((e) => e.Identity !== undefined)
      .map((e) => [e.Identity, e.IdentityRegion, e.HealthLevel]);
    expect(perIdentity.sort()).toEqual([
      ['failing.example', 'eu-west-1', 3],
      ['off.example', 'eu-west-1', 0],
      ['unverifiable.example', 'eu-west-1', 1],
    ]);
  });

  it('fails the invocation (so the Errors alarm fires) when an alert cannot be delivered, after recording the run', async () => {
    ses.on(ListEmailIdentitiesCommand).resolves({
      EmailIdentities: [{ IdentityName: 'failing.example', IdentityType: 'DOMAIN', SendingEnabled: true }],
    });
    ses.on(GetEmailIdentityCommand).resolves(identity('FAILED') as never);
    sns.on(PublishCommand).rejects(new Error('AuthorizationError: not allowed to publish'));

    await expect(handler({}, context)).rejects.toThrow(
      '1 alert(s) not delivered: sns: AuthorizationError: not allowed to publish',
    );
    vi.restoreAllMocks();

    expect(stdout.join('')).toContain('"RunCompleted":1');
    expect(stdout.join('')).toContain('"message":"alert not delivered"');
  });
});
