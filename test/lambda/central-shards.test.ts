import { ListAccountsCommand, OrganizationsClient } from '@aws-sdk/client-organizations';
import {
  GetIdentityDkimAttributesCommand,
  GetIdentityMailFromDomainAttributesCommand,
  ListIdentitiesCommand,
  SESClient,
} from '@aws-sdk/client-ses';
import { GetEmailIdentityCommand, SESv2Client } from '@aws-sdk/client-sesv2';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { MemberRoleCredentials, MemberRoleDirectory } from '../../lambda/adapters/assumed-role-clients';
import { DnsProber } from '../../lambda/adapters/dns/dkim-dns-prober';
import { DnsTransport } from '../../lambda/adapters/dns/dns-transport';
import { OrganizationsAccounts } from '../../lambda/adapters/organizations-accounts';
import { SesRegionDirectory } from '../../lambda/adapters/ses-directory';
import type { ShardRef } from '../../lambda/contract';
import { DEFAULT_LIFECYCLE, type IdentityState } from '../../lambda/domain/lifecycle';
import { planShards, ShardPlanError } from '../../lambda/plan-shards';
import { AccountDirectoryError, type RunFigures, StaleStateError, type StateStore } from '../../lambda/ports';
import { parseShard, scanShard } from '../../lambda/scan-shard';
import { sweepUnplanned } from '../../lambda/sweep-unplanned';
import { RecordingChannel } from '../support/reports';

const organizations = mockClient(OrganizationsClient);
const sts = mockClient(STSClient);
const ses = mockClient(SESv2Client);
const sesV1 = mockClient(SESClient);

const A = '111111111111';
const B = '222222222222';
const C = '333333333333';
const REGIONS = ['eu-west-1', 'us-east-1'];
const noSleep = async () => {};

const quietLogger = () => {
  const lines: { level: string; message: string; extra: Record<string, unknown> }[] = [];
  const log = (level: string) => (message: string, extra: Record<string, unknown>) =>
    lines.push({ level, message, extra });
  return { lines, info: log('info'), warn: log('warn'), error: log('error') };
};

/** The state table's semantics: writes conditional on the version. */
class MemoryStore implements StateStore {
  readonly items = new Map<string, IdentityState>();
  async get(key: string) {
    return this.items.get(key);
  }
  async put(state: IdentityState) {
    if ((this.items.get(state.key)?.version ?? 0) !== state.version - 1) throw new StaleStateError(state.key);
    this.items.set(state.key, state);
  }
  async remove(key: string, version: number) {
    if (this.items.get(key)?.version !== version) throw new StaleStateError(key);
    this.items.delete(key);
  }
  async list() {
    return [...this.items.values()];
  }
}

const failingIdentity = {
  IdentityType: 'DOMAIN' as const,
  VerificationStatus: 'SUCCESS' as const,
  DkimAttributes: {
    SigningEnabled: true,
    Status: 'TEMPORARY_FAILURE' as const,
    Tokens: ['tok1', 'tok2', 'tok3'],
    SigningAttributesOrigin: 'AWS_SES' as const,
    SigningHostedZone: 'dkim.amazonses.com',
  },
  VerificationInfo: { LastSuccessTimestamp: new Date(Date.now() - 2 * 3_600_000) },
};

const throttled = () => Object.assign(new Error('Rate exceeded'), { name: 'TooManyRequestsException' });

describe('the shard plan', () => {
  beforeEach(() => organizations.reset());

  it('reads every page (an empty one with a NextToken too), keeps ACTIVE accounts by State then Status, leaves out ignored ones', async () => {
    // Prepare
    organizations
      .on(ListAccountsCommand)
      .resolvesOnce({ Accounts: [{ Id: A, State: 'ACTIVE', Status: 'SUSPENDED' }], NextToken: 't1' })
      .resolvesOnce({ Accounts: [], NextToken: 't2' })
      .rejectsOnce(throttled())
      .resolvesOnce({
        Accounts: [
          { Id: B, Status: 'ACTIVE' },
          { Id: C, State: 'ACTIVE' },
          { Id: '444444444444', State: 'SUSPENDED' },
          { Id: '555555555555', State: 'CLOSED', Status: 'ACTIVE' },
        ],
      });
    const logger = quietLogger();

    // Act
    const plan = await planShards(
      new OrganizationsAccounts(new OrganizationsClient({ region: 'us-east-1' }), { sleep: noSleep }),
      { organization: true, accounts: [], ignoreAccounts: [C, '999999999999'], regions: REGIONS },
      logger,
    );

    // Assess
    expect(plan).toEqual({
      accounts: 2,
      shards: [
        { account: A, region: 'eu-west-1' },
        { account: A, region: 'us-east-1' },
        { account: B, region: 'eu-west-1' },
        { account: B, region: 'us-east-1' },
      ],
    });
    expect(organizations).toReceiveCommandTimes(ListAccountsCommand, 4);
    expect(organizations).toReceiveNthCommandWith(ListAccountsCommand, 3, { NextToken: 't2', MaxResults: 20 });
    expect(logger.lines.find((l) => l.message === 'accounts left out: not ACTIVE')?.extra.accounts).toEqual([
      { account: '444444444444', state: 'SUSPENDED' },
      { account: '555555555555', state: 'CLOSED' },
    ]);
    expect(logger.lines.find((l) => l.level === 'warn')?.extra.accounts).toEqual(['999999999999']);
  });

  it.each([
    [
      'AccessDeniedException',
      /management account or in a delegated administrator account.*or list the accounts with accounts=/,
    ],
    ['AWSOrganizationsNotInUseException', /not in an AWS Organization .*use accounts=.* instead of organization=true/],
  ])('turns %s into one line saying what to do', async (name, expected) => {
    organizations.on(ListAccountsCommand).rejects(Object.assign(new Error('denied'), { name }));
    const directory = new OrganizationsAccounts(new OrganizationsClient({ region: 'us-east-1' }));

    const planning = planShards(
      directory,
      { organization: true, accounts: [], ignoreAccounts: [], regions: REGIONS },
      quietLogger(),
    );

    await expect(planning).rejects.toThrow(AccountDirectoryError);
    await expect(planning).rejects.toThrow(expected);
  });

  it('plans the listed accounts without Organizations, and refuses an empty or oversized plan', async () => {
    const listed = await planShards(
      undefined,
      { organization: false, accounts: [B, A, A], ignoreAccounts: [], regions: ['eu-west-1'] },
      quietLogger(),
    );
    const callsForListedAccounts = organizations.commandCalls(ListAccountsCommand).length;
    organizations.on(ListAccountsCommand).resolves({ Accounts: [{ Id: A, State: 'ACTIVE' }] });
    const everyoneIgnored = await planShards(
      new OrganizationsAccounts(new OrganizationsClient({ region: 'us-east-1' })),
      { organization: true, accounts: [], ignoreAccounts: [A], regions: REGIONS },
      quietLogger(),
    ).catch((error: unknown) => error);
    const many = Array.from({ length: 3000 }, (_, i) => String(100000000000 + i));
    const huge = await planShards(
      undefined,
      { organization: false, accounts: many, ignoreAccounts: [], regions: REGIONS },
      quietLogger(),
    ).catch((error: unknown) => error);

    expect(listed.shards).toEqual([
      { account: A, region: 'eu-west-1' },
      { account: B, region: 'eu-west-1' },
    ]);
    expect(callsForListedAccounts).toBe(0);
    expect(everyoneIgnored).toBeInstanceOf(ShardPlanError);
    expect(String(everyoneIgnored)).toMatch(/no ACTIVE account left to scan .*ignoreAccounts: 111111111111/);
    expect(huge).toBeInstanceOf(ShardPlanError);
    expect(String(huge)).toMatch(/6000 shards \(3000 accounts x 2 regions\) make a \d+-byte plan, over the 200000/);
  });
});

describe('3 accounts x 2 regions, each shard with its member role', () => {
  let store: MemoryStore;
  let channel: RecordingChannel;
  let roles: MemberRoleCredentials;
  /** Identities each (account, region) lists; a missing entry lists none. */
  let listed: Map<string, string[]>;

  beforeEach(() => {
    sts.reset();
    ses.reset();
    sesV1.reset();
    store = new MemoryStore();
    channel = new RecordingChannel('sns');
    listed = new Map([
      [`${A}#eu-west-1`, ['example.com']],
      [`${A}#us-east-1`, ['example.com']],
      [`${B}#eu-west-1`, ['example.com']],
      [`${B}#us-east-1`, ['shop.example']],
      [`${C}#eu-west-1`, ['example.com']],
    ]);
    sts.on(AssumeRoleCommand).callsFake(async (input: { RoleArn: string }) => {
      const account = input.RoleArn.split(':')[4] as string;
      if (account === C)
        throw Object.assign(new Error(`not authorized to perform sts:AssumeRole on ${input.RoleArn}`), {
          name: 'AccessDenied',
        });
      return {
        Credentials: {
          AccessKeyId: `AKIA${account}`,
          SecretAccessKey: 'secret',
          SessionToken: 'token',
          Expiration: new Date(Date.now() + 3_600_000),
        },
      };
    });
    // B's first AssumeRole is throttled: STS's own "slow down", retried.
    sts
      .on(AssumeRoleCommand, { RoleArn: `arn:aws:iam::${B}:role/ses-dkim-sentinel-member` })
      .rejectsOnce(Object.assign(new Error('Rate exceeded'), { name: 'Throttling' }))
      .resolves({
        Credentials: {
          AccessKeyId: `AKIA${B}`,
          SecretAccessKey: 'secret',
          SessionToken: 'token',
          Expiration: new Date(Date.now() + 3_600_000),
        },
      });
    /** Which account and region a mocked SES call was signed for. */
    const shardOf = async (getClient: () => SESClient | SESv2Client) => {
      const client = getClient();
      const credentials = await (client.config.credentials as () => Promise<{ accessKeyId: string }>)();
      return `${credentials.accessKeyId.slice(4)}#${await client.config.region()}`;
    };
    sesV1.on(ListIdentitiesCommand).callsFake(async (_input, getClient) => {
      const shard = await shardOf(getClient);
      if (shard === `${A}#us-east-1`) throw throttled();
      return { Identities: listed.get(shard) ?? [] };
    });
    // SES v1 says TemporaryFailure: the scanner then reads v2 for VerificationInfo (the clock's anchor).
    sesV1.on(GetIdentityDkimAttributesCommand).callsFake(async (input: { Identities: string[] }) => ({
      DkimAttributes: Object.fromEntries(
        input.Identities.map((name) => [
          name,
          { DkimEnabled: true, DkimVerificationStatus: 'TemporaryFailure', DkimTokens: ['tok1', 'tok2', 'tok3'] },
        ]),
      ),
    }));
    sesV1.on(GetIdentityMailFromDomainAttributesCommand).callsFake(async (input: { Identities: string[] }) => ({
      MailFromDomainAttributes: Object.fromEntries(
        input.Identities.map((name) => [name, { BehaviorOnMXFailure: 'UseDefaultValue' }]),
      ),
    }));
    ses.on(GetEmailIdentityCommand).resolves(failingIdentity);
    roles = new MemberRoleCredentials({
      sts: new STSClient({ region: 'eu-west-1' }),
      memberRoleName: 'ses-dkim-sentinel-member',
      externalId: 'sentinel-ext',
      retry: { sleep: noSleep },
    });
  });

  async function scan(shard: ShardRef, logger = quietLogger()) {
    const figures: RunFigures[] = [];
    const transport = new DnsTransport({ timeoutMs: 200 });
    const result = await scanShard(
      shard,
      {
        directories: [
          new MemberRoleDirectory(
            new SesRegionDirectory({
              region: shard.region,
              v1: new SESClient({
                region: shard.region,
                credentials: roles.providerFor(shard.account),
                maxAttempts: 1,
              }),
              v2: new SESv2Client({
                region: shard.region,
                credentials: roles.providerFor(shard.account),
                maxAttempts: 1,
              }),
              requestsPerSecond: 50,
              maxAttempts: 2,
              sleep: noSleep,
            }),
            roles.providerFor(shard.account),
          ),
        ],
        // A closed loopback port: every DNS lookup fails at once, so nothing leaves the machine.
        probe: new DnsProber(transport, { resolvers: [{ address: '127.0.24.1', port: 9 }] }),
        store,
        channels: [channel],
        metrics: { record: (f) => figures.push(f), recordSkipped: () => {} },
        logger,
        dnsQueries: () => transport.stats.queries,
        now: () => Date.now(),
        remainingMs: () => 900_000,
        invocationId: `run-${shard.account}-${shard.region}`,
      },
      {
        lifecycle: { ...DEFAULT_LIFECYCLE, digestThreshold: 5, claimLeaseMs: 20 * 60_000 },
        regions: REGIONS,
        context: { graceDays: 5 },
      },
    );
    return { result, figures, logger };
  }

  const shards = [A, B, C].flatMap((account) => REGIONS.map((region) => ({ account, region })));

  it('scans each shard with its own account, keys state by account, and reports a missing role and a throttled region for those shards only', async () => {
    // Act
    const runs = [];
    for (const shard of shards) runs.push(await scan(shard));

    // Assess
    expect(runs.map((r) => r.result)).toEqual([
      { account: A, region: 'eu-west-1', identities: 1, needingAttention: 1, notReached: 0, discoveryErrors: 0 },
      { account: A, region: 'us-east-1', identities: 0, needingAttention: 0, notReached: 0, discoveryErrors: 1 },
      { account: B, region: 'eu-west-1', identities: 1, needingAttention: 1, notReached: 0, discoveryErrors: 0 },
      { account: B, region: 'us-east-1', identities: 1, needingAttention: 1, notReached: 0, discoveryErrors: 0 },
      { account: C, region: 'eu-west-1', identities: 0, needingAttention: 0, notReached: 0, discoveryErrors: 1 },
      { account: C, region: 'us-east-1', identities: 0, needingAttention: 0, notReached: 0, discoveryErrors: 1 },
    ]);
    const reasons = runs.map(
      (r) => r.logger.lines.find((l) => l.message === 'SES discovery error')?.extra.reason as string | undefined,
    );
    expect(reasons[1]).toMatch(/^could not list SES identities: TooManyRequestsException/);
    for (const reason of [reasons[4], reasons[5]]) {
      expect(reason).toContain(`account ${C}: cannot assume arn:aws:iam::${C}:role/ses-dkim-sentinel-member`);
      expect(reason).toContain(`deploy the member-role stack set to account ${C}`);
    }
    // The throttled region was retried (2 attempts here), the other region of the same account was not affected.
    const listCalls = await Promise.all(
      sesV1.commandCalls(ListIdentitiesCommand).map(async (c) => {
        const client = c.thisValue as SESClient;
        return `${(await (client.config.credentials as () => Promise<{ accessKeyId: string }>)()).accessKeyId.slice(4)}#${await client.config.region()}`;
      }),
    );
    expect(listCalls.filter((r) => r === `${A}#us-east-1`)).toHaveLength(2);
    expect(listCalls.filter((r) => r === `${A}#eu-west-1`)).toHaveLength(1);
    // Every AssumeRole carried the external ID; B's throttled one was retried; C's SES was never called.
    expect(sts).toReceiveCommandWith(AssumeRoleCommand, { ExternalId: 'sentinel-ext' });
    expect(sts.commandCalls(AssumeRoleCommand).filter((c) => c.args[0].input.RoleArn?.includes(B))).toHaveLength(2);
    // Same identity, same region, two accounts: two states.
    expect([...store.items.keys()].sort()).toEqual([
      `${A}#eu-west-1#example.com`,
      `${B}#eu-west-1#example.com`,
      `${B}#us-east-1#shop.example`,
    ]);
    expect(store.items.get(`${A}#eu-west-1#example.com`)).toMatchObject({ account: A, region: 'eu-west-1' });
    // Every alert names its account.
    expect(channel.sent.map((a) => a.attributes.account).sort()).toEqual([A, B, B]);
    expect(channel.sent.find((a) => a.attributes.account === A)?.text).toContain(`(account ${A})`);
  });

  it('closes a vanished identity in its own shard only: other regions and accounts keep their incidents', async () => {
    for (const shard of shards) await scan(shard);
    const before = new Map(store.items);
    channel.sent.length = 0;

    // Act: example.com is deleted from A's eu-west-1; A's us-east-1 now lists nothing (and is readable).
    listed.set(`${A}#eu-west-1`, []);
    await scan({ account: A, region: 'eu-west-1' });
    await scan({ account: B, region: 'us-east-1' });

    // Assess
    expect(channel.sent.map((a) => `${a.attributes.account} ${a.attributes.stage}`)).toEqual([`${A} CLOSED`]);
    expect(channel.sent[0]?.text).toContain('no longer an SES identity in eu-west-1');
    expect(store.items.get(`${B}#eu-west-1#example.com`)).toEqual(before.get(`${B}#eu-west-1#example.com`));
    expect(store.items.get(`${B}#us-east-1#shop.example`)?.incident).toBeDefined();
  });

  it('after the Map, closes the incidents of an account and a region the plan no longer has, naming each account', async () => {
    for (const shard of shards) await scan(shard);
    const kept = store.items.get(`${A}#eu-west-1#example.com`);
    channel.sent.length = 0;

    // Act: B left the organization; us-east-1 was removed from regions.
    const result = await sweepUnplanned(
      [{ account: A, region: 'eu-west-1' }],
      store,
      {
        graceDays: 5,
        reminderHours: [72, 24, 6],
        confirmRuns: 2,
        confirmOnEveryServer: true,
        cannotVerifyRuns: 3,
        forgetAfterDays: 30,
        setupWindowHours: 72,
        digestThreshold: 5,
        claimLeaseMs: 20 * 60_000,
      },
      { graceDays: 5 },
      { channels: [channel], now: () => Date.now(), invocationId: 'sweep-1', logger: quietLogger() },
    );

    // Assess
    expect(result).toEqual({ noticesDelivered: 2, failures: [] });
    expect(
      channel.sent.map((a) => `${a.attributes.account} ${a.attributes.stage} ${a.attributes.identity}`).sort(),
    ).toEqual([`${B} CLOSED example.com`, `${B} CLOSED shop.example`]);
    expect(store.items.get(`${A}#eu-west-1#example.com`)).toEqual(kept);
    // Closed and delivered: nothing left to remember.
    expect(store.items.has(`${B}#eu-west-1#example.com`)).toBe(false);
    expect(store.items.has(`${B}#us-east-1#shop.example`)).toBe(false);
  });

  it('takes a shard from a Map item and refuses anything else in one line', () => {
    expect(parseShard({ account: A, region: 'eu-west-1', extra: 1 }, REGIONS)).toEqual({
      account: A,
      region: 'eu-west-1',
    });
    expect(() => parseShard({ account: '12', region: 'eu-west-1' }, REGIONS)).toThrow(
      /^a shard event must be \{"account": "<12 digits>", "region": "<region>"\}, got \{"account":"12","region":"eu-west-1"\}$/,
    );
    expect(() => parseShard({ account: A, region: 'ap-south-1' }, REGIONS)).toThrow(
      'shard region "ap-south-1" is not one of the monitored regions (eu-west-1, us-east-1)',
    );
  });
});
