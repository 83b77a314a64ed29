import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { assessIdentity, type IdentityReport } from '../../lambda/domain/assess-identity';
import type { Route53Observation } from '../../lambda/domain/diagnose-route53';
import { planDkimChecks } from '../../lambda/domain/expected-records';
import { isPrintable } from '../../lambda/domain/markup-escape';
import type { RecordAnswer, ServerRef, ZoneObservation } from '../../lambda/domain/observations';
import { type NotificationView, renderDigest, renderIdentityAlert } from '../../lambda/domain/render-alert';
import { renderJson, renderText } from '../../lambda/domain/render-report';
import { parseSesIdentity } from '../../lambda/domain/ses-identity';
import { bashParses, recordedCalls } from '../support/shell';

// Lower case only: SES identity names are lower-cased on the way in, and the payload must still hit this path.
const SANDBOX = join(tmpdir(), `sentinel-injection-${process.pid}-${Date.now()}`);
const PWNED = join(SANDBOX, 'pwned');
const SUBSTITUTION = `$(touch ${PWNED})`;
const BACKTICKS = `\`touch ${PWNED}\``;
const QUOTE_BREAK = `'; touch ${PWNED}; '`;
const PING = '<!channel> <https://evil.example|Open the SES console>';
const TERMINAL = '\u001b[2J\u001b]0;owned\u0007';

const auth = (name: string, address: string): ServerRef => ({ name, address, port: 53, view: 'authoritative' });
const NS1 = auth('ns1.example.net', '192.0.2.1');
const NS2 = auth('ns2.example.net', '192.0.2.2');
const RESOLVER: ServerRef = { name: '198.51.100.1', address: '198.51.100.1', port: 53, view: 'public' };

/** Identities as the CLI's --identities file (or SES) would give them: each carries a hostile value. */
const identities = [
  // BYODKIM: its selector record is a CNAME to a "name" that is a shell payload.
  parseSesIdentity(
    {
      DkimAttributes: {
        SigningEnabled: true,
        Status: 'TEMPORARY_FAILURE',
        Tokens: ['sel1'],
        SigningAttributesOrigin: 'EXTERNAL',
      },
    },
    'byo.example',
    'eu-west-1',
    'test',
  ),
  // Easy DKIM whose servers answer with hostile CNAMEs, TXT values and NS names.
  parseSesIdentity(
    {
      DkimAttributes: { SigningEnabled: true, Status: 'SUCCESS', Tokens: ['tok1'], SigningAttributesOrigin: 'AWS_SES' },
    },
    'easy.example',
    'eu-west-1',
    'test',
  ),
  // An address whose local part holds what RFC 5321 allows there: $, (, ), |, `, '.
  parseSesIdentity(
    { DkimAttributes: { SigningEnabled: false, Status: 'FAILED', Tokens: [] } },
    `a${SUBSTITUTION}|b${BACKTICKS}'c@elsewhere.example`,
    'eu-west-1',
    'test',
  ),
  // SES names a signing zone that is not a DNS name: nothing may be built from it.
  parseSesIdentity(
    {
      DkimAttributes: {
        SigningEnabled: true,
        Status: 'SUCCESS',
        Tokens: ['tok9'],
        SigningAttributesOrigin: 'AWS_SES',
        SigningHostedZone: `dkim.amazonses.com${QUOTE_BREAK}`,
      },
    },
    'zone.example',
    'eu-west-1',
    'test',
  ),
];

const zoneOf = (apex: string, extra: Partial<ZoneObservation> = {}): ZoneObservation => ({
  zone: apex,
  parentZone: 'example',
  parentNs: ['ns1.example.net', 'ns2.example.net'],
  servers: [NS1, NS2].map((server) => ({
    server,
    listedBy: ['parent', 'zone'] as const,
    apexNs: ['ns1.example.net', 'ns2.example.net'],
    soa: { mname: 'ns1.example.net', serial: 1 },
  })),
  unresolvedNs: [],
  problems: [],
  ...extra,
});

/** What the prober would return for each domain: the hostile values arrive as DNS answers. */
function observe(domain: string): {
  zone: ZoneObservation;
  answers: Map<string, RecordAnswer[]>;
  route53?: Route53Observation;
} {
  if (domain === 'byo.example') {
    const name = 'sel1._domainkey.byo.example';
    return {
      zone: zoneOf(domain),
      answers: new Map([
        [
          name,
          [
            { server: NS1, outcome: 'ANSWER', rcode: 'NOERROR', txt: [`v=DKIM1; k=${PING}; p=${TERMINAL}`] },
            { server: NS2, outcome: 'ANSWER', rcode: 'NOERROR', txt: [`${TERMINAL}${PING}`] },
            {
              server: RESOLVER,
              outcome: 'ANSWER',
              rcode: 'NOERROR',
              cname: `${SUBSTITUTION}.${BACKTICKS}.evil.example`,
              keyOutcome: 'NXDOMAIN',
            },
          ],
        ],
      ]),
    };
  }
  if (domain === 'easy.example') {
    const name = 'tok1._domainkey.easy.example';
    return {
      zone: zoneOf(domain, {
        servers: [NS1, NS2].map((server, i) => ({
          server,
          listedBy: ['parent', 'zone'] as const,
          apexNs:
            i === 0 ? ['ns1.example.net', 'ns2.example.net'] : ['ns1.example.net', '<@U123>.evil.example', '@here'],
          soa: { mname: 'ns1.example.net', serial: 1 + i },
        })),
        unresolvedNs: [`ns.${SUBSTITUTION}.example`],
      }),
      answers: new Map([
        [
          name,
          [
            { server: NS1, outcome: 'ANSWER', rcode: 'NOERROR', cname: `tok1.dkim.amazonses.com${BACKTICKS}` },
            { server: NS2, outcome: 'ANSWER', rcode: 'NOERROR', txt: [`${PING} p=abc`] },
            {
              server: RESOLVER,
              outcome: 'NXDOMAIN',
              rcode: 'NXDOMAIN',
              doubled: { name: `tok1._domainkey.easy.example.${SUBSTITUTION}`, values: [`CNAME ${BACKTICKS}`] },
            },
          ],
        ],
      ]),
      route53: {
        zones: [
          { id: 'ZLIVE', name: 'easy.example', nameServers: ['ns1.example.net', 'ns2.example.net'], dkimRecords: [] },
          {
            id: 'ZSTALE',
            name: 'easy.example',
            nameServers: [`ns-1.${SUBSTITUTION}.example`],
            dkimRecords: [{ name: `tok1._domainkey.easy.example${QUOTE_BREAK}`, type: 'CNAME', values: [PING] }],
          },
        ],
      },
    };
  }
  const name = 'tok9._domainkey.zone.example';
  return {
    zone: zoneOf(domain),
    answers: new Map([[name, [{ server: NS1, outcome: 'NXDOMAIN', rcode: 'NXDOMAIN' }]]]),
    route53: {
      zones: [
        { id: 'ZONE', name: 'zone.example', nameServers: ['ns1.example.net', 'ns2.example.net'], dkimRecords: [] },
      ],
    },
  };
}

const reports: IdentityReport[] = planDkimChecks(identities).map((plan) =>
  assessIdentity(plan, plan.records[0] ? observe(plan.records[0].domain) : undefined),
);
const VIEWS: NotificationView[] = [
  { stage: 'DETECTED', hoursLeft: 100, deadline: '2026-11-28T00:00:00.000Z' },
  { stage: 'EXPIRED', hoursLeft: -1, deadline: '2026-11-28T00:00:00.000Z' },
];
const alerts = reports.flatMap((report) =>
  VIEWS.map((view) => renderIdentityAlert(report, { account: '123456789012' }, view)),
);
const digest = renderDigest(reports.map((report) => ({ report, view: VIEWS[1] as NotificationView })));
const cliText = renderText(reports, [], { colour: false });
const cliJson = renderJson(reports, []);

/** Every suggested command in every output, as a shell line. */
function suggestedCommands(): string[] {
  const commands = new Set<string>();
  const json = JSON.parse(cliJson) as { identities: IdentityReport[] };
  for (const report of json.identities) {
    for (const finding of [...report.findings, ...report.records.flatMap((r) => r.findings)]) {
      commands.add(finding.dig);
      for (const m of finding.message.matchAll(/(?:To sign|Fix): ((?:aws|dig) .*)$/g)) commands.add(m[1] ?? '');
    }
  }
  for (const line of cliText.split('\n')) {
    const m = /^\s+\$ (.*)$/.exec(line);
    if (m) commands.add(m[1] ?? '');
  }
  for (const text of [...alerts.map((a) => a.text), digest.text]) {
    for (const m of text.matchAll(/Verify: (.*)$/gm)) commands.add(m[1] ?? '');
    for (const m of text.matchAll(/or (aws sesv2 .*?) \(this may issue/g)) commands.add(m[1] ?? '');
  }
  return [...commands];
}

describe('hostile DNS and SES data through assess → render', () => {
  beforeEach(() => {
    rmSync(SANDBOX, { recursive: true, force: true });
    mkdirSync(SANDBOX, { recursive: true });
  });
  afterAll(() => rmSync(SANDBOX, { recursive: true, force: true }));

  it('the harness would notice a payload that runs (the unquoted payload creates the sentinel)', () => {
    recordedCalls(`dig ${SUBSTITUTION}.evil.example TXT`);
    expect(existsSync(PWNED)).toBe(true);
  });

  it('the hostile values reach the findings (as escaped data)', () => {
    const json = JSON.parse(cliJson) as { identities: IdentityReport[] };
    const codes = json.identities.flatMap((r) =>
      [...r.findings, ...r.records.flatMap((x) => x.findings)].map((f) => f.code),
    );
    expect(codes).toEqual(
      expect.arrayContaining([
        'KEY_MISSING',
        'BYODKIM_KEY_INVALID',
        'NAMESERVERS_DISAGREE',
        'RECORD_MISMATCH',
        'WRONG_RECORD_TYPE',
        'DOUBLED_DOMAIN',
        'DELEGATION_MISMATCH',
        'NAMESERVER_UNRESOLVABLE',
        'STALE_HOSTED_ZONE',
        'ZONE_RECORD_MISSING',
        'SIGNING_DISABLED',
        'NO_DKIM_RECORDS',
      ]),
    );
    expect(cliJson).toContain(`points to \\"${SUBSTITUTION}.${BACKTICKS}.evil.example\\" (not a valid DNS name)`);
    expect(cliText).toContain('\\x1b[2J');
  });

  it('every suggested command parses and holds shell metacharacters only inside single quotes', () => {
    const commands = suggestedCommands();
    expect(commands.length).toBeGreaterThan(10);
    expect(commands.some((c) => c.includes(SUBSTITUTION))).toBe(true); // the address identity, quoted
    for (const command of commands) {
      expect(bashParses(command), command).toBe(true);
      if (command.startsWith('#')) {
        expect(command, 'a comment never carries the payload').not.toMatch(/[$`'"\\]/);
        continue;
      }
      expect(command).toMatch(/^(dig|aws) /);
      const outsideQuotes = outsideSingleQuotes(command);
      expect(outsideQuotes, command).not.toMatch(/[$`"\\;|&<>(){}*?[\]\n!#~]/);
    }
  });

  it('running every suggested command runs dig or aws only, and no payload', () => {
    const commands = suggestedCommands();
    const runnable = commands.filter((c) => !c.startsWith('#'));
    const calls = recordedCalls(commands.join('\n'));

    expect(existsSync(PWNED)).toBe(false);
    expect(calls).toHaveLength(runnable.length);
    expect(calls.map((c) => c[0])).toEqual(runnable.map((c) => c.split(' ')[0]));
    const address = identities[2]?.name ?? '';
    expect(calls).toContainEqual([
      'aws',
      'sesv2',
      'get-email-identity',
      '--email-identity',
      address,
      '--region',
      'eu-west-1',
    ]);
    // A name that is not a DNS name never reaches dig, not even quoted.
    for (const call of calls.filter((c) => c[0] === 'dig')) expect(call.join(' ')).not.toMatch(/touch|<|`/);
  });

  it('no Slack text can ping, link or break out of a code span', () => {
    const ourLink =
      /<https:\/\/eu-west-1\.console\.aws\.amazon\.com\/sesv2\/home\?region=eu-west-1#\/identities\/[^|>\s]+\|/g;
    const texts = [...alerts, digest].flatMap((a) => [a.slack.text, ...mrkdwnTexts(a.slack.blocks)]);
    expect(texts.join('\n')).toContain('&lt;!channel&gt;');
    for (const text of texts) {
      const data = text.replace(ourLink, '').replace(/ in the SES console>$/, '');
      expect(data, text).not.toMatch(/[<>]|<!|@(?:here|channel|everyone)\b|&(?!(?:amp|lt|gt);)/i);
      expect(isPrintable(data.replace(/\n/g, ''))).toBe(true);
      // Code spans open and close in pairs: a backtick from the data cannot end one early.
      expect((data.match(/`/g) ?? []).length % 2).toBe(0);
    }
  });

  it('no Chatbot field can ping or carry a link other than ours', () => {
    const ourLink =
      /<https:\/\/eu-west-1\.console\.aws\.amazon\.com\/sesv2\/home\?region=eu-west-1#\/identities\/[^|>\s]+\|Open in the SES console>/g;
    const fields = [...alerts, digest].flatMap(({ chatbot }) => [
      chatbot.content.title,
      chatbot.content.description,
      ...chatbot.content.nextSteps,
      chatbot.metadata.summary,
      ...chatbot.metadata.relatedResources,
    ]);
    expect(fields.join('\n')).toContain('&lt;!channel&gt;');
    for (const field of fields) {
      const data = field.replace(ourLink, '');
      expect(data, field).not.toMatch(/[<>]|\]\(|@(?:here|channel|everyone)\b|&(?!(?:amp|lt|gt);)/i);
      expect((data.match(/`/g) ?? []).length % 2).toBe(0);
    }
  });

  it('email and terminal text carry no control character but their own newlines', () => {
    for (const text of [cliText, cliJson, digest.text, ...alerts.map((a) => a.text)]) {
      expect(isPrintable(text.replace(/\n/g, ''))).toBe(true);
    }
    for (const subject of [digest.subject, ...alerts.map((a) => a.subject)]) {
      expect(subject).toMatch(/^[\x20-\x7e]{1,99}$/);
    }
  });
});

function mrkdwnTexts(blocks: readonly unknown[]): string[] {
  const texts: string[] = [];
  for (const block of blocks as {
    text?: { type: string; text: string };
    elements?: { type: string; text: string }[];
  }[]) {
    if (block.text?.type === 'mrkdwn') texts.push(block.text.text);
    for (const element of block.elements ?? []) if (element.type === 'mrkdwn') texts.push(element.text);
  }
  return texts;
}

/** The parts of a command line outside single quotes, with each `\'` (an escaped quote) taken out too. */
function outsideSingleQuotes(command: string): string {
  let outside = '';
  let quoted = false;
  for (let i = 0; i < command.length; i++) {
    const char = command[i];
    if (quoted) quoted = char !== "'";
    else if (char === "'") quoted = true;
    else if (char === '\\' && command[i + 1] === "'") i++;
    else outside += char;
  }
  return outside;
}
