/**
 * Suggested commands (`dig`, `aws sesv2`, `aws route53`) are built here and only here, from words quoted for
 * a POSIX shell. Names and values in them come from DNS answers and SES: a CNAME target such as
 * `$(touch /tmp/x)` must reach `dig` as one inert argument, never run when someone pastes the command.
 */
import { isValidDomainName } from './dns-name';
import { isPrintable } from './markup-escape';

/** Words the shell reads literally without quotes: no expansion, globbing, splitting or redirection. */
const SAFE_WORD = /^[A-Za-z0-9_.,:@%+=/-]+$/;

/**
 * One shell word that a POSIX shell reads back as exactly `text`: plain words (`example.com`, `TXT`,
 * `+norecurse`) stay as they are for readability; anything else is single-quoted, with each `'` written as
 * `'\''` (close, escaped quote, reopen): inside single quotes nothing is special, not `$`, `` ` `` or `\`.
 */
export function shellWord(text: string): string {
  if (SAFE_WORD.test(text)) return text;
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/** A command line: each word quoted by {@link shellWord}, joined by spaces. */
export function shellCommand(words: readonly string[]): string {
  return words.map(shellWord).join(' ');
}

/**
 * What stands where a command cannot be given: a shell comment (harmless if pasted) with our own reason,
 * never the offending value (the finding's message shows that, escaped).
 */
export function noCommand(reason: string): string {
  return `# no command: ${reason.replace(/[^\x20-\x7e]/g, '?')}`;
}

/**
 * Whether `name` may stand in a suggested command as a DNS name: letters, digits, `-` and `_` in labels of at
 * most 63 characters, at most 253 in all; case and one trailing dot do not matter.
 */
export function isCommandDnsName(name: string): boolean {
  return isValidDomainName(name.replace(/\.$/, '').toLowerCase());
}

/** An IPv4 or IPv6 address as the product writes it (digits, hex, `.` and `:`; an IPv6 zone as `%eth0`). */
const ADDRESS = /^(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9a-fA-F:.]*:[0-9a-fA-F:.]*(?:%[A-Za-z0-9_.-]+)?)$/;

/** A record type as dig takes it (`CNAME`, `TXT`, `TYPE65`). */
const RECORD_TYPE = /^[A-Z][A-Z0-9]{0,15}$/;

/** Where a dig query goes and how. */
export interface DigTarget {
  /** A server address, or a nameserver's host name; omitted: the system resolver. */
  readonly server?: string;
  /** Omitted or 53: no `-p`. */
  readonly port?: number;
  /** dig options in order (`+norecurse`, `+noall`, `+answer`): the product's own, never data. */
  readonly options: readonly string[];
}

/**
 * `dig [@server] [-p port] <options> <name> <type>`, or {@link noCommand} when the name or the server is not
 * a valid DNS name (or address): such a name is reported in the finding's message, never run.
 */
export function digCommandLine(name: string, type: string, target: DigTarget): string {
  if (!isCommandDnsName(name)) return noCommand('the name to query is not a valid DNS name (see the message)');
  const server = target.server;
  if (server !== undefined && !ADDRESS.test(server) && !isCommandDnsName(server)) {
    return noCommand('the server to ask is not a valid host name or address (see the message)');
  }
  const words = ['dig'];
  if (server !== undefined) words.push(`@${server}`);
  if (target.port !== undefined && target.port !== 53) words.push('-p', String(target.port));
  words.push(...target.options, name, RECORD_TYPE.test(type) ? type : 'ANY');
  return shellCommand(words);
}

/**
 * An `aws sesv2 <operation> --email-identity <identity> ... --region <region>` command. The identity is
 * quoted (an address's local part may hold `$`, `` ` ``, `|`, `'`); one with characters a terminal cannot
 * show (control or format characters) gets no command, since the printed command would not be the real one.
 */
export function sesv2Command(
  operation: string,
  identity: string,
  region: string,
  options: readonly string[] = [],
): string {
  if (identity === '' || !isPrintable(identity)) {
    return noCommand('the identity name holds characters a terminal cannot show (see the message)');
  }
  // A value starting with '-' would be read as an option: the --flag=value form keeps it a value.
  const identityWords = identity.startsWith('-') ? [`--email-identity=${identity}`] : ['--email-identity', identity];
  return shellCommand(['aws', 'sesv2', operation, ...identityWords, ...options, '--region', region]);
}
