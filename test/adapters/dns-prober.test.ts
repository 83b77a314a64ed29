import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DnsProber } from '../../lambda/adapters/dns/dkim-dns-prober';
import { DnsTransport } from '../../lambda/adapters/dns/dns-transport';
import { assessIdentity, type IdentityReport } from '../../lambda/domain/assess-identity';
import { expectedDkimRecords } from '../../lambda/domain/expected-records';
import type { SesIdentity } from '../../lambda/domain/ses-identity';
import { byoDkimIdentity, type DkimWorld, easyDkimIdentity, startDkimWorld, TOKENS } from '../support/dkim-world';

// Real knotd + unbound on 127.0.20.x; see test/support/dkim-world.ts for the zones.
const SUBNET = '127.0.20';
const PORT = 15320;

describe('DnsProber against real knot servers and an unbound resolver', () => {
  let world: DkimWorld;
  let transport: DnsTransport;
  let prober: DnsProber;

  beforeAll(async () => {
    world = await startDkimWorld(SUBNET, PORT);
    transport = new DnsTransport({ timeoutMs: 300, attempts: 2 });
    prober = new DnsProber(transport, { resolvers: [world.resolver], authoritativePort: PORT });
  });
  afterAll(async () => {
    await world?.stop();
  });

  async function check(identity: SesIdentity): Promise<IdentityReport> {
    const records = expectedDkimRecords(identity);
    const observation = await prober.observe(records[0]?.domain ?? identity.name, records);
    return assessIdentity({ identity, records }, observation);
  }
  const codes = (report: IdentityReport) => [
    ...report.findings.map((f) => f.code),
    ...report.records.flatMap((r) => r.findings.map((f) => f.code)),
  ];

  it('reports a correct domain HEALTHY after asking both nameservers and the resolver for each record', async () => {
    const report = await check(easyDkimIdentity('good.test', TOKENS.good));

    expect(report.health).toBe('HEALTHY');
    expect(codes(report)).toEqual([]);
    expect(report.zone).toBe('good.test');
    for (const record of report.records) {
      expect(record.answers.map((a) => a.server)).toEqual([
        `ns1.good.test (${SUBNET}.11:${PORT})`,
        `ns2.good.test (${SUBNET}.12:${PORT})`,
        `resolver ${SUBNET}.53:${PORT}`,
      ]);
      expect(record.answers[0]?.values).toEqual([`CNAME ${record.expected}`]);
    }
  });

  it('incident 1: flags exactly the mistyped CNAME with expected and actual values', async () => {
    const report = await check(easyDkimIdentity('typo.test', TOKENS.typo));

    expect(report.health).toBe('AT_RISK');
    const [first, second, third] = report.records;
    expect(first?.findings).toEqual([]);
    expect(second?.findings).toEqual([]);
    expect(third?.findings.map((f) => f.code)).toEqual(['RECORD_MISMATCH']);
    const message = third?.findings[0]?.message ?? '';
    expect(message).toContain('CNAME typotokx.dkim.amazonses.test');
    expect(message).toContain('expected CNAME typotok3.dkim.amazonses.test');
    expect(third?.findings[0]?.servers).toHaveLength(3);
  });

  it('incident 2: an old provider listed by the parent answers stale records: NAMESERVERS_DISAGREE names each server', async () => {
    const report = await check(easyDkimIdentity('stale.test', TOKENS.stale));

    expect(report.health).toBe('AT_RISK');
    expect(codes(report)).not.toContain('DELEGATION_MISMATCH');
    for (const record of report.records) {
      const disagree = record.findings.find((f) => f.code === 'NAMESERVERS_DISAGREE');
      expect(disagree?.message).toContain(`ns1.stale.test (${SUBNET}.21:${PORT}) says CNAME ${record.expected}`);
      expect(disagree?.message).toContain(`ns-old.stale.test (${SUBNET}.22:${PORT}) says NXDOMAIN`);
      expect(disagree?.message).toMatch(/zone serial 5\].*zone serial 1\]/);
      expect(disagree?.message).toContain('if it belongs to a former provider');
      const missing = record.findings.find((f) => f.code === 'RECORD_MISSING');
      expect(missing?.servers).toEqual([`ns-old.stale.test (${SUBNET}.22:${PORT})`]);
    }
  });

  it('incident 2 variant: the old server is only in the zone NS set: NAMESERVERS_DISAGREE and DELEGATION_MISMATCH', async () => {
    const report = await check(easyDkimIdentity('apexonly.test', TOKENS.apexonly));

    expect(report.health).toBe('AT_RISK');
    const delegation = report.findings.find((f) => f.code === 'DELEGATION_MISMATCH');
    expect(delegation?.message).toContain('ns-old.apexonly.test only in the zone');
    for (const record of report.records) {
      expect(record.findings.map((f) => f.code)).toContain('NAMESERVERS_DISAGREE');
      expect(record.answers.map((a) => a.server)).toContain(`ns-old.apexonly.test (${SUBNET}.32:${PORT})`);
    }
  });

  it('one nameserver timing out while the other is right: LOOKUP_FAILED and UNKNOWN, never RECORD_MISSING', async () => {
    const report = await check(easyDkimIdentity('slow.test', TOKENS.slow));

    expect(report.health).toBe('UNKNOWN');
    expect(codes(report)).not.toContain('RECORD_MISSING');
    for (const record of report.records) {
      const failed = record.findings.find((f) => f.code === 'LOOKUP_FAILED');
      expect(failed?.servers).toEqual([`ns2.slow.test (${SUBNET}.42:${PORT})`]);
      expect(failed?.message).toContain('inconclusive');
    }
  });

  it('a SERVFAIL from one nameserver is inconclusive too', async () => {
    const report = await check(easyDkimIdentity('broken.test', TOKENS.broken));

    expect(report.health).toBe('UNKNOWN');
    expect(codes(report)).not.toContain('RECORD_MISSING');
    expect(report.records[0]?.findings.find((f) => f.code === 'LOOKUP_FAILED')?.message).toContain('SERVFAIL');
  });

  it('tells a proxied record, a doubled domain and a TXT-instead-of-CNAME apart', async () => {
    const proxied = await check(easyDkimIdentity('proxied.test', TOKENS.proxied));
    const doubled = await check(easyDkimIdentity('doubled.test', TOKENS.doubled));
    const wrongType = await check(easyDkimIdentity('wrongtype.test', TOKENS.wrongtype));

    expect(proxied.records[0]?.findings.map((f) => f.code)).toContain('RECORD_PROXIED');
    expect(proxied.records[0]?.findings[0]?.message).toContain('A 104.16.0.1');
    expect(doubled.records[0]?.findings.map((f) => f.code)).toContain('DOUBLED_DOMAIN');
    expect(doubled.records[0]?.findings.find((f) => f.code === 'DOUBLED_DOMAIN')?.message).toContain(
      'dbltok1._domainkey.doubled.test.doubled.test',
    );
    expect(wrongType.records[0]?.findings.map((f) => f.code)).toContain('WRONG_RECORD_TYPE');
    for (const report of [proxied, doubled, wrongType]) {
      expect(report.records[1]?.findings).toEqual([]);
      expect(report.health).toBe('AT_RISK');
    }
  });

  it('reports KEY_MISSING when the CNAME is right but its target has no key', async () => {
    const report = await check(easyDkimIdentity('nokey.test', TOKENS.nokey));

    expect(report.records.map((r) => r.findings.map((f) => f.code))).toEqual([
      ['KEY_MISSING'],
      ['KEY_MISSING'],
      ['KEY_MISSING'],
    ]);
    expect(report.records[0]?.findings[0]?.servers).toEqual([`resolver ${SUBNET}.53:${PORT}`]);
  });

  it('distinguishes NXDOMAIN from NODATA, and reports both as missing', async () => {
    const report = await check(easyDkimIdentity('missing.test', TOKENS.missing));

    const [nx, nodata, present] = report.records;
    expect(nx?.answers[0]?.rcode).toBe('NXDOMAIN');
    expect(nodata?.answers[0]?.rcode).toBe('NOERROR');
    expect(nx?.findings.map((f) => f.code)).toEqual(['RECORD_MISSING']);
    expect(nodata?.findings.map((f) => f.code)).toEqual(['RECORD_MISSING']);
    expect(present?.findings).toEqual([]);
    expect(nx?.findings[0]?.servers).toHaveLength(3);
  });

  it('reads a BYODKIM key too big for UDP over TCP, and rejects a revoked key', async () => {
    const before = transport.stats.tcpFallbacks;
    const big = await check(byoDkimIdentity('byo.test', 'big'));
    const revoked = await check(byoDkimIdentity('byobad.test', 'sel'));

    expect(big.health).toBe('HEALTHY');
    expect(transport.stats.tcpFallbacks).toBeGreaterThan(before);
    expect(revoked.records[0]?.findings.map((f) => f.code)).toEqual(['BYODKIM_KEY_INVALID']);
    expect(revoked.records[0]?.findings[0]?.message).toContain('p= is empty');
  });

  it('says a domain is not delegated instead of asking the TLD servers for its records', async () => {
    const report = await check(easyDkimIdentity('gone.test', ['gonetok1', 'gonetok2', 'gonetok3']));

    expect(report.health).toBe('AT_RISK');
    expect(report.findings.map((f) => f.code)).toContain('DOMAIN_NOT_DELEGATED');
    expect(report.findings.find((f) => f.code === 'DOMAIN_NOT_DELEGATED')?.message).toContain(
      'gone.test is not delegated: the closest zone that exists is the top-level domain test',
    );
    for (const record of report.records) {
      expect(record.answers.filter((a) => a.view === 'authoritative')).toEqual([]);
      expect(record.answers[0]?.rcode).toBe('NXDOMAIN');
    }
  });

  it('looks a zone up once however many identities share it', async () => {
    const fresh = new DnsProber(new DnsTransport({ timeoutMs: 300 }), {
      resolvers: [world.resolver],
      authoritativePort: PORT,
    });
    const identity = easyDkimIdentity('good.test', TOKENS.good);
    const records = expectedDkimRecords(identity);
    const t = (fresh as unknown as { transport: DnsTransport }).transport;
    await fresh.observe('good.test', records);
    const afterFirst = t.stats.queries;
    await fresh.observe('good.test', records);

    expect(t.stats.queries).toBe(afterFirst);
  });
});
