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

function family(code: FindingCode): string {
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
