import { describe, expect, it } from 'vitest';
import { classifyAnswer, diagnoseRecord } from '../../lambda/domain/diagnose-record';
import type { ExpectedRecord } from '../../lambda/domain/expected-records';
import type { RecordAnswer, ServerRef } from '../../lambda/domain/observations';

const EASY: ExpectedRecord = {
  name: 'tok1._domainkey.example.com',
  type: 'CNAME',
  value: 'tok1.dkim.amazonses.com',
  kind: 'EASY_DKIM',
  domain: 'example.com',
};
const BYO: ExpectedRecord = {
  name: 'sel._domainkey.example.com',
  type: 'TXT',
  value: 'v=DKIM1; k=rsa; p=<your public key>',
  kind: 'BYODKIM',
  domain: 'example.com',
};
const KEY = `v=DKIM1; k=rsa; p=${Buffer.alloc(270, 1).toString('base64')}`;
const ns = (n: number): ServerRef => ({
  name: `ns${n}.example.com`,
  address: `192.0.2.${n}`,
  port: 53,
  view: 'authoritative',
});
const resolver = (address = '1.1.1.1'): ServerRef => ({ name: address, address, port: 53, view: 'public' });
const answer = (server: ServerRef, fields: Partial<RecordAnswer>): RecordAnswer => ({
  server,
  outcome: 'ANSWER',
  rcode: 'NOERROR',
  ...fields,
});
const cnameOk = (server: ServerRef) =>
  answer(
    server,
    server.view === 'public' ? { cname: EASY.value, txt: [KEY], keyOutcome: 'ANSWER' } : { cname: EASY.value },
  );

describe('classifyAnswer', () => {
  const cases: [string, ExpectedRecord, RecordAnswer, string][] = [
    ['the expected CNAME at a nameserver', EASY, cnameOk(ns(1)), 'OK'],
    ['the expected CNAME and its key at a resolver', EASY, cnameOk(resolver()), 'OK'],
    ['a CNAME to another target', EASY, answer(ns(1), { cname: 'tok2.dkim.amazonses.com' }), 'MISMATCH'],
    ['NXDOMAIN', EASY, answer(ns(1), { outcome: 'NXDOMAIN', rcode: 'NXDOMAIN' }), 'MISSING'],
    ['NODATA', EASY, answer(ns(1), { outcome: 'NODATA' }), 'MISSING'],
    [
      'A records where the CNAME should be',
      EASY,
      answer(ns(1), { outcome: 'NODATA', other: ['A 104.16.0.1'] }),
      'PROXIED',
    ],
    [
      'a TXT where the CNAME should be',
      EASY,
      answer(ns(1), { outcome: 'NODATA', other: [`TXT "${KEY}"`] }),
      'WRONG_TYPE',
    ],
    ['a TXT at the name seen by a resolver', EASY, answer(resolver(), { txt: [KEY] }), 'WRONG_TYPE'],
    [
      'a record under a doubled name',
      EASY,
      answer(ns(1), { outcome: 'NXDOMAIN', rcode: 'NXDOMAIN', doubled: { name: 'x', values: ['CNAME y'] } }),
      'DOUBLED',
    ],
    [
      'the right CNAME with no key behind it',
      EASY,
      answer(resolver(), { cname: EASY.value, txt: [], keyOutcome: 'NXDOMAIN' }),
      'KEY_MISSING',
    ],
    [
      'the right CNAME whose key lookup timed out',
      EASY,
      answer(resolver(), { cname: EASY.value, keyOutcome: 'TIMEOUT' }),
      'INCONCLUSIVE',
    ],
    ['a timeout', EASY, answer(ns(1), { outcome: 'TIMEOUT', rcode: 'TIMEOUT' }), 'INCONCLUSIVE'],
    ['SERVFAIL', EASY, answer(ns(1), { outcome: 'SERVFAIL', rcode: 'SERVFAIL' }), 'INCONCLUSIVE'],
    ['REFUSED', EASY, answer(ns(1), { outcome: 'REFUSED', rcode: 'REFUSED' }), 'INCONCLUSIVE'],
    ['an answer without the AA flag', EASY, answer(ns(1), { outcome: 'NOT_AUTHORITATIVE' }), 'INCONCLUSIVE'],
    ['a valid BYODKIM key', BYO, answer(ns(1), { txt: [KEY] }), 'OK'],
    ['a revoked BYODKIM key', BYO, answer(ns(1), { txt: ['v=DKIM1; k=rsa; p='] }), 'KEY_INVALID'],
    ['two BYODKIM keys', BYO, answer(ns(1), { txt: [KEY, KEY] }), 'KEY_INVALID'],
    ['a BYODKIM key delegated by CNAME, at a nameserver', BYO, answer(ns(1), { cname: 'sel.keys.example.net' }), 'OK'],
    [
      'a BYODKIM key delegated by CNAME, resolved',
      BYO,
      answer(resolver(), { cname: 'sel.keys.example.net', txt: [KEY], keyOutcome: 'ANSWER' }),
      'OK',
    ],
    ['a missing BYODKIM key', BYO, answer(ns(1), { outcome: 'NXDOMAIN', rcode: 'NXDOMAIN' }), 'MISSING'],
  ];
  it.each(cases)('%s → %s', (_label, expected, given, verdict) => {
    expect(classifyAnswer(expected, given).kind).toBe(verdict);
  });
});

describe('diagnoseRecord', () => {
  const codes = (answers: RecordAnswer[], expected = EASY) => diagnoseRecord(expected, answers).map((f) => f.code);

  it('gives no finding when every server and resolver has the record', () => {
    expect(codes([cnameOk(ns(1)), cnameOk(ns(2)), cnameOk(resolver())])).toEqual([]);
  });

  it('never calls a record missing because of timeouts, SERVFAIL or REFUSED', () => {
    const findings = diagnoseRecord(EASY, [
      cnameOk(ns(1)),
      answer(ns(2), { outcome: 'TIMEOUT', rcode: 'TIMEOUT', detail: 'no answer within 2000 ms (3 tries)' }),
      answer(ns(3), { outcome: 'SERVFAIL', rcode: 'SERVFAIL', detail: 'SERVFAIL (server failure)' }),
      answer(resolver(), { outcome: 'REFUSED', rcode: 'REFUSED', detail: 'REFUSED' }),
    ]);

    expect(findings.map((f) => f.code)).toEqual(['LOOKUP_FAILED', 'LOOKUP_FAILED', 'LOOKUP_FAILED']);
    expect(findings.every((f) => f.severity === 'inconclusive')).toBe(true);
    expect(findings[0]?.servers).toEqual(['ns2.example.com (192.0.2.2)']);
  });

  it('names each server and its answer when nameservers disagree, right ones first', () => {
    const findings = diagnoseRecord(
      EASY,
      [answer(ns(9), { outcome: 'NXDOMAIN', rcode: 'NXDOMAIN' }), cnameOk(ns(1)), cnameOk(ns(2))],
      { zone: 'example.com', serials: new Map([['ns9.example.com (192.0.2.9)', 7]]) },
    );

    expect(findings.map((f) => f.code)).toEqual(['NAMESERVERS_DISAGREE', 'RECORD_MISSING']);
    expect(findings[0]?.message).toContain(
      'ns1.example.com (192.0.2.1) and ns2.example.com (192.0.2.2) say CNAME tok1.dkim.amazonses.com; ns9.example.com (192.0.2.9) says NXDOMAIN (no such name) [zone serial 7]',
    );
    expect(findings[0]?.dig).toBe(
      'dig @192.0.2.9 +norecurse +noall +answer +comments tok1._domainkey.example.com CNAME',
    );
    expect(findings[1]?.servers).toEqual(['ns9.example.com (192.0.2.9)']);
  });

  it('tells a lagging secondary (same primary, older serial) from a former provider', () => {
    const label = (n: number) => `ns${n}.example.com (192.0.2.${n})`;
    const context = {
      zone: 'example.com',
      serials: new Map([
        [label(1), 2026112302],
        [label(2), 2026112301],
      ]),
      primaries: new Map([
        [label(1), 'ns1.example.com'],
        [label(2), 'ns1.example.com'],
      ]),
    };
    const lagging = diagnoseRecord(
      EASY,
      [cnameOk(ns(1)), answer(ns(2), { outcome: 'NXDOMAIN', rcode: 'NXDOMAIN' })],
      context,
    );
    const former = diagnoseRecord(EASY, [cnameOk(ns(1)), answer(ns(2), { outcome: 'NXDOMAIN', rcode: 'NXDOMAIN' })], {
      ...context,
      primaries: new Map([
        [label(1), 'ns1.example.com'],
        [label(2), 'ns.old-provider.net'],
      ]),
    });

    expect(lagging[0]?.message).toContain(
      'serves an older serial of the same zone (primary ns1.example.com): a secondary that has not transferred the latest zone',
    );
    expect(former[0]?.message).toContain('if it belongs to a former provider');
  });

  it('reports one mismatch finding per wrong value, naming servers of both views', () => {
    const wrong = { cname: 'tok1x.dkim.amazonses.com' };
    const findings = diagnoseRecord(EASY, [
      answer(ns(1), wrong),
      answer(ns(2), wrong),
      answer(resolver(), { ...wrong, txt: [], keyOutcome: 'NXDOMAIN' }),
    ]);

    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ code: 'RECORD_MISMATCH', severity: 'problem' });
    expect(findings[0]?.servers).toHaveLength(3);
    expect(findings[0]?.fixes).toEqual([
      { action: 'remove', name: EASY.name, type: 'CNAME', value: 'tok1x.dkim.amazonses.com' },
      { action: 'publish', name: EASY.name, type: 'CNAME', value: EASY.value },
    ]);
  });

  it('folds resolvers that find nothing into DOUBLED_DOMAIN when a nameserver shows the doubled name', () => {
    const doubled = { name: `${EASY.name}.example.com`, values: [`CNAME ${EASY.value}`] };
    const findings = codes([
      answer(ns(1), { outcome: 'NXDOMAIN', rcode: 'NXDOMAIN', doubled }),
      answer(resolver(), { outcome: 'NXDOMAIN', rcode: 'NXDOMAIN' }),
    ]);

    expect(findings).toEqual(['DOUBLED_DOMAIN']);
  });

  it('names CNAME flattening as the likely cause when the DKIM key itself answers at the name', () => {
    const findings = diagnoseRecord(EASY, [answer(ns(1), { outcome: 'NODATA', other: [`TXT "${KEY}"`] })]);

    expect(findings[0]?.code).toBe('WRONG_RECORD_TYPE');
    expect(findings[0]?.message).toContain('flattening the CNAME');
  });

  it('reports resolvers that disagree', () => {
    expect(
      codes([
        cnameOk(ns(1)),
        cnameOk(resolver('1.1.1.1')),
        answer(resolver('8.8.8.8'), { outcome: 'NXDOMAIN', rcode: 'NXDOMAIN' }),
      ]),
    ).toEqual(['RESOLVERS_DISAGREE', 'RECORD_MISSING']);
  });

  it('treats a record with no authoritative answer at all as unverified', () => {
    const findings = diagnoseRecord(EASY, [cnameOk(resolver())]);

    expect(findings.map((f) => [f.code, f.severity])).toEqual([['LOOKUP_FAILED', 'inconclusive']]);
  });

  it('escapes control characters from hostile answers in messages', () => {
    const findings = diagnoseRecord(EASY, [answer(ns(1), { cname: 'evil\u001b[2J.example' })]);

    expect(findings[0]?.message).toContain('evil\\x1b[2J.example');
    expect(findings[0]?.message).not.toContain('\u001b');
  });

  it('names a CNAME target that is no DNS name as such and digs the record that points at it', () => {
    const target = '$(touch /tmp/pwned).`id`.evil.example';
    const findings = diagnoseRecord(BYO, [
      answer(ns(1), { cname: target }),
      answer(resolver(), { cname: target, keyOutcome: 'NXDOMAIN' }),
    ]);

    expect(findings.map((f) => f.code)).toEqual(['KEY_MISSING']);
    expect(findings[0]?.message).toContain(
      'sel._domainkey.example.com points to "$(touch /tmp/pwned).`id`.evil.example" (not a valid DNS name)',
    );
    expect(findings[0]?.dig).toBe('dig @1.1.1.1 +noall +answer +comments sel._domainkey.example.com CNAME');
  });

  it('digs the doubled name when it is a DNS name, and the record otherwise', () => {
    const doubled = (name: string) =>
      diagnoseRecord(EASY, [
        answer(ns(1), { outcome: 'NXDOMAIN', rcode: 'NXDOMAIN', doubled: { name, values: ['CNAME x'] } }),
      ]);

    expect(doubled('tok1._domainkey.example.com.example.com')[0]?.dig).toBe(
      'dig @192.0.2.1 +norecurse +noall +answer +comments tok1._domainkey.example.com.example.com CNAME',
    );
    const hostile = doubled('tok1._domainkey.example.com.$(id)')[0];
    expect(hostile?.message).toContain('"tok1._domainkey.example.com.$(id)" (not a valid DNS name)');
    expect(hostile?.dig).toBe('dig @192.0.2.1 +norecurse +noall +answer +comments tok1._domainkey.example.com CNAME');
  });
});
