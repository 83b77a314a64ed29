import {
  ChangeResourceRecordSetsCommand,
  GetHostedZoneCommand,
  ListHostedZonesByNameCommand,
  ListResourceRecordSetsCommand,
  Route53Client,
} from '@aws-sdk/client-route-53';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DnsProber } from '../../lambda/adapters/dns/dkim-dns-prober';
import { DnsTransport } from '../../lambda/adapters/dns/dns-transport';
import { Route53HostedZones } from '../../lambda/adapters/route53-hosted-zones';
import { checkDkim } from '../../lambda/check-dkim';
import type { SesIdentity } from '../../lambda/domain/ses-identity';
import { type DkimWorld, easyDkimIdentity, SIGNING_ZONE, startDkimWorld, TOKENS } from '../support/dkim-world';

// Real delegations (knotd parent and child zones, unbound) with the account's Route 53 mocked.
const SUBNET = '127.0.24';
const PORT = 15324;

describe('Route 53 checks against real delegations', () => {
  let world: DkimWorld;
  const route53 = mockClient(Route53Client);
  beforeAll(async () => {
    world = await startDkimWorld(SUBNET, PORT);
  });
  afterAll(async () => {
    await world?.stop();
  });
  beforeEach(() => {
    route53.reset();
    route53.on(ListHostedZonesByNameCommand).resolves({ HostedZones: [], IsTruncated: false, MaxItems: 100 });
    route53
      .on(ChangeResourceRecordSetsCommand)
      .resolves({ ChangeInfo: { Id: '/change/C0042', Status: 'PENDING', SubmittedAt: new Date() } });
  });
  const hostedZone = (id: string, name: string, nameServers: string[], records: [string, string][]) => {
    route53.on(ListHostedZonesByNameCommand).resolves({
      HostedZones: [
        { Id: '/hostedzone/ZPARENT', Name: 'test.', CallerReference: 'p', Config: { PrivateZone: false } },
        { Id: `/hostedzone/${id}`, Name: `${name}.`, CallerReference: id, Config: { PrivateZone: false } },
      ],
      IsTruncated: false,
      MaxItems: 100,
    });
    route53.on(GetHostedZoneCommand, { Id: id }).resolves({ DelegationSet: { NameServers: nameServers } });
    route53.on(ListResourceRecordSetsCommand, { HostedZoneId: id }).resolves({
      ResourceRecordSets: records.map(([token, target]) => ({
        Name: `${token}._domainkey.${name}.`,
        Type: 'CNAME',
        TTL: 1800,
        ResourceRecords: [{ Value: target }],
      })),
      IsTruncated: false,
      MaxItems: 300,
    });
  };
  /** The delegated zone of good.test in Route 53, missing the third DKIM record; returns its token. */
  const liveZoneWithoutThirdRecord = () => {
    const [t1, t2, t3] = TOKENS.good;
    hostedZone(
      'ZGOOD',
      'good.test',
      ['ns1.good.test', 'ns2.good.test'],
      [
        [t1, `${t1}.${SIGNING_ZONE}`],
        [t2, `${t2}.${SIGNING_ZONE}`],
      ],
    );
    return t3 as string;
  };
  /** The one change that restores the third record of good.test. */
  const upsertOf = (token: string) => ({
    Action: 'UPSERT' as const,
    ResourceRecordSet: {
      Name: `${token}._domainkey.good.test`,
      Type: 'CNAME' as const,
      TTL: 1800,
      ResourceRecords: [{ Value: `${token}.${SIGNING_ZONE}` }],
    },
  });
  const run = (identity: SesIdentity, autoRepair: boolean) =>
    checkDkim(
      { listIdentities: async () => ({ identities: [identity], errors: [] }) },
      new DnsProber(new DnsTransport({ timeoutMs: 300, attempts: 2 }), {
        resolvers: [world.resolver],
        authoritativePort: PORT,
      }),
      {
        route53: new Route53HostedZones(new Route53Client({ region: 'us-east-1' }), { sleep: async () => {} }),
        autoRepair,
      },
    );

  it('incident 2: the old hosted zone is STALE_HOSTED_ZONE with its ID and DKIM records, next to the DNS findings, and is never repaired', async () => {
    hostedZone('ZOLDSTALE', 'stale.test', ['ns-old.stale.test'], [['oldsel1', `oldsel1.${SIGNING_ZONE}`]]);

    const report = await run(easyDkimIdentity('stale.test', TOKENS.stale), true);

    const [identity] = report.identities;
    const stale = identity?.findings.find((f) => f.code === 'STALE_HOSTED_ZONE');
    expect(stale?.severity).toBe('problem');
    expect(stale?.message).toContain('Route 53 hosted zone ZOLDSTALE (stale.test)');
    expect(stale?.message).toContain(`oldsel1._domainkey.stale.test CNAME oldsel1.${SIGNING_ZONE}`);
    expect(stale?.message).toContain('Its servers ns-old.stale.test are still listed for stale.test');
    expect(identity?.records.every((r) => r.findings.some((f) => f.code === 'NAMESERVERS_DISAGREE'))).toBe(true);
    expect(identity?.route53Changes).toBeUndefined();
    expect(route53).not.toReceiveCommand(ChangeResourceRecordSetsCommand);
  });

  it('a record missing from the delegated zone yields the exact change, and nothing is written without autoRepair', async () => {
    const t3 = liveZoneWithoutThirdRecord();

    const report = await run(easyDkimIdentity('good.test', TOKENS.good), false);

    const [identity] = report.identities;
    expect(identity?.findings.map((f) => f.code)).toEqual(['ZONE_RECORD_MISSING']);
    expect(identity?.route53Changes).toEqual([
      {
        hostedZoneId: 'ZGOOD',
        zoneName: 'good.test',
        changeBatch: {
          Comment: 'ses-dkim-sentinel: restore the DKIM records of good.test',
          Changes: [upsertOf(t3)],
        },
      },
    ]);
    expect(route53).not.toReceiveCommand(ChangeResourceRecordSetsCommand);
  });

  it('with autoRepair, exactly that UPSERT is sent and reported', async () => {
    const t3 = liveZoneWithoutThirdRecord();

    const report = await run(easyDkimIdentity('good.test', TOKENS.good), true);

    expect(route53).toReceiveCommandTimes(ChangeResourceRecordSetsCommand, 1);
    expect(route53).toReceiveCommandWith(ChangeResourceRecordSetsCommand, {
      HostedZoneId: 'ZGOOD',
      ChangeBatch: {
        Comment: 'ses-dkim-sentinel: restore the DKIM records of good.test',
        Changes: [upsertOf(t3)],
      },
    });
    const repaired = report.identities[0]?.findings.find((f) => f.code === 'ZONE_RECORD_REPAIRED');
    expect(repaired?.message).toBe(
      `Repaired: UPSERTed ${t3}._domainkey.good.test CNAME ${t3}.${SIGNING_ZONE} in Route 53 hosted zone ZGOOD (good.test), change C0042. The DNS findings show the state before the change; SES rechecks by itself.`,
    );
  });
});
