import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { wrapParagraph, wrapWithCommands } from '../../lambda/domain/text-wrap';

describe('wrapParagraph', () => {
  it('wraps at the width with a hanging indent', () => {
    expect(wrapParagraph('aaa bbb ccc ddd', 9, '- ', '  ')).toEqual(['- aaa bbb', '  ccc ddd']);
  });

  it('never wraps a suggested command, and keeps a long word whole', () => {
    const dig = `$ dig @192.0.2.1 +norecurse ${'x'.repeat(120)}._domainkey.example.com CNAME`;
    expect(wrapParagraph(dig, 40, '  ')).toEqual([`  ${dig}`]);
    expect(wrapParagraph(`short ${'y'.repeat(50)} end`, 20)).toEqual(['short', 'y'.repeat(50), 'end']);
  });

  it('keeps the spacing of a line that fits (aligned columns)', () => {
    expect(wrapParagraph('name    CNAME  ok', 40, '  ')).toEqual(['  name    CNAME  ok']);
  });

  it('keeps every word, in order, and no line over the width unless one word is longer', () => {
    const word = fc.stringMatching(/^[a-z.]{1,30}$/);
    fc.assert(
      fc.property(
        fc.array(word, { minLength: 1, maxLength: 40 }),
        fc.integer({ min: 20, max: 120 }),
        (words, width) => {
          const lines = wrapParagraph(words.join(' '), width, '  ', '    ');
          const back = lines.join(' ').split(/ +/).filter(Boolean);
          return (
            back.join(' ') === words.join(' ') &&
            lines.every((l) => l.length <= width || l.trim().split(' ').length === 1)
          );
        },
      ),
    );
  });
});

describe('wrapWithCommands', () => {
  it('puts a suggested command on a line of its own, whole, quoted words included', () => {
    const text =
      "restart Easy DKIM: console > Identities > x > Edit, or aws sesv2 put-email-identity-dkim-signing-attributes --email-identity 'a b'\\''c.example' --signing-attributes-origin AWS_SES --region eu-west-1 (this may issue new tokens: publish the records SES then shows).";
    const lines = wrapWithCommands(text, 60, '  ', '    ');

    expect(lines).toContain(
      "      $ aws sesv2 put-email-identity-dkim-signing-attributes --email-identity 'a b'\\''c.example' --signing-attributes-origin AWS_SES --region eu-west-1",
    );
    expect(lines.filter((l) => !l.trimStart().startsWith('$ ')).every((l) => l.length <= 60)).toBe(true);
    expect(lines.join(' ')).toContain('(this may issue new tokens:');
  });

  it('leaves prose without commands as wrapParagraph does', () => {
    expect(wrapWithCommands('aaa bbb ccc ddd', 9, '- ', '  ')).toEqual(wrapParagraph('aaa bbb ccc ddd', 9, '- ', '  '));
  });
});
