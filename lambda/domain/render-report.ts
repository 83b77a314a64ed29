import type { Health, IdentityReport, RecordReport } from './assess-identity';
import type { Finding } from './findings';
import { terminalJson, visibleText } from './markup-escape';

/** The report as JSON (the CLI's `--json` and the Lambda's log), with stable field names. */
export interface JsonReport {
  readonly identities: readonly {
    readonly identity: string;
    readonly region: string;
    readonly identityType: string;
    readonly health: Health;
    readonly sesStatus: string;
    readonly signingEnabled: boolean;
    readonly zone?: string;
    readonly inheritedFrom?: string;
    readonly records: readonly RecordReport[];
    readonly findings: readonly Finding[];
  }[];
  readonly errors: readonly { readonly region: string; readonly identity?: string; readonly message: string }[];
}

const COLOURS: Record<Health, string> = {
  HEALTHY: '\u001b[32m',
  PENDING: '\u001b[36m',
  DISABLED: '\u001b[90m',
  UNKNOWN: '\u001b[33m',
  AT_RISK: '\u001b[31m',
  FAILING: '\u001b[1;31m',
  REVOKED: '\u001b[1;35m',
};
const RESET = '\u001b[0m';
const SYMBOL: Record<Health, string> = {
  HEALTHY: 'ok',
  PENDING: '..',
  DISABLED: '--',
  UNKNOWN: '??',
  AT_RISK: '!!',
  FAILING: 'XX',
  REVOKED: 'XX',
};

function recordStatus(record: RecordReport): string {
  const codes = [...new Set(record.findings.map((f) => f.code))];
  if (codes.length > 0) return codes.join(', ');
  // A SERVFAIL without a finding of its own is a validating resolver failing on a DNSSEC fault of the zone,
  // reported with the identity's findings: never counted as "ok".
  const failed = record.answers.filter((a) => a.rcode === 'SERVFAIL').length;
  const ok = record.answers.filter((a) => a.rcode !== 'SERVFAIL');
  const auth = ok.filter((a) => a.view === 'authoritative').length;
  const pub = ok.length - auth;
  const servfail =
    failed > 0 ? `; SERVFAIL from ${failed} validating resolver${failed === 1 ? '' : 's'} (DNSSEC, below)` : '';
  return `ok on ${auth} nameserver${auth === 1 ? '' : 's'} and ${pub} resolver${pub === 1 ? '' : 's'}${servfail}`;
}

function findingLines(finding: Finding, indent: string): string[] {
  return [
    `${indent}${finding.code}: ${visibleText(finding.message)}`,
    `${indent.replace('-', ' ')}    $ ${visibleText(finding.dig)}`,
  ];
}

/** A readable report: one block per identity, a table of its records, then each finding and its dig. */
export function renderText(
  identities: readonly IdentityReport[],
  errors: readonly { region: string; identity?: string; message: string }[],
  options: { colour: boolean },
): string {
  const paint = (health: Health, text: string) => (options.colour ? `${COLOURS[health]}${text}${RESET}` : text);
  const lines: string[] = [];
  for (const report of identities) {
    const facts = [
      report.region,
      report.identityType,
      `SES DKIM ${report.sesStatus}${report.signingEnabled ? '' : ', signing off'}`,
    ];
    if (report.zone) facts.push(`zone ${visibleText(report.zone)}`);
    if (report.inheritedFrom) facts.push(`DKIM from ${visibleText(report.inheritedFrom)}`);
    lines.push(
      `${paint(report.health, `[${SYMBOL[report.health]}] ${report.health.padEnd(8)}`)} ${visibleText(report.identity)}  (${facts.join(', ')})`,
    );
    const width = Math.max(6, ...report.records.map((r) => visibleText(r.name).length));
    for (const record of report.records) {
      lines.push(`      ${visibleText(record.name).padEnd(width)}  ${record.type.padEnd(5)}  ${recordStatus(record)}`);
    }
    for (const finding of report.findings) lines.push(...findingLines(finding, '    - '));
    for (const record of report.records)
      for (const finding of record.findings) lines.push(...findingLines(finding, '    - '));
    lines.push('');
  }
  for (const error of errors) lines.push(`[!!] ${visibleText(error.region)}: ${visibleText(error.message)}`);
  const counts = new Map<Health, number>();
  for (const r of identities) counts.set(r.health, (counts.get(r.health) ?? 0) + 1);
  const summary = [...counts.entries()].map(([h, n]) => `${n} ${h}`).join(', ');
  lines.push(
    `${identities.length} identit${identities.length === 1 ? 'y' : 'ies'} checked${summary ? `: ${summary}` : ''}${errors.length > 0 ? `; ${errors.length} discovery error(s)` : ''}`,
  );
  return lines.join('\n');
}

/** The JSON report as printed on a terminal: non-printable characters in its strings as `\uXXXX` escapes. */
export function renderJson(
  identities: readonly IdentityReport[],
  errors: readonly { region: string; identity?: string; message: string }[],
): string {
  return terminalJson(toJsonReport(identities, errors));
}

export function toJsonReport(
  identities: readonly IdentityReport[],
  errors: readonly { region: string; identity?: string; message: string }[],
): JsonReport {
  return { identities, errors };
}
