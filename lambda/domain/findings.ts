import type { Route53ChangeBatch } from './diagnose-route53';
import type { ServerRef } from './observations';
import { digCommandLine } from './shell-words';

/** Stable finding codes: part of the JSON output and documented in the README. Never rename one. */
export const FINDING_CODES = [
  'RECORD_MISSING',
  'RECORD_MISMATCH',
  'NAMESERVERS_DISAGREE',
  'RESOLVERS_DISAGREE',
  'DELEGATION_MISMATCH',
  'DOMAIN_NOT_DELEGATED',
  'NAMESERVER_UNRESOLVABLE',
  'RECORD_PROXIED',
  'WRONG_RECORD_TYPE',
  'DOUBLED_DOMAIN',
  'KEY_MISSING',
  'BYODKIM_KEY_INVALID',
  'LOOKUP_FAILED',
  'SES_DKIM_PENDING',
  'SES_DKIM_TEMPORARY_FAILURE',
  'SES_DKIM_FAILED',
  'SIGNING_DISABLED',
  'NO_DKIM_RECORDS',
  'STALE_HOSTED_ZONE',
  'ZONE_RECORD_MISSING',
  'ZONE_RECORD_MISMATCH',
  'ZONE_RECORD_REPAIRED',
  'ROUTE53_CHECK_FAILED',
  'NAMESERVER_IP_LITERAL',
  'ZONE_SOURCES_DISAGREE',
  'MISNAMED_RECORD',
  'DNSSEC_DS_MISMATCH',
  'DNSSEC_SIGNATURE_EXPIRED',
  'DNSSEC_UNSIGNED_SERVER',
  'DNSSEC_BOGUS',
  'DNSSEC_SIGNATURE_EXPIRING',
  // Custom MAIL FROM (issue #13): the MX and SPF records at the MAIL FROM domain, and SES's status.
  'MAIL_FROM_MX_MISSING',
  'MAIL_FROM_MX_MISMATCH',
  'MAIL_FROM_SPF_MISSING',
  'MAIL_FROM_SPF_INVALID',
  'MAIL_FROM_SPF_MISMATCH',
  'SES_MAIL_FROM_PENDING',
  'SES_MAIL_FROM_TEMPORARY_FAILURE',
  'SES_MAIL_FROM_FAILED',
  // DMARC (issue #13): the record that governs mail From the identity's domain.
  'DMARC_MISSING',
  'DMARC_MULTIPLE',
  'DMARC_INVALID',
  'DMARC_POLICY_NONE',
  'DMARC_PCT_DEPRECATED',
  'DMARC_WILL_FAIL',
  'DMARC_SERVERS_DISAGREE',
] as const;
export type FindingCode = (typeof FINDING_CODES)[number];

/**
 * `problem`: DNS or SES is definitively wrong. `warning`: wrong, but DKIM verification does not depend on it
 * today. `inconclusive`: the product could not see (never evidence of a missing record). `info`: context.
 */
export type Severity = 'problem' | 'warning' | 'inconclusive' | 'info';

/** A change that would fix the finding, ready to paste into a DNS console. */
export interface RecordFix {
  readonly action: 'publish' | 'remove';
  readonly name: string;
  readonly type: string;
  readonly value: string;
}

export interface Finding {
  readonly code: FindingCode;
  readonly severity: Severity;
  /** One line: what is wrong, and what to publish or remove. */
  readonly message: string;
  /** Labels of the servers/resolvers the finding is about (empty when it is about SES). */
  readonly servers: readonly string[];
  /**
   * A dig command that shows the evidence, every word shell-quoted; a `# no command: ...` comment when the
   * name involved is not a valid DNS name.
   */
  readonly dig: string;
  readonly fixes?: readonly RecordFix[];
  /** The Route 53 change that fixes it, when the delegated zone is in this account's Route 53. */
  readonly route53Change?: Route53ChangeBatch;
}

/**
 * A dig command that asks `server` (or the system resolver) what the product asked, every word shell-quoted;
 * a `#` comment instead when `name` is not a valid DNS name (the finding's message names it, escaped).
 */
export function digCommand(name: string, type: string, server?: ServerRef): string {
  if (!server) return digCommandLine(name, type, { options: ['+noall', '+answer'] });
  const recursion = server.view === 'authoritative' ? ['+norecurse'] : [];
  return digCommandLine(name, type, {
    server: server.address,
    port: server.port,
    options: [...recursion, '+noall', '+answer', '+comments'],
  });
}

/** `a, b and c` */
export function listInWords(items: readonly string[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}
