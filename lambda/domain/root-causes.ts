import type { AnswerReport, IdentityReport, NameserverReport, RecordReport } from './assess-identity';
import { type Finding, type FindingCode, listInWords, type RecordFix, type Severity } from './findings';
import { describeDiff, diffValues, isTypo, type ValueDiff } from './value-diff';

/**
 * The root causes behind one identity's findings, as stable keys: what an incident is about. Which resolver
 * reached which server, or whether one record shows as "missing" on a stale server and as "servers disagree"
 * the next run when a good server answered too, changes from run to run; the cause (this record is wrong
 * somewhere, this delegation is wrong) does not. The lifecycle keys incidents on these, so a finding set that
 * alternates still confirms one incident and sends no UPDATE per run.
 */

/** Codes about SES's own status or about what we could not see: never a DNS cause by themselves. */
const NOT_A_CAUSE: ReadonlySet<FindingCode> = new Set([
  'SES_DKIM_PENDING',
  'SES_DKIM_TEMPORARY_FAILURE',
  'SES_DKIM_FAILED',
  'SIGNING_DISABLED',
  'NO_DKIM_RECORDS',
  'LOOKUP_FAILED',
  // One resolver's cache lags; the authoritative servers decide.
  'RESOLVERS_DISAGREE',
  'ZONE_RECORD_REPAIRED',
  'ROUTE53_CHECK_FAILED',
  // SES's MAIL FROM status and DMARC's verdict are consequences; the records behind them are the causes.
  'SES_MAIL_FROM_PENDING',
  'SES_MAIL_FROM_TEMPORARY_FAILURE',
  'SES_MAIL_FROM_FAILED',
  'DMARC_WILL_FAIL',
  'DMARC_POLICY_NONE',
  'DMARC_PCT_DEPRECATED',
]);

/** Codes that are different views of one wrong record (its value, type, name or where it is served). */
const RECORD_FAMILY: ReadonlySet<FindingCode> = new Set([
  'RECORD_MISSING',
  'RECORD_MISMATCH',
  'NAMESERVERS_DISAGREE',
  'WRONG_RECORD_TYPE',
  'DOUBLED_DOMAIN',
  'RECORD_PROXIED',
  'ZONE_RECORD_MISSING',
  'ZONE_RECORD_MISMATCH',
  'MISNAMED_RECORD',
]);

/** Codes about which servers answer for the zone at all. */
const DELEGATION_FAMILY: ReadonlySet<FindingCode> = new Set([
  'DELEGATION_MISMATCH',
  'DOMAIN_NOT_DELEGATED',
  'NAMESERVER_UNRESOLVABLE',
  'STALE_HOSTED_ZONE',
]);

/**
 * DNSSEC faults break every name of the zone at once: one cause per zone (they are zone-level findings, so
 * keyed on the zone), whichever records or servers show it this run.
 */
const DNSSEC_FAMILY: ReadonlyMap<FindingCode, string> = new Map([
  ['DNSSEC_DS_MISMATCH', 'dnssec-chain'],
  ['DNSSEC_UNSIGNED_SERVER', 'dnssec-chain'],
  ['DNSSEC_SIGNATURE_EXPIRED', 'dnssec-signatures'],
  ['DNSSEC_BOGUS', 'dnssec-signatures'],
  ['DNSSEC_SIGNATURE_EXPIRING', 'dnssec-signatures'],
]);

/**
 * MAIL FROM and DMARC codes by family, each keyed on the record's name (the MAIL FROM domain, the `_dmarc`
 * name): a record missing on one server and wrong on another is one cause. They live in the report's
 * `mailFrom` and `dmarc` sections, which {@link rootCauseKeys} does not read: they are incidents of their own.
 */
const MAIL_AUTH_FAMILY: Readonly<Partial<Record<FindingCode, string>>> = {
  MAIL_FROM_MX_MISSING: 'mail-from-mx',
  MAIL_FROM_MX_MISMATCH: 'mail-from-mx',
  MAIL_FROM_SPF_MISSING: 'mail-from-spf',
  MAIL_FROM_SPF_INVALID: 'mail-from-spf',
  MAIL_FROM_SPF_MISMATCH: 'mail-from-spf',
  DMARC_MISSING: 'dmarc',
  DMARC_MULTIPLE: 'dmarc',
  DMARC_INVALID: 'dmarc',
  DMARC_SERVERS_DISAGREE: 'dmarc',
};

function family(code: FindingCode): string {
  const mailAuth = MAIL_AUTH_FAMILY[code];
  if (mailAuth) return mailAuth;
  if (RECORD_FAMILY.has(code)) return 'record';
  const dnssec = DNSSEC_FAMILY.get(code);
  if (dnssec) return dnssec;
  if (DELEGATION_FAMILY.has(code)) return 'delegation';
  if (code === 'KEY_MISSING' || code === 'BYODKIM_KEY_INVALID') return 'key';
  return code.toLowerCase();
}

function causeKey(finding: Finding, subject: string): string | undefined {
  if (finding.severity !== 'problem' || NOT_A_CAUSE.has(finding.code)) return undefined;
  return `${family(finding.code)}|${subject}`;
}

/** The sorted, de-duplicated cause keys of the definite DNS problems in a report. */
export function rootCauseKeys(report: IdentityReport): string[] {
  const zone = report.zone ?? report.identity;
  const keys = new Set<string>();
  for (const record of report.records) {
    for (const f of record.findings) {
      const key = causeKey(f, record.name);
      if (key) keys.add(key);
    }
  }
  for (const f of report.findings) {
    const key = causeKey(f, f.fixes?.[0]?.name ?? zone);
    if (key) keys.add(key);
  }
  return [...keys].sort();
}

/**
 * Codes of root causes (part of the JSON output, like finding codes). Causes built from one kind of finding
 * without a more specific reading carry that finding's code.
 */
export const CAUSE_CODES = [
  'STALE_NAMESERVER',
  'LAGGING_SECONDARY',
  'VALUE_TYPO',
  'WRONG_VALUE',
  'RECORDS_MISSING',
  'DOUBLED_DOMAIN',
  'MISNAMED_RECORD',
  'RECORD_PROXIED',
  'WRONG_RECORD_TYPE',
  'LOOKUP_FAILED',
] as const;
export type CauseCode = (typeof CAUSE_CODES)[number] | FindingCode;

/** One root cause of an identity's findings: what is wrong, the one change that fixes it, and the evidence. */
export interface RootCause {
  readonly code: CauseCode;
  readonly severity: Severity;
  /** One sentence: what is wrong, where. */
  readonly summary: string;
  /** The one change that fixes it (empty when there is nothing to change, e.g. an inconclusive lookup). */
  readonly fix: string;
  /** Names of the records it affects. */
  readonly records: readonly string[];
  /** Labels of the servers that show it. */
  readonly servers: readonly string[];
  /** Per-record and per-server evidence, one line each. */
  readonly evidence: readonly string[];
  /** dig commands that show it (every word shell-quoted). */
  readonly verify: readonly string[];
  /** DNS records to publish or remove, when the fix is a record change. */
  readonly changes: readonly RecordFix[];
  /** The finding codes it groups (the detail is in `findings`). */
  readonly findings: readonly FindingCode[];
  /** Where a wrong value differs from the expected one. */
  readonly diff?: ValueDiff;
}

const SEVERITY_ORDER: readonly Severity[] = ['problem', 'warning', 'inconclusive', 'info'];

/** Codes that only restate SES's status: shown as the status and deadline lines, never as a cause. */
const SES_STATUS_CODES: ReadonlySet<FindingCode> = new Set([
  'SES_DKIM_PENDING',
  'SES_DKIM_TEMPORARY_FAILURE',
  'SES_DKIM_FAILED',
]);

const hostOf = (label: string) => label.replace(/ \(.*\)$/, '');
const plural = (n: number, one: string, many: string) => (n === 1 ? one : many);
const unique = <T>(items: readonly T[]) => [...new Set(items)];
const uniqueChanges = (items: readonly RecordFix[]) => [
  ...new Map(items.map((x) => [`${x.action}|${x.name}|${x.type}|${x.value}`, x])).values(),
];

function worst(findings: readonly Finding[]): Severity {
  return SEVERITY_ORDER.find((s) => findings.some((f) => f.severity === s)) ?? 'info';
}

/** `Summary. Fix: change.` → its two halves. */
function splitFix(message: string): { summary: string; fix: string } {
  const at = message.indexOf(' Fix: ');
  if (at < 0) return { summary: message, fix: '' };
  const fix = message.slice(at + ' Fix: '.length);
  return { summary: message.slice(0, at), fix: `${fix.charAt(0).toUpperCase()}${fix.slice(1)}` };
}

function answerWords(answer: AnswerReport): string {
  if (answer.values.length > 0) return answer.values.join(', ');
  return answer.rcode === 'NXDOMAIN'
    ? 'NXDOMAIN (no such name)'
    : answer.rcode === 'NOERROR'
      ? 'no record'
      : answer.rcode;
}

function describeServers(servers: readonly string[], info: ReadonlyMap<string, NameserverReport>): string {
  return listInWords(
    servers.map((s) => (info.get(s)?.serial !== undefined ? `${s} [serial ${info.get(s)?.serial}]` : s)),
  );
}

/** Servers that answer differently from the others (incident 2), grouped by the records they get wrong. */
function deviatingServers(report: IdentityReport): Map<string, { servers: string[]; records: RecordReport[] }> {
  const byServer = new Map<string, RecordReport[]>();
  for (const record of report.records) {
    if (!record.findings.some((f) => f.code === 'NAMESERVERS_DISAGREE')) continue;
    const auth = record.answers.filter((a) => a.view === 'authoritative' && a.verdict !== 'INCONCLUSIVE');
    if (!auth.some((a) => a.verdict === 'OK')) continue;
    for (const a of auth) {
      if (a.verdict === 'OK') continue;
      byServer.set(a.server, [...(byServer.get(a.server) ?? []), record]);
    }
  }
  const groups = new Map<string, { servers: string[]; records: RecordReport[] }>();
  for (const [server, records] of byServer) {
    const key = records.map((r) => r.name).join('|');
    const group = groups.get(key);
    if (group) group.servers.push(server);
    else groups.set(key, { servers: [server], records });
  }
  return groups;
}

function staleServerCause(
  report: IdentityReport,
  servers: readonly string[],
  records: readonly RecordReport[],
  used: Set<Finding>,
): RootCause {
  const zone = report.zone ?? report.identity;
  const info = new Map((report.nameservers ?? []).map((n) => [n.server, n]));
  const right = unique(
    records.flatMap((r) =>
      r.answers.filter((a) => a.view === 'authoritative' && a.verdict === 'OK').map((a) => a.server),
    ),
  );
  const rightSerials = right.map((s) => info.get(s)?.serial).filter((n): n is number => n !== undefined);
  const newest = rightSerials.length > 0 ? Math.max(...rightSerials) : undefined;
  const wrong = servers.map((s) => info.get(s));
  const wrongSerials = unique(wrong.map((w) => w?.serial).filter((n): n is number => n !== undefined));
  const lagging =
    newest !== undefined &&
    wrong.every(
      (w) =>
        w?.serial !== undefined &&
        w.serial < newest &&
        right.some((r) => info.get(r)?.primary !== undefined && info.get(r)?.primary === w.primary),
    );
  const hosts = listInWords(unique(servers.map(hostOf)));
  const many = servers.length > 1;
  const total = report.records.length;
  const kinds = unique(
    records.flatMap((r) => r.answers.filter((a) => servers.includes(a.server)).map((a) => a.verdict)),
  );
  const what = kinds.every((k) => k === 'MISSING')
    ? `${many ? 'they lack' : 'it lacks'} ${records.length === total && total > 1 ? `all ${total}` : `${records.length} of the ${total}`} DKIM records`
    : `${many ? 'they serve' : 'it serves'} other data for ${records.length === total && total > 1 ? `all ${total}` : `${records.length} of the ${total}`} DKIM records`;
  const copy =
    wrongSerials.length > 0 && newest !== undefined && wrongSerials.every((w) => w < newest)
      ? `an older copy of the zone (serial ${wrongSerials.join('/')}; the current servers serve ${newest})`
      : wrongSerials.length > 0 && newest !== undefined
        ? `a different copy of the zone (serial ${wrongSerials.join('/')}; the other servers serve ${newest})`
        : 'different data from the other servers';
  const listedBy = new Set(wrong.flatMap((w) => w?.listedBy ?? []));
  const listed =
    listedBy.has('parent') && listedBy.has('zone')
      ? "still in the registrar's delegation and in the zone's NS records"
      : listedBy.has('parent')
        ? "still in the registrar's delegation"
        : listedBy.has('zone')
          ? "listed in the zone's own NS records"
          : `answering for ${zone}`;
  const where = [
    ...(listedBy.has('parent') ? [`the registrar's NS list for ${zone}`] : []),
    ...(listedBy.has('zone') ? [`the zone's NS records (${zone} NS, at every provider that serves the zone)`] : []),
  ];
  const primary = right.map((r) => info.get(r)?.primary).find((p) => p !== undefined);
  const summary = lagging
    ? `${listInWords(servers)} ${many ? 'serve' : 'serves'} an older serial (${wrongSerials.join('/')}) of the same zone as its primary ${primary} (${newest}): a secondary that has not transferred the latest zone; ${what}.`
    : `${listInWords(servers)} ${many ? 'are' : 'is'} ${listed} and ${many ? 'serve' : 'serves'} ${copy}: ${what}.`;
  const fix = lagging
    ? `Make ${hosts} transfer the zone from its primary ${primary} (check NOTIFY and AXFR/IXFR); the records are already right on the primary.`
    : where.length > 0
      ? `Remove ${hosts} from ${listInWords(where)}, so that only the current provider answers.`
      : `Stop ${hosts} answering for ${zone}, or publish the records there.`;
  const evidence = records.map((r) => {
    const auth = r.answers.filter((a) => a.view === 'authoritative');
    const ok = auth.filter((a) => a.verdict === 'OK').map((a) => a.server);
    const bad = auth.filter((a) => servers.includes(a.server));
    const badWords = unique(bad.map(answerWords)).join('; ');
    return `record ${report.records.indexOf(r) + 1} ${r.name}: ${badWords} on ${describeServers(
      bad.map((a) => a.server),
      info,
    )}; right on ${describeServers(ok, info)}`;
  });
  const names = new Set(records.map((r) => r.name));
  const covered = new Set([
    ...servers,
    ...records.flatMap((r) => r.answers.filter((a) => a.view === 'public').map((a) => a.server)),
  ]);
  const grouped: Finding[] = [];
  for (const r of records) {
    for (const f of r.findings) {
      if (used.has(f) || f.severity === 'inconclusive') continue;
      if (
        f.code === 'NAMESERVERS_DISAGREE' ||
        f.code === 'RESOLVERS_DISAGREE' ||
        (RECORD_FAMILY.has(f.code) && f.servers.every((s) => covered.has(s)))
      ) {
        grouped.push(f);
      }
    }
  }
  const hostNames = servers.map(hostOf);
  for (const f of report.findings) {
    if (used.has(f) || SES_STATUS_CODES.has(f.code) || f.severity === 'info') continue;
    if (
      (f.code === 'DELEGATION_MISMATCH' || f.code === 'ZONE_SOURCES_DISAGREE' || f.code === 'STALE_HOSTED_ZONE') &&
      hostNames.some((h) => f.message.includes(h))
    ) {
      grouped.push(f);
    }
  }
  for (const f of grouped) used.add(f);
  const disagree = grouped.find((f) => f.code === 'NAMESERVERS_DISAGREE');
  const delegation = grouped.find((f) => f.code === 'DELEGATION_MISMATCH');
  return {
    code: lagging ? 'LAGGING_SECONDARY' : 'STALE_NAMESERVER',
    severity: 'problem',
    summary,
    fix,
    records: [...names],
    servers: [...servers],
    evidence,
    verify: unique([disagree?.dig, delegation?.dig].filter((d): d is string => d !== undefined)),
    changes: [],
    findings: unique(grouped.map((f) => f.code)),
  };
}

function causeFrom(code: CauseCode, findings: readonly Finding[], parts: Partial<RootCause> = {}): RootCause {
  const first = findings[0];
  const split = splitFix(first?.message ?? '');
  return {
    code,
    severity: worst(findings),
    summary: findings.length > 1 ? `${split.summary} (and ${findings.length - 1} more like it)` : split.summary,
    fix: split.fix,
    records: [],
    servers: unique(findings.flatMap((f) => f.servers)),
    evidence: findings.length > 1 ? findings.map((f) => splitFix(f.message).summary) : [],
    verify: unique(findings.map((f) => f.dig)).slice(0, 3),
    changes: uniqueChanges(findings.flatMap((f) => f.fixes ?? [])),
    findings: unique(findings.map((f) => f.code)),
    ...parts,
  };
}

/**
 * Group an identity's findings into root causes, worst first: a stale nameserver that explains a dozen
 * findings is one cause with one fix; a mistyped value is one cause with the differing characters marked.
 * Pure; reads only the report. (The lifecycle's incident keys stay `rootCauseKeys`: a cause's wording may
 * change from run to run, its key may not.)
 */
export function rootCauses(report: IdentityReport): RootCause[] {
  const used = new Set<Finding>();
  const causes: RootCause[] = [];
  for (const { servers, records } of deviatingServers(report).values()) {
    causes.push(staleServerCause(report, servers, records, used));
  }
  const label = (r: RecordReport) => `record ${report.records.indexOf(r) + 1} (${r.name})`;
  const pending = new Map<FindingCode, { record: RecordReport; finding: Finding }[]>();
  const swapped: { record: RecordReport; finding: Finding }[] = [];
  for (const record of report.records) {
    for (const finding of record.findings) {
      if (used.has(finding)) continue;
      used.add(finding);
      if (finding.code === 'MISNAMED_RECORD' && finding.message.includes('swapped between names')) {
        swapped.push({ record, finding });
        continue;
      }
      if (finding.code === 'RECORD_MISMATCH' || finding.code === 'MISNAMED_RECORD') {
        const actual = finding.fixes?.find((x) => x.action === 'remove' && x.name === record.name)?.value;
        const diff = actual !== undefined ? diffValues(record.expected, actual) : undefined;
        const typo = finding.code === 'RECORD_MISMATCH' && diff !== undefined && isTypo(diff);
        const split = splitFix(finding.message);
        causes.push(
          causeFrom(
            finding.code === 'MISNAMED_RECORD' ? 'MISNAMED_RECORD' : typo ? 'VALUE_TYPO' : 'WRONG_VALUE',
            [finding],
            {
              summary:
                finding.code === 'MISNAMED_RECORD'
                  ? split.summary
                  : typo && diff
                    ? `${label(record)} has a typo in its value (${describeDiff(diff)}) on ${listInWords(finding.servers)}.`
                    : `${label(record)} points to ${actual} instead of ${record.expected} on ${listInWords(finding.servers)}.`,
              fix:
                finding.code === 'MISNAMED_RECORD' && split.fix
                  ? split.fix
                  : `Change the value of ${record.name} to ${record.expected}.`,
              records: [record.name],
              ...(diff ? { diff } : {}),
            },
          ),
        );
        continue;
      }
      pending.set(finding.code, [...(pending.get(finding.code) ?? []), { record, finding }]);
    }
  }
  if (swapped.length > 0) {
    const records = unique(swapped.map((i) => i.record));
    causes.push(
      causeFrom(
        'MISNAMED_RECORD',
        swapped.map((i) => i.finding),
        {
          summary: `${listInWords(records.map(label))} hold${records.length === 1 ? 's' : ''} ${records.length === 1 ? "another record's value" : "each other's values"}: the tokens were swapped between names.`,
          fix: `Give each name its own token: ${records.map((r) => `${r.name} CNAME ${r.expected}`).join('; ')}.`,
          records: records.map((r) => r.name),
          evidence: swapped.map((i) => splitFix(i.finding.message).summary),
        },
      ),
    );
  }
  for (const [code, items] of pending) {
    const findings = items.map((i) => i.finding);
    const records = unique(items.map((i) => i.record));
    const names = listInWords(records.map(label));
    const servers = unique(findings.flatMap((f) => f.servers));
    const them = plural(records.length, 'it', 'them');
    switch (code) {
      case 'RECORD_MISSING':
        causes.push(
          causeFrom('RECORDS_MISSING', findings, {
            summary: `${records.length === report.records.length && records.length > 1 ? `All ${records.length} DKIM records are` : `${names} ${plural(records.length, 'is', 'are')}`} not published: no ${unique(records.map((r) => r.type)).join('/')} on ${listInWords(servers)}${records.length === report.records.length && records.length > 1 ? ` (${records.map((r) => r.name).join(', ')})` : ''}.`,
            fix: `Publish ${them} at the DNS provider that serves ${report.zone ?? report.identity} (the changes below).`,
            records: records.map((r) => r.name),
          }),
        );
        break;
      case 'DOUBLED_DOMAIN':
        causes.push(
          causeFrom('DOUBLED_DOMAIN', findings, {
            summary: `${names} ${plural(records.length, 'was', 'were')} published with the domain appended a second time (${findings.length} name${plural(findings.length, '', 's')} ending in .${report.zone ?? report.identity}.${report.zone ?? report.identity}).`,
            fix: `Rename ${them} to the names SES expects: in most consoles enter only the part before the zone name.`,
            records: records.map((r) => r.name),
          }),
        );
        break;
      case 'RECORD_PROXIED':
        causes.push(
          causeFrom('RECORD_PROXIED', findings, {
            summary: `${names} ${plural(records.length, 'is', 'are')} proxied or flattened: the name answers addresses instead of the CNAME.`,
            fix: `Turn off proxying for ${them} (Cloudflare: "DNS only"), so the name answers the CNAME.`,
            records: records.map((r) => r.name),
          }),
        );
        break;
      case 'LOOKUP_FAILED':
        causes.push(
          causeFrom('LOOKUP_FAILED', findings, {
            summary: `${names} could not be checked on ${listInWords(servers) || 'any authoritative server'}: inconclusive, not evidence that anything is missing.`,
            fix: '',
            records: records.map((r) => r.name),
          }),
        );
        break;
      default:
        causes.push(causeFrom(code, findings, { records: records.map((r) => r.name) }));
    }
  }
  const zoneLevel = new Map<FindingCode, Finding[]>();
  for (const f of report.findings) {
    if (used.has(f) || SES_STATUS_CODES.has(f.code)) continue;
    zoneLevel.set(f.code, [...(zoneLevel.get(f.code) ?? []), f]);
  }
  for (const [code, findings] of zoneLevel) causes.push(causeFrom(code, findings));
  return causes
    .map((c, i) => ({ c, i }))
    .sort((a, b) => SEVERITY_ORDER.indexOf(a.c.severity) - SEVERITY_ORDER.indexOf(b.c.severity) || a.i - b.i)
    .map(({ c }) => c);
}

/**
 * The cause keys of a MAIL FROM or DMARC report section (`report.mailFrom`, `report.dmarc`): each definite
 * record problem keyed on its family and the name of the record to fix.
 * @param subject the section's own name (MAIL FROM domain, `_dmarc` name) for findings without a fix
 */
export function mailAuthRootCauseKeys(section: { readonly findings: readonly Finding[] }, subject: string): string[] {
  const keys = new Set<string>();
  for (const f of section.findings) {
    const key = causeKey(f, f.fixes?.[0]?.name ?? subject);
    if (key) keys.add(key);
  }
  return [...keys].sort();
}
