/**
 * One escaping function per medium, for text that came from DNS or SES (names, TXT values, CNAME targets,
 * NS host names, identity names) and for finding messages that carry it. The renderers escape the data and
 * keep their own markup (bold, code spans, the console link they build) outside the escaped part.
 */
import { isValidDomainName } from './dns-name';

/**
 * Characters a terminal or mail reader must not receive raw: C0/C1 controls (ESC starts terminal escape
 * sequences, CR/LF fake lines), format characters (bidi overrides reorder text, zero-width characters hide
 * it), line/paragraph separators, surrogates, private-use and unassigned code points.
 */
const NON_PRINTABLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}\p{Co}\p{Cn}]/gu;
const NON_PRINTABLE_ONE = new RegExp(NON_PRINTABLE.source, 'u');

function visibleEscape(char: string): string {
  const code = char.codePointAt(0) ?? 0;
  return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u{${code.toString(16)}}`;
}

/** Whether `text` holds only characters a terminal shows as themselves. */
export function isPrintable(text: string): boolean {
  return !NON_PRINTABLE_ONE.test(text);
}

/**
 * Plain text (terminal, email): every non-printable character, newline included, shown as `\xNN` or
 * `\u{NNNN}`, so a TXT value can neither drive the terminal nor start a line of its own. Idempotent.
 */
export function visibleText(text: string): string {
  return text.replace(NON_PRINTABLE, visibleEscape);
}

/**
 * A name for a message: as it is when it is a valid DNS name, otherwise quoted, escaped and labelled, so
 * the reader sees exactly what DNS or SES returned and that nothing can be run with it.
 */
export function nameForMessage(name: string): string {
  if (isValidDomainName(name.replace(/\.$/, '').toLowerCase())) return name;
  return `"${visibleText(name)}" (not a valid DNS name)`;
}

/** `&`, `<` and `>` as entities; an `&` that already starts one of these three entities is kept. */
function slackEntities(text: string): string {
  return text
    .replace(/&(?!(?:amp|lt|gt);)/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;');
}

/**
 * `@here`, `@channel`, `@everyone` and `@name` at the start of a word would notify people wherever Slack
 * resolves plain-text mentions: their `@` becomes the look-alike `＠` (U+FF20). The `@` inside an email
 * address (`ops@example.com`) is not a mention and is kept.
 */
function neutralizeMentions(text: string): string {
  return neutralizeBroadcasts(text).replace(/(^|[^\p{L}\p{N}._%+-])@(?=[\p{L}\p{N}_])/gu, '$1＠');
}

function neutralizeBroadcasts(text: string): string {
  return text.replace(/@(?=(?:here|channel|everyone)\b)/gi, '＠');
}

/** Entities, visible non-printables, and no backtick (see {@link slackText}). */
function slackLiteral(text: string): string {
  return slackEntities(visibleText(text)).replace(/`/g, 'ˋ');
}

/**
 * Slack mrkdwn (Block Kit `mrkdwn` text and a message's `text`): after `<` is escaped no link, mention
 * (`<@U123>`, `<!channel>`, `<!here>`) or other control sequence can be written; plain `@here`-style
 * mentions are neutralized; non-printables made visible. Slack has no escape for a backtick, so each one
 * in the data is shown as `ˋ` (U+02CB): the only backticks left are the renderer's own code spans, which
 * data can therefore neither open nor close (the email and the CLI carry the exact bytes). Idempotent:
 * escaping twice equals escaping once. https://api.slack.com/reference/surfaces/formatting#escaping
 */
export function slackText(text: string): string {
  return neutralizeMentions(slackLiteral(text));
}

/**
 * The inside of a Slack inline code span (the caller adds the backticks): as {@link slackText}, except that
 * `@word` stays as it is (`dig @192.0.2.1` must remain a working command; Slack resolves no mention inside
 * a code span); `@here`, `@channel` and `@everyone` are still neutralized.
 */
export function slackCode(text: string): string {
  return neutralizeBroadcasts(slackLiteral(text));
}

/**
 * AWS Chatbot (Amazon Q Developer in chat applications) `client-markdown`: the chat client's own markdown,
 * Slack mrkdwn for the Slack channels this product configures, so everything {@link slackText} does; and
 * `](` gets a space (`] (`) so no standard-markdown link `[text](url)` forms in a client that reads those
 * (a JSON change batch in a command keeps its brackets).
 */
export function chatbotText(text: string): string {
  return slackText(text).replace(/\]\(/g, '] (');
}

/** The inside of a code span in AWS Chatbot `client-markdown` (see {@link slackCode}). */
export function chatbotCode(text: string): string {
  return slackCode(text);
}

/**
 * JSON for a terminal: the same value as `JSON.stringify(value, null, 2)`, with every non-printable
 * character written as a `\uXXXX` escape (JSON.stringify leaves DEL, C1 controls such as the 8-bit CSI,
 * bidi overrides and line separators raw).
 */
export function terminalJson(value: unknown): string {
  // Raw newlines in the output are JSON's own layout (a newline inside a string is already written `\n`).
  return JSON.stringify(value, null, 2).replace(NON_PRINTABLE, (char) =>
    char === '\n'
      ? char
      : Array.from({ length: char.length }, (_, i) => `\\u${char.charCodeAt(i).toString(16).padStart(4, '0')}`).join(
          '',
        ),
  );
}
