/** Width of text output when stdout is not a terminal (a pipe, a file, CI logs). */
export const DEFAULT_TEXT_WIDTH = 100;

/**
 * Wrap one paragraph to `width` columns: the first line starts with `indent`, the others with
 * `hanging`. Words longer than a line (DNS names, tokens) are kept whole rather than broken, so they can be
 * copied; a suggested command (a line starting with `$ `) is never wrapped, since it must paste as one line.
 */
export function wrapParagraph(text: string, width: number, indent = '', hanging = indent): string[] {
  // A line that fits keeps its spacing (aligned columns).
  if (text.startsWith('$ ') || indent.length + text.length <= width) return [`${indent}${text}`];
  const words = text.split(/ +/).filter((w) => w !== '');
  const lines: string[] = [];
  let line = indent;
  let empty = true;
  for (const word of words) {
    if (!empty && line.length + 1 + word.length > width) {
      lines.push(line);
      line = hanging + word;
    } else {
      line = empty ? line + word : `${line} ${word}`;
    }
    empty = false;
  }
  if (!empty || lines.length === 0) lines.push(line);
  return lines;
}

/** Wrap several lines, each its own paragraph, with the same indents. */
export function wrapLines(lines: readonly string[], width: number, indent = '', hanging = indent): string[] {
  return lines.flatMap((l) => wrapParagraph(l, width, indent, hanging));
}

/** One shell word: single-quoted parts, escaped quotes and plain characters, up to a space or punctuation. */
const SHELL_WORD = String.raw`(?:'[^']*'|\\'|[^\s'(),;])+`;
/** A suggested AWS CLI command inside a sentence (restart advice, "To sign: ..."). */
const INLINE_COMMAND = new RegExp(String.raw`\baws (?:sesv2|ses|route53) ${SHELL_WORD}(?: ${SHELL_WORD})*`, 'g');

/**
 * Wrap a paragraph that may contain suggested commands: each command goes on a line of its own, starting
 * with `$ ` and never wrapped, so it pastes as one line; the prose around it wraps as usual.
 */
export function wrapWithCommands(text: string, width: number, indent = '', hanging = indent): string[] {
  const lines: string[] = [];
  let rest = text;
  let first = true;
  for (const match of text.matchAll(INLINE_COMMAND)) {
    const at = rest.indexOf(match[0]);
    const before = rest.slice(0, at).trim();
    if (before) lines.push(...wrapParagraph(before, width, first ? indent : hanging, hanging));
    else if (first) lines.push(indent.trimEnd());
    // A sentence's final full stop is not part of the command.
    const command = match[0].replace(/\.$/, '');
    lines.push(`${hanging}  $ ${command}`);
    rest = rest.slice(at + command.length);
    first = false;
  }
  const tail = rest.trim();
  if (tail && tail !== '.') lines.push(...wrapParagraph(tail, width, first ? indent : hanging, hanging));
  return lines.filter((l, i) => l !== '' || i > 0);
}
