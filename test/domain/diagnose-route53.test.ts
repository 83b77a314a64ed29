import { describe, expect, it } from 'vitest';
import { diagnoseRoute53, type HostedZoneView } from '../../lambda/domain/diagnose-route53';
import type { ExpectedRecord } from '../../lambda/domain/expected-records';
import type { ZoneObservation } from '../../lambda/domain/observations';

const record = (token: string): ExpectedRecord => ({
  name: `${token}._domainkey.example.com`,
  type: 'CNAME',
  value: `${token}.dkim.amazonses.com`,
  kind: 'EASY_DKIM',
  domain: 'example.com',
});
const RECORDS = [record('a'), record('b')];
const LIVE_NS = ['ns-1.awsdns-1.org', 'ns-2.awsdns-2.com'];
const zone: ZoneObservation = {
  zone: 'example.com',
  parentZone: 'com',
  parentNs: LIVE_NS,
  resolverNs: LIVE_NS,
  servers: LIVE_NS.map((name) => ({
    server: { name, address: '192.0.2.1', port: 53, view: 'authoritative' as const },
    listedBy: ['parent', 'zone'] as const,
    apexNs: LIVE_NS,
  })),
  unresolvedNs: [],
  problems: [],
};
const hosted = (
  id: string,
  nameServers: string[],
  dkim: [string, string, string][],
  name = 'example.com',
): HostedZoneView => ({
  id,
  name,
  nameServers,
  dkimRecords: dkim.map(([n, type, value]) => ({ name: n, type, values: [value] })),
});
const both: [string, string, string][] = [
  ['a._domainkey.example.com', 'CNAME', 'a.dkim.amazonses.com'],
  ['b._domainkey.example.com', 'CNAME', 'b.dkim.amazonses.com.'],
];

describe('diagnoseRoute53', () => {
  it('finds nothing when the delegated zone holds every record', () => {
    expect(diagnoseRoute53('example.com', RECORDS, zone, { zones: [hosted('ZLIVE', LIVE_NS, both)] })).toEqual({
      findings: [],
      changes: [],
    });
  });

  it('gives the exact UPSERT for a record missing from the delegated zone', () => {
    const { findings, changes } = diagnoseRoute53('example.com', RECORDS, zone, {
      zones: [hosted('ZLIVE', LIVE_NS, [both[0] as [string, string, string]])],
    });

    expect(findings.map((f) => f.code)).toEqual(['ZONE_RECORD_MISSING']);
    expect(changes).toEqual([
      {
        hostedZoneId: 'ZLIVE',
        zoneName: 'example.com',
        changeBatch: {
          Comment: 'ses-dkim-sentinel: restore the DKIM records of example.com',
          Changes: [
            {
              Action: 'UPSERT',
              ResourceRecordSet: {
                Name: 'b._domainkey.example.com',
                Type: 'CNAME',
                TTL: 1800,
                ResourceRecords: [{ Value: 'b.dkim.amazonses.com' }],
              },
            },
          ],
        },
      },
    ]);
    expect(findings[0]?.message).toContain(
      `aws route53 change-resource-record-sets --hosted-zone-id ZLIVE --change-batch '{"Comment":"ses-dkim-sentinel: DKIM record of example.com","Changes":[{"Action":"UPSERT","ResourceRecordSet":{"Name":"b._domainkey.example.com","Type":"CNAME","TTL":1800,"ResourceRecords":[{"Value":"b.dkim.amazonses.com"}]}}]}'`,
    );
  });

  it('gives an UPSERT for a wrong value, but never plans a delete for a record of another type', () => {
    const { findings, changes } = diagnoseRoute53('example.com', RECORDS, zone, {
      zones: [
        hosted('ZLIVE', LIVE_NS, [
          ['a._domainkey.example.com', 'CNAME', 'x.dkim.amazonses.com'],
          ['b._domainkey.example.com', 'TXT', '"v=DKIM1; p=..."'],
        ]),
      ],
    });

    expect(findings.map((f) => f.code)).toEqual(['ZONE_RECORD_MISMATCH', 'ZONE_RECORD_MISMATCH']);
    expect(findings[1]?.message).toContain('not repaired automatically');
    expect(changes[0]?.changeBatch.Changes.map((c) => c.ResourceRecordSet.Name)).toEqual(['a._domainkey.example.com']);
  });

  it('names a stale zone of the same name, its ID and its DKIM records, as the incident when its servers are still listed', () => {
    const old = ['ns-9.awsdns-9.net'];
    const listed = { ...zone, parentNs: [...LIVE_NS, ...old] };
    const stale = hosted('ZOLD', old, [['oldsel._domainkey.example.com', 'CNAME', 'oldsel.dkim.amazonses.com']]);
    const { findings, changes } = diagnoseRoute53('example.com', RECORDS, listed, { zones: [stale] });

    expect(changes).toEqual([]);
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ code: 'STALE_HOSTED_ZONE', severity: 'problem', servers: old });
    expect(findings[0]?.message).toContain('Route 53 hosted zone ZOLD (example.com) is not the zone the world uses');
    expect(findings[0]?.message).toContain('oldsel._domainkey.example.com CNAME oldsel.dkim.amazonses.com');
    expect(findings[0]?.message).toContain('Its servers ns-9.awsdns-9.net are still listed for example.com');
    expect(findings[0]?.dig).toBe(
      'dig @ns-9.awsdns-9.net +norecurse +noall +answer oldsel._domainkey.example.com CNAME',
    );
  });

  it('calls a forgotten zone whose servers nobody lists a warning, next to the live zone', () => {
    const { findings } = diagnoseRoute53('example.com', RECORDS, zone, {
      zones: [hosted('ZLIVE', LIVE_NS, both), hosted('ZOLD', ['ns-9.awsdns-9.net'], [])],
    });

    expect(findings.map((f) => [f.code, f.severity])).toEqual([['STALE_HOSTED_ZONE', 'warning']]);
    expect(findings[0]?.message).toContain('It holds no DKIM records');
  });

  it('calls a hosted zone for a subdomain that the parent zone does not delegate stale', () => {
    const sub: ExpectedRecord = { ...record('a'), name: 'a._domainkey.mail.example.com', domain: 'mail.example.com' };
    const { findings } = diagnoseRoute53('mail.example.com', [sub], zone, {
      zones: [hosted('ZSUB', ['ns-5.awsdns-5.co.uk'], [], 'mail.example.com')],
    });

    expect(findings[0]?.message).toContain('example.com does not delegate mail.example.com');
  });

  it('reports a Route 53 error without hiding anything else', () => {
    const { findings } = diagnoseRoute53('example.com', RECORDS, zone, {
      zones: [],
      error: 'AccessDenied: not authorized to perform route53:ListHostedZonesByName',
    });

    expect(findings.map((f) => [f.code, f.severity])).toEqual([['ROUTE53_CHECK_FAILED', 'warning']]);
  });

  it('plans no change, and gives no command, for a record SES names with something that is no DNS name', () => {
    const hostile: ExpectedRecord = { ...record('a'), value: "a.dkim.amazonses.com'; touch /tmp/pwned; '" };
    const { findings, changes } = diagnoseRoute53('example.com', [hostile], zone, {
      zones: [hosted('ZLIVE', LIVE_NS, [])],
    });

    expect(changes).toEqual([]);
    expect(findings.map((f) => [f.code, f.route53Change])).toEqual([['ZONE_RECORD_MISSING', undefined]]);
    expect(findings[0]?.message).toContain(`"a.dkim.amazonses.com'; touch /tmp/pwned; '" (not a valid DNS name)`);
    expect(findings[0]?.message).not.toContain('aws route53');
  });

  it('gives a stale zone whose server or record name is no DNS name a comment instead of a dig', () => {
    const { findings } = diagnoseRoute53('example.com', RECORDS, zone, {
      zones: [
        hosted('ZLIVE', LIVE_NS, both),
        hosted('ZOLD', ['ns-9.$(id).net'], [['a._domainkey.example.com', 'CNAME', 'x']]),
      ],
    });

    expect(findings[0]?.dig).toMatch(/^# no command: the server to ask is not a valid host name/);
  });
});
