import type { Health, IdentityReport } from './assess-identity';
import type { Finding, RecordFix } from './findings';
import { type DeadlineKind, type Phase, type SesClock, type Stage, shortHash, stateKey, type Track } from './lifecycle';
import { chatbotCode, chatbotText, slackCode, slackText, visibleText } from './markup-escape';
import { type RootCause, rootCauses } from './root-causes';
import { sesv2Command } from './shell-words';
import { caretLines, describeDiff, markDiff } from './value-diff';

/** Where the alert comes from, for its text and links. */
export interface AlertContext {
  readonly account?: string;
  /** SES's grace period before it revokes DKIM. @default 5 */
  readonly graceDays?: number;
}

/** An AWS Chatbot custom notification (https://docs.aws.amazon.com/chatbot/latest/adminguide/custom-notifs.html). */
export interface ChatbotNotification {
  readonly version: '1.0';
  readonly source: 'custom';
  readonly id: string;
  readonly content: {
    readonly textType: 'client-markdown';
    readonly title: string;
    readonly description: string;
    readonly nextSteps: readonly string[];
    readonly keywords: readonly string[];
  };
  readonly metadata: {
    readonly threadId: string;
    readonly summary: string;
    readonly eventType: string;
    readonly relatedResources: readonly string[];
    readonly additionalContext: Record<string, string>;
  };
}

/** How urgent a notification is: `critical` pages someone, `info` never should. */
export type Severity = 'critical' | 'warning' | 'info';

/**
 * SNS message attributes, so subscribers can filter (a team's queue for its own domains, a pager for
 * EXPIRED only) without parsing text. A digest carries lists (`String.Array`): a filter matches any element.
 */
export interface AlertAttributes {
  /** What is watched: DKIM, MAIL_FROM (the custom MAIL FROM domain) or DMARC. */
  readonly check?: string | readonly string[];
  readonly identity: string | readonly string[];
  readonly region: string | readonly string[];
  readonly account?: string;
  readonly stage: string | readonly string[];
  readonly health: string | readonly string[];
  readonly incident: string | readonly string[];
  readonly severity: Severity;
}

export interface RenderedAlert {
  /** Under 100 ASCII characters, one line (SNS email subject rules). */
  readonly subject: string;
  readonly attributes: AlertAttributes;
  /** Plain text for email and any subscriber that reads `default`. */
  readonly text: string;
  readonly chatbot: ChatbotNotification;
  /** A Slack incoming-webhook payload (Block Kit) with a plain-text fallback. */
  readonly slack: { readonly text: string; readonly blocks: readonly unknown[] };
}

const MAX_SUBJECT = 99;
const MAX_TEXT = 100_000; // the text appears twice (default, email) in one SNS message of at most 256 KB
const MAX_SNS_BYTES = 250_000;
const MAX_SLACK_TEXT = 2900; // Slack section text limit is 3000 characters
const MAX_SLACK_BLOCKS = 50;

function meaning(report: IdentityReport, graceDays: number, track: Track = 'DKIM'): string {
  if (track === 'MAIL_FROM') return mailFromMeaning(report);
  if (track === 'DMARC') return dmarcMeaning(report);
  switch (report.health) {
    case 'REVOKED':
      return 'SES has revoked DKIM for this identity (status FAILED): mail is not DKIM-signed and DMARC alignment fails.';
    case 'FAILING':
      return `SES cannot find the DKIM records and has stopped signing (status TEMPORARY_FAILURE); it revokes DKIM about ${graceDays} days after the failure began unless every record is back.`;
    case 'AT_RISK':
      return report.sesStatus === 'PENDING'
        ? 'SES is verifying this DKIM setup (status PENDING) and the DNS is definitely wrong: SES marks the setup FAILED 72 hours after it began unless every record below is published.'
        : `SES still signs (status SUCCESS), but the DNS is wrong: when SES next checks, it stops signing and starts its ${graceDays}-day revocation clock.`;
    case 'UNKNOWN':
      return 'Some records could not be verified (timeouts or server failures); nothing is known to be wrong yet.';
    case 'PENDING':
      return 'SES is still verifying the DKIM setup (up to 72 hours).';
    case 'DISABLED':
      return 'DKIM signing is off for this identity.';
    case 'HEALTHY':
      return 'Every DKIM record is published correctly on every nameserver and resolver.';
  }
}

function mailFromMeaning(report: IdentityReport): string {
  const domain = report.mailFrom?.domain ?? 'the custom MAIL FROM domain';
  const behaviour =
    report.mailFrom?.behaviorOnMxFailure === 'REJECT_MESSAGE'
      ? 'SES rejects sends from this identity (MailFromDomainNotVerified)'
      : 'SES sends with its own MAIL FROM domain instead: SPF passes but is not aligned with the From domain';
  switch (report.health) {
    case 'REVOKED':
      return `SES has marked the MAIL FROM domain ${domain} FAILED and stopped checking it: ${behaviour}. Fix the records, then set the MAIL FROM domain up again.`;
    case 'FAILING':
      return `SES cannot find the MX of the MAIL FROM domain ${domain} (status TEMPORARY_FAILURE): ${behaviour}. SES rechecks for 72 hours, then marks it FAILED.`;
    case 'AT_RISK':
      return report.sesStatus === 'PENDING'
        ? `SES is verifying the MAIL FROM domain ${domain} (status PENDING) and its records are definitely wrong: SES marks it FAILED after 72 hours.`
        : `SES still uses the MAIL FROM domain ${domain} (status SUCCESS), but its MX or SPF record is wrong: at SES's next check it fails, and then ${behaviour}.`;
    case 'UNKNOWN':
      return `Some records of the MAIL FROM domain ${domain} could not be verified; nothing is known to be wrong yet.`;
    default:
      return `The MAIL FROM domain ${domain} has its MX and SPF records on every nameserver and resolver.`;
  }
}

function dmarcMeaning(report: IdentityReport): string {
  const where = report.dmarc?.recordName ?? `_dmarc.${report.dmarc?.organizationalDomain ?? report.identity}`;
  switch (report.health) {
    case 'AT_RISK':
      return `The DMARC record at ${where} is broken: receivers apply no DMARC policy to mail From ${report.dmarc?.domain ?? report.identity}.`;
    case 'UNKNOWN':
      return `The DMARC record at ${where} could not be verified on every server; nothing is known to be wrong yet.`;
    default:
      return `The DMARC record at ${where} is published and valid on every nameserver and resolver.`;
  }
}

/** The words of a track in headlines and subjects. */
function trackLabel(track: Track | undefined): string {
  return track === 'MAIL_FROM' ? 'MAIL FROM' : track === 'DMARC' ? 'DMARC' : 'DKIM';
}

/**
 * The report of one track of an identity, shaped like its DKIM report so every renderer can use it: the
 * custom MAIL FROM domain's or the DMARC record's health, SES status and findings (no DKIM records).
 */
export function trackReport(report: IdentityReport, track: Track): IdentityReport {
  if (track === 'DKIM') return report;
  const section = track === 'MAIL_FROM' ? report.mailFrom : report.dmarc;
  return {
    identity: report.identity,
    region: report.region,
    identityType: report.identityType,
    health: section?.health ?? report.health,
    sesStatus: track === 'MAIL_FROM' && report.mailFrom ? report.mailFrom.sesStatus : 'NONE',
    signingEnabled: report.signingEnabled,
    ...(report.zone ? { zone: report.zone } : {}),
    records: [],
    findings: section?.findings ?? [],
    ...(report.mailFrom ? { mailFrom: report.mailFrom } : {}),
    ...(report.dmarc ? { dmarc: report.dmarc } : {}),
  };
}

/** SES's own words for the identity, in one consistent line. */
export function sesStatusLine(report: IdentityReport, track: Track = 'DKIM'): string {
  if (track === 'MAIL_FROM') {
    return `SES MAIL FROM status: ${report.mailFrom?.sesStatus ?? report.sesStatus}; behavior on MX failure: ${report.mailFrom?.behaviorOnMxFailure ?? 'USE_DEFAULT_VALUE'}.`;
  }
  if (track === 'DMARC') {
    return `DMARC policy for ${report.dmarc?.domain ?? report.identity}: ${report.dmarc?.policy ?? 'none applies'}.`;
  }
  const signs =
    report.sesStatus === 'SUCCESS' && report.signingEnabled
      ? 'SES signs mail for it'
      : report.sesStatus === 'TEMPORARY_FAILURE'
        ? 'SES has stopped signing until it finds the records again'
        : report.sesStatus === 'FAILED'
          ? 'SES does not sign: the setup was revoked or failed'
          : report.sesStatus === 'PENDING'
            ? 'SES does not sign yet: it is verifying the setup'
            : 'SES does not sign';
  const setting = report.signingEnabled ? 'enabled' : 'disabled';
  const origin = report.signingOrigin ? `, ${originWords(report.signingOrigin)}` : '';
  return `SES DKIM status: ${report.sesStatus} (${signs}); signing setting ${setting}${origin}.${report.inheritedFrom ? ` DKIM comes from ${report.inheritedFrom}.` : ''}`;
}

function originWords(origin: string): string {
  if (origin === 'AWS_SES') return 'Easy DKIM';
  if (origin === 'EXTERNAL') return 'BYODKIM (your own key)';
  return `replica of the primary identity in ${replicaRegion(origin)}`;
}

function replicaRegion(origin: string): string {
  return origin.slice('AWS_SES_'.length).toLowerCase().replace(/_/g, '-');
}

/** How to restart DKIM setup for this identity, in a way that keeps its signing origin. */
export function restartAdvice(report: IdentityReport): string {
  const id = report.inheritedFrom ?? report.identity;
  const origin = report.signingOrigin ?? 'AWS_SES';
  if (origin === 'EXTERNAL') {
    return `restart BYODKIM with your selector and private key: ${sesv2Command('put-email-identity-dkim-signing-attributes', id, report.region, ['--signing-attributes-origin', 'EXTERNAL', '--signing-attributes', 'DomainSigningSelector=<selector>,DomainSigningPrivateKey=<base64 private key>'])}, and publish the TXT record for that selector.`;
  }
  if (origin.startsWith('AWS_SES_')) {
    const primary = replicaRegion(origin);
    return `this identity replicates DKIM from its primary identity in ${primary}: restart setup there (${sesv2Command('put-email-identity-dkim-signing-attributes', id, primary, ['--signing-attributes-origin', 'AWS_SES'])}); the replica follows.`;
  }
  return `restart Easy DKIM: console > Identities > ${id} > Authentication > DKIM > Edit, or ${sesv2Command('put-email-identity-dkim-signing-attributes', id, report.region, ['--signing-attributes-origin', 'AWS_SES'])} (this may issue new tokens: publish the records SES then shows).`;
}

/** The SES console page of an identity. */
export function sesConsoleUrl(identity: string, region: string): string {
  return `https://${region}.console.aws.amazon.com/sesv2/home?region=${region}#/identities/${encodeURIComponent(identity)}`;
}

/** A subject line under 100 characters whatever the identity's length (names can be 253 characters). */
export function alertSubject(label: string, identity: string, region: string, suffix = '', check = 'DKIM'): string {
  const head = `${check} ${label}: `;
  const tail = ` (${region})${suffix}`;
  const room = MAX_SUBJECT - head.length - tail.length;
  const name = identity.length > room ? `${identity.slice(0, room - 3)}...` : identity;
  return `${head}${name}${tail}`.replace(/[^\x20-\x7e]/g, '?');
}

/** Where an identity is in its incident, for the words of a notification. */
export interface NotificationView {
  readonly stage: Stage;
  /** What the incident is about. @default 'DKIM' */
  readonly track?: Track;
  /** The incident the notification belongs to (its opening time). */
  readonly incidentId?: string;
  /** Where the identity is now. */
  readonly phase?: Phase;
  readonly threshold?: number;
  readonly hoursLeft?: number;
  readonly deadline?: string;
  /** REVOCATION: SES's grace period after it stopped signing. SETUP: SES's 72-hour setup window. */
  readonly deadlineKind?: DeadlineKind;
  /** When SES's clock started, as well as can be told. */
  readonly clockStart?: string;
  readonly openedAt?: string;
  /** CLOSED and UPDATE: why. */
  readonly reason?: string;
  /** RESOLVED: how long it was broken. */
  readonly brokenForHours?: number;
}

/** How urgent a notification is, from its stage and where the identity is. */
export function severityOf(view: NotificationView | undefined, report: IdentityReport): Severity {
  if (view?.track === 'DMARC') {
    // A receivers' policy, not SES's signing: worth a look, never a page.
    return view.stage === 'RESOLVED' || view.stage === 'CLOSED' ? 'info' : 'warning';
  }
  if (view?.track === 'MAIL_FROM' && (view.stage === 'DETECTED' || view.stage === 'UPDATE')) return 'critical';
  const sesFailing = report.health === 'FAILING' || report.health === 'REVOKED' || view?.phase === 'COUNTDOWN';
  switch (view?.stage) {
    case 'EXPIRED':
    case 'SIGNING_STOPPED':
      return 'critical';
    case 'REMINDER':
      return view.deadlineKind === 'SETUP' ? 'warning' : 'critical';
    case 'DETECTED':
    case 'UPDATE':
      return sesFailing ? 'critical' : 'warning';
    case 'SETUP_BLOCKED':
    case 'CANNOT_VERIFY':
      return 'warning';
    case 'RESOLVED':
    case 'CLOSED':
      return 'info';
    default:
      return report.health === 'HEALTHY' || report.health === 'PENDING' || report.health === 'DISABLED'
        ? 'info'
        : sesFailing
          ? 'critical'
          : 'warning';
  }
}

/** A stable, short incident id for message attributes and threads. */
export function incidentTag(
  report: { identity: string; region: string },
  incidentId: string | undefined,
  track: Track = 'DKIM',
): string {
  return `dkim-${shortHash(`${stateKey(report.region, report.identity, { track })}#${incidentId ?? 'none'}`)}`;
}

function headline(view: NotificationView | undefined, health: Health, where: string): string {
  const check = trackLabel(view?.track);
  switch (view?.stage) {
    case 'DETECTED':
      return `${check} problem detected for ${where}`;
    case 'UPDATE':
      return `${check} problem changed for ${where}`;
    case 'SIGNING_STOPPED':
      return view.track === 'MAIL_FROM'
        ? `SES stopped using the custom MAIL FROM domain of ${where}`
        : `SES stopped DKIM signing for ${where}`;
    case 'SETUP_BLOCKED':
      return `${check} setup blocked by DNS for ${where}`;
    case 'CLOSED':
      return `${check} monitoring stopped for ${where}`;
    case 'REMINDER':
      return `Reminder: about ${view.hoursLeft ?? view.threshold} hours left for ${where}`;
    case 'EXPIRED':
      return view.phase === 'EXPIRED' && view.deadlineKind === 'SETUP'
        ? `${check} setup failed for ${where}`
        : `${check} grace period over for ${where}`;
    case 'RESOLVED':
      return `${check} healthy again for ${where}${view.brokenForHours !== undefined ? ` (broken for ${view.brokenForHours} hours)` : ''}`;
    case 'CANNOT_VERIFY':
      return `${check} cannot be verified for ${where}`;
    default:
      return `${check} ${health} for ${where}`;
  }
}

function clockLine(view: NotificationView | undefined, report: IdentityReport, graceDays: number): string[] {
  if (!view) return [];
  if (view.track === 'MAIL_FROM' || view.track === 'DMARC') return trackClockLine(view, report);
  switch (view.stage) {
    case 'EXPIRED':
      return [
        report.sesStatus === 'FAILED'
          ? `SES has marked DKIM FAILED: publish every record below, then ${restartAdvice(report)}`
          : `SES's ${graceDays}-day grace period has run out (earliest estimate: ${view.deadline ?? 'now'}); SES revokes DKIM at its next check if it has not already. Publish every record below now; if SES then says FAILED, ${restartAdvice(report)}`,
      ];
    case 'RESOLVED':
      return ['Every DKIM record is verified again on every nameserver and resolver, and SES signs.'];
    case 'CLOSED':
      return [view.reason ?? 'Monitoring of this incident stopped.'];
    default:
      break;
  }
  const lines = view.reason && view.stage === 'UPDATE' ? [view.reason] : [];
  if (view.deadline !== undefined && view.hoursLeft !== undefined) {
    const left = `${Math.max(0, view.hoursLeft)} hours left`;
    lines.push(
      view.deadlineKind === 'SETUP'
        ? `SES has been looking for these records since about ${view.clockStart ?? 'the setup began'} and marks the setup FAILED by ${view.deadline}: ${left}.`
        : `SES stopped signing at about ${view.clockStart ?? 'its last check'}; it may revoke DKIM by ${view.deadline}: ${left}.`,
    );
  } else if (report.sesStatus === 'SUCCESS' && view.stage !== 'CANNOT_VERIFY') {
    lines.push(
      `SES has not noticed yet and still signs: its ${graceDays}-day revocation clock starts when its next check of these records fails. No deadline yet; fix the records before that check.`,
    );
  }
  return lines;
}

/** The MAIL FROM track's clock (SES's 72-hour MX recheck), and DMARC's (none: receivers' policy). */
function trackClockLine(view: NotificationView, report: IdentityReport): string[] {
  const domain = report.mailFrom?.domain ?? 'the MAIL FROM domain';
  switch (view.stage) {
    case 'RESOLVED':
      return [
        view.track === 'DMARC'
          ? 'The DMARC record is valid again on every nameserver and resolver.'
          : `The MX and SPF records of ${domain} are verified again, and SES uses it.`,
      ];
    case 'CLOSED':
      return [view.reason ?? 'Monitoring of this incident stopped.'];
    case 'EXPIRED':
      return [
        `SES has marked ${domain} FAILED: publish its records, then set it up again: ${sesv2Command('put-email-identity-mail-from-attributes', report.identity, report.region, ['--mail-from-domain', domain, '--behavior-on-mx-failure', report.mailFrom?.behaviorOnMxFailure ?? 'USE_DEFAULT_VALUE'])}`,
      ];
    default:
      break;
  }
  const lines = view.reason && view.stage === 'UPDATE' ? [view.reason] : [];
  if (view.track === 'MAIL_FROM' && view.deadline !== undefined && view.hoursLeft !== undefined) {
    lines.push(
      `SES lost the MX of ${domain} at about ${view.clockStart ?? 'its last check'}; it marks the MAIL FROM domain FAILED by ${view.deadline}: ${Math.max(0, view.hoursLeft)} hours left.`,
    );
  } else if (view.track === 'MAIL_FROM' && report.sesStatus === 'SUCCESS') {
    lines.push(
      `SES has not noticed yet: its 72-hour clock starts when its next check of ${domain} fails. Fix the records before that.`,
    );
  }
  return lines;
}

/**
 * SES's clock for a report seen on its own (the CLI), in the alerts' own words: the deadline and hours left
 * once SES has started its clock, "SES has not noticed yet" while it says SUCCESS, the restart once FAILED.
 */
export function reportClockLines(report: IdentityReport, clock: SesClock | undefined, graceDays = 5): string[] {
  if (report.health === 'HEALTHY' || report.health === 'DISABLED') return [];
  if (report.sesStatus === 'FAILED') return clockLine({ stage: 'EXPIRED', phase: 'EXPIRED' }, report, graceDays);
  if (clock && clock.deadline === undefined) {
    return [
      clock.kind === 'SETUP'
        ? `SES gives no setup start time: it marks the setup FAILED at most ${clock.lengthHours} hours after the setup began.`
        : `SES gives no time of its last successful check: it may revoke DKIM at most ${clock.lengthHours} hours after it stopped signing.`,
    ];
  }
  if (report.health === 'UNKNOWN' && report.sesStatus === 'SUCCESS') return [];
  return clockLine(
    {
      stage: 'DETECTED',
      ...(clock?.deadline !== undefined
        ? {
            deadline: clock.deadline,
            hoursLeft: clock.hoursLeft,
            deadlineKind: clock.kind,
            clockStart: clock.clockStart,
          }
        : {}),
    },
    report,
    graceDays,
  );
}

/** How long SES has said what it says, as well as SES's timestamps tell. */
export function sesSinceWords(report: IdentityReport, clock: SesClock | undefined, now: number): string {
  const hoursSince = (iso: string) => Math.max(0, Math.round((now - Date.parse(iso)) / 360_000) / 10);
  if (clock?.clockStart !== undefined) {
    return clock.kind === 'SETUP'
      ? `${report.sesStatus} for about ${hoursSince(clock.clockStart)} hours (the setup began at ${clock.clockStart}).`
      : `${report.sesStatus} for at most ${hoursSince(clock.clockStart)} hours (SES's last successful check: ${clock.clockStart}).`;
  }
  const checked = report.sesLastChecked ? ` SES last checked at ${report.sesLastChecked}.` : '';
  if (report.sesStatus === 'SUCCESS')
    return `SUCCESS${report.sesLastSuccess ? ` at SES's last successful check (${report.sesLastSuccess})` : ''}.${checked}`;
  return `${report.sesStatus}${report.sesLastSuccess ? ` (SES's last successful check: ${report.sesLastSuccess})` : ''}.${checked}`;
}

/** The report's root causes (computed when a report was built without them). */
function causesOf(report: IdentityReport): readonly RootCause[] {
  return report.causes ?? rootCauses(report);
}

function uniqueChanges(changes: readonly RecordFix[]): RecordFix[] {
  return [...new Map(changes.map((x) => [`${x.action}|${x.name}|${x.type}|${x.value}`, x])).values()];
}

function changeWords(x: RecordFix): string {
  return `${x.action === 'publish' ? 'publish' : 'remove '}  ${x.name}  ${x.type}  ${x.value}`;
}

/** One cause as plain text (email): summary, fix, the value diff with carets, evidence, the dig. */
function causeText(cause: RootCause, number: number): string[] {
  return [
    `${number}. ${cause.summary}`,
    ...(cause.fix ? [`   Fix: ${cause.fix}`] : []),
    ...(cause.diff
      ? [...caretLines(cause.diff, 'expected:', 'found:').map((l) => `   ${l}`), `   (${describeDiff(cause.diff)})`]
      : []),
    ...cause.evidence.slice(0, 10).map((e) => `   - ${e}`),
    ...(cause.evidence.length > 10 ? [`   - ... and ${cause.evidence.length - 10} more`] : []),
    ...cause.verify.slice(0, 2).map((d) => `   Verify: ${d}`),
  ];
}

/** One cause as Slack mrkdwn: data escaped, the differing span of a wrong value in brackets. */
function slackCause(cause: RootCause, number: number): string {
  return [
    `*${number}. ${slackText(cause.summary)}*`,
    ...(cause.fix ? [`*Fix:* ${slackText(cause.fix)}`] : []),
    ...(cause.diff
      ? [
          `expected \`${slackCode(cause.diff.expected)}\``,
          `found \`${markDiff(cause.diff, 'actual', slackCode, (t) => `[${t}]`)}\` (${slackText(describeDiff(cause.diff))})`,
        ]
      : []),
    ...cause.evidence.slice(0, 5).map((e) => `• ${slackText(e)}`),
    ...(cause.evidence.length > 5 ? [`• ... and ${cause.evidence.length - 5} more`] : []),
    ...cause.verify.slice(0, 2).map((d) => `\`${slackCode(d)}\``),
  ].join('\n');
}

function allFindings(report: IdentityReport): Finding[] {
  return [...report.findings, ...report.records.flatMap((r) => r.findings)];
}

function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  // Never cut an escaped `&amp;`/`&lt;`/`&gt;` in half: a bare `&` would be left behind.
  const kept = text.slice(0, max - 40).replace(/&[a-z]{0,3}$/, '');
  return `${kept}\n[... ${text.length - kept.length} characters cut]`;
}

/** Render one identity's alert for every channel. Pure. */
export function renderIdentityAlert(
  report: IdentityReport,
  context: AlertContext = {},
  view?: NotificationView,
): RenderedAlert {
  const graceDays = context.graceDays ?? 5;
  const track = view?.track ?? 'DKIM';
  const summary = meaning(report, graceDays, track);
  const where = `${report.identity} in ${report.region}${context.account ? ` (account ${context.account})` : ''}`;
  const findings =
    view?.stage === 'RESOLVED' || view?.stage === 'CLOSED'
      ? []
      : allFindings(report).filter((f) => f.severity !== 'info' || report.health !== 'HEALTHY');
  const label = view?.stage ?? report.health;
  const suffix =
    view?.hoursLeft !== undefined && view.stage !== 'RESOLVED' && view.stage !== 'EXPIRED' && view.stage !== 'CLOSED'
      ? `, ${Math.max(0, Math.floor(view.hoursLeft))}h left`
      : '';
  const subject = alertSubject(label, report.identity, report.region, suffix, trackLabel(track));
  const consoleUrl = sesConsoleUrl(report.identity, report.region);
  const causes =
    view?.stage === 'RESOLVED' || view?.stage === 'CLOSED'
      ? []
      : causesOf(report).filter((c) => c.severity !== 'info' || report.health !== 'HEALTHY');
  const changes = uniqueChanges(causes.flatMap((c) => c.changes));
  const recordLines = report.records.map((r) => {
    const codes = [...new Set(r.findings.map((f) => f.code))];
    return `  ${r.name}  ${r.type}  ${r.expected}   [${codes.length > 0 ? codes.join(', ') : 'ok'}]`;
  });
  const clock = clockLine(view, report, graceDays);
  const text = truncate(
    [
      headline(view, report.health, where),
      '',
      summary,
      ...clock,
      sesStatusLine(report, track),
      '',
      ...(causes.length > 0
        ? [`What to fix (${causes.length === 1 ? 'one cause' : `${causes.length} causes, most important first`}):`]
        : []),
      ...causes.flatMap((c, i) => [...causeText(c, i + 1), '']),
      ...(changes.length > 0
        ? ['Change in your DNS (action, name, type, value):', ...changes.map((x) => `  ${changeWords(x)}`), '']
        : []),
      ...(recordLines.length > 0 ? ['Records that must exist:', ...recordLines, ''] : []),
      ...(findings.length > 0 ? ['Details (every finding):'] : []),
      ...findings.flatMap((f) => [`- ${f.code}: ${f.message}`, `  Verify: ${f.dig}`]),
      ...(findings.length > 0 ? [''] : []),
      `SES console: ${consoleUrl}`,
    ]
      .map(visibleText)
      .join('\n'),
    MAX_TEXT,
  );
  const nextSteps = [
    ...causes
      .filter((c) => c.fix)
      .map((c) => `Fix: ${chatbotText(c.fix)}`)
      .slice(0, 3),
    ...changes.map(
      (x) => `${x.action === 'publish' ? 'Publish' : 'Remove'} \`${chatbotCode(`${x.name} ${x.type} ${x.value}`)}\``,
    ),
    ...[...new Set([...causes.flatMap((c) => c.verify), ...findings.map((f) => f.dig)])]
      .slice(0, 5)
      .map((d) => `Verify: \`${chatbotCode(d)}\``),
  ].slice(0, 10);
  const chatbot: ChatbotNotification = {
    version: '1.0',
    source: 'custom',
    id: `${track === 'DKIM' ? 'dkim' : track.toLowerCase()}-${report.region}-${report.identity}-${label}`,
    content: {
      textType: 'client-markdown',
      title: chatbotText(subject),
      description: truncate(
        [
          `*${chatbotText(headline(view, report.health, where))}*`,
          summary,
          ...clock.map(chatbotText),
          ...causes.map(
            (c, i) =>
              `*${i + 1}. ${chatbotText(c.summary)}*${c.fix ? ` Fix: ${chatbotText(c.fix)}` : ''}${c.diff ? ` (\`${markDiff(c.diff, 'actual', chatbotCode, (t) => `[${t}]`)}\`)` : ''}`,
          ),
          ...findings.map((f) => `• *${f.code}*: ${chatbotText(f.message)}`),
          `<${consoleUrl}|Open in the SES console>`,
        ].join('\n'),
        3500,
      ),
      nextSteps,
      keywords: [trackLabel(track), label, report.health, report.region].filter((k, i, all) => all.indexOf(k) === i),
    },
    metadata: {
      threadId: `${track === 'DKIM' ? 'dkim' : track.toLowerCase()}-${context.account ? `${context.account}-` : ''}${report.region}-${report.identity}`,
      summary: chatbotText(subject),
      eventType: view ? `Dkim${view.stage}` : 'DkimHealth',
      relatedResources: [chatbotText(report.identity)],
      additionalContext: {
        health: report.health,
        region: report.region,
        sesStatus: report.sesStatus,
        ...(context.account ? { account: context.account } : {}),
        ...(view?.hoursLeft !== undefined ? { hoursLeft: String(view.hoursLeft) } : {}),
      },
    },
  };
  const section = (text: string) => ({
    type: 'section',
    text: { type: 'mrkdwn', text: truncate(text, MAX_SLACK_TEXT) },
  });
  const causeBlocks = causes.map((c, i) => section(slackCause(c, i + 1)));
  const changeBlocks =
    changes.length > 0
      ? [
          section(
            [
              '*Change in your DNS* (action, name, type, value):',
              ...changes.map((x) => `\`${slackCode(changeWords(x))}\``),
            ].join('\n'),
          ),
        ]
      : [];
  const findingBlocks = findings.map((f) => section(`*${f.code}*: ${slackText(f.message)}\n\`${slackCode(f.dig)}\``));
  const fixed = [...causeBlocks, ...changeBlocks];
  const room = MAX_SLACK_BLOCKS - 3;
  const detail = [...(findingBlocks.length > 0 ? [{ type: 'divider' }] : []), ...findingBlocks];
  const body = [...fixed, ...detail];
  const blocks: unknown[] = [
    { type: 'header', text: { type: 'plain_text', text: subject.slice(0, 150) } },
    section(
      [
        `*${slackText(headline(view, report.health, where))}*`,
        slackText(summary),
        ...clock.map(slackText),
        slackText(sesStatusLine(report, track)),
      ].join('\n'),
    ),
    ...(body.length > room
      ? [
          ...body.slice(0, room - 1),
          section(`... and ${body.length - room + 1} more findings: see the email or the scanner's log`),
        ]
      : body),
    {
      type: 'context',
      elements: [{ type: 'mrkdwn', text: `<${consoleUrl}|Open ${slackText(report.identity)} in the SES console>` }],
    },
  ];
  const attributes: AlertAttributes = {
    check: track,
    identity: report.identity,
    region: report.region,
    ...(context.account ? { account: context.account } : {}),
    stage: view?.stage ?? 'REPORT',
    health: report.health,
    incident: incidentTag(report, view?.incidentId, track),
    severity: severityOf(view, report),
  };
  return { subject, attributes, text, chatbot, slack: { text: slackText(subject), blocks } };
}

const SEVERITY_RANK: readonly Severity[] = ['info', 'warning', 'critical'];

/** SNS MessageAttributes from alert attributes (lists as `String.Array`, which filter policies match per item). */
export function snsMessageAttributes(
  attributes: AlertAttributes,
): Record<string, { DataType: 'String' | 'String.Array'; StringValue: string }> {
  const out: Record<string, { DataType: 'String' | 'String.Array'; StringValue: string }> = {};
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined) continue;
    out[name] = Array.isArray(value)
      ? { DataType: 'String.Array', StringValue: JSON.stringify([...new Set(value as string[])]) }
      : { DataType: 'String', StringValue: String(value) };
  }
  return out;
}

/**
 * The SNS Publish input: one JSON message with a variant per protocol. Email gets plain text; AWS Chatbot
 * (subscribed over https) gets the custom notification it renders, since it drops plain text.
 */
export function snsPublishInput(alert: RenderedAlert): {
  Subject: string;
  Message: string;
  MessageStructure: 'json';
  MessageAttributes: ReturnType<typeof snsMessageAttributes>;
} {
  const https = JSON.stringify(alert.chatbot);
  let text = alert.text;
  let message = JSON.stringify({ default: text, email: text, https });
  // JSON escaping and multi-byte characters can grow the text: cut until the whole message fits, never fail.
  while (Buffer.byteLength(message) > MAX_SNS_BYTES) {
    text = truncate(text, Math.floor(text.length * 0.8));
    message = JSON.stringify({ default: text, email: text, https });
  }
  return {
    Subject: alert.subject,
    MessageStructure: 'json',
    Message: message,
    MessageAttributes: snsMessageAttributes(alert.attributes),
  };
}

/** Identities that share one cause in a digest: when at least this many do, they get one line. */
const GROUP_AT = 3;

/** Causes about servers rather than one identity's records: the kind many identities can share. */
const SHAREABLE: ReadonlySet<string> = new Set([
  'STALE_NAMESERVER',
  'LAGGING_SECONDARY',
  'LOOKUP_FAILED',
  'NAMESERVER_UNRESOLVABLE',
  'DELEGATION_MISMATCH',
  'DOMAIN_NOT_DELEGATED',
  'ZONE_SOURCES_DISAGREE',
]);

interface DigestGroup {
  readonly cause: RootCause;
  readonly members: readonly { readonly report: IdentityReport; readonly view: NotificationView }[];
}

function topCause(report: IdentityReport, view: NotificationView): RootCause | undefined {
  if (view.stage === 'RESOLVED' || view.stage === 'CLOSED') return undefined;
  return causesOf(report).find((c) => c.severity !== 'info');
}

/**
 * Identities whose top cause is the same thing (same kind, same servers): a provider outage behind 40
 * identities is one line naming the provider, not 40.
 */
function digestGroups(items: readonly { report: IdentityReport; view: NotificationView }[]): DigestGroup[] {
  const byKey = new Map<string, { cause: RootCause; members: { report: IdentityReport; view: NotificationView }[] }>();
  for (const item of items) {
    const cause = topCause(item.report, item.view);
    if (!cause || !SHAREABLE.has(cause.code) || cause.servers.length === 0) continue;
    const hosts = [...new Set(cause.servers.map((s) => s.replace(/ \(.*\)$/, '')))].sort();
    const key = `${cause.code}|${hosts.join(',')}`;
    const group = byKey.get(key);
    if (group) group.members.push(item);
    else byKey.set(key, { cause, members: [item] });
  }
  return [...byKey.values()].filter((g) => g.members.length >= GROUP_AT);
}

function sharedCauseLine(group: DigestGroup): string {
  const names = group.members.map((m) => m.report.identity);
  const shown = names.slice(0, 10).join(', ');
  const more = names.length > 10 ? ` and ${names.length - 10} more` : '';
  const left = group.members.map((m) => m.view.hoursLeft).filter((h): h is number => h !== undefined && h !== null);
  const soonest = left.length > 0 ? `; soonest deadline in ${Math.max(0, Math.floor(Math.min(...left)))} hours` : '';
  const hosts = [...new Set(group.cause.servers.map((s) => s.replace(/ \(.*\)$/, '')))];
  return `${names.length} identities, one cause (${group.cause.code} on ${hosts.slice(0, 5).join(', ')}${hosts.length > 5 ? ', ...' : ''})${soonest}: ${shown}${more}.${group.cause.fix ? ` Fix: ${group.cause.fix}` : ''}`;
}

/** Digest lines of the identities not already covered by a shared-cause line. */
function ungrouped(
  lines: readonly string[],
  sorted: readonly { report: IdentityReport; view: NotificationView }[],
  groups: readonly DigestGroup[],
): string[] {
  const grouped = new Set(groups.flatMap((g) => g.members.map((m) => m.report)));
  return lines.filter((_, i) => !grouped.has(sorted[i]?.report as IdentityReport));
}

const STAGE_ORDER: readonly Stage[] = [
  'EXPIRED',
  'SIGNING_STOPPED',
  'DETECTED',
  'SETUP_BLOCKED',
  'UPDATE',
  'REMINDER',
  'CANNOT_VERIFY',
  'CLOSED',
  'RESOLVED',
];

/**
 * One message for many identities that changed stage in the same run (a provider outage, a botched zone
 * import): per-identity details stay in it, cut with a count when too long, never dropped silently.
 */
export function renderDigest(
  items: readonly { readonly report: IdentityReport; readonly view: NotificationView }[],
  context: AlertContext = {},
): RenderedAlert {
  const sorted = [...items].sort(
    (a, b) =>
      STAGE_ORDER.indexOf(a.view.stage) - STAGE_ORDER.indexOf(b.view.stage) ||
      a.report.identity.localeCompare(b.report.identity),
  );
  const counts = STAGE_ORDER.map((stage) => [stage, sorted.filter((i) => i.view.stage === stage).length] as const)
    .filter(([, n]) => n > 0)
    .map(([stage, n]) => `${n} ${stage}`)
    .join(', ');
  const subject = `DKIM: ${items.length} identities changed (${counts})`
    .slice(0, MAX_SUBJECT)
    .replace(/[^\x20-\x7e]/g, '?');
  const account = context.account ? ` in account ${context.account}` : '';
  const graceDays = context.graceDays ?? 5;
  const sections: string[] = [];
  const lines: string[] = [];
  let length = 0;
  let cut = 0;
  const groups = digestGroups(sorted);
  for (const { report, view } of sorted) {
    const single = renderIdentityAlert(report, context, view);
    const top = topCause(report, view);
    const left = view.hoursLeft !== undefined && view.stage !== 'RESOLVED' && view.stage !== 'CLOSED';
    lines.push(
      `${single.subject}${top ? `: ${top.summary}` : ''}${left ? ` (${Math.max(0, Math.floor(view.hoursLeft ?? 0))} hours left)` : ''}`,
    );
    const causes =
      view.stage === 'RESOLVED' || view.stage === 'CLOSED' ? [] : causesOf(report).filter((c) => c.severity !== 'info');
    const section = [
      `== ${single.subject}`,
      ...clockLine(view, report, graceDays).map((l) => truncate(l, 400)),
      ...causes
        .slice(0, 3)
        .flatMap((c, i) => [
          `${i + 1}. ${truncate(c.summary, 1000)}`,
          ...(c.fix ? [`   Fix: ${truncate(c.fix, 1000)}`] : []),
          ...(c.diff ? [`   (${describeDiff(c.diff)})`] : []),
          ...c.verify.slice(0, 1).map((d) => `   Verify: ${d}`),
        ]),
      ...(causes.length > 3 ? [`... and ${causes.length - 3} more causes`] : []),
      `  SES console: ${sesConsoleUrl(report.identity, report.region)}`,
      '',
    ]
      .map(visibleText)
      .join('\n');
    if (length + section.length > MAX_TEXT - 200) {
      cut++;
      continue;
    }
    sections.push(section);
    length += section.length;
  }
  const shared = groups.map((g) => sharedCauseLine(g));
  const text = [
    `${items.length} SES identities changed DKIM stage in one run${account}: ${counts}.`,
    '',
    ...(shared.length > 0
      ? ['Shared causes (one fix for many identities):', ...shared.map((l) => `- ${visibleText(l)}`), '']
      : []),
    ...sections,
    ...(cut > 0
      ? [`... and ${cut} more identities not shown here (message size limit): see the scanner's log and dashboard.`]
      : []),
  ].join('\n');
  const chatbot: ChatbotNotification = {
    version: '1.0',
    source: 'custom',
    id: `dkim-digest-${sorted[0]?.view.stage ?? 'none'}-${items.length}`,
    content: {
      textType: 'client-markdown',
      title: chatbotText(subject),
      description: truncate(
        [
          ...shared.map((l) => `*${chatbotText(l)}*`),
          ...ungrouped(lines, sorted, groups).map((l) => `• ${chatbotText(l)}`),
        ].join('\n'),
        3500,
      ),
      nextSteps: [
        'Read the email digest or the scanner log for every finding and fix',
        'Open the SES DKIM sentinel dashboard',
      ],
      keywords: ['DKIM', 'digest'],
    },
    metadata: {
      threadId: 'dkim-digest',
      summary: chatbotText(subject),
      eventType: 'DkimDigest',
      relatedResources: sorted.slice(0, 20).map((i) => chatbotText(i.report.identity)),
      additionalContext: { identities: String(items.length) },
    },
  };
  const room = MAX_SLACK_BLOCKS - 2;
  const itemBlocks = [
    ...shared.map((line) => ({
      type: 'section',
      text: { type: 'mrkdwn', text: truncate(`*${slackText(line)}*`, MAX_SLACK_TEXT) },
    })),
    ...ungrouped(lines, sorted, groups).map((line) => ({
      type: 'section',
      text: { type: 'mrkdwn', text: truncate(slackText(line), MAX_SLACK_TEXT) },
    })),
  ];
  const blocks: unknown[] = [
    { type: 'header', text: { type: 'plain_text', text: subject.slice(0, 150) } },
    ...(itemBlocks.length > room
      ? [
          ...itemBlocks.slice(0, room - 1),
          {
            type: 'section',
            text: { type: 'mrkdwn', text: `... and ${itemBlocks.length - room + 1} more identities` },
          },
        ]
      : itemBlocks),
  ];
  const attributes: AlertAttributes = {
    identity: sorted.map((i) => i.report.identity),
    region: sorted.map((i) => i.report.region),
    ...(context.account ? { account: context.account } : {}),
    stage: sorted.map((i) => i.view.stage),
    health: sorted.map((i) => i.report.health),
    incident: sorted.map((i) => incidentTag(i.report, i.view.incidentId)),
    severity:
      SEVERITY_RANK[Math.max(...sorted.map((i) => SEVERITY_RANK.indexOf(severityOf(i.view, i.report))), 0)] ?? 'info',
  };
  return { subject, attributes, text, chatbot, slack: { text: slackText(subject), blocks } };
}

/**
 * A clearly marked TEST notification, sent through every configured channel after a deploy to prove the
 * path works end to end (`{"test": true}` as the scanner's event).
 */
export function renderTestAlert(context: AlertContext = {}, sentAt = ''): RenderedAlert {
  const where = context.account ? ` for account ${context.account}` : '';
  const subject =
    `DKIM TEST: ses-dkim-sentinel alert path works${context.account ? ` (${context.account})` : ''}`.slice(
      0,
      MAX_SUBJECT,
    );
  const body = [
    `TEST notification from ses-dkim-sentinel${where}${sentAt ? `, sent ${sentAt}` : ''}.`,
    'Nothing is wrong: this message proves alerts reach this channel. Real alerts look like this one, with',
    'the identity, what is wrong, the DNS change that fixes it and the hours left before SES revokes DKIM.',
  ];
  return {
    subject,
    attributes: {
      identity: 'TEST',
      region: 'TEST',
      ...(context.account ? { account: context.account } : {}),
      stage: 'TEST',
      health: 'TEST',
      incident: 'TEST',
      severity: 'info',
    },
    text: body.join('\n'),
    chatbot: {
      version: '1.0',
      source: 'custom',
      id: `dkim-test-${sentAt}`,
      content: {
        textType: 'client-markdown',
        title: subject,
        description: body.join(' '),
        nextSteps: ['Nothing to do: this is a test'],
        keywords: ['DKIM', 'TEST'],
      },
      metadata: {
        threadId: 'dkim-test',
        summary: subject,
        eventType: 'DkimTEST',
        relatedResources: [],
        additionalContext: {},
      },
    },
    slack: {
      text: subject,
      blocks: [
        { type: 'header', text: { type: 'plain_text', text: subject } },
        { type: 'section', text: { type: 'mrkdwn', text: body.join(' ') } },
      ],
    },
  };
}
