import type { IdentityObservation } from '../../lambda/domain/assess-identity';
import type { ExpectedRecord } from '../../lambda/domain/expected-records';
import type { RecordAnswer, ServerRef, ZoneObservation } from '../../lambda/domain/observations';
import type { DkimDnsProbe } from '../../lambda/ports';

const authoritative: ServerRef = { name: 'ns1.provider.test', address: '192.0.2.53', port: 53, view: 'authoritative' };
const resolver: ServerRef = { name: '1.1.1.1', address: '1.1.1.1', port: 53, view: 'public' };
const KEY = `v=DKIM1; k=rsa; p=${Buffer.alloc(270, 7).toString('base64')}`;

/**
 * A DNS probe without sockets: every expected record is published exactly as expected, except the names in
 * `missing` (NXDOMAIN on the zone's one server and through the resolver). Counts what it was asked.
 */
export class FakeProbe implements DkimDnsProbe {
  readonly observed: string[] = [];
  constructor(private readonly missing: ReadonlySet<string> = new Set()) {}

  async observe(domain: string, records: readonly ExpectedRecord[]): Promise<IdentityObservation> {
    this.observed.push(domain);
    const zone: ZoneObservation = {
      zone: domain,
      parentZone: domain.slice(domain.indexOf('.') + 1),
      parentNs: [authoritative.name],
      servers: [
        {
          server: authoritative,
          listedBy: ['parent', 'zone'],
          apexNs: [authoritative.name],
          soa: { mname: authoritative.name, serial: 1 },
        },
      ],
      unresolvedNs: [],
      problems: [],
    };
    const answers = new Map<string, RecordAnswer[]>();
    for (const record of records) {
      if (this.missing.has(record.name)) {
        answers.set(record.name, [
          { server: authoritative, outcome: 'NXDOMAIN', rcode: 'NXDOMAIN' },
          { server: resolver, outcome: 'NXDOMAIN', rcode: 'NXDOMAIN' },
        ]);
      } else if (record.type === 'CNAME') {
        answers.set(record.name, [
          { server: authoritative, outcome: 'ANSWER', rcode: 'NOERROR', cname: record.value },
          {
            server: resolver,
            outcome: 'ANSWER',
            rcode: 'NOERROR',
            cname: record.value,
            txt: [KEY],
            keyOutcome: 'ANSWER',
          },
        ]);
      } else {
        answers.set(record.name, [
          { server: authoritative, outcome: 'ANSWER', rcode: 'NOERROR', txt: [KEY] },
          { server: resolver, outcome: 'ANSWER', rcode: 'NOERROR', txt: [KEY] },
        ]);
      }
    }
    return { zone, answers };
  }
}
