import type { IdentityReport } from './assess-identity';
import type { Finding, FindingCode } from './findings';

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
]);

/** Codes about which servers answer for the zone at all. */
const DELEGATION_FAMILY: ReadonlySet<FindingCode> = new Set([
  'DELEGATION_MISMATCH',
  'DOMAIN_NOT_DELEGATED',
  'NAMESERVER_UNRESOLVABLE',
  'STALE_HOSTED_ZONE',
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
