import { ListAccountsCommand, OrganizationsClient } from '@aws-sdk/client-organizations';
import {
  GetIdentityDkimAttributesCommand,
  GetIdentityMailFromDomainAttributesCommand,
  ListIdentitiesCommand,
  SESClient,
} from '@aws-sdk/client-ses';
import { GetEmailIdentityCommand, SESv2Client } from '@aws-sdk/client-sesv2';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { handler as PlanHandler } from '../../lambda/plan-handler';
import type { handler as ShardHandler } from '../../lambda/shard-handler';
import { startDynalite } from '../support/dynalite';

const TOPIC = 'arn:aws:sns:eu-west-1:123456789012:ses-dkim-sentinel-alerts';
const MEMBER = '111111111111';
const ses = mockClient(SESv2Client);
const sesV1 = mockClient(SESClient);
const sns = mockClient(SNSClient);
const sts = mockClient(STSClient);
const organizations = mockClient(OrganizationsClient);
const context = {
  invokedFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:shard-scanner',
  awsRequestId: 'req-shard-1',
  functionName: 'shard-scanner',
} as Context;

describe('the central entry points, wired as deployed', () => {
  let shardHandler: typeof ShardHandler;
  let planHandler: typeof PlanHandler;
  let db: Awaited<ReturnType<typeof startDynalite>>;
  const saved = { ...process.env };

  beforeAll(async () => {
    db = await startDynalite('shard-state');
    const endpoint = await db.doc.config.endpoint?.();
    Object.assign(process.env, {
      AWS_ENDPOINT_URL_DYNAMODB: `${endpoint?.protocol}//${endpoint?.hostname}:${endpoint?.port}`,
      AWS_REGION: 'eu-west-1',
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      DKIM_STATE_TABLE: 'shard-state',
      DKIM_REGIONS: 'eu-west-1,us-east-1',
      DKIM_RESOLVERS: '127.0.24.1:9',
      DKIM_ALERT_TOPIC_ARN: TOPIC,
      DKIM_DNS_TIMEOUT_MS: '200',
      DKIM_ROUTE53: 'false',
      DKIM_MEMBER_ROLE_NAME: 'ses-dkim-sentinel-member',
      DKIM_ORGANIZATION: 'true',
      DKIM_IGNORE_ACCOUNTS: '222222222222',
    });
    ({ handler: shardHandler } = await import('../../lambda/shard-handler.js'));
    ({ handler: planHandler } = await import('../../lambda/plan-handler.js'));
  });
  afterAll(async () => {
    process.env = saved;
    await db?.stop();
  });
  beforeEach(() => {
    for (const mock of [ses, sesV1, sns, sts, organizations]) mock.reset();
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  });

  it('plans the organization from ListAccounts', async () => {
    organizations.on(ListAccountsCommand).resolves({
      Accounts: [
        { Id: MEMBER, State: 'ACTIVE' },
        { Id: '222222222222', State: 'ACTIVE' },
      ],
    });

    const plan = await planHandler({}, context);

    expect(plan).toEqual({
      accounts: 1,
      shards: [
        { account: MEMBER, region: 'eu-west-1' },
        { account: MEMBER, region: 'us-east-1' },
      ],
    });
  });

  it('scans a shard as the member account, keys its state by account and alerts naming the account', async () => {
    sts.on(AssumeRoleCommand).resolves({
      Credentials: {
        AccessKeyId: 'AKIAMEMBER',
        SecretAccessKey: 's',
        SessionToken: 't',
        Expiration: new Date(Date.now() + 3_600_000),
      },
    });
    sesV1.on(ListIdentitiesCommand).resolves({ Identities: ['failing.example'] });
    sesV1.on(GetIdentityMailFromDomainAttributesCommand).resolves({
      // No custom MAIL FROM domain: SES leaves the domain and status out (the SDK types call them required).
      MailFromDomainAttributes: { 'failing.example': { BehaviorOnMXFailure: 'UseDefaultValue' } as never },
    });
    sesV1.on(GetIdentityDkimAttributesCommand).resolves({
      DkimAttributes: {
        'failing.example': {
          DkimEnabled: true,
          DkimVerificationStatus: 'TemporaryFailure',
          DkimTokens: ['tok1', 'tok2', 'tok3'],
        },
      },
    });
    ses.on(GetEmailIdentityCommand).resolves({
      IdentityType: 'DOMAIN',
      VerificationStatus: 'SUCCESS',
      DkimAttributes: {
        SigningEnabled: true,
        Status: 'TEMPORARY_FAILURE',
        Tokens: ['tok1', 'tok2', 'tok3'],
        SigningAttributesOrigin: 'AWS_SES',
      },
      VerificationInfo: { LastSuccessTimestamp: new Date(Date.now() - 2 * 3_600_000) },
    });
    sns.on(PublishCommand).resolves({ MessageId: 'm-1' });

    const result = await shardHandler({ account: MEMBER, region: 'us-east-1' }, context);

    expect(result).toEqual({
      account: MEMBER,
      region: 'us-east-1',
      identities: 1,
      needingAttention: 1,
      notReached: 0,
      discoveryErrors: 0,
    });
    expect(sts).toReceiveCommandWith(AssumeRoleCommand, {
      RoleArn: `arn:aws:iam::${MEMBER}:role/ses-dkim-sentinel-member`,
    });
    const sesClient = sesV1.commandCalls(ListIdentitiesCommand)[0]?.thisValue as SESClient;
    const sesCredentials = await sesClient.config.credentials();
    expect(sesCredentials.accessKeyId).toBe('AKIAMEMBER');
    const items = (await db.doc.send(new ScanCommand({ TableName: 'shard-state' }))).Items ?? [];
    expect(items.filter((i) => i.itemType === undefined).map((i) => i.key)).toEqual([
      `${MEMBER}#us-east-1#failing.example`,
    ]);
    // The shard's bookkeeping is its own: cached attributes scoped to the member account.
    expect(items.filter((i) => i.itemType === 'attributes').map((i) => i.key)).toEqual([
      `attributes#${MEMBER}#us-east-1#failing.example`,
    ]);
    const message = JSON.parse(sns.commandCalls(PublishCommand)[0]?.args[0].input.Message ?? '{}');
    expect(message.email).toContain(`failing.example in us-east-1 (account ${MEMBER})`);
  });

  it('sweeps with the plan: the us-east-1 incident of the last test is closed once us-east-1 is not planned', async () => {
    sns.on(PublishCommand).resolves({ MessageId: 'm-2' });

    const result = await shardHandler({ sweep: true, shards: [{ account: MEMBER, region: 'eu-west-1' }] }, context);

    expect(result).toEqual({ noticesDelivered: 1, failures: [] });
    const message = JSON.parse(sns.commandCalls(PublishCommand)[0]?.args[0].input.Message ?? '{}');
    expect(message.email).toContain('region us-east-1 is no longer monitored');
    expect(message.email).toContain(`account ${MEMBER}`);
    // No identity state is left (the shard's cached SES attributes expire by their own TTL).
    const left = (await db.doc.send(new ScanCommand({ TableName: 'shard-state' }))).Items ?? [];
    expect(left.filter((i) => i.itemType === undefined)).toEqual([]);
    await expect(shardHandler({ sweep: true }, context)).rejects.toThrow(/^a sweep event needs the plan's shards/);
  });

  it('refuses a shard outside the monitored regions in one line', async () => {
    await expect(shardHandler({ account: MEMBER, region: 'ap-south-1' }, context)).rejects.toThrow(
      'shard region "ap-south-1" is not one of the monitored regions (eu-west-1, us-east-1)',
    );
  });
});
