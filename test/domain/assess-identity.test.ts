import { describe, expect, it } from 'vitest';
import { assessIdentity, type Health, identityHealth } from '../../lambda/domain/assess-identity';
import { expectedDkimRecords } from '../../lambda/domain/expected-records';
import type { Finding, Severity } from '../../lambda/domain/findings';
import type { RecordAnswer, ZoneObservation } from '../../lambda/domain/observations';
import type { DkimStatus, SesIdentity } from '../../lambda/domain/ses-identity';

function identity(
  status: DkimStatus | undefined,
  signingEnabled = true,
  extra: Partial<SesIdentity> = {},
): SesIdentity {
  return {
    name: 'example.com',
    region: 'eu-west-1',
    type: 'DOMAIN',
    dkim: { signingEnabled, status, tokens: ['tok1'], origin: 'AWS_SES' },
    ...extra,
  };
}
const finding = (severity: Severity): Finding => ({
  code: 'RECORD_MISSING',
  severity,
  message: 'm',
  servers: [],
  dig: 'dig',
});

describe('identityHealth', () => {
  const cases: [string, SesIdentity, Severity[], Health][] = [
    ['SUCCESS and nothing wrong', identity('SUCCESS'), [], 'HEALTHY'],
    ['SUCCESS with a warning only', identity('SUCCESS'), ['warning', 'info'], 'HEALTHY'],
    ['SUCCESS but a record definitively wrong', identity('SUCCESS'), ['problem', 'inconclusive'], 'AT_RISK'],
    ['SUCCESS with an inconclusive lookup', identity('SUCCESS'), ['inconclusive'], 'UNKNOWN'],
    ['TEMPORARY_FAILURE', identity('TEMPORARY_FAILURE'), [], 'FAILING'],
    ['FAILED', identity('FAILED'), [], 'REVOKED'],
    ['FAILED with signing off', identity('FAILED', false), [], 'REVOKED'],
    ['PENDING with broken records (SES fails the setup after 72 h)', identity('PENDING'), ['problem'], 'AT_RISK'],
    ['PENDING with records still unverified', identity('PENDING'), ['inconclusive'], 'PENDING'],
    ['signing turned off', identity('SUCCESS', false), ['problem'], 'DISABLED'],
    ['setup not started', identity('NOT_STARTED'), [], 'DISABLED'],
    ['no DKIM attributes', identity(undefined, false), [], 'DISABLED'],
  ];
  it.each(cases)('%s → %s', (_label, given, severities, health) => {
    expect(identityHealth(given, severities.map(finding))).toBe(health);
  });
});

describe('assessIdentity', () => {
  const server = { name: 'ns1.example.com', address: '192.0.2.1', port: 53, view: 'authoritative' as const };
  const zone = (serials: [string, number][]): ZoneObservation => ({
    zone: 'example.com',
    parentZone: 'com',
    parentNs: ['ns1.example.com'],
    servers: serials.map(([address, serial]) => ({
      server: { ...server, name: `ns-${address}.example.com`, address },
      listedBy: ['parent', 'zone'] as const,
      apexNs: ['ns1.example.com'],
      soa: { mname: `ns-${address}.example.com`, serial },
    })),
    unresolvedNs: [],
    problems: [],
  });

  it('points at the server whose SOA serial SES last read when servers differ', () => {
    const ses = identity('TEMPORARY_FAILURE', true, {
      verificationInfo: { soaRecord: { primaryNameServer: 'ns-old.example.net', serialNumber: 1 } },
    });
    const report = assessIdentity(
      { identity: ses, records: expectedDkimRecords(ses) },
      {
        zone: zone([
          ['192.0.2.1', 5],
          ['192.0.2.9', 1],
        ]),
        answers: new Map(),
      },
    );

    const message = report.findings.find((f) => f.code === 'SES_DKIM_TEMPORARY_FAILURE')?.message;
    expect(message).toContain(
      'SES last read SOA serial 1 (primary ns-old.example.net): that is the zone ns-192.0.2.9.example.com (192.0.2.9) serves',
    );
  });

  it('tells a FAILING identity whose records all check out again that SES only has to recheck', () => {
    const ses = identity('TEMPORARY_FAILURE');
    const records = expectedDkimRecords(ses);
    const ok: RecordAnswer[] = [
      { server, outcome: 'ANSWER', rcode: 'NOERROR', cname: 'tok1.dkim.amazonses.com' },
      {
        server: { ...server, view: 'public', name: '1.1.1.1', address: '1.1.1.1' },
        outcome: 'ANSWER',
        rcode: 'NOERROR',
        cname: 'tok1.dkim.amazonses.com',
        txt: [`p=${Buffer.alloc(270, 1).toString('base64')}`],
        keyOutcome: 'ANSWER',
      },
    ];
    const report = assessIdentity(
      { identity: ses, records },
      { zone: zone([]), answers: new Map([[records[0]?.name ?? '', ok]]) },
    );

    expect(report.health).toBe('FAILING');
    expect(report.findings.find((f) => f.code === 'SES_DKIM_TEMPORARY_FAILURE')?.message).toContain(
      'Every record now checks out',
    );
  });

  it('is UNKNOWN, not HEALTHY, when SES succeeds but no records could be derived', () => {
    const ses = { ...identity('SUCCESS'), dkim: { ...identity('SUCCESS').dkim, tokens: [] } };
    const report = assessIdentity({ identity: ses, records: [] }, undefined);

    expect(report.health).toBe('UNKNOWN');
    expect(report.findings.map((f) => f.code)).toEqual(['NO_DKIM_RECORDS']);
  });

  it('reports every answer with its server, view, rcode and values', () => {
    const ses = identity('SUCCESS');
    const records = expectedDkimRecords(ses);
    const answers: RecordAnswer[] = [{ server, outcome: 'ANSWER', rcode: 'NOERROR', cname: 'tok1.dkim.amazonses.com' }];
    const report = assessIdentity(
      { identity: ses, records },
      { zone: zone([]), answers: new Map([[records[0]?.name ?? '', answers]]) },
    );

    expect(report.records[0]?.answers).toEqual([
      {
        server: 'ns1.example.com (192.0.2.1)',
        view: 'authoritative',
        rcode: 'NOERROR',
        values: ['CNAME tok1.dkim.amazonses.com'],
        verdict: 'OK',
      },
    ]);
  });

  it('quotes an address identity in the aws sesv2 commands it suggests', () => {
    const address = "a$(id)|b`id`'c@example.com";
    const ses: SesIdentity = {
      name: address,
      region: 'eu-west-1',
      type: 'EMAIL_ADDRESS',
      dkim: { signingEnabled: false, status: 'SUCCESS', tokens: [] },
    };
    const report = assessIdentity({ identity: ses, records: [] }, undefined);
    const quoted = `'a$(id)|b\`id\`'\\''c@example.com'`;

    const signing = report.findings.find((f) => f.code === 'SIGNING_DISABLED');
    expect(signing?.message).toContain(
      `To sign: aws sesv2 put-email-identity-dkim-attributes --email-identity ${quoted} --signing-enabled --region eu-west-1`,
    );
    expect(signing?.dig).toBe(`aws sesv2 get-email-identity --email-identity ${quoted} --region eu-west-1`);
  });
});
