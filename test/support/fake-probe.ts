import type { IdentityObservation } from '../../lambda/domain/assess-identity';
import type { ExpectedRecord, MailAuthPlan } from '../../lambda/domain/expected-records';
import {
  lookupKey,
  type MailAuthAnswer,
  type MailAuthLookupObservation,
  type MailAuthObservation,
} from '../../lambda/domain/mail-auth-observations';
import type { RecordAnswer, ServerRef, ZoneObservation } from '../../lambda/domain/observations';
import type { IdentityProbe } from '../../lambda/ports';

const authoritative: ServerRef = { name: 'ns1.provider.test', address: '192.0.2.53', port: 53, view: 'authoritative' };
const resolver: ServerRef = { name: '1.1.1.1', address: '1.1.1.1', port: 53, view: 'public' };
const KEY = `v=DKIM1; k=rsa; p=${Buffer.alloc(270, 7).toString('base64')}`;
const SES_SPF = 'v=spf1 include:amazonses.com ~all';

/**
 * A DNS probe without sockets: every expected record is published exactly as expected, except the names in
 * `missing` (NXDOMAIN on the zone's one server and through the resolver). Counts what it was asked. The
 * MAIL FROM records are SES's MX and SPF; every `_dmarc.<domain>` holds `v=DMARC1; p=reject` (and the
 * organizational domain's lookup nothing), again except the names in `missing`.
 */
export class FakeProbe implements IdentityProbe {
  readonly observed: string[] = [];
  /** The MAIL FROM and DMARC plans probed, in order. */
  readonly observedMailAuth: MailAuthPlan[] = [];
  constructor(private readonly missing: ReadonlySet<string> = new Set()) {}

  async observeMailAuth(plan: MailAuthPlan): Promise<MailAuthObservation> {
    this.observedMailAuth.push(plan);
    const lookups = new Map<string, MailAuthLookupObservation>();
    const add = (name: string, type: 'MX' | 'TXT', data: Pick<MailAuthAnswer, 'mx' | 'txt'> | undefined) => {
      const answer = (server: ServerRef): MailAuthAnswer =>
        !data || this.missing.has(name)
          ? { server, outcome: 'NXDOMAIN', rcode: 'NXDOMAIN' }
          : { server, outcome: 'ANSWER', rcode: 'NOERROR', ...data };
      lookups.set(lookupKey(name, type), {
        name,
        type,
        zone: name.slice(name.indexOf('.') + 1),
        answers: [answer(authoritative), answer(resolver)],
        problems: [],
      });
    };
    if (plan.mailFrom) {
      add(plan.mailFrom.domain, 'MX', { mx: [{ preference: 10, exchange: plan.mailFrom.mxHost }] });
      add(plan.mailFrom.domain, 'TXT', { txt: [SES_SPF] });
    }
    for (const [index, lookup] of (plan.dmarc?.lookups ?? []).entries()) {
      add(lookup.name, 'TXT', index === 0 ? { txt: ['v=DMARC1; p=reject'] } : undefined);
    }
    const spf = new Map([
      [SES_SPF, { lookups: 1, exceeded: false, authorizes: ['amazonses.com'], errors: [], unfollowed: [] }],
    ]);
    return { lookups, spf };
  }

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
