import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { IdentityReport } from '../../lambda/domain/assess-identity';
import {
  alertSubject,
  type NotificationView,
  renderDigest,
  renderIdentityAlert,
  renderTestAlert,
  snsPublishInput,
} from '../../lambda/domain/render-alert';

const report = (identity: string, findings = 1): IdentityReport => ({
  identity,
  region: 'eu-west-1',
  identityType: 'DOMAIN',
  health: 'AT_RISK',
  sesStatus: 'SUCCESS',
  signingEnabled: true,
  zone: 'example.com',
  records: [
    {
      name: `tok1._domainkey.${identity}`,
      type: 'CNAME',
      expected: 'tok1.dkim.amazonses.com',
      findings: Array.from({ length: findings }, (_, i) => ({
        code: 'RECORD_MISMATCH' as const,
        severity: 'problem' as const,
        message: `tok1._domainkey.${identity} is CNAME tok1x.dkim.amazonses.com on ns${i}.example.net, expected CNAME tok1.dkim.amazonses.com.`,
        servers: [`ns${i}.example.net (192.0.2.${i % 250})`],
        dig: `dig @192.0.2.${i % 250} +norecurse tok1._domainkey.${identity} CNAME`,
        fixes: [
          {
            action: 'publish' as const,
            name: `tok1._domainkey.${identity}`,
            type: 'CNAME',
            value: 'tok1.dkim.amazonses.com',
          },
        ],
      })),
      answers: [],
    },
  ],
  findings: [],
});
const LONG = `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(57)}.com`; // 253 characters

describe('alert rendering', () => {
  it('keeps the subject under 100 ASCII characters even for a 253-character domain', () => {
    expect(LONG).toHaveLength(253);
    const subject = alertSubject('AT_RISK', LONG, 'ap-southeast-5');

    expect(subject.length).toBeLessThan(100);
    expect(subject).toMatch(/^DKIM AT_RISK: a{63}\.b\.\.\. \(ap-southeast-5\)$/);
    expect(subject).not.toMatch(/[\r\n]/);
  });

  it('publishes one JSON message that every kind of subscriber can read', () => {
    const input = snsPublishInput(
      renderIdentityAlert(report('example.com'), { account: '123456789012', graceDays: 5 }),
    );

    expect(input.MessageStructure).toBe('json');
    const message = JSON.parse(input.Message) as Record<string, string>;
    expect(Object.keys(message).sort()).toEqual(['default', 'email', 'https']);
    expect(message.email).toBe(message.default);
    expect(message.email).toContain('DKIM AT_RISK for example.com in eu-west-1 (account 123456789012)');
    expect(message.email).toContain('5-day revocation clock');
    expect(message.email).toContain(
      'Change in your DNS (action, name, type, value):\n  publish  tok1._domainkey.example.com  CNAME  tok1.dkim.amazonses.com',
    );
    expect(message.email).toContain('Verify: dig @192.0.2.0 +norecurse tok1._domainkey.example.com CNAME');
    expect(message.email).toContain(
      'https://eu-west-1.console.aws.amazon.com/sesv2/home?region=eu-west-1#/identities/example.com',
    );
    const chatbot = JSON.parse(message.https ?? '');
    expect(chatbot).toMatchObject({
      version: '1.0',
      source: 'custom',
      content: {
        textType: 'client-markdown',
        title: 'DKIM AT_RISK: example.com (eu-west-1)',
        nextSteps: expect.arrayContaining(['Publish `tok1._domainkey.example.com CNAME tok1.dkim.amazonses.com`']),
      },
      metadata: {
        threadId: 'dkim-123456789012-eu-west-1-example.com',
        eventType: 'DkimHealth',
        relatedResources: ['example.com'],
      },
    });
    expect(chatbot.content.description).toContain('RECORD_MISMATCH');
  });

  it('stays within SNS and Slack limits however many findings there are', () => {
    const alert = renderIdentityAlert(report(LONG, 2000));
    const input = snsPublishInput(alert);

    expect(Buffer.byteLength(input.Message)).toBeLessThan(256 * 1024);
    expect(input.Subject.length).toBeLessThan(100);
    expect(alert.slack.blocks.length).toBeLessThanOrEqual(50);
    expect(JSON.stringify(alert.slack.blocks.at(-2))).toContain('more findings');
    expect(JSON.parse(JSON.parse(input.Message).https).content.description.length).toBeLessThanOrEqual(3500);
  });

  const views: [NotificationView, RegExp, RegExp][] = [
    [
      { stage: 'DETECTED', hoursLeft: 118.5, deadline: '2026-11-28T00:00:00.000Z', clockStart: '2026-11-23T00:00:00Z' },
      /^DKIM DETECTED: example\.com \(eu-west-1\), 118h left$/,
      /it may revoke DKIM by 2026-11-28T00:00:00\.000Z: 118\.5 hours left\./,
    ],
    [
      {
        stage: 'SIGNING_STOPPED',
        hoursLeft: 119,
        deadline: '2026-11-28T00:00:00.000Z',
        clockStart: '2026-11-23T01:00:00Z',
      },
      /^DKIM SIGNING_STOPPED: example\.com \(eu-west-1\), 119h left$/,
      /SES stopped signing at about 2026-11-23T01:00:00Z; it may revoke DKIM by 2026-11-28T00:00:00\.000Z/,
    ],
    [
      { stage: 'SETUP_BLOCKED', hoursLeft: 70, deadline: '2026-11-26T00:00:00.000Z', deadlineKind: 'SETUP' },
      /^DKIM SETUP_BLOCKED: .*, 70h left$/,
      /marks the setup FAILED by 2026-11-26T00:00:00\.000Z: 70 hours left/,
    ],
    [
      { stage: 'CLOSED', reason: 'example.com is no longer an SES identity in eu-west-1 (deleted)' },
      /^DKIM CLOSED: example\.com \(eu-west-1\)$/,
      /DKIM monitoring stopped for example\.com[\s\S]*no longer an SES identity/,
    ],
    [
      { stage: 'REMINDER', threshold: 24, hoursLeft: 23.9, deadline: '2026-11-28T00:00:00.000Z' },
      /^DKIM REMINDER: .*, 23h left$/,
      /Reminder: about 23\.9 hours left/,
    ],
    [
      { stage: 'UPDATE', hoursLeft: 50, deadline: '2026-11-28T00:00:00.000Z' },
      /^DKIM UPDATE: .*, 50h left$/,
      /DKIM problem changed/,
    ],
    [
      { stage: 'EXPIRED', hoursLeft: -1, deadline: '2026-11-28T00:00:00.000Z' },
      /^DKIM EXPIRED: example\.com \(eu-west-1\)$/,
      /restart Easy DKIM: .*--signing-attributes-origin AWS_SES/,
    ],
    [
      { stage: 'RESOLVED', brokenForHours: 61.5 },
      /^DKIM RESOLVED: example\.com \(eu-west-1\)$/,
      /DKIM healthy again for example\.com in eu-west-1 \(broken for 61\.5 hours\)/,
    ],
    [{ stage: 'CANNOT_VERIFY' }, /^DKIM CANNOT_VERIFY: example\.com \(eu-west-1\)$/, /DKIM cannot be verified/],
  ];
  it.each(views)('renders a $stage notification for email, Chatbot and Slack', (view, subject, body) => {
    const alert = renderIdentityAlert(report('example.com'), { graceDays: 5 }, view);
    const message = JSON.parse(snsPublishInput(alert).Message);

    expect(alert.subject).toMatch(subject);
    expect(message.email).toMatch(body);
    const chatbot = JSON.parse(message.https);
    expect(chatbot.content.title).toBe(alert.subject);
    expect(chatbot.metadata.eventType).toBe(`Dkim${view.stage}`);
    expect(JSON.stringify(alert.slack.blocks[0])).toContain(alert.subject);
    if (view.stage === 'RESOLVED') expect(message.email).not.toContain('What is wrong');
  });

  it('puts 500 identities in one digest under 256 KB, cutting with a count rather than failing', () => {
    const items = Array.from({ length: 500 }, (_, i) => ({
      report: report(`${String(i).padStart(3, '0')}.${'x'.repeat(200)}.example`, 40),
      view: {
        stage: i % 2 ? ('DETECTED' as const) : ('RESOLVED' as const),
        hoursLeft: 100,
        deadline: '2026-11-28T00:00:00.000Z',
      },
    }));
    const digest = renderDigest(items, { account: '123456789012' });
    const input = snsPublishInput(digest);

    expect(digest.subject).toBe('DKIM: 500 identities changed (250 DETECTED, 250 RESOLVED)');
    expect(Buffer.byteLength(input.Message)).toBeLessThan(256 * 1024);
    expect(digest.text).toMatch(/\.\.\. and \d+ more identities not shown here/);
    expect(digest.text).toContain(
      '500 SES identities changed DKIM stage in one run in account 123456789012: 250 DETECTED, 250 RESOLVED.',
    );
    expect(digest.slack.blocks.length).toBeLessThanOrEqual(50);
    expect(JSON.parse(JSON.parse(input.Message).https).content.description.length).toBeLessThanOrEqual(3500);
  });

  it('carries message attributes for SNS filter policies, lists for a digest', () => {
    const single = snsPublishInput(
      renderIdentityAlert(report('example.com'), { account: '123456789012' }, { stage: 'DETECTED', incidentId: 'i1' }),
    );
    expect(single.MessageAttributes).toEqual({
      check: { DataType: 'String', StringValue: 'DKIM' },
      identity: { DataType: 'String', StringValue: 'example.com' },
      region: { DataType: 'String', StringValue: 'eu-west-1' },
      account: { DataType: 'String', StringValue: '123456789012' },
      stage: { DataType: 'String', StringValue: 'DETECTED' },
      health: { DataType: 'String', StringValue: 'AT_RISK' },
      incident: { DataType: 'String', StringValue: expect.stringMatching(/^dkim-[0-9a-f]{8}$/) },
      severity: { DataType: 'String', StringValue: 'warning' },
    });
    const digest = snsPublishInput(
      renderDigest(
        ['a.example', 'b.example'].map((n) => ({
          report: report(n),
          view: { stage: 'EXPIRED' as const, incidentId: n },
        })),
      ),
    );
    expect(digest.MessageAttributes.identity).toEqual({
      DataType: 'String.Array',
      StringValue: JSON.stringify(['a.example', 'b.example']),
    });
    expect(digest.MessageAttributes.severity?.StringValue).toBe('critical');
  });

  it('says SES status in one consistent way: a failing identity is never "signing on"', () => {
    const failing = { ...report('example.com'), health: 'FAILING' as const, sesStatus: 'TEMPORARY_FAILURE' as const };
    const text = renderIdentityAlert(failing, {}, { stage: 'SIGNING_STOPPED' }).text;

    expect(text).toContain(
      'SES DKIM status: TEMPORARY_FAILURE (SES has stopped signing until it finds the records again)',
    );
    expect(text).not.toMatch(/signing on/);
  });

  const origins: [string, RegExp][] = [
    ['AWS_SES', /--signing-attributes-origin AWS_SES --region eu-west-1/],
    ['EXTERNAL', /--signing-attributes-origin EXTERNAL --signing-attributes 'DomainSigningSelector=<selector>/],
    ['AWS_SES_US_EAST_1', /replicates DKIM from its primary identity in us-east-1: .* --region us-east-1\)/],
  ];
  it.each(origins)('gives a restart command that keeps the %s origin', (origin, expected) => {
    const revoked = { ...report('example.com'), health: 'REVOKED' as const, sesStatus: 'FAILED' as const };
    const text = renderIdentityAlert({ ...revoked, signingOrigin: origin }, {}, { stage: 'EXPIRED' }).text;

    expect(text).toMatch(expected);
    if (origin !== 'AWS_SES') expect(text).not.toContain('--signing-attributes-origin AWS_SES --region eu-west-1');
  });

  it('renders a clearly marked TEST alert for every medium', () => {
    const alert = renderTestAlert({ account: '123456789012' }, '2026-11-23T00:00:00.000Z');
    const input = snsPublishInput(alert);

    expect(alert.subject).toMatch(/^DKIM TEST: /);
    expect(JSON.parse(input.Message).email).toContain('Nothing is wrong');
    expect(input.MessageAttributes.stage?.StringValue).toBe('TEST');
    expect(input.MessageAttributes.severity?.StringValue).toBe('info');
  });

  it('keeps its own Slack formatting for plain names: bold code, the dig as a code span, the console link', () => {
    const alert = renderIdentityAlert(report('example.com'));
    const texts = JSON.stringify(alert.slack.blocks);

    expect(texts).toContain(
      '*RECORD_MISMATCH*: tok1._domainkey.example.com is CNAME tok1x.dkim.amazonses.com on ns0.example.net, expected CNAME tok1.dkim.amazonses.com.\\n`dig @192.0.2.0 +norecurse tok1._domainkey.example.com CNAME`',
    );
    expect(texts).toContain(
      '<https://eu-west-1.console.aws.amazon.com/sesv2/home?region=eu-west-1#/identities/example.com|Open example.com in the SES console>',
    );
    expect(alert.chatbot.content.nextSteps).toContain(
      'Verify: `dig @192.0.2.0 +norecurse tok1._domainkey.example.com CNAME`',
    );
  });

  it('escapes the data and not the template: a hostile identity keeps the console link ours', () => {
    const identity = 'x<!channel>|`y`@here.example';
    const alert = renderIdentityAlert(report(identity), {}, { stage: 'EXPIRED' });
    const context = JSON.stringify(alert.slack.blocks.at(-1));

    expect(context).toContain(
      `<https://eu-west-1.console.aws.amazon.com/sesv2/home?region=eu-west-1#/identities/${encodeURIComponent(identity)}|Open x&lt;!channel&gt;|ˋyˋ＠here.example in the SES console>`,
    );
    expect(alert.slack.text).not.toMatch(/[<>`]/);
    expect(alert.text).toContain(
      "aws sesv2 put-email-identity-dkim-signing-attributes --email-identity 'x<!channel>|`y`@here.example' --signing-attributes-origin AWS_SES --region eu-west-1",
    );
  });

  it('gives every subject one line of printable ASCII under 100 characters, whatever the identity', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', maxLength: 300 }),
        fc.constantFrom('AT_RISK', 'DETECTED'),
        (identity, label) => {
          expect(alertSubject(label, identity, 'eu-west-1', ', 10h left')).toMatch(/^[\x20-\x7e]{1,99}$/);
          const digest = renderDigest([{ report: report(identity), view: { stage: 'DETECTED' } }]);
          expect(digest.subject).toMatch(/^[\x20-\x7e]{1,99}$/);
        },
      ),
      { numRuns: 200 },
    );
  });
});
