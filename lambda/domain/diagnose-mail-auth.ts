/**
 * The MAIL FROM and DMARC diagnosis: what every authoritative server and resolver said about the custom
 * MAIL FROM domain's MX and SPF records and about the DMARC records, beside SES's own MAIL FROM status.
 * Same discipline as DKIM: an inconclusive lookup (timeout, SERVFAIL, REFUSED) is never "missing", and a
 * record not verified on every server is never healthy. Each part has its own health, separate from DKIM's,
 * so the lifecycle can run them as incidents of their own. Pure.
 */
import type { AnswerReport, Health } from './assess-identity';
import { type DmarcPolicy, type DmarcRecord, isDmarcRecord, organizationalDomain, parseDmarc } from './dmarc';
import type { DmarcPlan, MailAuthPlan, MailFromPlan } from './expected-records';
import { digCommand, type Finding, listInWords, type RecordFix } from './findings';
import {
  lookupKey,
  type MailAuthAnswer,
  type MailAuthLookupObservation,
  type MailAuthObservation,
} from './mail-auth-observations';
import { mailFromMxValue, mxFailureConsequence, SES_MAIL_FROM_SPF, SES_SPF_INCLUDE } from './mail-from';
import { nameForMessage, visibleText } from './markup-escape';
import { isDefinitive, serverLabel } from './observations';
import type { MailFromStatus, MxFailureBehavior, SesIdentity } from './ses-identity';
import { sesv2Command } from './shell-words';
import { includesDirectly, isSpfRecord, parseSpf, type SpfEvaluation } from './spf';

/** One MAIL FROM or DMARC lookup, as every server answered it. */
export interface MailAuthRecordReport {
  readonly name: string;
  readonly type: 'MX' | 'TXT';
  /** What should be there, in words (`10 feedback-smtp.eu-west-1.amazonses.com`). */
  readonly expected: string;
  readonly answers: readonly Omit<AnswerReport, 'verdict'>[];
}

/** The custom MAIL FROM domain of one identity: SES's status and the records on every server. */
export interface MailFromReport {
  readonly domain: string;
  readonly sesStatus: MailFromStatus;
  readonly behaviorOnMxFailure: MxFailureBehavior;
  /** REVOKED (SES: FAILED), FAILING (TEMPORARY_FAILURE), AT_RISK (records wrong), UNKNOWN, PENDING, HEALTHY. */
  readonly health: Health;
  readonly records: readonly MailAuthRecordReport[];
  readonly findings: readonly Finding[];
}

/** The DMARC policy that governs mail From one identity's domain. */
export interface DmarcReport {
  /** The From domain. */
  readonly domain: string;
  readonly organizationalDomain: string;
  /** Where the applicable record was found (`_dmarc.example.com`), when exactly one applies. */
  readonly recordName?: string;
  /** The applicable record's text (escaped for display). */
  readonly record?: string;
  /**
   * The policy receivers apply to mail From `domain`: `p`, or `sp` when the record is the Organizational
   * Domain's and `domain` is below it. Absent when no policy applies (missing, several records, unusable).
   */
  readonly policy?: DmarcPolicy;
  /** AT_RISK (a definite problem), UNKNOWN (not every server could be read), HEALTHY. */
  readonly health: Health;
  readonly records: readonly MailAuthRecordReport[];
  readonly findings: readonly Finding[];
}

/** Both mail-authentication parts of one identity's report; each absent when not checked. */
export interface MailAuthReport {
  readonly mailFrom?: MailFromReport;
  readonly dmarc?: DmarcReport;
}

const MAX_SHOWN_VALUE = 300;

function shortText(text: string, max = MAX_SHOWN_VALUE): string {
  return visibleText(text.length > max ? `${text.slice(0, max - 3)}...` : text);
}

function answerValues(answer: MailAuthAnswer): string[] {
  if (!isDefinitive(answer.outcome)) return answer.detail ? [answer.detail] : [answer.rcode];
  const values: string[] = [];
  if (answer.cname !== undefined) values.push(`CNAME ${answer.cname}`);
  for (const mx of answer.mx ?? []) values.push(`MX ${mx.preference} ${mx.exchange}`);
  for (const t of answer.txt ?? []) values.push(`TXT "${shortText(t)}"`);
  if (values.length === 0) values.push(answer.outcome);
  return values;
}

function recordReport(
  lookup: MailAuthLookupObservation | undefined,
  name: string,
  type: 'MX' | 'TXT',
  expected: string,
) {
  return {
    name,
    type,
    expected,
    answers: (lookup?.answers ?? []).map((a) => ({
      server: serverLabel(a.server),
      view: a.server.view,
      rcode: a.rcode,
      values: answerValues(a),
    })),
  };
}

const labels = (answers: readonly MailAuthAnswer[]) => listInWords(answers.map((a) => serverLabel(a.server)));

/** Group items by a key, first-seen order. */
function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    groups.set(k, [...(groups.get(k) ?? []), item]);
  }
  return groups;
}

/**
 * Findings for what could not be seen: the zone not found, servers that did not answer, or no authoritative
 * server at all (then nothing is verified). Inconclusive, never "missing".
 */
function unseen(lookup: MailAuthLookupObservation | undefined, name: string, type: string): Finding[] {
  const findings: Finding[] = [];
  if (!lookup) {
    return [
      {
        code: 'LOOKUP_FAILED',
        severity: 'inconclusive',
        message: `${nameForMessage(name)} ${type} was not looked up in this run: inconclusive.`,
        servers: [],
        dig: digCommand(name, type),
      },
    ];
  }
  for (const problem of lookup.problems) {
    findings.push({
      code: 'LOOKUP_FAILED',
      severity: 'inconclusive',
      message: visibleText(problem.message),
      servers: problem.servers,
      dig: problem.dig,
    });
  }
  const failed = lookup.answers.filter((a) => !isDefinitive(a.outcome));
  for (const [why, group] of groupBy(failed, (a) => a.detail ?? a.rcode)) {
    findings.push({
      code: 'LOOKUP_FAILED',
      severity: 'inconclusive',
      message: `${nameForMessage(name)} ${type} could not be checked on ${labels(group)}: ${visibleText(why)}. This is inconclusive, not evidence that the record is missing.`,
      servers: group.map((a) => serverLabel(a.server)),
      dig: digCommand(name, type, group[0]?.server),
    });
  }
  if (lookup.problems.length === 0 && !lookup.answers.some((a) => a.server.view === 'authoritative')) {
    findings.push({
      code: 'LOOKUP_FAILED',
      severity: 'inconclusive',
      message: `No authoritative server of ${nameForMessage(lookup.zone ?? name)} could be asked about ${nameForMessage(name)} ${type}: inconclusive.`,
      servers: [],
      dig: digCommand(name, type),
    });
  }
  return findings;
}

/** Answers that give the data itself (an authoritative CNAME alone defers to the resolvers, which follow it). */
const withData = (lookup: MailAuthLookupObservation | undefined) =>
  (lookup?.answers ?? []).filter(
    (a) => isDefinitive(a.outcome) && !(a.server.view === 'authoritative' && a.cname !== undefined && !a.mx && !a.txt),
  );

function mxFindings(plan: MailFromPlan, lookup: MailAuthLookupObservation | undefined): Finding[] {
  const name = plan.domain;
  const expected = mailFromMxValue(plan.mxHost);
  const publish: RecordFix = { action: 'publish', name, type: 'MX', value: expected };
  const findings: Finding[] = [];
  const answers = withData(lookup);
  const missing = answers.filter((a) => (a.mx ?? []).length === 0);
  if (missing.length > 0) {
    findings.push({
      code: 'MAIL_FROM_MX_MISSING',
      severity: 'problem',
      message: `The MAIL FROM domain ${name} has no MX record on ${labels(missing)}, so SES cannot use it. Fix: publish ${name} MX ${expected} (exactly one MX).`,
      servers: missing.map((a) => serverLabel(a.server)),
      dig: digCommand(name, 'MX', missing[0]?.server),
      fixes: [publish],
    });
  }
  const wrong = answers.filter((a) => {
    const mx = a.mx ?? [];
    return mx.length > 1 || (mx.length === 1 && mx[0]?.exchange !== plan.mxHost);
  });
  // Servers return an RRset in any order: compare them sorted.
  const sorted = (a: MailAuthAnswer) =>
    [...(a.mx ?? [])].sort((x, y) => x.preference - y.preference || x.exchange.localeCompare(y.exchange));
  const shown = (a: MailAuthAnswer) => {
    const all = sorted(a).map((m) => `${m.preference} ${nameForMessage(m.exchange)}`);
    return all.length > 4 ? `${all.slice(0, 3).join(', ')}, ... (${all.length} records seen)` : all.join(', ');
  };
  for (const [, group] of groupBy(wrong, shown)) {
    const mx = sorted(group[0] as MailAuthAnswer);
    const remove: RecordFix[] = mx
      .filter((m) => m.exchange !== plan.mxHost)
      .map((m) => ({ action: 'remove', name, type: 'MX', value: `${m.preference} ${m.exchange}` }));
    const hasRight = mx.some((m) => m.exchange === plan.mxHost);
    const several = mx.length > 1 ? ' SES needs exactly one MX there: with several, its setup fails.' : '';
    findings.push({
      code: 'MAIL_FROM_MX_MISMATCH',
      severity: 'problem',
      message: `The MAIL FROM domain ${name} has MX ${visibleText(shown(group[0] as MailAuthAnswer))} on ${labels(group)}, but SES expects only MX ${expected}.${several} Fix: ${[
        remove.length > 3
          ? `remove the ${remove.length} other MX records`
          : remove.map((r) => `remove MX ${visibleText(r.value)}`).join(', '),
        ...(hasRight ? [] : [`publish ${name} MX ${expected}`]),
      ].join(', then ')}.`,
      servers: group.map((a) => serverLabel(a.server)),
      dig: digCommand(name, 'MX', group[0]?.server),
      fixes: hasRight ? remove : [...remove, publish],
    });
  }
  return [...findings, ...unseen(lookup, name, 'MX')];
}

function spfFindings(
  plan: MailFromPlan,
  lookup: MailAuthLookupObservation | undefined,
  walks: ReadonlyMap<string, SpfEvaluation>,
): Finding[] {
  const name = plan.domain;
  const publish: RecordFix = { action: 'publish', name, type: 'TXT', value: SES_MAIL_FROM_SPF };
  const findings: Finding[] = [];
  const answers = withData(lookup);
  const spfOf = (a: MailAuthAnswer) => (a.txt ?? []).filter(isSpfRecord);
  const missing = answers.filter((a) => spfOf(a).length === 0);
  if (missing.length > 0) {
    findings.push({
      code: 'MAIL_FROM_SPF_MISSING',
      severity: 'problem',
      message: `The MAIL FROM domain ${name} has no SPF record on ${labels(missing)}: SPF fails for mail SES sends with it, so it is not SPF-aligned. Fix: publish ${name} TXT "${SES_MAIL_FROM_SPF}".`,
      servers: missing.map((a) => serverLabel(a.server)),
      dig: digCommand(name, 'TXT', missing[0]?.server),
      fixes: [publish],
    });
  }
  const several = answers.filter((a) => spfOf(a).length > 1);
  for (const [, group] of groupBy(several, (a) => spfOf(a).sort().join('\n'))) {
    const records = spfOf(group[0] as MailAuthAnswer);
    const keep = records.find((r) => includesDirectly(parseSpf(r), SES_SPF_INCLUDE)) ?? records[0];
    findings.push({
      code: 'MAIL_FROM_SPF_INVALID',
      severity: 'problem',
      message: `The MAIL FROM domain ${name} has ${records.length} SPF records on ${labels(group)} (${records.map((r) => `"${shortText(r, 80)}"`).join(', ')}): receivers treat several as a permanent error and SPF fails. Fix: merge them into one and remove the others.`,
      servers: group.map((a) => serverLabel(a.server)),
      dig: digCommand(name, 'TXT', group[0]?.server),
      fixes: records
        .filter((r) => r !== keep)
        .map((r): RecordFix => ({ action: 'remove', name, type: 'TXT', value: r })),
    });
  }
  const single = answers.filter((a) => spfOf(a).length === 1);
  for (const [text, group] of groupBy(single, (a) => spfOf(a)[0] as string)) {
    const on = labels(group);
    const servers = group.map((a) => serverLabel(a.server));
    const dig = digCommand(name, 'TXT', group[0]?.server);
    const record = parseSpf(text);
    const quoted = `"${shortText(text, 120)}"`;
    // A MAIL FROM domain serves SES alone (it must not receive mail), so SES's record is the whole fix.
    const invalid = (why: string) =>
      findings.push({
        code: 'MAIL_FROM_SPF_INVALID',
        severity: 'problem',
        message: `The SPF record of the MAIL FROM domain ${name} on ${on} is invalid: ${visibleText(why)}. Receivers return a permanent error and SPF fails. Record: ${quoted}. Fix: replace it with "${SES_MAIL_FROM_SPF}" (the MAIL FROM domain serves only SES).`,
        servers,
        dig,
        fixes: [{ action: 'remove', name, type: 'TXT', value: text }, publish],
      });
    if (record.errors.length > 0) {
      invalid(record.errors.slice(0, 3).join('; '));
      continue;
    }
    const walk = walks.get(text);
    if (walk?.exceeded) {
      invalid(
        `it needs more than 10 DNS lookups (include, a, mx, ptr, exists, redirect, counted through every include)`,
      );
      continue;
    }
    if (walk && walk.errors.length > 0) {
      invalid(walk.errors.slice(0, 3).join('; '));
      continue;
    }
    const authorized = includesDirectly(record, SES_SPF_INCLUDE) || (walk?.authorizes ?? []).includes(SES_SPF_INCLUDE);
    if (!walk || walk.inconclusive) {
      findings.push({
        code: 'LOOKUP_FAILED',
        severity: 'inconclusive',
        message: `The include chain of the SPF record of ${name} could not be followed${walk?.inconclusive ? `: ${visibleText(walk.inconclusive)}` : ''}; its DNS lookup count is unchecked (inconclusive).`,
        servers,
        dig,
      });
      if (!authorized) continue;
    }
    if (!authorized) {
      findings.push({
        code: 'MAIL_FROM_SPF_MISMATCH',
        severity: 'problem',
        message: `The SPF record of the MAIL FROM domain ${name} on ${on} does not authorize SES (no include:${SES_SPF_INCLUDE} before "all"): SPF fails for mail SES sends. Record: ${quoted}. Fix: add include:${SES_SPF_INCLUDE} before the "all" term, e.g. "${SES_MAIL_FROM_SPF}".`,
        servers,
        dig,
        fixes: [{ action: 'remove', name, type: 'TXT', value: text }, publish],
      });
    }
  }
  return [...findings, ...unseen(lookup, name, 'TXT')];
}

function mailFromSesFindings(plan: MailFromPlan, identity: SesIdentity, dnsVerified: boolean): Finding[] {
  const consequence = mxFailureConsequence(plan.behaviorOnMxFailure);
  const dig = digCommand(plan.domain, 'MX');
  const where = `${identity.name} (${identity.region})`;
  const restart = sesv2Command('put-email-identity-mail-from-attributes', identity.name, identity.region, [
    '--mail-from-domain',
    plan.domain,
    '--behavior-on-mx-failure',
    plan.behaviorOnMxFailure,
  ]);
  switch (plan.status) {
    case 'FAILED':
      return [
        {
          code: 'SES_MAIL_FROM_FAILED',
          severity: 'problem',
          message: `SES marked the custom MAIL FROM domain ${plan.domain} of ${where} FAILED and stopped checking it: ${consequence}. ${dnsVerified ? 'The records check out now, so' : 'Publish the records listed here, then'} set the MAIL FROM domain again to restart: ${restart}`,
          servers: [],
          dig,
        },
      ];
    case 'TEMPORARY_FAILURE':
      return [
        {
          code: 'SES_MAIL_FROM_TEMPORARY_FAILURE',
          severity: 'problem',
          message: `SES cannot find the MX record of the custom MAIL FROM domain ${plan.domain} of ${where}; it rechecks for 72 hours, then marks it FAILED. Meanwhile ${consequence}. ${dnsVerified ? 'Every record checks out on every server now: SES should return to SUCCESS by itself.' : 'Fix the records listed here.'}`,
          servers: [],
          dig,
        },
      ];
    case 'PENDING':
      return [
        {
          code: 'SES_MAIL_FROM_PENDING',
          severity: 'info',
          message: `SES is still looking for the MX record of the custom MAIL FROM domain ${plan.domain} of ${where} (for up to 72 hours, then FAILED). Until it succeeds, ${consequence}.`,
          servers: [],
          dig,
        },
      ];
    default:
      return [];
  }
}

function healthOf(findings: readonly Finding[], status?: MailFromStatus): Health {
  if (status === 'FAILED') return 'REVOKED';
  if (status === 'TEMPORARY_FAILURE') return 'FAILING';
  if (findings.some((f) => f.severity === 'problem')) return 'AT_RISK';
  if (status === 'PENDING') return 'PENDING';
  if (findings.some((f) => f.severity === 'inconclusive')) return 'UNKNOWN';
  return 'HEALTHY';
}

/** The MAIL FROM part of one identity's report. */
export function diagnoseMailFrom(
  plan: MailFromPlan,
  identity: SesIdentity,
  observation: MailAuthObservation | undefined,
): MailFromReport {
  const mx = observation?.lookups.get(lookupKey(plan.domain, 'MX'));
  const txt = observation?.lookups.get(lookupKey(plan.domain, 'TXT'));
  const dns = [...mxFindings(plan, mx), ...spfFindings(plan, txt, observation?.spf ?? new Map())];
  const findings = [...mailFromSesFindings(plan, identity, dns.length === 0), ...dns];
  return {
    domain: plan.domain,
    sesStatus: plan.status,
    behaviorOnMxFailure: plan.behaviorOnMxFailure,
    health: healthOf(findings, plan.status),
    records: [
      recordReport(mx, plan.domain, 'MX', mailFromMxValue(plan.mxHost)),
      recordReport(txt, plan.domain, 'TXT', `an SPF record with include:${SES_SPF_INCLUDE}`),
    ],
    findings,
  };
}

/** What one lookup of `_dmarc.<domain>` showed: the DMARC records each view holds. */
interface DmarcView {
  /** The DMARC records (TXT strings starting v=DMARC1); empty: none there. */
  readonly records: readonly string[];
  readonly answers: readonly MailAuthAnswer[];
}

function dmarcViews(lookup: MailAuthLookupObservation | undefined): DmarcView[] {
  const answers = withData(lookup);
  const recordsOf = (a: MailAuthAnswer) => (a.txt ?? []).filter(isDmarcRecord).sort();
  return [...groupBy(answers, (a) => recordsOf(a).join('\n')).values()].map((group) => ({
    records: recordsOf(group[0] as MailAuthAnswer),
    answers: group,
  }));
}

/** The view receivers get: a resolver's when one answered, else the first authoritative server's. */
function receiversView(views: readonly DmarcView[]): DmarcView | undefined {
  return views.find((v) => v.answers.some((a) => a.server.view === 'public')) ?? views[0];
}

const SUGGESTED_DMARC = 'v=DMARC1; p=none';

function dmarcRecordFindings(name: string, view: DmarcView, parsed: DmarcRecord): Finding[] {
  const servers = view.answers.map((a) => serverLabel(a.server));
  const dig = digCommand(name, 'TXT', view.answers[0]?.server);
  const text = view.records[0] as string;
  const findings: Finding[] = [];
  if (parsed.errors.length > 0) {
    const unusable = parsed.effectivePolicy === undefined;
    findings.push({
      code: 'DMARC_INVALID',
      severity: unusable ? 'problem' : 'warning',
      message: `The DMARC record at ${name} on ${labels(view.answers)} has errors: ${visibleText(parsed.errors.slice(0, 3).join('; '))}. ${
        unusable
          ? 'Receivers apply no DMARC policy at all.'
          : parsed.policy
            ? 'Receivers may ignore the bad tags.'
            : 'Receivers read it as p=none (it has a valid rua).'
      } Record: "${shortText(text, 160)}". Fix: correct it (v=DMARC1 first, then p=none, quarantine or reject).`,
      servers,
      dig,
      fixes: [
        { action: 'remove', name, type: 'TXT', value: text },
        {
          action: 'publish',
          name,
          type: 'TXT',
          value: parsed.policy ? `v=DMARC1; p=${parsed.policy}` : SUGGESTED_DMARC,
        },
      ],
    });
  }
  if (parsed.tags.has('pct')) {
    findings.push({
      code: 'DMARC_PCT_DEPRECATED',
      severity: 'info',
      message: `The DMARC record at ${name} uses pct=${shortText(parsed.tags.get('pct') ?? '', 10)}: DMARCbis (RFC 9989) removed pct and receivers following it ignore it. Fix: remove the pct tag (use t=y to test a policy instead).`,
      servers,
      dig,
    });
  }
  return findings;
}

function severalFinding(name: string, view: DmarcView): Finding {
  return {
    code: 'DMARC_MULTIPLE',
    severity: 'problem',
    message: `${name} has ${view.records.length} DMARC records on ${labels(view.answers)} (${view.records.map((r) => `"${shortText(r, 80)}"`).join(', ')}): receivers then apply no DMARC policy at all. Fix: keep one and remove the others.`,
    servers: view.answers.map((a) => serverLabel(a.server)),
    dig: digCommand(name, 'TXT', view.answers[0]?.server),
    fixes: view.records.slice(1).map((r): RecordFix => ({ action: 'remove', name, type: 'TXT', value: r })),
  };
}

/** How the identity's DKIM and MAIL FROM stand, for the DMARC verdict. */
export interface DmarcContext {
  /** The DKIM health assessIdentity computed. */
  readonly dkimHealth: Health;
  /** The MAIL FROM part of the report, when it was checked. */
  readonly mailFrom?: MailFromReport;
}

const POLICY_EFFECT: Readonly<Record<DmarcPolicy, string>> = {
  reject: 'receivers reject it',
  quarantine: 'receivers put it in spam (quarantine)',
  none: 'receivers still deliver it (p=none) and only report it',
};

/** Why mail from this identity has no aligned SPF pass, or undefined when it has one. */
function spfNotAligned(
  identity: SesIdentity,
  context: DmarcContext,
  domain: string,
  aspf: 'r' | 's',
): string | undefined {
  const mailFrom = identity.mailFrom;
  if (!mailFrom) return "it uses SES's own MAIL FROM domain, which never aligns";
  if (mailFrom.status !== 'SUCCESS') {
    return `its custom MAIL FROM domain ${mailFrom.domain} is ${mailFrom.status} in SES, so SES sends with its own`;
  }
  const broken = context.mailFrom?.findings.find((f) => f.severity === 'problem' && f.code.startsWith('MAIL_FROM_SPF'));
  if (broken) return `the SPF record of its MAIL FROM domain ${mailFrom.domain} is broken (${broken.code})`;
  if (aspf === 's' && mailFrom.domain !== domain) {
    return `the policy asks for strict SPF alignment (aspf=s) and the MAIL FROM domain ${mailFrom.domain} is not ${domain}`;
  }
  if (organizationalDomain(mailFrom.domain) !== organizationalDomain(domain)) {
    return `its MAIL FROM domain ${mailFrom.domain} is not under ${organizationalDomain(domain)}`;
  }
  return undefined;
}

/** The DMARC part of one identity's report. */
export function diagnoseDmarc(
  plan: DmarcPlan,
  identity: SesIdentity,
  observation: MailAuthObservation | undefined,
  context: DmarcContext,
): DmarcReport {
  const { domain, organizationalDomain: orgDomain } = plan;
  const findings: Finding[] = [];
  const records: MailAuthRecordReport[] = [];
  let found: { name: string; text: string; record: DmarcRecord; viaOrg: boolean } | undefined;
  let decided = false;
  let unseenAll = false;
  for (const [index, lookup] of plan.lookups.entries()) {
    const observed = observation?.lookups.get(lookupKey(lookup.name, 'TXT'));
    const isOrg = index === plan.lookups.length - 1;
    records.push(
      recordReport(
        observed,
        lookup.name,
        'TXT',
        isOrg
          ? 'one DMARC record (v=DMARC1; p=...)'
          : 'one DMARC record, or none (then the one at the organizational domain applies)',
      ),
    );
    if (decided) continue;
    findings.push(...unseen(observed, lookup.name, 'TXT'));
    const views = dmarcViews(observed);
    const primary = receiversView(views);
    for (const view of views) {
      if (view.records.length > 1) findings.push(severalFinding(lookup.name, view));
      else if (view.records.length === 1) {
        findings.push(...dmarcRecordFindings(lookup.name, view, parseDmarc(view.records[0] as string)));
        const theirs = primary?.records[0];
        if (primary && primary !== view && primary.records.length === 1 && theirs !== view.records[0]) {
          // The DNS-move incident, for DMARC: an old provider still listed serves another policy.
          findings.push({
            code: 'DMARC_SERVERS_DISAGREE',
            severity: 'warning',
            message: `${lookup.name} differs between servers: ${labels(view.answers)} serve "${shortText(view.records[0] as string, 120)}", while ${labels(primary.answers)} serve "${shortText(theirs as string, 120)}": receivers get one policy or the other. Fix: publish the same record on every server (or remove the server that should no longer be listed).`,
            servers: view.answers.map((a) => serverLabel(a.server)),
            dig: digCommand(lookup.name, 'TXT', view.answers[0]?.server),
            fixes: [
              { action: 'remove', name: lookup.name, type: 'TXT', value: view.records[0] as string },
              { action: 'publish', name: lookup.name, type: 'TXT', value: theirs as string },
            ],
          });
        }
      } else if (primary && primary.records.length > 0) {
        // Receivers asking these servers get another answer than most: a stale or lagging server.
        findings.push({
          code: 'DMARC_MISSING',
          severity: 'warning',
          message: `${lookup.name} has no DMARC record on ${labels(view.answers)}, while ${labels(primary.answers)} serve one: receivers asking those servers get another policy or none. Fix: publish the same record on every server.`,
          servers: view.answers.map((a) => serverLabel(a.server)),
          dig: digCommand(lookup.name, 'TXT', view.answers[0]?.server),
          fixes: [{ action: 'publish', name: lookup.name, type: 'TXT', value: primary.records[0] as string }],
        });
      }
    }
    if (!primary) {
      unseenAll = true;
      decided = true;
      continue;
    }
    // RFC 7489 §6.6.3: no record at the From domain: the organizational domain's applies.
    if (primary.records.length === 0 && !isOrg) continue;
    decided = true;
    if (primary.records.length === 1) {
      const text = primary.records[0] as string;
      found = { name: lookup.name, text, record: parseDmarc(text), viaOrg: lookup.name !== `_dmarc.${domain}` };
    } else if (primary.records.length === 0) {
      findings.push({
        code: 'DMARC_MISSING',
        severity: 'warning',
        message: `No DMARC record applies to mail From ${domain}: none at ${[...new Set([`_dmarc.${domain}`, `_dmarc.${orgDomain}`])].join(' or ')} (${labels(primary.answers)}). Receivers apply no policy and send no reports. Fix: publish _dmarc.${orgDomain} TXT "${SUGGESTED_DMARC}" (add rua=mailto:<your address> to get reports).`,
        servers: primary.answers.map((a) => serverLabel(a.server)),
        dig: digCommand(lookup.name, 'TXT', primary.answers[0]?.server),
        fixes: [{ action: 'publish', name: `_dmarc.${orgDomain}`, type: 'TXT', value: SUGGESTED_DMARC }],
      });
    }
  }
  const policy = found
    ? found.viaOrg && domain !== orgDomain
      ? (found.record.subdomainPolicy ?? found.record.effectivePolicy)
      : found.record.effectivePolicy
    : undefined;
  if (found && policy === 'none') {
    findings.push({
      code: 'DMARC_POLICY_NONE',
      severity: 'info',
      message: `The DMARC policy for mail From ${domain} is none (${found.name}): receivers report failures but deliver the mail anyway; spoofed mail is not stopped.`,
      servers: [],
      dig: digCommand(found.name, 'TXT'),
    });
  }
  const dkimDown = context.dkimHealth === 'FAILING' || context.dkimHealth === 'REVOKED';
  const dkimAtRisk = context.dkimHealth === 'AT_RISK';
  const whyNotAligned = found ? spfNotAligned(identity, context, domain, found.record.aspf) : undefined;
  if (found && policy && (dkimDown || dkimAtRisk) && whyNotAligned) {
    const dkim = dkimDown
      ? `SES is not signing with DKIM for ${identity.name} (DKIM ${context.dkimHealth})`
      : `DKIM of ${identity.name} is AT_RISK: once SES stops signing`;
    const via = found.viaOrg && domain !== orgDomain ? `sp=${policy} of ${found.name}` : `p=${policy} of ${found.name}`;
    findings.push({
      code: 'DMARC_WILL_FAIL',
      severity: policy === 'none' ? 'warning' : 'problem',
      message: `${dkim}, and ${whyNotAligned}: mail From ${domain} ${dkimDown ? 'fails' : 'will fail'} DMARC, and ${POLICY_EFFECT[policy]} (${via}). Fix the DKIM records first${identity.mailFrom ? '' : '; a custom MAIL FROM domain under your domain would give an aligned SPF pass as a second path'}.`,
      servers: [],
      dig: digCommand(found.name, 'TXT'),
    });
  }
  const health: Health = findings.some((f) => f.severity === 'problem')
    ? 'AT_RISK'
    : unseenAll || findings.some((f) => f.severity === 'inconclusive')
      ? 'UNKNOWN'
      : 'HEALTHY';
  return {
    domain,
    organizationalDomain: orgDomain,
    ...(found ? { recordName: found.name, record: shortText(found.text) } : {}),
    ...(policy ? { policy } : {}),
    health,
    records,
    findings,
  };
}

/**
 * The mail-authentication sections of one identity's report. They never change the DKIM health: each has
 * its own, so the lifecycle can treat a broken MAIL FROM or DMARC record as an incident of its own.
 */
export function assessMailAuth(
  plan: MailAuthPlan,
  identity: SesIdentity,
  observation: MailAuthObservation | undefined,
  dkimHealth: Health,
): MailAuthReport {
  const mailFrom = plan.mailFrom ? diagnoseMailFrom(plan.mailFrom, identity, observation) : undefined;
  const dmarc = plan.dmarc ? diagnoseDmarc(plan.dmarc, identity, observation, { dkimHealth, mailFrom }) : undefined;
  return { ...(mailFrom ? { mailFrom } : {}), ...(dmarc ? { dmarc } : {}) };
}
