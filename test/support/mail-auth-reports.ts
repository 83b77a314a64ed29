/**
 * Reports with MAIL FROM and DMARC sections, for timeline tests through the lifecycle. The sections are made
 * by the real diagnosis (`assessMailAuth`) from a small synthetic observation, so their shape, codes and
 * healths are exactly what a run produces: `withMailAuth(reportFor('example.com', sight), { ... })`.
 */
import type { IdentityReport } from '../../lambda/domain/assess-identity';
import { assessMailAuth } from '../../lambda/domain/diagnose-mail-auth';
import { planMailAuthChecks } from '../../lambda/domain/expected-records';
import {
  lookupKey,
  type MailAuthAnswer,
  type MailAuthLookupObservation,
  type MailAuthObservation,
} from '../../lambda/domain/mail-auth-observations';
import type { ServerRef } from '../../lambda/domain/observations';
import type { MailFromStatus, MxFailureBehavior, SesIdentity } from '../../lambda/domain/ses-identity';

/** What one run sees of an identity's custom MAIL FROM domain. */
export interface MailFromSight {
  readonly ses: MailFromStatus;
  /** ok: MX and SPF right everywhere; the others break one thing on both nameservers and the resolver. */
  readonly dns: 'ok' | 'mx-missing' | 'mx-several' | 'spf-missing' | 'stale' | 'timeout';
  /** @default 'USE_DEFAULT_VALUE' */
  readonly behavior?: MxFailureBehavior;
  /** @default `mail.<identity>` */
  readonly domain?: string;
}

/** What one run sees of the DMARC record at `_dmarc.<identity>`. */
export type DmarcSight = 'none' | 'quarantine' | 'reject' | 'missing' | 'multiple' | 'invalid' | 'timeout';

export interface MailAuthSight {
  /** Absent: the identity uses SES's own MAIL FROM. */
  readonly mailFrom?: MailFromSight;
  /** Absent: the DMARC check is off. */
  readonly dmarc?: DmarcSight;
}

const NS1: ServerRef = { name: 'ns1.example.net', address: '192.0.2.1', port: 53, view: 'authoritative' };
const NS_OLD: ServerRef = { name: 'ns-old.example.net', address: '192.0.2.9', port: 53, view: 'authoritative' };
const RESOLVER: ServerRef = { name: '1.1.1.1', address: '1.1.1.1', port: 53, view: 'public' };
const SES_SPF = 'v=spf1 include:amazonses.com ~all';

type Serve = Partial<Pick<MailAuthAnswer, 'mx' | 'txt' | 'outcome' | 'rcode' | 'detail'>>;

function lookup(
  name: string,
  type: 'MX' | 'TXT',
  zone: string,
  serve: (server: ServerRef) => Serve,
): MailAuthLookupObservation {
  return {
    name,
    type,
    zone,
    answers: [NS1, NS_OLD, RESOLVER].map((server) => {
      const s = serve(server);
      const data = (s.mx?.length ?? 0) > 0 || (s.txt?.length ?? 0) > 0;
      return { server, outcome: data ? 'ANSWER' : 'NODATA', rcode: 'NOERROR', ...s };
    }),
    problems: [],
  };
}

const TIMEOUT: Serve = { outcome: 'TIMEOUT', rcode: 'TIMEOUT', detail: 'no answer within 2000 ms (3 tries)' };

/** The report with `mailFrom` and `dmarc` sections as the real diagnosis would add them for `sight`. */
export function withMailAuth(report: IdentityReport, sight: MailAuthSight): IdentityReport {
  const name = report.identity;
  const mailFromDomain = sight.mailFrom?.domain ?? `mail.${name}`;
  const identity: SesIdentity = {
    name,
    region: report.region,
    type: report.identityType,
    dkim: { signingEnabled: report.signingEnabled, tokens: [] },
    ...(sight.mailFrom
      ? {
          mailFrom: {
            domain: mailFromDomain,
            status: sight.mailFrom.ses,
            behaviorOnMxFailure: sight.mailFrom.behavior ?? 'USE_DEFAULT_VALUE',
          },
        }
      : {}),
  };
  const plan = planMailAuthChecks(identity, { checkDmarc: sight.dmarc !== undefined });
  const mxHost = `feedback-smtp.${report.region}.amazonses.com`;
  const dns = sight.mailFrom?.dns ?? 'ok';
  const lookups: MailAuthLookupObservation[] = [
    lookup(mailFromDomain, 'MX', name, (server): Serve => {
      if (dns === 'timeout' && server === NS_OLD) return TIMEOUT;
      if (dns === 'mx-missing' || (dns === 'stale' && server === NS_OLD))
        return { outcome: 'NXDOMAIN', rcode: 'NXDOMAIN' };
      const mx = [{ preference: 10, exchange: mxHost }];
      return { mx: dns === 'mx-several' ? [...mx, { preference: 20, exchange: `mx.${name}` }] : mx };
    }),
    lookup(mailFromDomain, 'TXT', name, (): Serve => (dns === 'spf-missing' ? {} : { txt: [SES_SPF] })),
  ];
  for (const { name: dmarcName } of plan.dmarc?.lookups ?? []) {
    lookups.push(
      lookup(dmarcName, 'TXT', name, (): Serve => {
        if (dmarcName !== `_dmarc.${name}` || sight.dmarc === 'missing')
          return { outcome: 'NXDOMAIN', rcode: 'NXDOMAIN' };
        if (sight.dmarc === 'timeout') return TIMEOUT;
        if (sight.dmarc === 'multiple') return { txt: ['v=DMARC1; p=none', 'v=DMARC1; p=reject'] };
        if (sight.dmarc === 'invalid') return { txt: ['v=DMARC1; p=block'] };
        return { txt: [`v=DMARC1; p=${sight.dmarc}; rua=mailto:dmarc@${name}`] };
      }),
    );
  }
  const observation: MailAuthObservation = {
    lookups: new Map(lookups.map((l) => [lookupKey(l.name, l.type), l])),
    spf: new Map([
      [SES_SPF, { lookups: 1, exceeded: false, authorizes: ['amazonses.com'], errors: [], unfollowed: [] }],
    ]),
  };
  return { ...report, ...assessMailAuth(plan, identity, observation, report.health) };
}
