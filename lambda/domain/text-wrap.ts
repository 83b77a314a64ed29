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
