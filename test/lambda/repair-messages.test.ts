import { describe, expect, it } from 'vitest';
import { checkDkim } from '../../lambda/check-dkim';
import type { Route53ChangeBatch } from '../../lambda/domain/diagnose-route53';
import type { ServerRef } from '../../lambda/domain/observations';
import type { HostedZoneSource, IdentityProbe, IdentitySource } from '../../lambda/ports';
import { recordedCalls } from '../support/shell';

const NS: ServerRef = { name: 'ns1.example.net', address: '192.0.2.1', port: 53, view: 'authoritative' };
const source: IdentitySource = {
  listIdentities: async () => ({
    identities: [
      {
        name: 'example.com',
        region: 'eu-west-1',
        type: 'DOMAIN',
        dkim: { signingEnabled: true, status: 'SUCCESS', tokens: ['tok1'], origin: 'AWS_SES' },
      },
    ],
    errors: [],
  }),
};
const probe: IdentityProbe = {
  observeMailAuth: async () => ({ lookups: new Map(), spf: new Map() }),
  observe: async (domain, records) => ({
    zone: {
      zone: domain,
      parentZone: 'com',
      parentNs: ['ns1.example.net'],
      servers: [{ server: NS, listedBy: ['parent', 'zone'], apexNs: ['ns1.example.net'] }],
      unresolvedNs: [],
      problems: [],
    },
    answers: new Map(records.map((r) => [r.name, [{ server: NS, outcome: 'NXDOMAIN' as const, rcode: 'NXDOMAIN' }]])),
  }),
};

describe('automatic repair messages', () => {
  it('when the repair fails, gives the quoted command that makes the change by hand', async () => {
    const applied: Route53ChangeBatch[] = [];
    const route53: HostedZoneSource = {
      zonesFor: async () => ({
        zones: [{ id: 'ZLIVE', name: 'example.com', nameServers: ['ns1.example.net'], dkimRecords: [] }],
      }),
      apply: async (batch) => {
        applied.push(batch);
        throw Object.assign(new Error("Invalid request: '<!channel>'\u001b[2J\nsecond line"), { name: 'InvalidInput' });
      },
    };

    const report = await checkDkim(source, probe, { route53, autoRepair: true, checkDmarc: false });

    const failed = report.identities[0]?.findings.find((f) => f.code === 'ROUTE53_CHECK_FAILED');
    expect(failed?.message).toContain(
      "failed (InvalidInput: Invalid request: '<!channel>'\\x1b[2J); make the change by hand (tok1._domainkey.example.com CNAME tok1.dkim.amazonses.com): aws route53 change-resource-record-sets --hosted-zone-id ZLIVE --change-batch '{",
    );
    const command = /: (aws route53 .*)$/.exec(failed?.message ?? '')?.[1] ?? '';
    const [call] = recordedCalls(command);
    expect(call?.slice(0, 5)).toEqual(['aws', 'route53', 'change-resource-record-sets', '--hosted-zone-id', 'ZLIVE']);
    expect(JSON.parse(call?.[6] ?? '')).toEqual(applied[0]?.changeBatch);
  });
});
