import { describe, expect, it } from 'vitest';
import {
  dsRecord,
  generateSigningKey,
  KSK_FLAGS,
  type SignatureWindow,
  type SigningKey,
  signRrset,
  ZSK_FLAGS,
} from '../../bin/demo/dnssec-signer';
import { assessIdentity } from '../../lambda/domain/assess-identity';
import { diagnoseDnssec, SIGNATURE_EXPIRY_WARNING_SECONDS } from '../../lambda/domain/diagnose-dnssec';
import { expectedDkimRecords } from '../../lambda/domain/expected-records';
import type {
  DnssecObservation,
  DnssecServerAnswer,
  RecordAnswer,
  ServerRef,
  ZoneObservation,
} from '../../lambda/domain/observations';
import { renderText } from '../../lambda/domain/render-report';
import { rootCauseKeys } from '../../lambda/domain/root-causes';
import type { SesIdentity } from '../../lambda/domain/ses-identity';

const ZONE = 'example.com';
const NOW = 1_800_000_000;
const HOUR = 3600;
const DAY = 24 * HOUR;
const FRESH: SignatureWindow = { inception: NOW - HOUR, expiration: NOW + 14 * DAY };
const RECORD = 'tok1._domainkey.example.com';
const TARGET = 'tok1.dkim.amazonses.com';

const ns = (n: number): ServerRef => ({
  name: `ns${n}.example.com`,
  address: `192.0.2.${n}`,
  port: 53,
  view: 'authoritative',
});
const resolver: ServerRef = { name: '198.51.100.1', address: '198.51.100.1', port: 53, view: 'public' };
const parent: ServerRef = { name: 'a.gtld.test', address: '192.0.2.200', port: 53, view: 'authoritative' };

const ksk = generateSigningKey(13, KSK_FLAGS);
const zsk = generateSigningKey(13, ZSK_FLAGS);

function keysAt(server: ServerRef, keys: SigningKey[] = [ksk, zsk], window = FRESH, signer = ksk): DnssecServerAnswer {
  const rrset = { name: ZONE, type: 'DNSKEY', data: keys.map((k) => k.dnskey) };
  return { server, rrset: { ...rrset, signatures: [signRrset(rrset, ZONE, signer, window)] } };
}

function recordAt(server: ServerRef, window: SignatureWindow | null = FRESH, key = zsk) {
  const rrset = { name: RECORD, type: 'CNAME', data: [TARGET] };
  return { name: RECORD, server, rrset: { ...rrset, signatures: window ? [signRrset(rrset, ZONE, key, window)] : [] } };
}

function observation(parts: Partial<DnssecObservation> = {}): DnssecObservation {
  return {
    checkedAt: NOW,
    parentServer: parent,
    ds: { kind: 'found', records: [dsRecord(ZONE, ksk.dnskey)] },
    keys: [keysAt(ns(1)), keysAt(ns(2))],
    records: [recordAt(ns(1)), recordAt(ns(2))],
    resolverChecks: [],
    ...parts,
  };
}

const codes = (obs: DnssecObservation) => diagnoseDnssec(ZONE, obs).findings.map((f) => f.code);

describe('diagnoseDnssec', () => {
  it('finds nothing wrong in a correctly signed zone', () => {
    expect(diagnoseDnssec(ZONE, observation()).findings).toEqual([]);
  });

  it('names a DS left from the old provider once for the zone, with the servers, the keys and the fix', () => {
    const oldKey = generateSigningKey(8, KSK_FLAGS);
    const obs = observation({
      ds: { kind: 'found', records: [dsRecord(ZONE, oldKey.dnskey)] },
      resolverChecks: [{ name: RECORD, resolver, answersWithCd: true }],
    });
    const { findings, explainsServfail } = diagnoseDnssec(ZONE, obs);

    expect(findings.map((f) => [f.code, f.severity])).toEqual([['DNSSEC_DS_MISMATCH', 'problem']]);
    const message = findings[0]?.message ?? '';
    expect(message).toContain(`key ${dsRecord(ZONE, oldKey.dnskey).keyTag} (algorithm 8)`);
    expect(message).toMatch(/ns1\.example\.com \(192\.0\.2\.1\) publishes keys \d+, \d+/);
    expect(message).toContain('remove the DS record');
    expect(findings[0]?.servers).toEqual([
      'a.gtld.test (192.0.2.200)',
      'ns1.example.com (192.0.2.1)',
      'ns2.example.com (192.0.2.2)',
    ]);
    expect(findings[0]?.dig).toBe('dig @192.0.2.200 +dnssec +norecurse +noall +answer +comments example.com DS');
    expect(explainsServfail(RECORD, 'resolver 198.51.100.1')).toBe(true);
    expect(explainsServfail(RECORD, 'resolver 198.51.100.2')).toBe(false);
  });

  it('calls a provider that stopped signing a DS mismatch, with signing as the other fix', () => {
    const obs = observation({ keys: [{ server: ns(1) }, { server: ns(2) }], records: [] });
    const [finding] = diagnoseDnssec(ZONE, obs).findings;
    expect(finding?.code).toBe('DNSSEC_DS_MISMATCH');
    expect(finding?.message).toContain('publishes no DNSKEY at all');
    expect(finding?.message).toContain('after turning DNSSEC signing on there');
  });

  it('names an unsigned server next to a signed one (a former provider)', () => {
    const obs = observation({ keys: [keysAt(ns(1)), { server: ns(2) }], records: [recordAt(ns(1))] });
    const findings = diagnoseDnssec(ZONE, obs).findings;
    expect(findings.map((f) => f.code)).toEqual(['DNSSEC_UNSIGNED_SERVER']);
    expect(findings[0]?.servers).toEqual(['ns2.example.com (192.0.2.2)']);
    expect(findings[0]?.message).toContain('ns1.example.com (192.0.2.1) serves it signed');
  });

  it('names a server that signs with keys the DS does not designate as bogus', () => {
    const other = generateSigningKey(13, KSK_FLAGS);
    const obs = observation({ keys: [keysAt(ns(1)), keysAt(ns(2), [other], FRESH, other)] });
    const findings = diagnoseDnssec(ZONE, obs).findings;
    expect(findings.map((f) => f.code)).toEqual(['DNSSEC_BOGUS']);
    expect(findings[0]?.servers).toEqual(['ns2.example.com (192.0.2.2)']);
  });

  it('reports expired signatures over a DKIM record: which record, which server, since when', () => {
    const expired = { inception: NOW - 30 * DAY, expiration: NOW - 6 * HOUR };
    const obs = observation({ records: [recordAt(ns(1)), recordAt(ns(2), expired)] });
    const findings = diagnoseDnssec(ZONE, obs).findings;
    expect(findings.map((f) => f.code)).toEqual(['DNSSEC_SIGNATURE_EXPIRED']);
    expect(findings[0]?.message).toContain(`${RECORD} (CNAME) on ns2.example.com (192.0.2.2)`);
    expect(findings[0]?.message).toContain(
      `expired at ${new Date((NOW - 6 * HOUR) * 1000).toISOString().slice(0, 19)}Z (6 hours ago)`,
    );
    expect(findings[0]?.dig).toContain(`${RECORD} CNAME`);
  });

  it('reports expired signatures over the DNSKEY set', () => {
    const expired = { inception: NOW - 30 * DAY, expiration: NOW - DAY };
    const findings = diagnoseDnssec(
      ZONE,
      observation({ keys: [keysAt(ns(1), [ksk, zsk], expired), keysAt(ns(2))] }),
    ).findings;
    expect(findings.map((f) => f.code)).toEqual(['DNSSEC_SIGNATURE_EXPIRED']);
    expect(findings[0]?.message).toContain('the DNSKEY set of example.com on ns1.example.com');
  });

  it('reports a record served without signature, or signed by an unknown key, as bogus', () => {
    const stranger = generateSigningKey(13, ZSK_FLAGS);
    const obs = observation({ records: [recordAt(ns(1), null), recordAt(ns(2), FRESH, stranger)] });
    const findings = diagnoseDnssec(ZONE, obs).findings;
    expect(findings.map((f) => f.code)).toEqual(['DNSSEC_BOGUS', 'DNSSEC_BOGUS']);
    expect(findings[0]?.message).toContain('without any signature');
    expect(findings[1]?.message).toContain('do not include');
  });

  it(`warns ${SIGNATURE_EXPIRY_WARNING_SECONDS / 3600} hours ahead of an expiry nobody is refreshing, not for online signers`, () => {
    const stale = { inception: NOW - 29 * DAY, expiration: NOW + 10 * HOUR };
    const warned = diagnoseDnssec(ZONE, observation({ records: [recordAt(ns(1), stale), recordAt(ns(2))] })).findings;
    expect(warned.map((f) => [f.code, f.severity])).toEqual([['DNSSEC_SIGNATURE_EXPIRING', 'warning']]);
    expect(warned[0]?.message).toContain('(in 10 hours) on ns1.example.com');
    // A signer that signs on the fly serves young, short-lived signatures: nothing to announce.
    const online = { inception: NOW - HOUR, expiration: NOW + 20 * HOUR };
    expect(codes(observation({ records: [recordAt(ns(1), online), recordAt(ns(2), online)] }))).toEqual([]);
  });

  it('treats failed DNSSEC lookups as no evidence, and a zone without DS as unsigned', () => {
    expect(codes(observation({ ds: { kind: 'none' } }))).toEqual([]);
    expect(codes(observation({ ds: { kind: 'inconclusive', detail: 'TIMEOUT' } }))).toEqual([]);
    const flaky = observation({
      keys: [keysAt(ns(1)), { server: ns(2), inconclusive: 'no answer within 500 ms' }],
      records: [recordAt(ns(1)), { name: RECORD, server: ns(2), inconclusive: 'SERVFAIL from the server' }],
    });
    expect(codes(flaky)).toEqual([]);
    // A DS of an algorithm nobody validates leaves the zone insecure, not broken.
    const unknownAlgorithm = { ...dsRecord(ZONE, ksk.dnskey), algorithm: 253 };
    expect(
      codes(observation({ ds: { kind: 'found', records: [unknownAlgorithm] }, keys: [{ server: ns(1) }] })),
    ).toEqual([]);
  });
});

describe('assessIdentity with DNSSEC evidence', () => {
  const ses: SesIdentity = {
    name: ZONE,
    region: 'eu-west-1',
    type: 'DOMAIN',
    dkim: { signingEnabled: true, status: 'SUCCESS', tokens: ['tok1'], origin: 'AWS_SES' },
  };
  const plan = { identity: ses, records: expectedDkimRecords(ses) };
  const zone = (dnssec: DnssecObservation): ZoneObservation => ({
    zone: ZONE,
    parentZone: 'com',
    parentNs: ['ns1.example.com'],
    servers: [{ server: ns(1), listedBy: ['parent', 'zone'], apexNs: ['ns1.example.com'] }],
    unresolvedNs: [],
    problems: [],
    dnssec,
  });
  const answers = (): Map<string, RecordAnswer[]> =>
    new Map([
      [
        plan.records[0]?.name ?? '',
        [
          { server: ns(1), outcome: 'ANSWER', rcode: 'NOERROR', cname: plan.records[0]?.value },
          { server: resolver, outcome: 'SERVFAIL', rcode: 'SERVFAIL', detail: 'SERVFAIL from the resolver' },
        ],
      ],
    ]);
  const mismatch = (answersWithCd: boolean) =>
    observation({
      ds: { kind: 'found', records: [dsRecord(ZONE, generateSigningKey(13).dnskey)] },
      keys: [keysAt(ns(1))],
      records: [],
      resolverChecks: [{ name: RECORD, resolver, answersWithCd }],
    });

  it('a resolver SERVFAIL explained by a DS mismatch is the mismatch: AT_RISK, no LOOKUP_FAILED, one cause', () => {
    const report = assessIdentity(plan, { zone: zone(mismatch(true)), answers: answers() });
    expect(report.health).toBe('AT_RISK');
    expect(report.records[0]?.findings).toEqual([]);
    expect(report.findings.map((f) => f.code)).toEqual(['DNSSEC_DS_MISMATCH']);
    expect(rootCauseKeys(report)).toEqual(['dnssec-chain|example.com']);
    // The resolver's answer is still shown as evidence.
    expect(report.records[0]?.answers.map((a) => a.rcode)).toEqual(['NOERROR', 'SERVFAIL']);
    // ...and the text report never counts it as "ok".
    expect(renderText([report], [], { colour: false })).toContain(
      'ok on 1 nameserver and 0 resolvers; SERVFAIL from 1 validating resolver (DNSSEC, below)',
    );
  });

  it('keeps the SERVFAIL inconclusive when the resolver fails with the CD bit too', () => {
    const report = assessIdentity(plan, { zone: zone(mismatch(false)), answers: answers() });
    expect(report.records[0]?.findings.map((f) => f.code)).toEqual(['LOOKUP_FAILED']);
    expect(report.health).toBe('AT_RISK'); // the DS mismatch itself is still definite
  });

  it('keeps a SERVFAIL that no DNSSEC fault explains as LOOKUP_FAILED (UNKNOWN)', () => {
    const healthy = observation({
      keys: [keysAt(ns(1))],
      records: [recordAt(ns(1))],
      resolverChecks: [{ name: RECORD, resolver, answersWithCd: true }],
    });
    const report = assessIdentity(plan, { zone: zone(healthy), answers: answers() });
    expect(report.records[0]?.findings.map((f) => f.code)).toEqual(['LOOKUP_FAILED']);
    expect(report.health).toBe('UNKNOWN');
  });
});
