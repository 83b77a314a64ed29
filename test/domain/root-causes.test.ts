import { describe, expect, it } from 'vitest';
import { assessIdentity } from '../../lambda/domain/assess-identity';
import { expectedDkimRecords } from '../../lambda/domain/expected-records';
import type { RecordAnswer, ServerRef, ZoneObservation } from '../../lambda/domain/observations';
import { rootCauseKeys } from '../../lambda/domain/root-causes';
import type { SesIdentity } from '../../lambda/domain/ses-identity';

const ses: SesIdentity = {
  name: 'example.com',
  region: 'eu-west-1',
  type: 'DOMAIN',
  dkim: {
    signingEnabled: true,
    status: 'TEMPORARY_FAILURE',
    tokens: ['tokaaaa1', 'tokbbbb2', 'tokcccc3'],
    origin: 'AWS_SES',
  },
};
const records = expectedDkimRecords(ses);
const ns = (name: string, address: string): ServerRef => ({ name, address, port: 53, view: 'authoritative' });
const resolver: ServerRef = { name: '1.1.1.1', address: '1.1.1.1', port: 53, view: 'public' };
const NEW = ns('ns1.new.example', '192.0.2.1');
const OLD = ns('ns-old.legacy.example', '192.0.2.9');

function zone(
  servers: { ref: ServerRef; serial: number; primary: string; listedBy: ('parent' | 'zone')[] }[],
): ZoneObservation {
  return {
    zone: 'example.com',
    parentZone: 'com',
    parentNs: servers.map((s) => s.ref.name),
    servers: servers.map((s) => ({
      server: s.ref,
      listedBy: s.listedBy,
      apexNs: servers.map((x) => x.ref.name),
      soa: { mname: s.primary, serial: s.serial },
    })),
    unresolvedNs: [],
    problems: [],
  };
}
const right = (server: ServerRef, i: number): RecordAnswer => ({
  server,
  outcome: 'ANSWER',
  rcode: 'NOERROR',
  cname: records[i]?.value,
  ...(server.view === 'public'
    ? { txt: [`v=DKIM1; k=rsa; p=${Buffer.alloc(294, 1).toString('base64')}`], keyOutcome: 'ANSWER' as const }
    : {}),
});
const cname = (server: ServerRef, value: string): RecordAnswer => ({
  server,
  outcome: 'ANSWER',
  rcode: 'NOERROR',
  cname: value,
});
const nx = (server: ServerRef): RecordAnswer => ({ server, outcome: 'NXDOMAIN', rcode: 'NXDOMAIN' });

function assess(z: ZoneObservation, answers: (i: number) => RecordAnswer[]) {
  return assessIdentity(
    { identity: ses, records },
    { zone: z, answers: new Map(records.map((r, i) => [r.name, answers(i)])) },
  );
}

describe('rootCauses', () => {
  it('incident 2: a stale provider still delegated is one cause, removing it from the delegation, with no record to publish', () => {
    const z = zone([
      { ref: NEW, serial: 2026112301, primary: 'ns1.new.example', listedBy: ['parent', 'zone'] },
      { ref: OLD, serial: 2024031502, primary: 'ns-old.legacy.example', listedBy: ['parent', 'zone'] },
    ]);
    const report = assess(z, (i) => [right(NEW, i), nx(OLD), i === 0 ? nx(resolver) : right(resolver, i)]);

    expect(report.causes?.map((c) => c.code)).toEqual(['STALE_NAMESERVER']);
    const [cause] = report.causes ?? [];
    expect(cause?.summary).toBe(
      "ns-old.legacy.example (192.0.2.9) is still in the registrar's delegation and in the zone's NS records and serves an older copy of the zone (serial 2024031502; the current servers serve 2026112301): it lacks all 3 DKIM records.",
    );
    expect(cause?.fix).toMatch(
      /^Remove ns-old\.legacy\.example from the registrar's NS list for example\.com and the zone's NS records/,
    );
    expect(cause?.changes).toEqual([]);
    expect(cause?.records).toEqual(records.map((r) => r.name));
    expect(cause?.servers).toEqual(['ns-old.legacy.example (192.0.2.9)']);
    expect(cause?.evidence[0]).toContain(
      'NXDOMAIN (no such name) on ns-old.legacy.example (192.0.2.9) [serial 2024031502]',
    );
    // Every DNS finding of the incident is evidence under that one cause.
    expect(cause?.findings).toEqual(['NAMESERVERS_DISAGREE', 'RECORD_MISSING']);
  });

  it('a secondary with an older serial of the same primary is a lagging secondary, fixed by a zone transfer', () => {
    const z = zone([
      { ref: NEW, serial: 7, primary: 'ns1.new.example', listedBy: ['parent', 'zone'] },
      { ref: OLD, serial: 5, primary: 'ns1.new.example', listedBy: ['parent', 'zone'] },
    ]);
    const report = assess(z, (i) => [right(NEW, i), nx(OLD)]);

    expect(report.causes?.map((c) => c.code)).toEqual(['LAGGING_SECONDARY']);
    expect(report.causes?.[0]?.fix).toMatch(
      /^Make ns-old\.legacy\.example transfer the zone from its primary ns1\.new\.example/,
    );
  });

  it('incident 1: a mistyped value is one cause naming the record and the differing characters', () => {
    const z = zone([{ ref: NEW, serial: 1, primary: 'ns1.new.example', listedBy: ['parent', 'zone'] }]);
    const typo = 'tokcccc3.dkim.amazonses.com'.replace('cc3', 'c3c');
    const report = assess(z, (i) => [i === 2 ? cname(NEW, typo) : right(NEW, i)]);

    expect(report.causes).toHaveLength(1);
    const [cause] = report.causes ?? [];
    expect(cause?.code).toBe('VALUE_TYPO');
    expect(cause?.summary).toContain(
      'record 3 (tokcccc3._domainkey.example.com) has a typo in its value (characters 7-8: "c3" expected, "3c" found)',
    );
    expect(cause?.fix).toBe('Change the value of tokcccc3._domainkey.example.com to tokcccc3.dkim.amazonses.com.');
    expect(cause?.diff).toEqual(expect.objectContaining({ start: 6, expectedEnd: 8, actualEnd: 8 }));
  });

  it('records missing everywhere are one cause with one publish change each', () => {
    const z = zone([{ ref: NEW, serial: 1, primary: 'ns1.new.example', listedBy: ['parent', 'zone'] }]);
    const report = assess(z, (i) => [i === 1 ? right(NEW, i) : nx(NEW)]);

    expect(report.causes?.map((c) => c.code)).toEqual(['RECORDS_MISSING']);
    expect(report.causes?.[0]?.changes.map((c) => `${c.action} ${c.name}`)).toEqual([
      'publish tokaaaa1._domainkey.example.com',
      'publish tokcccc3._domainkey.example.com',
    ]);
  });

  it('tokens swapped between two names are one cause, MISNAMED_RECORD, naming both records', () => {
    const z = zone([{ ref: NEW, serial: 1, primary: 'ns1.new.example', listedBy: ['parent', 'zone'] }]);
    const values = records.map((r) => r.value);
    const report = assess(z, (i) => [
      i === 0 ? cname(NEW, values[1] as string) : i === 1 ? cname(NEW, values[0] as string) : right(NEW, i),
    ]);

    expect(report.records.map((r) => r.findings.map((f) => f.code))).toEqual([
      ['MISNAMED_RECORD'],
      ['MISNAMED_RECORD'],
      [],
    ]);
    expect(report.causes).toHaveLength(1);
    expect(report.causes?.[0]?.summary).toContain("hold each other's values: the tokens were swapped between names");
  });

  it('a value with the zone appended is MISNAMED_RECORD, with the appended part as the diff', () => {
    const z = zone([{ ref: NEW, serial: 1, primary: 'ns1.new.example', listedBy: ['parent', 'zone'] }]);
    const report = assess(z, (i) => [i === 0 ? cname(NEW, `${records[0]?.value}.example.com`) : right(NEW, i)]);

    expect(report.causes?.[0]?.code).toBe('MISNAMED_RECORD');
    expect(report.causes?.[0]?.summary).toContain('the zone example.com was appended to the value');
    expect(report.causes?.[0]?.diff).toEqual(expect.objectContaining({ start: 27, expectedEnd: 27, actualEnd: 39 }));
  });

  it('a timeout is an inconclusive cause after the definite ones, with nothing to change', () => {
    const z = zone([{ ref: NEW, serial: 1, primary: 'ns1.new.example', listedBy: ['parent', 'zone'] }]);
    const timeout: RecordAnswer = { server: OLD, outcome: 'TIMEOUT', rcode: 'TIMEOUT', detail: 'no answer' };
    const report = assess(z, (i) => [i === 0 ? nx(NEW) : right(NEW, i), ...(i === 2 ? [timeout] : [])]);

    expect(report.causes?.map((c) => `${c.code} ${c.severity}`)).toEqual([
      'RECORDS_MISSING problem',
      'LOOKUP_FAILED inconclusive',
    ]);
    expect(report.causes?.[1]?.fix).toBe('');
  });

  it('keeps the lifecycle keys stable: causes group findings, they do not change rootCauseKeys', () => {
    const z = zone([
      { ref: NEW, serial: 2, primary: 'ns1.new.example', listedBy: ['parent'] },
      { ref: OLD, serial: 1, primary: 'ns-old.legacy.example', listedBy: ['parent'] },
    ]);
    const report = assess(z, (i) => [right(NEW, i), nx(OLD)]);

    expect(rootCauseKeys(report)).toEqual(records.map((r) => `record|${r.name}`).sort());
    expect(report.causes?.[0]?.fix).toBe(
      "Remove ns-old.legacy.example from the registrar's NS list for example.com, so that only the current provider answers.",
    );
  });
});
