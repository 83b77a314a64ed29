/**
 * DMARC records (RFC 7489, and DMARCbis RFC 9989 which obsoletes it), parsed by hand: the npm parsers checked
 * (`dmarc-parse` 1.2.1, `dmarc-solution` 1.2.5, the same code) throw on an empty record, accept a record
 * without `p`, reject DMARCbis tags (`t`, `np`, `psd`) as unknown, and `dmarc-solution` loads node:dns itself.
 * Receivers will run both RFCs for years, so this accepts both: `p` directly after `v` (7489) or anywhere
 * (9989), and flags `pct`, which 9989 removed. Pure: no DNS here.
 */
import { getDomain } from 'tldts';
import { normalizeName } from './dns-name';

export const DMARC_POLICIES = ['none', 'quarantine', 'reject'] as const;
export type DmarcPolicy = (typeof DMARC_POLICIES)[number];

export interface DmarcRecord {
  /** Tags by lower-case name, values trimmed, first occurrence. */
  readonly tags: ReadonlyMap<string, string>;
  /** `p`, when valid. */
  readonly policy?: DmarcPolicy;
  /** `sp`, when valid (absent: subdomains get `p`). */
  readonly subdomainPolicy?: DmarcPolicy;
  /** `aspf` and `adkim`: `s` strict, `r` relaxed (the default). */
  readonly aspf: 'r' | 's';
  readonly adkim: 'r' | 's';
  /**
   * What receivers apply: `policy`; or `none` when `p` (or `sp`) is unusable but `rua` holds a valid URI
   * (RFC 7489 §6.6.3); undefined when the record is applied not at all.
   */
  readonly effectivePolicy?: DmarcPolicy;
  /** Errors that change what receivers do (bad or missing `p`, bad values, duplicate tags). */
  readonly errors: readonly string[];
  /** Things worth knowing that change nothing today (`pct` is deprecated, unknown tags are ignored). */
  readonly notes: readonly string[];
}

/** Longer TXT strings are not parsed (a DMARC record is a few hundred bytes; a hostile one may be 64 KB). */
export const MAX_DMARC_LENGTH = 2048;

/**
 * Whether a TXT string is a DMARC record: `v=DMARC1` first, exactly (RFC 7489 §6.6.3 step 2 discards the
 * rest; the value is case-sensitive in the ABNF), followed by `;`, whitespace or the end.
 */
export function isDmarcRecord(text: string): boolean {
  return /^[vV][ \t]*=[ \t]*DMARC1[ \t]*(?:;|$)/.test(text);
}

const URI = /^[a-z][a-z0-9+.-]*:[^\s,!]+(?:![0-9]+[kmgt]?)?$/i;

function shown(value: string): string {
  return value.length > 60 ? `${value.slice(0, 57)}...` : value;
}

function policyOf(value: string | undefined): DmarcPolicy | undefined {
  const lower = value?.toLowerCase();
  return (DMARC_POLICIES as readonly string[]).includes(lower ?? '') ? (lower as DmarcPolicy) : undefined;
}

type TagCheck = (value: string) => string | undefined;

const oneOf =
  (...allowed: string[]): TagCheck =>
  (value) =>
    allowed.includes(value.toLowerCase()) ? undefined : `must be one of ${allowed.join(', ')}`;

const uriList: TagCheck = (value) => {
  const bad = value
    .split(',')
    .map((u) => u.trim())
    .filter((u) => !URI.test(u));
  return bad.length > 0 ? `"${shown(bad[0] as string)}" is not a URI such as mailto:dmarc@example.com` : undefined;
};

const KNOWN_TAGS: Readonly<Record<string, TagCheck>> = {
  p: oneOf(...DMARC_POLICIES),
  sp: oneOf(...DMARC_POLICIES),
  np: oneOf(...DMARC_POLICIES),
  adkim: oneOf('r', 's'),
  aspf: oneOf('r', 's'),
  pct: (v) => (/^\d{1,3}$/.test(v) && Number(v) <= 100 ? undefined : 'must be a whole number from 0 to 100'),
  rua: uriList,
  ruf: uriList,
  fo: (v) => (/^[01ds](?:[ \t]*:[ \t]*[01ds])*$/i.test(v) ? undefined : 'must be 0, 1, d or s, separated by ":"'),
  rf: (v) => (/^[a-z][a-z0-9-]*(?:[ \t]*:[ \t]*[a-z][a-z0-9-]*)*$/i.test(v) ? undefined : 'must be a format name'),
  ri: (v) => (/^\d{1,10}$/.test(v) && Number(v) <= 4_294_967_295 ? undefined : 'must be a 32-bit whole number'),
  t: oneOf('y', 'n'),
  psd: oneOf('y', 'n', 'u'),
};

/** Parse one DMARC record (a TXT string for which {@link isDmarcRecord} holds). Never throws. */
export function parseDmarc(text: string): DmarcRecord {
  const tags = new Map<string, string>();
  const errors: string[] = [];
  const notes: string[] = [];
  const base = { tags, aspf: 'r' as const, adkim: 'r' as const, notes };
  if (text.length > MAX_DMARC_LENGTH) {
    return {
      ...base,
      errors: [`the record is ${text.length} characters long; over ${MAX_DMARC_LENGTH} it is not parsed`],
    };
  }
  if (!isDmarcRecord(text)) return { ...base, errors: ['it does not start with "v=DMARC1"'] };
  const order: string[] = [];
  for (const raw of text.split(';')) {
    const part = raw.trim();
    if (part === '') continue;
    const eq = part.indexOf('=');
    const name = (eq === -1 ? part : part.slice(0, eq)).trim().toLowerCase();
    const value = eq === -1 ? '' : part.slice(eq + 1).trim();
    if (!/^[a-z][a-z0-9]*$/.test(name) || eq === -1) {
      errors.push(`"${shown(part)}" is not a tag=value pair`);
      continue;
    }
    order.push(name);
    if (tags.has(name)) {
      errors.push(`the tag "${name}" appears more than once`);
      continue;
    }
    tags.set(name, value);
    const check = KNOWN_TAGS[name];
    if (name === 'v') continue;
    if (!check) {
      notes.push(`unknown tag "${shown(name)}" (receivers ignore it)`);
      continue;
    }
    const problem = check(value);
    if (problem) errors.push(`${name}=${shown(value)}: ${problem}`);
  }
  const policy = policyOf(tags.get('p'));
  const sp = tags.get('sp');
  const subdomainPolicy = policyOf(sp);
  if (!tags.has('p')) errors.push('the required tag "p" (none, quarantine or reject) is missing');
  else if (order[1] !== 'p') {
    notes.push('"p" does not come right after "v": RFC 9989 allows that, RFC 7489 requires p second');
  }
  if (tags.has('pct')) notes.push('"pct" is deprecated (RFC 9989 removed it; receivers following it ignore it)');
  const validRua = (tags.get('rua') ?? '')
    .split(',')
    .map((u) => u.trim())
    .some((u) => URI.test(u));
  const usable = policy !== undefined && (sp === undefined || subdomainPolicy !== undefined);
  const effectivePolicy = usable ? policy : validRua ? 'none' : undefined;
  return {
    tags,
    ...(policy ? { policy } : {}),
    ...(subdomainPolicy ? { subdomainPolicy } : {}),
    aspf: tags.get('aspf')?.toLowerCase() === 's' ? 's' : 'r',
    adkim: tags.get('adkim')?.toLowerCase() === 's' ? 's' : 'r',
    ...(effectivePolicy ? { effectivePolicy } : {}),
    errors,
    notes,
  };
}

/**
 * The Organizational Domain (RFC 7489 §3.2): the public suffix plus one label, from the Public Suffix List
 * (ICANN and private sections, as the list is published). A name under a suffix the list does not know
 * (`example.test`) gets the list's default rule: its last label is the suffix.
 */
export function organizationalDomain(name: string): string {
  const normalized = normalizeName(name);
  return getDomain(normalized, { allowPrivateDomains: true }) ?? normalized;
}

/** Whether two names share an Organizational Domain (relaxed alignment). */
export function relaxedAligned(a: string, b: string): boolean {
  return organizationalDomain(a) === organizationalDomain(b);
}
