import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { caretLines, describeDiff, diffValues, isTypo, markDiff } from '../../lambda/domain/value-diff';

describe('diffValues', () => {
  const cases: [string, string, string, string, boolean][] = [
    ['two characters swapped', 'm4n5b6v7c8x9z0', 'm4n5b6v7c89xz0', 'characters 11-12: "x9" expected, "9x" found', true],
    ['one character wrong', 'abcdef', 'abXdef', 'character 3: "c" expected, "X" found', true],
    ['a character left out', 'abcdef', 'abdef', 'character 3: "c" expected, nothing found', true],
    [
      'the zone appended',
      'tok.dkim.amazonses.com',
      'tok.dkim.amazonses.com.example.com',
      'characters 23-34: nothing expected, ".example.com" found',
      false,
    ],
    [
      'another value entirely',
      'tok1.dkim.amazonses.com',
      'other.example.net',
      'characters 1-23: "tok1.dkim.amazonses.com" expected, "other.example.net" found',
      false,
    ],
  ];
  it.each(cases)('%s', (_label, expected, actual, words, typo) => {
    const diff = diffValues(expected, actual);

    expect(diff && describeDiff(diff)).toBe(words);
    expect(diff && isTypo(diff)).toBe(typo);
  });

  it('finds nothing to mark in equal values', () => {
    expect(diffValues('same', 'same')).toBeUndefined();
  });

  it('puts the carets under the differing characters of the found value', () => {
    const diff = diffValues('m4n5b6v7c8x9z0', 'm4n5b6v7c89xz0');
    const [, found, carets] = caretLines(diff as NonNullable<typeof diff>, 'expected:', 'found:');

    expect(found).toBe('found:    m4n5b6v7c89xz0');
    expect(carets).toBe('                    ^^');
    expect(found?.[(carets ?? '').indexOf('^')]).toBe('9');
  });

  it('marks the differing span with the medium-s mark, escaping every part', () => {
    const diff = diffValues('a<b>c', 'a<X>c');

    expect(
      markDiff(
        diff as NonNullable<typeof diff>,
        'actual',
        (t) => t.replace(/</g, '&lt;').replace(/>/g, '&gt;'),
        (t) => `[${t}]`,
      ),
    ).toBe('a&lt;[X]&gt;c');
  });

  it('always splits both values into an equal prefix, a differing span and an equal suffix', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (expected, actual) => {
        const diff = diffValues(expected, actual);
        if (!diff) return expected === actual;
        return (
          expected.slice(0, diff.start) === actual.slice(0, diff.start) &&
          expected.slice(diff.expectedEnd) === actual.slice(diff.actualEnd) &&
          diff.start <= diff.expectedEnd &&
          diff.start <= diff.actualEnd &&
          (diff.expectedEnd > diff.start || diff.actualEnd > diff.start)
        );
      }),
    );
  });
});
