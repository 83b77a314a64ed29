import { describe, expect, it } from 'vitest';
import { diagnoseZone } from '../../lambda/domain/diagnose-zone';
import type { ZoneObservation, ZoneServer } from '../../lambda/domain/observations';

const server = (name: string, apexNs?: string[]): ZoneServer => ({
  server: { name, address: '192.0.2.1', port: 53, view: 'authoritative' },
  listedBy: ['parent'],
  apexNs,
});
const zone = (
  parentNs: string[] | undefined,
  servers: ZoneServer[],
  extra: Partial<ZoneObservation> = {},
): ZoneObservation => ({
  zone: 'example.com',
  parentZone: 'com',
  parentNs,
  servers,
  unresolvedNs: [],
  problems: [],
  ...extra,
});

describe('diagnoseZone', () => {
  it('finds nothing when the parent and the zone list the same servers', () => {
    expect(
      diagnoseZone(zone(['a.ns', 'b.ns'], [server('a.ns', ['b.ns', 'a.ns']), server('b.ns', ['a.ns', 'b.ns'])])),
    ).toEqual([]);
  });

  it('names a server listed only in the zone (a former provider left in the NS records)', () => {
    const [finding] = diagnoseZone(zone(['a.ns'], [server('a.ns', ['a.ns', 'old.ns'])]));

    expect(finding).toMatchObject({ code: 'DELEGATION_MISMATCH', severity: 'warning' });
    expect(finding?.message).toContain('old.ns only in the zone');
    expect(finding?.dig).toBe('dig +noall +answer example.com NS');
  });

  it('names a server listed only at the registrar, with a dig of the referral from the parent server asked', () => {
    const parentServer = {
      name: 'a.gtld-servers.net',
      address: '192.5.6.30',
      port: 53,
      view: 'authoritative' as const,
    };
    const [finding] = diagnoseZone(zone(['a.ns', 'old.ns'], [server('a.ns', ['a.ns'])], { parentServer }));

    expect(finding?.message).toContain('old.ns only at the registrar');
    expect(finding?.dig).toBe('dig @192.5.6.30 +norecurse +noall +authority +comments example.com NS');
  });

  it('reports servers that disagree about the NS set itself', () => {
    const [finding] = diagnoseZone(
      zone(['a.ns', 'b.ns'], [server('a.ns', ['a.ns', 'b.ns']), server('b.ns', ['b.ns'])]),
    );

    expect(finding?.message).toContain("the zone's own NS records differ between servers");
  });

  it('does not compare when the parent could not be asked, and reports that as inconclusive', () => {
    const findings = diagnoseZone(
      zone(undefined, [server('a.ns', ['a.ns'])], {
        problems: [{ message: 'Could not read the delegation', servers: [], dig: 'dig' }],
      }),
    );

    expect(findings.map((f) => [f.code, f.severity])).toEqual([['LOOKUP_FAILED', 'inconclusive']]);
  });

  it('reports a listed nameserver without an address', () => {
    const findings = diagnoseZone(zone(['a.ns'], [server('a.ns', ['a.ns'])], { unresolvedNs: ['gone.ns'] }));

    expect(findings[0]).toMatchObject({ code: 'NAMESERVER_UNRESOLVABLE', severity: 'warning' });
    expect(findings[0]?.message).toContain('gone.ns is listed for example.com but has no address');
  });

  it('reports an NS target written as an IP address as a warning on that nameserver, with the NS dig', () => {
    const findings = diagnoseZone(zone(['a.ns'], [server('a.ns', ['a.ns'])], { ipLiteralNs: ['192.0.2.15'] }));

    expect(findings).toEqual([
      {
        code: 'NAMESERVER_IP_LITERAL',
        severity: 'warning',
        message: expect.stringContaining(
          'The NS record 192.0.2.15 for example.com is an IP address written as a host name: resolvers look it up as a name, find nothing',
        ),
        servers: ['192.0.2.15'],
        dig: 'dig +noall +answer example.com NS',
      },
    ]);
    expect(findings[0]?.message).toContain('(it was not queried)');
  });

  it('says which source said what when sources disagree; inconclusive only when a view was left unchecked', () => {
    const claims = [
      { source: 'resolver 192.0.2.53', says: 'a.ns' },
      { source: 'resolver 198.51.100.53', says: 'a.ns and evil.ns' },
    ];
    const findings = diagnoseZone(
      zone(['a.ns'], [server('a.ns', ['a.ns'])], {
        disagreements: [
          { subject: 'the NS set of example.com', claims, allChecked: true, dig: 'dig ns' },
          { subject: 'the zone holding _domainkey.example.com', claims, allChecked: false, dig: 'dig soa' },
        ],
      }),
    );

    expect(findings.map((f) => [f.code, f.severity, f.servers, f.dig])).toEqual([
      ['ZONE_SOURCES_DISAGREE', 'warning', ['resolver 192.0.2.53', 'resolver 198.51.100.53'], 'dig ns'],
      ['ZONE_SOURCES_DISAGREE', 'inconclusive', ['resolver 192.0.2.53', 'resolver 198.51.100.53'], 'dig soa'],
    ]);
    expect(findings[0]?.message).toBe(
      "Sources disagree about the NS set of example.com: resolver 192.0.2.53 says a.ns; resolver 198.51.100.53 says a.ns and evil.ns. Every server named by any of them was checked. If this persists beyond the records' TTL, one source is stale or lying: compare them with dig.",
    );
    expect(findings[1]?.message).toContain('Only the first view was checked, so the result is inconclusive');
  });

  it('shows control characters from a hostile source escaped, not raw', () => {
    const findings = diagnoseZone(
      zone(['a.ns'], [server('a.ns', ['a.ns'])], {
        disagreements: [
          {
            subject: 'the NS set of example.com',
            claims: [{ source: 'resolver 192.0.2.53', says: 'evil\u001b[31m.ns' }],
            allChecked: true,
            dig: 'dig',
          },
        ],
      }),
    );

    expect(findings[0]?.message).toContain('evil\\x1b[31m.ns');
    expect(findings[0]?.message).not.toContain('\u001b');
  });
});
