import type { Health, IdentityReport } from './assess-identity';
import type { Finding } from './findings';
import type { Stage } from './lifecycle';
import { chatbotCode, chatbotText, slackCode, slackText, visibleText } from './markup-escape';
import { sesv2Command } from './shell-words';

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

export interface RenderedAlert {
  /** Under 100 ASCII characters, one line (SNS email subject rules). */
  readonly subject: string;
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

function meaning(health: Health, graceDays: number): string {
  switch (health) {
    case 'REVOKED':
      return 'SES has revoked DKIM for this identity: mail is not DKIM-signed and DMARC alignment fails.';
    case 'FAILING':
      return `SES cannot find the DKIM records and has stopped signing; it revokes DKIM about ${graceDays} days after the failure began.`;
    case 'AT_RISK':
      return `SES still signs, but the DNS is wrong: at its next check SES may stop signing and start its ${graceDays}-day revocation clock.`;
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

/** The SES console page of an identity. */
export function sesConsoleUrl(identity: string, region: string): string {
  return `https://${region}.console.aws.amazon.com/sesv2/home?region=${region}#/identities/${encodeURIComponent(identity)}`;
}

/** A subject line under 100 characters whatever the identity's length (names can be 253 characters). */
export function alertSubject(label: string, identity: string, region: string, suffix = ''): string {
  const head = `DKIM ${label}: `;
  const tail = ` (${region})${suffix}`;
  const room = MAX_SUBJECT - head.length - tail.length;
  const name = identity.length > room ? `${identity.slice(0, room - 3)}...` : identity;
  return `${head}${name}${tail}`.replace(/[^\x20-\x7e]/g, '?');
}

/** Where an identity is in its incident, for the words of a notification. */
export interface NotificationView {
  readonly stage: Stage;
  readonly threshold?: number;
  readonly hoursLeft?: number;
  readonly deadline?: string;
  readonly openedAt?: string;
  /** RESOLVED: how long it was broken. */
  readonly brokenForHours?: number;
}

function headline(view: NotificationView | undefined, health: Health, where: string): string {
  switch (view?.stage) {
    case 'DETECTED':
      return `DKIM problem detected for ${where}`;
    case 'UPDATE':
      return `DKIM problem changed for ${where}`;
    case 'REMINDER':
      return `Reminder: about ${view.hoursLeft ?? view.threshold} hours left for ${where}`;
    case 'EXPIRED':
      return `DKIM grace period over for ${where}`;
    case 'RESOLVED':
      return `DKIM healthy again for ${where}${view.brokenForHours !== undefined ? ` (broken for ${view.brokenForHours} hours)` : ''}`;
    case 'CANNOT_VERIFY':
      return `DKIM cannot be verified for ${where}`;
    default:
      return `DKIM ${health} for ${where}`;
  }
}

function clockLine(view: NotificationView | undefined, identity: string, region: string): string[] {
  if (!view) return [];
  if (view.stage === 'EXPIRED') {
    return [
      `The grace period has passed or SES has revoked DKIM. Publish every record below, then restart DKIM setup in SES: console > Identities > ${identity} > Authentication > DKIM > Edit, or ${sesv2Command('put-email-identity-dkim-signing-attributes', identity, region, ['--signing-attributes-origin', 'AWS_SES'])} (this may issue new tokens: publish the records SES then shows).`,
    ];
  }
  if (view.stage === 'RESOLVED') return ['Every DKIM record is verified again on every nameserver and resolver.'];
  if (view.hoursLeft === undefined || view.deadline === undefined) return [];
  return [`SES may revoke DKIM by ${view.deadline}: ${view.hoursLeft} hours left.`];
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
  const summary = meaning(report.health, context.graceDays ?? 5);
  const where = `${report.identity} in ${report.region}${context.account ? ` (account ${context.account})` : ''}`;
  const findings =
    view?.stage === 'RESOLVED'
      ? []
      : allFindings(report).filter((f) => f.severity !== 'info' || report.health !== 'HEALTHY');
  const label = view?.stage ?? report.health;
  const suffix =
    view?.hoursLeft !== undefined && view.stage !== 'RESOLVED' && view.stage !== 'EXPIRED'
      ? `, ${Math.max(0, Math.floor(view.hoursLeft))}h left`
      : '';
  const subject = alertSubject(label, report.identity, report.region, suffix);
  const consoleUrl = sesConsoleUrl(report.identity, report.region);
  const fixes = findings.flatMap((f) => f.fixes ?? []);
  const recordLines = report.records.map((r) => {
    const codes = [...new Set(r.findings.map((f) => f.code))];
    return `  ${r.name}  ${r.type}  ${r.expected}   [${codes.length > 0 ? codes.join(', ') : 'ok'}]`;
  });
  const text = truncate(
    [
      headline(view, report.health, where),
      '',
      summary,
      ...clockLine(view, report.identity, report.region),
      `SES DKIM status: ${report.sesStatus}, signing ${report.signingEnabled ? 'on' : 'off'}.${report.inheritedFrom ? ` DKIM comes from ${report.inheritedFrom}.` : ''}`,
      '',
      ...(findings.length > 0 ? ['What is wrong:'] : []),
      ...findings.flatMap((f) => [`- ${f.code}: ${f.message}`, `  Verify: ${f.dig}`]),
      ...(fixes.length > 0
        ? [
            '',
            'Change in your DNS (name, type, value):',
            ...[
              ...new Set(
                fixes.map(
                  (x) => `  ${x.action === 'publish' ? 'publish' : 'remove '}  ${x.name}  ${x.type}  ${x.value}`,
                ),
              ),
            ],
          ]
        : []),
      '',
      'Records that must exist:',
      ...recordLines,
      '',
      `SES console: ${consoleUrl}`,
    ]
      .map(visibleText)
      .join('\n'),
    MAX_TEXT,
  );
  const nextSteps = [
    ...[
      ...new Set(
        fixes.map(
          (x) =>
            `${x.action === 'publish' ? 'Publish' : 'Remove'} \`${chatbotCode(`${x.name} ${x.type} ${x.value}`)}\``,
        ),
      ),
    ],
    ...[...new Set(findings.map((f) => `Verify: \`${chatbotCode(f.dig)}\``))].slice(0, 5),
  ].slice(0, 10);
  const chatbot: ChatbotNotification = {
    version: '1.0',
    source: 'custom',
    id: `dkim-${report.region}-${report.identity}-${label}`,
    content: {
      textType: 'client-markdown',
      title: chatbotText(subject),
      description: truncate(
        [
          `*${chatbotText(headline(view, report.health, where))}*`,
          summary,
          ...clockLine(view, report.identity, report.region).map(chatbotText),
          ...findings.map((f) => `• *${f.code}*: ${chatbotText(f.message)}`),
          `<${consoleUrl}|Open in the SES console>`,
        ].join('\n'),
        3500,
      ),
      nextSteps,
      keywords: ['DKIM', label, report.health, report.region].filter((k, i, all) => all.indexOf(k) === i),
    },
    metadata: {
      threadId: `dkim-${report.region}-${report.identity}`,
      summary: chatbotText(subject),
      eventType: view ? `Dkim${view.stage}` : 'DkimHealth',
      relatedResources: [chatbotText(report.identity)],
      additionalContext: {
        health: report.health,
        region: report.region,
        sesStatus: report.sesStatus,
        ...(view?.hoursLeft !== undefined ? { hoursLeft: String(view.hoursLeft) } : {}),
      },
    },
  };
  const findingBlocks = findings.map((f) => ({
    type: 'section',
    text: {
      type: 'mrkdwn',
      text: truncate(`*${f.code}*: ${slackText(f.message)}\n\`${slackCode(f.dig)}\``, MAX_SLACK_TEXT),
    },
  }));
  const room = MAX_SLACK_BLOCKS - 3;
  const blocks: unknown[] = [
    { type: 'header', text: { type: 'plain_text', text: subject.slice(0, 150) } },
    {
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: truncate(
          [
            summary,
            ...clockLine(view, report.identity, report.region).map(slackText),
            `SES DKIM status: *${report.sesStatus}*`,
          ].join('\n'),
          MAX_SLACK_TEXT,
        ),
      },
    },
    ...(findingBlocks.length > room
      ? [
          ...findingBlocks.slice(0, room - 1),
          {
            type: 'section',
            text: { type: 'mrkdwn', text: `... and ${findingBlocks.length - room + 1} more findings` },
          },
        ]
      : findingBlocks),
    {
      type: 'context',
      elements: [{ type: 'mrkdwn', text: `<${consoleUrl}|Open ${slackText(report.identity)} in the SES console>` }],
    },
  ];
  return { subject, text, chatbot, slack: { text: slackText(subject), blocks } };
}

/**
 * The SNS Publish input: one JSON message with a variant per protocol. Email gets plain text; AWS Chatbot
 * (subscribed over https) gets the custom notification it renders, since it drops plain text.
 */
export function snsPublishInput(alert: RenderedAlert): { Subject: string; Message: string; MessageStructure: 'json' } {
  const https = JSON.stringify(alert.chatbot);
  let text = alert.text;
  let message = JSON.stringify({ default: text, email: text, https });
  // JSON escaping and multi-byte characters can grow the text: cut until the whole message fits, never fail.
  while (Buffer.byteLength(message) > MAX_SNS_BYTES) {
    text = truncate(text, Math.floor(text.length * 0.8));
    message = JSON.stringify({ default: text, email: text, https });
  }
  return { Subject: alert.subject, MessageStructure: 'json', Message: message };
}

const STAGE_ORDER: readonly Stage[] = ['EXPIRED', 'DETECTED', 'UPDATE', 'REMINDER', 'CANNOT_VERIFY', 'RESOLVED'];

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
  const sections: string[] = [];
  const lines: string[] = [];
  let length = 0;
  let cut = 0;
  for (const { report, view } of sorted) {
    const single = renderIdentityAlert(report, context, view);
    lines.push(single.subject);
    const findings =
      view.stage === 'RESOLVED'
        ? []
        : allFindings(report).filter((f) => f.severity === 'problem' || f.severity === 'inconclusive');
    const section = [
      `== ${single.subject}`,
      ...clockLine(view, report.identity, report.region).map((l) => truncate(l, 400)),
      ...findings.slice(0, 5).flatMap((f) => [`- ${f.code}: ${truncate(f.message, 600)}`, `  Verify: ${f.dig}`]),
      ...(findings.length > 5 ? [`- ... and ${findings.length - 5} more findings`] : []),
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
  const text = [
    `${items.length} SES identities changed DKIM stage in one run${account}: ${counts}.`,
    '',
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
      description: truncate(lines.map((l) => `• ${chatbotText(l)}`).join('\n'), 3500),
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
  const itemBlocks = lines.map((line) => ({
    type: 'section',
    text: { type: 'mrkdwn', text: truncate(slackText(line), MAX_SLACK_TEXT) },
  }));
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
  return { subject, text, chatbot, slack: { text: slackText(subject), blocks } };
}
