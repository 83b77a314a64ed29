/**
 * DNS names as the product compares them: lower case, no trailing dot. DNS names are case-insensitive
 * (RFC 4343) and SES, consoles and zone files disagree about the trailing dot.
 */
export function normalizeName(name: string): string {
  return name.trim().replace(/\.+$/, '').toLowerCase();
}

/** The name one label up: `a.b.example.com` → `b.example.com`; the root's parent is the root (''). */
export function parentName(name: string): string {
  const dot = name.indexOf('.');
  return dot === -1 ? '' : name.slice(dot + 1);
}

/** True when `name` equals `ancestor` or lies below it. The root ('') contains every name. */
export function isAtOrBelow(name: string, ancestor: string): boolean {
  if (ancestor === '') return true;
  return name === ancestor || name.endsWith(`.${ancestor}`);
}

/** The domain of an email address identity (`user@mail.example.com` → `mail.example.com`). */
export function emailDomain(address: string): string {
  return normalizeName(address.slice(address.lastIndexOf('@') + 1));
}

const LABEL = /^(?!-)[a-z0-9_-]{1,63}(?<!-)$/;

/** Whether a normalized name is a syntactically usable host/domain name (letters, digits, '-', '_'). */
export function isValidDomainName(name: string): boolean {
  if (name.length === 0 || name.length > 253) return false;
  return name.split('.').every((label) => LABEL.test(label));
}

/**
 * Make text from the network or from a file safe to print on a terminal: control characters (including
 * ESC, which would let a hostile TXT record drive the terminal) are shown as \xNN escapes.
 */
export function printable(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}
