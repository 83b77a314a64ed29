import {
  GetIdentityDkimAttributesCommand,
  GetIdentityMailFromDomainAttributesCommand,
  ListIdentitiesCommand,
  SESClient,
} from '@aws-sdk/client-ses';
import { GetEmailIdentityCommand, SESv2Client } from '@aws-sdk/client-sesv2';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { DeleteCommand, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
// Type only: the module reads its environment at import, so it is imported below, after the env is set.
import type { handler as Handler } from '../../lambda/handler';
import { startDynalite } from '../support/dynalite';

const TOPIC = 'arn:aws:sns:eu-west-1:123456789012:ses-dkim-sentinel-alerts';
const ses = mockClient(SESv2Client);
const sesV1 = mockClient(SESClient);
const sns = mockClient(SNSClient);

/** v1 `GetIdentityDkimAttributes` entries (CamelCase status), shaped like the real API. */
const v1Dkim = (status: string, enabled = true) => ({
  DkimEnabled: enabled,
  DkimVerificationStatus: status,
  DkimTokens: ['tok1', 'tok2', 'tok3'],
});
/** v1 `GetIdentityMailFromDomainAttributes` entries (CamelCase enums, `BehaviorOnMXFailure`). */
type V1MailFrom = { MailFromDomain?: string; MailFromDomainStatus?: string; BehaviorOnMXFailure: string };
/** SES v1: every name on one page, and each name's v1 DKIM and MAIL FROM attributes (none custom unless given). */
const sesLists = (entries: Record<string, ReturnType<typeof v1Dkim>>, mailFrom: Record<string, V1MailFrom> = {}) => {
  sesV1.on(ListIdentitiesCommand).resolves({ Identities: Object.keys(entries), $metadata: {} });
  sesV1.on(GetIdentityMailFromDomainAttributesCommand).callsFake((input: { Identities: string[] }) => ({
    MailFromDomainAttributes: Object.fromEntries(
      input.Identities.map((n) => [n, mailFrom[n] ?? { BehaviorOnMXFailure: 'UseDefaultValue' }]),
    ),
    $metadata: {},
  }));
  sesV1.on(GetIdentityDkimAttributesCommand).callsFake((input: { Identities: string[] }) => ({
    DkimAttributes: Object.fromEntries(
      input.Identities.filter((n) => entries[n]).map((n) => [n, entries[n] as ReturnType<typeof v1Dkim>]),
    ),
    $metadata: {},
  }));
};

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
      // No rolling refresh here (the scan-region tests cover it): v2 is read only where v1 cannot answer.
      DKIM_SES_ATTRIBUTE_REFRESH_PER_RUN: '0',
      // Pacing is covered by the directory's tests; here it would only make the suite slower.
      DKIM_SES_REQUESTS_PER_SECOND: '50',
    });
    ({ handler } = await import('../../lambda/handler.js'));
  });
  afterAll(async () => {
    process.env = saved;
    await db?.stop();
  });
  beforeEach(() => {
    ses.reset();
    sesV1.reset();
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
    // Prepare: v1 lists and describes all three; v2 is read for the failure and for tokens that are not
    // Easy DKIM's (v1 cannot tell BYODKIM), not for the identity with DKIM off.
    sesLists({
      'failing.example': v1Dkim('TemporaryFailure'),
      'unverifiable.example': v1Dkim('Success'),
      'off.example': v1Dkim('Success', false),
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
    expect(result).toEqual({ identities: 3, needingAttention: 2, notReached: 0, skipped: false });
    expect(again).toEqual(result);
    expect(sesV1).toReceiveCommandTimes(ListIdentitiesCommand, 2);
    expect(sesV1).toReceiveCommandTimes(GetIdentityDkimAttributesCommand, 2);
    expect(ses.commandCalls(GetEmailIdentityCommand).map((c) => c.args[0].input.EmailIdentity)).not.toContain(
      'off.example',
    );
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
      metadata: { eventType: 'DkimDETECTED', threadId: 'dkim-123456789012-eu-west-1-failing.example' },
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
    // Per-identity metrics only for the identities needing attention; the quiet one is only counted.
    expect(perIdentity.sort()).toEqual([
      'failing.example eu-west-1 FailingRecords=0',
      'failing.example eu-west-1 HealthLevel=3',
      'failing.example eu-west-1 HoursLeft=110',
      'unverifiable.example eu-west-1 FailingRecords=0',
      'unverifiable.example eu-west-1 HealthLevel=1',
    ]);
    expect(
      Object.fromEntries(
        firstRun.filter((e) => e.IdentitiesByHealth !== undefined).map((e) => [e.Health, e.IdentitiesByHealth]),
      ),
    ).toEqual({ FAILING: 1, UNKNOWN: 1, DISABLED: 1 });
    // DMARC is counted for the whole fleet too (DNS answers nothing here: UNKNOWN); no custom MAIL FROM domain.
    expect(
      Object.fromEntries(firstRun.filter((e) => e.DmarcByHealth !== undefined).map((e) => [e.Health, e.DmarcByHealth])),
    ).toEqual({ UNKNOWN: 3 });
    expect(firstRun.filter((e) => e.MailFromByHealth !== undefined)).toEqual([]);
    for (const e of firstRun.filter((x) => x.Identity !== undefined)) {
      expect(e._aws.CloudWatchMetrics[0].Dimensions[0]).toEqual(
        expect.arrayContaining(['service', 'Identity', 'IdentityRegion']),
      );
    }
  });

  it('fails the invocation (so the Errors alarm fires) when an alert cannot be delivered, after recording the run', async () => {
    sesLists({ 'revoked.example': v1Dkim('Failed') });
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
    sesV1.on(ListIdentitiesCommand).rejects(
      Object.assign(new Error('User is not authorized to perform ses:ListIdentities'), {
        name: 'AccessDenied',
      }),
    );
    sns.on(PublishCommand).resolves({ MessageId: 'm-2' });

    await handler({}, { ...context, awsRequestId: 'req-denied' });
    vi.restoreAllMocks();

    const line = stdout
      .join('')
      .split('\n')
      .find((l) => l.includes('"message":"SES discovery error"'));
    expect(line).toContain('not authorized to perform ses:ListIdentities');
    expect(stdout.join('')).not.toContain('is a reserved key');
  });

  it('{"test": true} sends one TEST notification through every channel and reports each result', async () => {
    sns.on(PublishCommand).resolves({ MessageId: 'm-test' });

    const result = await handler({ test: true }, { ...context, awsRequestId: 'req-test' });
    vi.restoreAllMocks();

    expect(result).toEqual({ test: true, allDelivered: true, channels: [{ channel: 'sns', delivered: true }] });
    expect(sesV1).toReceiveCommandTimes(ListIdentitiesCommand, 0);
    const input = sns.commandCalls(PublishCommand)[0]?.args[0].input;
    expect(input?.Subject).toMatch(/^DKIM TEST: /);
    expect(input?.MessageAttributes?.stage).toEqual({ DataType: 'String', StringValue: 'TEST' });
  });

  it('exits quietly, saying so, while another run holds the lease; runs once that lease has lapsed', async () => {
    // Prepare: a live lease of another invocation.
    sesLists({ 'quiet.example': v1Dkim('Success', false) });
    const lease = (until: number) =>
      db.doc.send(
        new PutCommand({
          TableName: 'scanner-state',
          Item: { key: 'lease#scanner', itemType: 'lease', holder: 'req-other', until },
        }),
      );
    await lease(Date.now() + 10 * 60_000);

    // Act
    const overlapping = await handler({}, { ...context, awsRequestId: 'req-overlap' });
    await lease(Date.now() - 1000);
    const afterExpiry = await handler({}, { ...context, awsRequestId: 'req-after' });
    vi.restoreAllMocks();

    // Assess
    expect(overlapping).toEqual({ identities: 0, needingAttention: 0, notReached: 0, skipped: true });
    expect(afterExpiry).toMatchObject({ identities: 1, skipped: false });
    expect(sesV1).toReceiveCommandTimes(ListIdentitiesCommand, 1);
    const log = stdout.join('');
    expect(log).toContain('another run holds the lease: this invocation exits without scanning');
    expect(log).toContain('"RunSkipped":1');
    // The finished run gives the lease back.
    const { Item } = await db.doc.send(new GetCommand({ TableName: 'scanner-state', Key: { key: 'lease#scanner' } }));
    expect(Item).toBeUndefined();
  });

  it('near its deadline, stops starting work, stores a cursor and reports what it did not reach', async () => {
    // Prepare: 250 identities (three v1 batches) and a deadline that allows one batch.
    const names = Array.from({ length: 250 }, (_, i) => `d${String(i).padStart(3, '0')}.example`);
    sesLists(Object.fromEntries(names.map((n) => [n, v1Dkim('Success', false)])));
    let remaining = 120_000;
    sesV1.on(GetIdentityDkimAttributesCommand).callsFake((input: { Identities: string[] }) => {
      remaining -= 25_000; // the second batch leaves less than the probes' 75 s: its probes do not start
      return {
        DkimAttributes: Object.fromEntries(input.Identities.map((n) => [n, v1Dkim('Success', false)])),
        $metadata: {},
      };
    });

    // Act
    const result = await handler(
      {},
      { ...context, awsRequestId: 'req-deadline', getRemainingTimeInMillis: () => remaining },
    );
    vi.restoreAllMocks();

    // Assess: the third batch is never read, nor are the probes queued when time ran short started; what
    // was reached is the start of the order, and the cursor is its last name.
    const { identities, notReached } = result as { identities: number; notReached: number };
    expect(identities + notReached).toBe(250);
    expect(identities).toBeGreaterThan(0);
    expect(notReached).toBeGreaterThanOrEqual(150);
    expect(sesV1).toReceiveCommandTimes(GetIdentityDkimAttributesCommand, 2);
    const { Item } = await db.doc.send(
      new GetCommand({ TableName: 'scanner-state', Key: { key: 'cursor#eu-west-1' } }),
    );
    expect(Item).toMatchObject({ itemType: 'cursor', after: names[identities - 1] });
    expect(stdout.join('')).toContain('identities not reached before the deadline: the next run starts with them');
    expect(stdout.join('')).toContain(`"IdentitiesNotReached":${notReached}`);
    await db.doc.send(new DeleteCommand({ TableName: 'scanner-state', Key: { key: 'cursor#eu-west-1' } }));
  });

  it('reads MAIL FROM attributes in the v1 batches, keeps the custom domain, and puts MAIL FROM and DMARC in the reports', async () => {
    // Prepare: one identity with a custom MAIL FROM domain SES marks TEMPORARY_FAILURE (DKIM is fine), one
    // without; DNS answers nothing here, so the DNS parts are inconclusive.
    sesLists(
      { 'mf.example': v1Dkim('Success'), 'plain.example': v1Dkim('Success') },
      {
        'mf.example': {
          MailFromDomain: 'bounce.mf.example',
          MailFromDomainStatus: 'TemporaryFailure',
          BehaviorOnMXFailure: 'UseDefaultValue',
        },
      },
    );
    // These tokens are not Easy DKIM's, so v2 is read too, and says the same.
    ses.on(GetEmailIdentityCommand).resolves(identity('SUCCESS') as never);
    ses.on(GetEmailIdentityCommand, { EmailIdentity: 'mf.example' }).resolves({
      ...identity('SUCCESS'),
      MailFromAttributes: {
        MailFromDomain: 'bounce.mf.example',
        MailFromDomainStatus: 'TEMPORARY_FAILURE',
        BehaviorOnMxFailure: 'USE_DEFAULT_VALUE',
      },
    } as never);

    // Act
    await handler({}, { ...context, awsRequestId: 'req-mail-from' });
    vi.restoreAllMocks();

    // Assess: one MAIL FROM call for both, beside the one DKIM call.
    expect(sesV1).toReceiveCommandTimes(GetIdentityDkimAttributesCommand, 1);
    expect(sesV1).toReceiveCommandTimes(GetIdentityMailFromDomainAttributesCommand, 1);
    expect(sesV1).toReceiveCommandWith(GetIdentityMailFromDomainAttributesCommand, {
      Identities: ['mf.example', 'plain.example'],
    });
    const logged = stdout
      .join('')
      .split('\n')
      .filter((l) => l.includes('"message":"identity needs attention"'))
      .map((l) => JSON.parse(l).report);
    const mf = logged.find((r) => r.identity === 'mf.example');
    expect(mf?.mailFrom).toMatchObject({
      domain: 'bounce.mf.example',
      sesStatus: 'TEMPORARY_FAILURE',
      behaviorOnMxFailure: 'USE_DEFAULT_VALUE',
    });
    expect(mf?.dmarc).toMatchObject({ domain: 'mf.example', health: 'UNKNOWN' });
    const { Item } = await db.doc.send(
      new GetCommand({ TableName: 'scanner-state', Key: { key: 'mailfrom#eu-west-1#mf.example' } }),
    );
    expect(Item).toMatchObject({ itemType: 'mailfrom', mailFrom: { domain: 'bounce.mf.example' } });
    await db.doc.send(new DeleteCommand({ TableName: 'scanner-state', Key: { key: 'mailfrom#eu-west-1#mf.example' } }));
  });

  it('with DKIM_CHECK_MAIL_FROM=false and DKIM_CHECK_DMARC=false, reads no MAIL FROM attributes and reports neither', async () => {
    // Prepare: the configuration is read at cold start: a fresh module with the checks off.
    Object.assign(process.env, { DKIM_CHECK_MAIL_FROM: 'false', DKIM_CHECK_DMARC: 'false' });
    vi.resetModules();
    const { handler: coldHandler } = await import('../../lambda/handler.js');
    delete process.env.DKIM_CHECK_MAIL_FROM;
    delete process.env.DKIM_CHECK_DMARC;
    sesLists(
      { 'off-checks.example': v1Dkim('TemporaryFailure') },
      {
        'off-checks.example': {
          MailFromDomain: 'bounce.off-checks.example',
          MailFromDomainStatus: 'Failed',
          BehaviorOnMXFailure: 'RejectMessage',
        },
      },
    );
    ses.on(GetEmailIdentityCommand).resolves({
      ...identity('TEMPORARY_FAILURE'),
      MailFromAttributes: {
        MailFromDomain: 'bounce.off-checks.example',
        MailFromDomainStatus: 'FAILED',
        BehaviorOnMxFailure: 'REJECT_MESSAGE',
      },
    } as never);
    sns.on(PublishCommand).resolves({ MessageId: 'm-off' });

    // Act
    await coldHandler({}, { ...context, awsRequestId: 'req-checks-off' });
    vi.restoreAllMocks();

    // Assess
    expect(sesV1).toReceiveCommandTimes(GetIdentityMailFromDomainAttributesCommand, 0);
    const report = stdout
      .join('')
      .split('\n')
      .filter((l) => l.includes('"message":"identity needs attention"'))
      .map((l) => JSON.parse(l).report)
      .find((r) => r.identity === 'off-checks.example');
    expect(report).toMatchObject({ health: 'FAILING' });
    expect(report.mailFrom).toBeUndefined();
    expect(report.dmarc).toBeUndefined();
  });
});
