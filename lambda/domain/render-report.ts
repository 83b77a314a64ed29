import { type Health, type IdentityReport, QUIET_HEALTHS, type RecordReport } from './assess-identity';
import type { DmarcReport, MailFromReport } from './diagnose-mail-auth';
import type { Finding, RecordFix } from './findings';
import { DEFAULT_LIFECYCLE, type DeadlineKind, type LifecycleSettings, sesClock } from './lifecycle';
import { terminalJson, visibleText } from './markup-escape';
import { reportClockLines, restartAdvice, sesSinceWords, sesStatusLine } from './render-alert';
import { type RootCause, rootCauses } from './root-causes';
import { DEFAULT_TEXT_WIDTH, wrapParagraph, wrapWithCommands } from './text-wrap';
import { caretLines } from './value-diff';

/** SES's status and clock for one identity, as the JSON report states them. */
export interface SesStatusReport {
  readonly status: string;
  /** How long SES has said so, in words (from SES's timestamps). */
  readonly since: string;
  readonly lastSuccess?: string;
  readonly lastChecked?: string;
  /** `running` once SES has started its clock; `not-started` while it says SUCCESS; `over` once FAILED. */
  readonly clock: 'running' | 'not-started' | 'over' | 'none';
  readonly deadlineKind?: DeadlineKind;
  readonly clockStart?: string;
  readonly deadline?: string;
  readonly hoursLeft?: number;
  /** The clock's full length: what is left at most when SES gives no timestamp to anchor it on. */
  readonly clockLengthHours?: number;
}

/** The report as JSON (the CLI's `--json` and the Lambda's log), with stable field names. */
export interface JsonReport {
  /** When the check ran (the clock `hoursLeft` is measured from). */
  readonly checkedAt?: string;
  readonly identities: readonly (IdentityReport & {
    readonly ses?: SesStatusReport;
    readonly causes: readonly RootCause[];
  })[];
  readonly errors: readonly { readonly region: string; readonly identity?: string; readonly message: string }[];
}

/** How the text report is laid out and which clock it measures hours left against. */
export interface TextOptions {
  readonly colour: boolean;
  /** Columns to wrap at. @default 100 */
  readonly width?: number;
  /** Epoch milliseconds "now" (for hours left). @default no clock lines */
  readonly now?: number;
  readonly lifecycle?: LifecycleSettings;
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

/** One DNS change in the column order of a DNS console: action, name, type, value. */
export function changeLine(change: RecordFix): string {
  return `${change.action === 'publish' ? 'publish' : 'remove '}  ${change.name}  ${change.type}  ${change.value}`;
}

/** SES's status and clock for the JSON report. */
export function sesStatusReport(
  report: IdentityReport,
  now: number,
  settings: LifecycleSettings = DEFAULT_LIFECYCLE,
): SesStatusReport {
  const clock = sesClock(report, now, settings);
  return {
    status: report.sesStatus,
    since: sesSinceWords(report, clock, now),
    ...(report.sesLastSuccess ? { lastSuccess: report.sesLastSuccess } : {}),
    ...(report.sesLastChecked ? { lastChecked: report.sesLastChecked } : {}),
    clock: clock
      ? 'running'
      : report.sesStatus === 'FAILED'
        ? 'over'
        : report.sesStatus === 'SUCCESS' && report.signingEnabled
          ? 'not-started'
          : 'none',
    ...(clock
      ? {
          deadlineKind: clock.kind,
          clockLengthHours: clock.lengthHours,
          ...(clock.clockStart ? { clockStart: clock.clockStart } : {}),
          ...(clock.deadline ? { deadline: clock.deadline, hoursLeft: clock.hoursLeft } : {}),
        }
      : {}),
  };
}

/** The text of one cause: its summary, fix, changes, value diff, evidence and dig, indented under a number. */
export function causeLines(cause: RootCause, number: number, width: number, indent: string): string[] {
  const head = `${indent}${number}. `;
  const body = ' '.repeat(head.length);
  const deeper = `${body}  `;
  const lines = wrapWithCommands(visibleText(cause.summary), width, head, body);
  if (cause.fix) lines.push(...wrapWithCommands(`Fix: ${visibleText(cause.fix)}`, width, body, deeper));
  for (const change of cause.changes)
    lines.push(...wrapParagraph(visibleText(changeLine(change)), width, deeper, `${deeper}  `));
  if (cause.diff) {
    lines.push(
      ...caretLines(
        { ...cause.diff, expected: visibleText(cause.diff.expected), actual: visibleText(cause.diff.actual) },
        'expected:',
        'found:',
      ).map((l) => `${deeper}${l}`),
    );
  }
  if (cause.evidence.length > 0) {
    lines.push(`${body}Evidence:`);
    for (const e of cause.evidence) lines.push(...wrapParagraph(visibleText(e), width, deeper, `${deeper}  `));
  }
  if (cause.verify.length > 0) {
    lines.push(`${body}Verify:`);
    for (const dig of cause.verify) lines.push(`${deeper}$ ${visibleText(dig)}`);
  }
  return lines;
}

function findingLines(finding: Finding, width: number, indent: string): string[] {
  return [
    ...wrapWithCommands(`- ${finding.code}: ${visibleText(finding.message)}`, width, indent, `${indent}  `),
    `${indent}  $ ${visibleText(finding.dig)}`,
  ];
}

/** A MAIL FROM or DMARC finding: its line, the DNS changes it asks for, and its dig. */
function mailAuthFindingLines(finding: Finding, width: number, indent: string): string[] {
  const lines = wrapWithCommands(`- ${finding.code}: ${visibleText(finding.message)}`, width, indent, `${indent}  `);
  for (const change of finding.fixes ?? [])
    lines.push(...wrapParagraph(visibleText(changeLine(change)), width, `${indent}  `, `${indent}    `));
  lines.push(`${indent}  $ ${visibleText(finding.dig)}`);
  return lines;
}

/** The headline of the MAIL FROM part: `MAIL FROM mail.example.com: SES SUCCESS, USE_DEFAULT_VALUE, HEALTHY`. */
export function mailFromHeadline(mailFrom: MailFromReport): string {
  return `MAIL FROM ${visibleText(mailFrom.domain)}: SES ${mailFrom.sesStatus}, ${mailFrom.behaviorOnMxFailure}, ${mailFrom.health}`;
}

/**
 * The headline of the DMARC part: `DMARC _dmarc.example.com p=reject: HEALTHY`; `sp=` when the policy is the
 * organizational domain's subdomain policy, `no policy` when none applies.
 */
export function dmarcHeadline(dmarc: DmarcReport): string {
  const name = dmarc.recordName ?? `_dmarc.${dmarc.domain}`;
  const viaOrg = dmarc.recordName !== undefined && dmarc.recordName !== `_dmarc.${dmarc.domain}`;
  const policy = dmarc.policy ? `${viaOrg ? 'sp' : 'p'}=${dmarc.policy}` : 'no policy';
  return `DMARC ${visibleText(name)} ${policy}: ${dmarc.health}`;
}

/** The MAIL FROM and DMARC parts of one identity, after its DKIM part. */
function mailAuthLines(
  report: IdentityReport,
  width: number,
  indent: string,
  paint: (health: Health, text: string) => string,
): string[] {
  const lines: string[] = [];
  const sections = [
    ...(report.mailFrom ? [{ section: report.mailFrom, headline: mailFromHeadline(report.mailFrom) }] : []),
    ...(report.dmarc ? [{ section: report.dmarc, headline: dmarcHeadline(report.dmarc) }] : []),
  ];
  for (const { section, headline } of sections) {
    const health = ` ${section.health}`;
    const text = headline.endsWith(health) ? headline.slice(0, -health.length) : headline;
    const wrapped = wrapParagraph(`${text} ${section.health}`, width, indent, `${indent}  `);
    // The health word keeps its colour even when the headline wraps.
    const last = wrapped.length - 1;
    wrapped[last] =
      `${(wrapped[last] as string).slice(0, -section.health.length)}${paint(section.health, section.health)}`;
    lines.push(...wrapped);
    for (const finding of section.findings) lines.push(...mailAuthFindingLines(finding, width, `${indent}  `));
  }
  return lines;
}

/**
 * A readable report: one block per identity: SES's status and clock, the root causes with their fix first,
 * then the records and every finding as detail, wrapped to `width` (suggested commands never wrapped).
 */
export function renderText(
  identities: readonly IdentityReport[],
  errors: readonly { region: string; identity?: string; message: string }[],
  options: TextOptions,
): string {
  const width = options.width ?? DEFAULT_TEXT_WIDTH;
  const paint = (health: Health, text: string) => (options.colour ? `${COLOURS[health]}${text}${RESET}` : text);
  const lines: string[] = [];
  const indent = '    ';
  for (const report of identities) {
    const facts = [report.region, report.identityType];
    if (report.zone) facts.push(`zone ${visibleText(report.zone)}`);
    // The headline is DKIM's health; a MAIL FROM or DMARC problem is flagged on it too, so it is not missed.
    const also = [
      ...(report.mailFrom && !QUIET_HEALTHS.has(report.mailFrom.health) ? [`MAIL FROM ${report.mailFrom.health}`] : []),
      ...(report.dmarc && !QUIET_HEALTHS.has(report.dmarc.health)
        ? [
            report.dmarc.findings.some((f) => f.code === 'DMARC_WILL_FAIL' && f.severity === 'problem')
              ? `${report.health === 'AT_RISK' ? 'mail will fail' : 'mail fails'} DMARC (p=${report.dmarc.policy ?? 'none'})`
              : `DMARC ${report.dmarc.health}`,
          ]
        : []),
    ];
    lines.push(
      `${paint(report.health, `[${SYMBOL[report.health]}] ${report.health.padEnd(8)}`)} ${visibleText(report.identity)}  (${facts.join(', ')})${also.length > 0 ? `  + ${also.join(', ')}` : ''}`,
    );
    const clock = options.now !== undefined ? sesClock(report, options.now, options.lifecycle) : undefined;
    const status = [
      sesStatusLine(report),
      ...(options.now !== undefined ? [`Status: ${sesSinceWords(report, clock, options.now)}`] : []),
      ...(options.now !== undefined ? reportClockLines(report, clock, options.lifecycle?.graceDays ?? 5) : []),
    ];
    for (const line of status) lines.push(...wrapWithCommands(visibleText(line), width, indent, indent));
    const causes = (report.causes ?? rootCauses(report)).filter(
      (c) => c.severity !== 'info' || report.health !== 'HEALTHY',
    );
    if (causes.length > 0) {
      lines.push(`${indent}${causes.length === 1 ? 'Cause' : `${causes.length} causes`} (fix first):`);
      for (const [i, cause] of causes.entries()) lines.push(...causeLines(cause, i + 1, width, `${indent}  `));
      if (report.sesStatus === 'FAILED' && options.now === undefined) {
        lines.push(...wrapWithCommands(`Then ${restartAdvice(report)}`, width, `${indent}  `, `${indent}    `));
      }
    }
    const nameWidth = Math.max(6, ...report.records.map((r) => visibleText(r.name).length));
    lines.push(`${indent}Records:`);
    for (const record of report.records) {
      const row = `${indent}  ${visibleText(record.name).padEnd(nameWidth)}  ${record.type.padEnd(5)}  ${recordStatus(record)}`;
      // Too wide for one row: the status goes under the name rather than breaking the columns.
      if (row.length <= width) lines.push(row);
      else {
        lines.push(`${indent}  ${visibleText(record.name)}  ${record.type}`);
        lines.push(...wrapParagraph(recordStatus(record), width, `${indent}    `, `${indent}    `));
      }
    }
    const details = [...report.findings, ...report.records.flatMap((r) => r.findings)];
    if (details.length > 0) {
      lines.push(`${indent}Details:`);
      for (const finding of details) lines.push(...findingLines(finding, width, `${indent}  `));
    }
    lines.push(...mailAuthLines(report, width, indent, paint));
    lines.push('');
  }
  for (const error of errors) {
    lines.push(
      ...wrapParagraph(`[!!] ${visibleText(error.region)}: ${visibleText(error.message)}`, width, '', '     '),
    );
  }
  const counts = new Map<Health, number>();
  for (const r of identities) counts.set(r.health, (counts.get(r.health) ?? 0) + 1);
  const summary = [...counts.entries()].map(([h, n]) => `${n} ${h}`).join(', ');
  const partSummary = (label: string, healths: (Health | undefined)[]) => {
    const byHealth = new Map<Health, number>();
    for (const h of healths) if (h) byHealth.set(h, (byHealth.get(h) ?? 0) + 1);
    return byHealth.size > 0 ? `; ${label}: ${[...byHealth.entries()].map(([h, n]) => `${n} ${h}`).join(', ')}` : '';
  };
  const mailAuthSummary =
    partSummary(
      'MAIL FROM',
      identities.map((r) => r.mailFrom?.health),
    ) +
    partSummary(
      'DMARC',
      identities.map((r) => r.dmarc?.health),
    );
  lines.push(
    ...wrapParagraph(
      `${identities.length} identit${identities.length === 1 ? 'y' : 'ies'} checked${summary ? `: ${summary}` : ''}${mailAuthSummary}${errors.length > 0 ? `; ${errors.length} discovery error(s)` : ''}`,
      width,
      '',
      '  ',
    ),
  );
  return lines.join('\n');
}

/** The JSON report as printed on a terminal: non-printable characters in its strings as `\uXXXX` escapes. */
export function renderJson(
  identities: readonly IdentityReport[],
  errors: readonly { region: string; identity?: string; message: string }[],
  now?: number,
  settings?: LifecycleSettings,
): string {
  return terminalJson(toJsonReport(identities, errors, now, settings));
}

/**
 * The JSON report: each identity with its root causes and, given `now` (the domain reads no clock), SES's
 * status and clock measured at `now`.
 */
export function toJsonReport(
  identities: readonly IdentityReport[],
  errors: readonly { region: string; identity?: string; message: string }[],
  now?: number,
  settings: LifecycleSettings = DEFAULT_LIFECYCLE,
): JsonReport {
  return {
    ...(now !== undefined ? { checkedAt: new Date(now).toISOString() } : {}),
    identities: identities.map((r) => ({
      ...r,
      causes: r.causes ?? rootCauses(r),
      ...(now !== undefined ? { ses: sesStatusReport(r, now, settings) } : {}),
    })),
    errors,
  };
}
