/**
 * Where two DNS values differ, so nobody has to compare 32-character tokens by eye (incident 1: two
 * characters swapped in one of three values). The differing span is the part between the longest common
 * prefix and the longest common suffix: one contiguous span, which is what a typo is.
 */
export interface ValueDiff {
  readonly expected: string;
  readonly actual: string;
  /** Index of the first differing character (the same in both values). */
  readonly start: number;
  /** End (exclusive) of the differing span in `expected`. */
  readonly expectedEnd: number;
  /** End (exclusive) of the differing span in `actual`. */
  readonly actualEnd: number;
}

/** The differing span of two values; undefined when they are equal. */
export function diffValues(expected: string, actual: string): ValueDiff | undefined {
  if (expected === actual) return undefined;
  const shorter = Math.min(expected.length, actual.length);
  let start = 0;
  while (start < shorter && expected[start] === actual[start]) start++;
  let tail = 0;
  while (tail < shorter - start && expected[expected.length - 1 - tail] === actual[actual.length - 1 - tail]) {
    tail++;
  }
  return { expected, actual, start, expectedEnd: expected.length - tail, actualEnd: actual.length - tail };
}

/** The differing part of each value (empty when one value only has extra characters). */
export function differingParts(diff: ValueDiff): { expected: string; actual: string } {
  return {
    expected: diff.expected.slice(diff.start, diff.expectedEnd),
    actual: diff.actual.slice(diff.start, diff.actualEnd),
  };
}

/** A few differing characters in values of about the same length: a typo rather than another value. */
export function isTypo(diff: ValueDiff): boolean {
  const parts = differingParts(diff);
  return Math.max(parts.expected.length, parts.actual.length) <= 4 && diff.start > 0;
}

/** `characters 11-12: "x9" expected, "9x" found` (1-based positions, as people count). */
export function describeDiff(diff: ValueDiff): string {
  const parts = differingParts(diff);
  const first = diff.start + 1;
  const last = Math.max(diff.expectedEnd, diff.actualEnd);
  const where = last > first ? `characters ${first}-${last}` : `character ${first}`;
  const show = (s: string) => (s === '' ? 'nothing' : `"${s}"`);
  return `${where}: ${show(parts.expected)} expected, ${show(parts.actual)} found`;
}

/**
 * Two aligned lines for a monospaced medium: the actual value with carets under the differing characters.
 * `label` is printed before each value (padded to one width).
 */
export function caretLines(diff: ValueDiff, expectedLabel: string, actualLabel: string): string[] {
  const width = Math.max(expectedLabel.length, actualLabel.length);
  const span = Math.max(1, diff.actualEnd - diff.start, diff.expectedEnd - diff.start);
  return [
    `${expectedLabel.padEnd(width)} ${diff.expected}`,
    `${actualLabel.padEnd(width)} ${diff.actual}`,
    `${' '.repeat(width + 1 + diff.start)}${'^'.repeat(span)}`,
  ];
}

/**
 * The value with its differing span wrapped by `mark` (e.g. Slack `*...*` outside a code span), every part
 * passed through `escape` first so the marks stay the only markup.
 */
export function markDiff(
  diff: ValueDiff,
  which: 'expected' | 'actual',
  escapeText: (text: string) => string,
  mark: (text: string) => string,
): string {
  const value = which === 'expected' ? diff.expected : diff.actual;
  const end = which === 'expected' ? diff.expectedEnd : diff.actualEnd;
  const middle = value.slice(diff.start, end);
  return `${escapeText(value.slice(0, diff.start))}${middle ? mark(escapeText(middle)) : mark('^')}${escapeText(value.slice(end))}`;
}
