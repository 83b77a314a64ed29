import { describe, expect, it } from 'vitest';
import { diagnoseRecord } from '../../lambda/domain/diagnose-record';
import type { ExpectedRecord } from '../../lambda/domain/expected-records';
import type { RecordAnswer, ServerRef } from '../../lambda/domain/observations';

const EASY: ExpectedRecord = {
  name: 'tok1._domainkey.example.com',
  type: 'CNAME',
  value: 'tok1.dkim.amazonses.com',
  kind: 'EASY_DKIM',
  domain: 'example.com',
};
const ns1: ServerRef = { name: 'ns1.example.com', address: '192.0.2.1', port: 53, view: 'authoritative' };
const resolver: ServerRef = { name: '1.1.1.1', address: '1.1.1.1', port: 53, view: 'public' };
const nx = (server: ServerRef, extra: Partial<RecordAnswer> = {}): RecordAnswer => ({
  server,
  outcome: 'NXDOMAIN',
  rcode: 'NXDOMAIN',
  ...extra,
});

describe('near-miss names', () => {
  it('a doubled domain removes the record with its value alone (never "CNAME CNAME")', () => {
    const doubled = { name: `${EASY.name}.example.com`, values: [`CNAME ${EASY.value}`] };
    const [finding] = diagnoseRecord(EASY, [nx(ns1, { doubled })]);

    expect(finding?.code).toBe('DOUBLED_DOMAIN');
    expect(finding?.fixes?.[0]).toEqual({ action: 'remove', name: doubled.name, type: 'CNAME', value: EASY.value });
  });

  it('the underscore of _domainkey left out: MISNAMED_RECORD naming what was found where', () => {
    const misnamed = { name: 'tok1.domainkey.example.com', values: [`CNAME ${EASY.value}`] };
    const findings = diagnoseRecord(EASY, [nx(ns1, { misnamed }), nx(resolver)]);

    expect(findings.map((f) => f.code)).toEqual(['MISNAMED_RECORD']);
    expect(findings[0]?.message).toBe(
      'tok1._domainkey.example.com is missing, but tok1.domainkey.example.com holds CNAME tok1.dkim.amazonses.com on ns1.example.com (192.0.2.1) and resolver 1.1.1.1: the underscore of _domainkey was left out. Fix: rename it to tok1._domainkey.example.com.',
    );
    expect(findings[0]?.dig).toBe(
      'dig @192.0.2.1 +norecurse +noall +answer +comments tok1.domainkey.example.com CNAME',
    );
    expect(findings[0]?.fixes?.map((x) => `${x.action} ${x.name}`)).toEqual([
      'remove tok1.domainkey.example.com',
      'publish tok1._domainkey.example.com',
    ]);
  });

  it('the zone appended to the target: MISNAMED_RECORD, not a typo', () => {
    const answer: RecordAnswer = {
      server: ns1,
      outcome: 'ANSWER',
      rcode: 'NOERROR',
      cname: `${EASY.value}.example.com`,
    };
    const [finding] = diagnoseRecord(EASY, [answer], { zone: 'example.com' });

    expect(finding?.code).toBe('MISNAMED_RECORD');
    expect(finding?.message).toContain(
      'the zone example.com was appended to the value (entered without its final dot)',
    );
  });

  it("another record's token: MISNAMED_RECORD naming the record it belongs to", () => {
    const answer: RecordAnswer = { server: ns1, outcome: 'ANSWER', rcode: 'NOERROR', cname: 'tok2.dkim.amazonses.com' };
    const siblings = new Map([['tok2.dkim.amazonses.com', 'tok2._domainkey.example.com']]);
    const [finding] = diagnoseRecord(EASY, [answer], { siblings });

    expect(finding?.code).toBe('MISNAMED_RECORD');
    expect(finding?.message).toContain('that is the value of tok2._domainkey.example.com, so the tokens were swapped');
  });

  it('a near-miss lookup that failed is no evidence: the record is plainly missing', () => {
    // The prober sets `misnamed` only from a definitive answer; without it the verdict stays MISSING.
    expect(diagnoseRecord(EASY, [nx(ns1)]).map((f) => f.code)).toEqual(['RECORD_MISSING']);
  });
});
