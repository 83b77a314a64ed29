import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  chatbotCode,
  chatbotText,
  isPrintable,
  nameForMessage,
  slackCode,
  slackText,
  terminalJson,
  visibleText,
} from '../../lambda/domain/markup-escape';

/** Strings rich in what matters to Slack, markdown and terminals, plus arbitrary Unicode. */
const hostile = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 60 }),
  fc.string({
    unit: fc.constantFrom(
      ...'<>&!@#|`*_~[]()\n\r\u001b\u009b\u202e\u2028\u200b'.split(''),
      'here',
      'channel',
      'everyone',
      'amp;',
      'lt;',
      'U123',
      'https://evil.example',
    ),
    maxLength: 30,
  }),
  fc.constantFrom(
    '<!channel>',
    '<!here|here>',
    '<!everyone>',
    '<@U123>',
    '<#C123>',
    '<!subteam^S1>',
    '@here',
    '@channel',
    'hi @everyone',
    '<https://evil.example|Open the SES console>',
    '[Open the SES console](https://evil.example)',
    '&lt;!channel&gt;',
    '`code` ``` block',
  ),
);

/** What Slack would read as a mention, a link or another control sequence, or a plain-text broadcast. */
const SLACK_ACTIVE = /<|>|@(?:here|channel|everyone)\b|(?:^|[^\p{L}\p{N}._%+-])@[\p{L}\p{N}_]/iu;
const BARE_AMPERSAND = /&(?!(?:amp|lt|gt);)/;

describe('visibleText (terminal, email)', () => {
  it('leaves no control, format or separator character and is idempotent', () => {
    fc.assert(
      fc.property(hostile, (text) => {
        const shown = visibleText(text);
        expect(isPrintable(shown)).toBe(true);
        expect(visibleText(shown)).toBe(shown);
      }),
    );
  });

  it('keeps printable text as it is and shows the rest as escapes', () => {
    expect(visibleText('v=DKIM1; p=abc ü€')).toBe('v=DKIM1; p=abc ü€');
    expect(visibleText('a\u001b[2Jb\nc\u202ed')).toBe('a\\x1b[2Jb\\x0ac\\u{202e}d');
  });
});

describe('slackText (Slack mrkdwn)', () => {
  it('leaves no <, >, bare &, control sequence or broadcast mention', () => {
    fc.assert(
      fc.property(hostile, (text) => {
        const escaped = slackText(text);
        expect(escaped).not.toMatch(SLACK_ACTIVE);
        expect(escaped).not.toMatch(BARE_AMPERSAND);
        expect(isPrintable(escaped)).toBe(true);
      }),
    );
  });

  it('is idempotent: escaping escaped text changes nothing', () => {
    fc.assert(
      fc.property(hostile, (text) => {
        expect(slackText(slackText(text))).toBe(slackText(text));
      }),
    );
  });

  it('shows the data unchanged once Slack decodes its three entities', () => {
    const plain = fc.string({ unit: fc.constantFrom(...'ab1.-_ <>&;|!:/'.split('')), maxLength: 40 });
    const decode = (s: string) => s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
    fc.assert(
      fc.property(plain, (text) => {
        // Text that already looks like an entity is shown decoded once; anything else comes back as it was.
        fc.pre(!/&(?:amp|lt|gt);/.test(text));
        expect(decode(slackText(text))).toBe(text);
      }),
    );
  });

  it('leaves no backtick, so data can neither open nor close a code span', () => {
    fc.assert(
      fc.property(hostile, (text) => {
        expect(slackText(text)).not.toContain('`');
      }),
    );
    expect(slackText('a`id`b')).toBe('aˋidˋb');
  });

  it('keeps an email address readable and neutralizes broadcasts', () => {
    expect(slackText('ops@example.com')).toBe('ops@example.com');
    expect(slackText('<!channel> <https://evil.example|Open the SES console>')).toBe(
      '&lt;!channel&gt; &lt;https://evil.example|Open the SES console&gt;',
    );
    expect(slackText('ping @here and <@U123>')).toBe('ping ＠here and &lt;＠U123&gt;');
  });
});

describe('code spans', () => {
  it('keep a dig command as it is', () => {
    expect(slackCode('dig @192.0.2.1 +norecurse +noall +answer abc._domainkey.example.com CNAME')).toBe(
      'dig @192.0.2.1 +norecurse +noall +answer abc._domainkey.example.com CNAME',
    );
  });

  it('cannot be closed early by a backtick, in Slack or Chatbot', () => {
    fc.assert(
      fc.property(hostile, (text) => {
        for (const code of [slackCode(text), chatbotCode(text)]) {
          expect(code).not.toContain('`');
          expect(code).not.toMatch(/[<>]|@(?:here|channel|everyone)\b/i);
          expect(code).not.toMatch(BARE_AMPERSAND);
        }
      }),
    );
  });
});

describe('chatbotText (AWS Chatbot client-markdown)', () => {
  it('leaves neither Slack control sequences nor markdown links', () => {
    fc.assert(
      fc.property(hostile, (text) => {
        const escaped = chatbotText(text);
        expect(escaped).not.toMatch(SLACK_ACTIVE);
        expect(escaped).not.toMatch(BARE_AMPERSAND);
        expect(escaped).not.toMatch(/\]\(/);
        expect(escaped).not.toContain('`');
        expect(chatbotText(escaped)).toBe(escaped);
      }),
    );
    expect(chatbotText('[Open the SES console](https://evil.example)')).toBe(
      '[Open the SES console] (https://evil.example)',
    );
  });
});

describe('nameForMessage', () => {
  it('shows a DNS name as it is and labels anything else, escaped', () => {
    expect(nameForMessage('tok.dkim.amazonses.com')).toBe('tok.dkim.amazonses.com');
    expect(nameForMessage('$(touch /tmp/pwned)\u001b[2J')).toBe('"$(touch /tmp/pwned)\\x1b[2J" (not a valid DNS name)');
  });
});

describe('terminalJson', () => {
  it('is the same JSON value with nothing a terminal would act on', () => {
    fc.assert(
      fc.property(fc.dictionary(hostile, fc.array(hostile, { maxLength: 3 }), { maxKeys: 4 }), (value) => {
        const json = terminalJson(value);
        expect(JSON.parse(json)).toEqual(value);
        expect(isPrintable(json.replace(/\n/g, ''))).toBe(true);
      }),
    );
  });
});
