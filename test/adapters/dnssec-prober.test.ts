import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DnsProber } from '../../lambda/adapters/dns/dkim-dns-prober';
import {
  type DnsEndpoint,
  type DnsQuestion,
  type DnsResult,
  DnsTransport,
} from '../../lambda/adapters/dns/dns-transport';
import type { QueryBudget } from '../../lambda/adapters/dns/query-budget';
import type { IdentityObservation } from '../../lambda/domain/assess-identity';
import { assessIdentity, type IdentityReport } from '../../lambda/domain/assess-identity';
import { type DnskeyRecord, verifyRrset, ZONE_KEY_FLAG } from '../../lambda/domain/dnssec';
import { expectedDkimRecords } from '../../lambda/domain/expected-records';
import { rootCauseKeys } from '../../lambda/domain/root-causes';
import { easyDkimIdentity } from '../support/dkim-world';
import { DNSSEC_TOKENS, type DnssecWorld, startDnssecWorld } from '../support/dnssec-world';

// Real knotd (signing) + validating unbound on 127.0.88.x; see test/support/dnssec-world.ts for the zones.
const PORT = 15388;

/** A transport that keeps every question asked, to count the DNSSEC queries. */
class RecordingTransport extends DnsTransport {
  readonly asked: DnsQuestion[] = [];
  /** The budget scope each DNSSEC question was charged to. */
  readonly dnssecScopes: (string | undefined)[] = [];
  override query(endpoint: DnsEndpoint, question: DnsQuestion, budget?: QueryBudget): Promise<DnsResult> {
    this.asked.push(question);
    if (question.dnssecOk || question.checkingDisabled) this.dnssecScopes.push(budget?.scope);
    return super.query(endpoint, question, budget);
  }
}

describe('DNSSEC chain checks against knot and a validating unbound', () => {
  let world: DnssecWorld;
  const check = async (name: keyof typeof DNSSEC_TOKENS) => {
    const transport = new RecordingTransport({ timeoutMs: 400, attempts: 2 });
    const prober = new DnsProber(transport, { resolvers: world.resolvers, authoritativePort: world.port });
    const identity = easyDkimIdentity(`${name}.test`, DNSSEC_TOKENS[name]);
    const records = expectedDkimRecords(identity);
    const observation = await prober.observe(`${name}.test`, records);
    const report = assessIdentity({ identity, records }, observation);
    return { report, observation, asked: transport.asked, scopes: transport.dnssecScopes };
  };
  const codes = (report: IdentityReport) => [
    ...report.findings.map((f) => f.code),
    ...report.records.flatMap((r) => r.findings.map((f) => f.code)),
  ];

  beforeAll(async () => {
    world = await startDnssecWorld(PORT);
  }, 60_000);
  afterAll(async () => {
    await world?.stop();
  });

  it("a zone knot signs, with the parent's DS: healthy, and knot's signatures verify here", async () => {
    const { report, observation } = await check('signed');
    expect(codes(report)).toEqual([]);
    expect(report.health).toBe('HEALTHY');
    const dnssec = observation.zone.dnssec;
    expect(dnssec?.ds.kind).toBe('found');
    const keys = (dnssec?.keys[0]?.rrset?.data ?? []) as DnskeyRecord[];
    const zoneKeys = keys.filter((k) => (k.flags & ZONE_KEY_FLAG) !== 0);
    expect(dnssec?.records).toHaveLength(3);
    for (const record of dnssec?.records ?? []) {
      if (!record.rrset) throw new Error(`no RRset for ${record.name}`);
      expect(verifyRrset(record.rrset, zoneKeys, 'signed.test', dnssec?.checkedAt ?? 0).kind).toBe('SECURE');
    }
  });

  it('the DS left from the old provider: one DS mismatch for the zone, named with its fix, no LOOKUP_FAILED', async () => {
    const { report } = await check('moved');
    expect(codes(report)).toEqual(['DNSSEC_DS_MISMATCH']);
    expect(report.health).toBe('AT_RISK');
    const finding = report.findings[0];
    expect(finding?.message).toContain('ns1.moved.test (127.0.88.21:15388) publishes keys');
    expect(finding?.message).toContain('remove the DS record');
    expect(finding?.servers[0]).toMatch(/^ns\.test \(127\.0\.88\.1:15388\)$/);
    // The validating resolvers answered SERVFAIL for every record: the evidence stays in the answers.
    for (const record of report.records) {
      expect(record.answers.filter((a) => a.view === 'public').map((a) => a.rcode)).toEqual(['SERVFAIL', 'SERVFAIL']);
    }
    expect(rootCauseKeys(report)).toEqual(['dnssec-chain|moved.test']);
  });

  it('expired signatures over the DKIM records: which record, which server, since when', async () => {
    const { report } = await check('expired');
    expect(codes(report)).toEqual(['DNSSEC_SIGNATURE_EXPIRED', 'DNSSEC_SIGNATURE_EXPIRED', 'DNSSEC_SIGNATURE_EXPIRED']);
    const when = new Date(world.expiredAt * 1000).toISOString().slice(0, 19);
    for (const [i, token] of DNSSEC_TOKENS.expired.entries()) {
      const message = report.findings[i]?.message ?? '';
      expect(message).toContain(`${token}._domainkey.expired.test (CNAME) on ns1.expired.test (127.0.88.31:15388)`);
      expect(message).toContain(`expired at ${when}Z (2 hours ago)`);
    }
    expect(report.health).toBe('AT_RISK');
    expect(rootCauseKeys(report)).toEqual(['dnssec-signatures|expired.test']);
  });

  it('an unsigned server in a signed zone (a former provider) is named; the SERVFAIL it causes is explained', async () => {
    const { report } = await check('split');
    expect(codes(report)).toEqual(['DNSSEC_UNSIGNED_SERVER']);
    expect(report.findings[0]?.servers).toEqual(['ns2.split.test (127.0.88.42:15388)']);
    expect(report.records[0]?.answers.some((a) => a.view === 'public' && a.rcode === 'SERVFAIL')).toBe(true);
    expect(report.health).toBe('AT_RISK');
  });

  it('a SERVFAIL no DNSSEC fault explains stays LOOKUP_FAILED', async () => {
    const { report, observation } = await check('flaky');
    expect(report.findings).toEqual([]);
    for (const record of report.records) {
      expect(record.findings.map((f) => [f.code, f.servers])).toEqual([
        ['LOOKUP_FAILED', ['resolver 127.0.88.54:15388']],
      ]);
    }
    expect(observation.zone.dnssec?.resolverChecks.every((c) => !c.answersWithCd)).toBe(true);
    expect(report.health).toBe('UNKNOWN');
  });

  it("every DNSSEC query is charged to the zone's or the identity's budget", async () => {
    const { scopes } = await check('split');
    expect(scopes.length).toBeGreaterThan(5);
    expect([...new Set(scopes)].sort()).toEqual(['identity split.test', 'zone split.test']);
  });

  it('with the identity budget used up, the DNSSEC checks prove nothing: no DNSSEC finding, inconclusive', async () => {
    const transport = new DnsTransport({ timeoutMs: 400, attempts: 2 });
    const prober = new DnsProber(transport, {
      resolvers: world.resolvers,
      authoritativePort: world.port,
      budgets: { queriesPerIdentity: 6 },
    });
    const identity = easyDkimIdentity('expired.test', DNSSEC_TOKENS.expired);
    const records = expectedDkimRecords(identity);
    const report = assessIdentity({ identity, records }, await prober.observe('expired.test', records));
    expect(codes(report).filter((c) => c.startsWith('DNSSEC_'))).toEqual([]);
    expect(codes(report)).toContain('LOOKUP_FAILED');
    expect(report.health).toBe('UNKNOWN');
  });

  it('identities sharing records (two regions) ask for their signatures once', async () => {
    const transport = new RecordingTransport({ timeoutMs: 400, attempts: 2 });
    const prober = new DnsProber(transport, { resolvers: world.resolvers, authoritativePort: world.port });
    const records = expectedDkimRecords(easyDkimIdentity('signed.test', DNSSEC_TOKENS.signed));
    await prober.observe('signed.test', records);
    const first = transport.asked.filter((q) => q.dnssecOk).length;
    const second = await prober.observe('signed.test', records);
    expect(transport.asked.filter((q) => q.dnssecOk).length).toBe(first);
    expect(second.zone.dnssec?.records).toHaveLength(3);
  });

  it('a zone without DS costs one DNSSEC query', async () => {
    const { report, asked, observation } = await check('plain');
    expect(report.health).toBe('HEALTHY');
    expect((observation as IdentityObservation).zone.dnssec?.ds.kind).toBe('none');
    expect(asked.filter((q) => q.dnssecOk || q.checkingDisabled)).toEqual([
      { name: 'plain.test', type: 'DS', recursionDesired: false, dnssecOk: true },
    ]);
  });
});
