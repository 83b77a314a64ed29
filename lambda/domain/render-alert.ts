import type { Health, IdentityReport } from './assess-identity';
import type { Finding } from './findings';

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
export function alertSubject(health: Health, identity: string, region: string): string {
  const head = `DKIM ${health}: `;
  const tail = ` (${region})`;
  const room = MAX_SUBJECT - head.length - tail.length;
  const name = identity.length > room ? `${identity.slice(0, room - 3)}...` : identity;
  return `${head}${name}${tail}`.replace(/[^\x20-\x7e]/g, '?');
}

function allFindings(report: IdentityReport): Finding[] {
  return [...report.findings, ...report.records.flatMap((r) => r.findings)];
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 40)}\n[... ${text.length - max + 40} characters cut]`;
}

/** Render one identity's alert for every channel. Pure. */
export function renderIdentityAlert(report: IdentityReport, context: AlertContext = {}): RenderedAlert {
  const summary = meaning(report.health, context.graceDays ?? 5);
  const where = `${report.identity} in ${report.region}${context.account ? ` (account ${context.account})` : ''}`;
  const findings = allFindings(report).filter((f) => f.severity !== 'info' || report.health !== 'HEALTHY');
  const consoleUrl = sesConsoleUrl(report.identity, report.region);
  const recordLines = report.records.map((r) => {
    const codes = [...new Set(r.findings.map((f) => f.code))];
    return `  ${r.name}  ${r.type}  ${r.expected}   [${codes.length > 0 ? codes.join(', ') : 'ok'}]`;
  });
  const text = truncate(
    [
      `DKIM ${report.health} for ${where}`,
      '',
      summary,
      `SES DKIM status: ${report.sesStatus}, signing ${report.signingEnabled ? 'on' : 'off'}.${report.inheritedFrom ? ` DKIM comes from ${report.inheritedFrom}.` : ''}`,
      '',
      'What is wrong:',
      ...findings.flatMap((f) => [`- ${f.code}: ${f.message}`, `  Verify: ${f.dig}`]),
      '',
      'Records that must exist:',
      ...recordLines,
      '',
      `SES console: ${consoleUrl}`,
    ].join('\n'),
    MAX_TEXT,
  );
  const fixes = findings.flatMap((f) => f.fixes ?? []);
  const nextSteps = [
    ...[
      ...new Set(
        fixes.map((x) => `${x.action === 'publish' ? 'Publish' : 'Remove'} \`${x.name} ${x.type} ${x.value}\``),
      ),
    ],
    ...[...new Set(findings.map((f) => `Verify: \`${f.dig}\``))].slice(0, 5),
  ].slice(0, 10);
  const chatbot: ChatbotNotification = {
    version: '1.0',
    source: 'custom',
    id: `dkim-${report.region}-${report.identity}-${report.health}`,
    content: {
      textType: 'client-markdown',
      title: alertSubject(report.health, report.identity, report.region),
      description: truncate(
        [
          `*${summary}*`,
          ...findings.map((f) => `• *${f.code}*: ${f.message}`),
          `<${consoleUrl}|Open in the SES console>`,
        ].join('\n'),
        3500,
      ),
      nextSteps,
      keywords: ['DKIM', report.health, report.region],
    },
    metadata: {
      threadId: `dkim-${report.region}-${report.identity}`,
      summary: `DKIM ${report.health}: ${report.identity} (${report.region})`,
      eventType: 'DkimHealth',
      relatedResources: [report.identity],
      additionalContext: { health: report.health, region: report.region, sesStatus: report.sesStatus },
    },
  };
  const findingBlocks = findings.map((f) => ({
    type: 'section',
    text: { type: 'mrkdwn', text: truncate(`*${f.code}*: ${f.message}\n\`${f.dig}\``, MAX_SLACK_TEXT) },
  }));
  const room = MAX_SLACK_BLOCKS - 3;
  const blocks: unknown[] = [
    { type: 'header', text: { type: 'plain_text', text: alertSubject(report.health, report.identity, report.region) } },
    {
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: truncate(`${summary}\nSES DKIM status: *${report.sesStatus}*`, MAX_SLACK_TEXT),
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
      elements: [{ type: 'mrkdwn', text: `<${consoleUrl}|Open ${report.identity} in the SES console>` }],
    },
  ];
  return {
    subject: alertSubject(report.health, report.identity, report.region),
    text,
    chatbot,
    slack: { text: chatbot.metadata.summary, blocks },
  };
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
