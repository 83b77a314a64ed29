import type { RRType } from '@aws-sdk/client-route-53';
import {
  ChangeResourceRecordSetsCommand,
  GetHostedZoneCommand,
  ListHostedZonesByNameCommand,
  ListResourceRecordSetsCommand,
  Route53Client,
  Route53ServiceException,
} from '@aws-sdk/client-route-53';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { Route53HostedZones } from '../../lambda/adapters/route53-hosted-zones';

const zone = (id: string, name: string, privateZone = false) => ({
  Id: `/hostedzone/${id}`,
  Name: `${name}.`,
  CallerReference: id,
  Config: { PrivateZone: privateZone },
  ResourceRecordSetCount: 5,
});
const rrset = (name: string, type: RRType, value: string) => ({
  Name: `${name}.`,
  Type: type,
  TTL: 1800,
  ResourceRecords: [{ Value: value }],
});
const throttled = () =>
  new Route53ServiceException({
    name: 'Throttling',
    $fault: 'client',
    message: 'Rate exceeded',
    $metadata: { httpStatusCode: 400 },
  });

describe('Route53HostedZones', () => {
  const route53 = mockClient(Route53Client);
  const client = new Route53Client({ region: 'us-east-1' });
  const zones = () => new Route53HostedZones(client, { sleep: async () => {} });
  beforeEach(() => route53.reset());

  it('finds every public zone of the name (over pages), skips private ones, and reads servers and DKIM records', async () => {
    // Prepare: two zones share the name (the live one and an old one), across two pages; a private one too.
    route53.on(ListHostedZonesByNameCommand, { DNSName: undefined, HostedZoneId: undefined }).resolves({
      HostedZones: [zone('ZLIVE', 'example.com'), zone('ZPRIV', 'example.com', true)],
      IsTruncated: true,
      NextDNSName: 'example.com.',
      NextHostedZoneId: 'ZOLD',
      MaxItems: 100,
    });
    route53.on(ListHostedZonesByNameCommand, { DNSName: 'example.com.', HostedZoneId: 'ZOLD' }).resolves({
      HostedZones: [zone('ZOLD', 'example.com'), zone('ZNEXT', 'example.net')],
      IsTruncated: false,
      MaxItems: 100,
    });
    route53.on(GetHostedZoneCommand, { Id: 'ZLIVE' }).resolves({
      HostedZone: zone('ZLIVE', 'example.com'),
      DelegationSet: { NameServers: ['ns-1.awsdns-1.org', 'NS-2.awsdns-2.com.'] },
    });
    route53
      .on(GetHostedZoneCommand, { Id: 'ZOLD' })
      .resolves({ HostedZone: zone('ZOLD', 'example.com'), DelegationSet: { NameServers: ['ns-9.awsdns-9.net'] } });
    route53.on(ListResourceRecordSetsCommand, { HostedZoneId: 'ZLIVE' }).resolves({
      ResourceRecordSets: [
        rrset('_domainkey-legacy.example.com', 'TXT', '"x"'),
        rrset('a._domainkey.example.com', 'CNAME', 'a.dkim.amazonses.com'),
        rrset('\\052._domainkey.example.com', 'TXT', '"wild"'),
        rrset('www.example.com', 'A', '192.0.2.1'),
      ],
      IsTruncated: true,
      NextRecordName: 'zzz.example.com.',
      MaxItems: 300,
    });
    route53
      .on(ListResourceRecordSetsCommand, { HostedZoneId: 'ZOLD' })
      .rejectsOnce(throttled())
      .resolves({
        ResourceRecordSets: [rrset('oldsel._domainkey.example.com', 'CNAME', 'oldsel.dkim.amazonses.com')],
        IsTruncated: false,
        MaxItems: 300,
      });

    // Act
    const result = await zones().zonesFor('example.com', 'example.com');

    // Assess
    expect(result.error).toBeUndefined();
    expect(result.zones).toEqual([
      {
        id: 'ZLIVE',
        name: 'example.com',
        nameServers: ['ns-1.awsdns-1.org', 'ns-2.awsdns-2.com'],
        dkimRecords: [
          { name: 'a._domainkey.example.com', type: 'CNAME', ttl: 1800, values: ['a.dkim.amazonses.com'] },
          { name: '*._domainkey.example.com', type: 'TXT', ttl: 1800, values: ['"wild"'] },
        ],
      },
      {
        id: 'ZOLD',
        name: 'example.com',
        nameServers: ['ns-9.awsdns-9.net'],
        dkimRecords: [
          { name: 'oldsel._domainkey.example.com', type: 'CNAME', ttl: 1800, values: ['oldsel.dkim.amazonses.com'] },
        ],
      },
    ]);
    expect(route53).toReceiveCommandWith(ListResourceRecordSetsCommand, {
      HostedZoneId: 'ZLIVE',
      StartRecordName: '_domainkey.example.com',
    });
    // Stopped at the first name past the prefix: no second page for ZLIVE.
    expect(route53).toReceiveCommandTimes(ListResourceRecordSetsCommand, 3);
  });

  it('lists the zones once per run and takes those named like the domain or a parent down to the apex', async () => {
    route53.on(ListHostedZonesByNameCommand).resolves({
      HostedZones: [
        zone('ZCOM', 'com'),
        zone('ZAPEX', 'example.com'),
        zone('ZMAIL', 'mail.example.com'),
        zone('ZOTHER', 'other.com'),
      ],
      IsTruncated: false,
      MaxItems: 100,
    });
    route53.on(GetHostedZoneCommand).resolves({ DelegationSet: { NameServers: ['ns-1.awsdns-1.org'] } });
    route53.on(ListResourceRecordSetsCommand).resolves({ ResourceRecordSets: [], IsTruncated: false, MaxItems: 300 });
    const source = zones();

    const first = await source.zonesFor('a.mail.example.com', 'example.com');
    await source.zonesFor('b.example.com', 'example.com');

    expect(first.zones.map((z) => z.id)).toEqual(['ZMAIL', 'ZAPEX']);
    expect(route53).toReceiveCommandTimes(ListHostedZonesByNameCommand, 1);
  });

  it('turns a Route 53 error into data, after retrying throttling', async () => {
    route53.on(ListHostedZonesByNameCommand).rejects(
      new Route53ServiceException({
        name: 'AccessDenied',
        $fault: 'client',
        message: 'User is not authorized to perform: route53:ListHostedZonesByName',
        $metadata: {},
      }),
    );

    expect(await zones().zonesFor('example.com', 'example.com')).toEqual({
      zones: [],
      error: 'AccessDenied: User is not authorized to perform: route53:ListHostedZonesByName',
    });
  });

  it('applies UPSERT batches and refuses anything else', async () => {
    route53
      .on(ChangeResourceRecordSetsCommand)
      .resolves({ ChangeInfo: { Id: '/change/C123', Status: 'PENDING', SubmittedAt: new Date() } });
    const batch = {
      hostedZoneId: 'ZLIVE',
      zoneName: 'example.com',
      changeBatch: {
        Comment: 'c',
        Changes: [
          {
            Action: 'UPSERT' as const,
            ResourceRecordSet: {
              Name: 'a._domainkey.example.com',
              Type: 'CNAME' as const,
              TTL: 1800,
              ResourceRecords: [{ Value: 'a.dkim.amazonses.com' }],
            },
          },
        ],
      },
    };

    expect(await zones().apply(batch)).toBe('C123');
    const deletion = {
      ...batch,
      changeBatch: {
        ...batch.changeBatch,
        Changes: batch.changeBatch.Changes.map((c) => ({ ...c, Action: 'DELETE' as never })),
      },
    };
    await expect(zones().apply(deletion)).rejects.toThrow('only UPSERT');
    expect(route53).toReceiveCommandTimes(ChangeResourceRecordSetsCommand, 1);
  });
});
