/**
 * SPF records (RFC 7208), parsed by hand: the npm parsers checked (`spf-parse` 1.0.4, `spf-check` 0.4.3)
 * misread terms (`include:_spf.example.ua` comes out as an `a` mechanism, `v=spf10` passes), depend on the
 * deprecated `tldjs`, and `spf-check` does its own lookups with node:dns, which would bypass the product's
 * transport and vantage points. Everything here is pure; the lookup count walks include chains through a
 * resolver function the caller passes in, under a hard limit, so a hostile chain cannot cause unbounded work.
 */
import { normalizeName } from './dns-name';

export type SpfQualifier = '+' | '-' | '~' | '?';
export type SpfMechanismName = 'all' | 'include' | 'a' | 'mx' | 'ptr' | 'ip4' | 'ip6' | 'exists';

/** One directive: a qualifier and a mechanism, with its domain-spec or network when it has one. */
export interface SpfDirective {
  readonly qualifier: SpfQualifier;
  readonly mechanism: SpfMechanismName;
  /** The domain-spec (include, a, mx, ptr, exists) or network (ip4, ip6), as written. */
  readonly value?: string;
}

export interface SpfRecord {
  readonly directives: readonly SpfDirective[];
  /** `redirect=` and `exp=` (and unknown modifiers, which RFC 7208 §6 says to ignore), by lower-case name. */
  readonly modifiers: ReadonlyMap<string, string>;
  /** Syntax errors: any one makes the record a permanent error (RFC 7208 §4.6). */
  readonly errors: readonly string[];
}

/**
 * Longer records are not parsed: a real SPF record stays well under 512 bytes (RFC 7208 §3.4 advises
 * keeping answers small), and a 64 KB TXT record must not cost a large parse per server per run.
 */
export const MAX_SPF_LENGTH = 4096;

/** RFC 7208 §4.6.4: at most 10 terms that cause DNS lookups, all include chains together. */
export const SPF_LOOKUP_LIMIT = 10;

const VERSION = /^v=spf1(?: |$)/i;

/** Whether a TXT string is an SPF record: `v=spf1` followed by a space or nothing (RFC 7208 §4.5). */
export function isSpfRecord(text: string): boolean {
  return VERSION.test(text);
}

const MACRO_EXPAND = /%\{[slodiphcrtv]\d*r?[.\-+,/_=]*\}|%%|%_|%-/gi;
/** RFC 7208 toplabel: alphanumerics with a letter, or alphanumerics and hyphens not at either end. */
function isTopLabel(label: string): boolean {
  if (/^[a-z0-9]+$/i.test(label)) return /[a-z]/i.test(label);
  return /^[a-z0-9][a-z0-9-]*[a-z0-9]$/i.test(label);
}

/** Whether `spec` is a domain-spec: a macro-string ending in a top label or a macro (RFC 7208 §7.1). */
export function isDomainSpec(spec: string): boolean {
  if (spec.length === 0 || spec.length > 253 * 2) return false;
  // Macro literals are %x21-24 / %x26-7E: printable ASCII without '%' (which only starts a macro).
  const literals = spec.replace(MACRO_EXPAND, '');
  if (!/^[\x21-\x24\x26-\x7e]*$/.test(literals)) return false;
  if (/%\{[^}]*$/.test(spec)) return false;
  if (/(%\{[slodiphcrtv]\d*r?[.\-+,/_=]*\}|%%|%_|%-)$/i.test(spec)) return true;
  const labels = spec.replace(/\.$/, '').split('.');
  const top = labels[labels.length - 1] ?? '';
  return labels.length >= 2 && isTopLabel(top);
}

/** Whether a domain-spec holds macros, which depend on the message and cannot be followed here. */
export function hasMacros(spec: string): boolean {
  return spec.includes('%');
}

const IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

function cidrOk(text: string | undefined, max: number): boolean {
  if (text === undefined) return true;
  if (!/^(?:0|[1-9]\d{0,2})$/.test(text)) return false;
  return Number(text) <= max;
}

function isIpv6(text: string): boolean {
  if (!/^[0-9a-f:.]+$/i.test(text) || text.length > 45) return false;
  const tail = text.match(/:(\d+\.\d+\.\d+\.\d+)$/);
  if (tail && !IPV4.test(tail[1] as string)) return false;
  const body = tail ? `${text.slice(0, -(tail[1] as string).length)}0:0` : text;
  const halves = body.split('::');
  if (halves.length > 2) return false;
  const groups = halves.flatMap((h) => (h === '' ? [] : h.split(':')));
  if (!groups.every((g) => /^[0-9a-f]{1,4}$/i.test(g))) return false;
  return halves.length === 2 ? groups.length <= 7 : groups.length === 8;
}

/** `domain-spec[/ip4-cidr][//ip6-cidr]` of `a` and `mx`. */
function domainWithCidr(rest: string): { spec?: string; error?: string } {
  const match = rest.match(/^(.*?)(?:\/(\d+))?(?:\/\/(\d+))?$/);
  const spec = match?.[1] ?? '';
  if (!cidrOk(match?.[2], 32) || !cidrOk(match?.[3], 128)) return { error: 'a CIDR length out of range' };
  if (spec === '') return {};
  if (!spec.startsWith(':')) return { error: 'the domain must follow a ":"' };
  return isDomainSpec(spec.slice(1)) ? { spec: spec.slice(1) } : { error: 'not a valid domain-spec' };
}

function shown(term: string): string {
  return term.length > 80 ? `${term.slice(0, 77)}...` : term;
}

function parseDirective(term: string): SpfDirective | string {
  const qualifier = (/^[+\-~?]/.test(term) ? term[0] : '+') as SpfQualifier;
  const body = /^[+\-~?]/.test(term) ? term.slice(1) : term;
  const name = (body.match(/^[a-z0-9]+/i)?.[0] ?? '').toLowerCase();
  const rest = body.slice(name.length);
  const bad = (why: string) => `"${shown(term)}": ${why}`;
  switch (name) {
    case 'all':
      return rest === '' ? { qualifier, mechanism: 'all' } : bad('"all" takes no argument');
    case 'include':
    case 'exists': {
      if (!rest.startsWith(':')) return bad(`"${name}" needs ":<domain>"`);
      const spec = rest.slice(1);
      return isDomainSpec(spec) ? { qualifier, mechanism: name, value: spec } : bad('not a valid domain-spec');
    }
    case 'ptr': {
      if (rest === '') return { qualifier, mechanism: 'ptr' };
      const spec = rest.slice(1);
      return rest.startsWith(':') && isDomainSpec(spec)
        ? { qualifier, mechanism: 'ptr', value: spec }
        : bad('not a valid domain-spec');
    }
    case 'a':
    case 'mx': {
      const parsed = domainWithCidr(rest);
      if (parsed.error) return bad(parsed.error);
      return parsed.spec ? { qualifier, mechanism: name, value: parsed.spec } : { qualifier, mechanism: name };
    }
    case 'ip4': {
      const match = rest.match(/^:([0-9.]+)(?:\/(\d+))?$/);
      if (!match || !IPV4.test(match[1] as string) || !cidrOk(match[2], 32)) return bad('not an IPv4 network');
      return { qualifier, mechanism: 'ip4', value: rest.slice(1) };
    }
    case 'ip6': {
      const match = rest.match(/^:([0-9a-f:.]+)(?:\/(\d+))?$/i);
      if (!match || !isIpv6(match[1] as string) || !cidrOk(match[2], 128)) return bad('not an IPv6 network');
      return { qualifier, mechanism: 'ip6', value: rest.slice(1) };
    }
    default:
      return bad('unknown mechanism');
  }
}

/**
 * Parse one SPF record (a TXT string starting `v=spf1`). Syntax errors are collected, never thrown: any
 * error makes the record a permanent error for receivers (RFC 7208 §4.6).
 */
export function parseSpf(text: string): SpfRecord {
  const directives: SpfDirective[] = [];
  const modifiers = new Map<string, string>();
  const errors: string[] = [];
  if (text.length > MAX_SPF_LENGTH) {
    return {
      directives,
      modifiers,
      errors: [`the record is ${text.length} characters long; records over ${MAX_SPF_LENGTH} are not parsed`],
    };
  }
  if (!isSpfRecord(text)) return { directives, modifiers, errors: ['it does not start with "v=spf1"'] };
  // RFC 7208 §4.6.1: terms are separated by single spaces; other whitespace is not allowed.
  if (/[^\x20-\x7e]/.test(text)) errors.push('it holds characters other than printable ASCII and spaces');
  const terms = text
    .slice('v=spf1'.length)
    .split(' ')
    .filter((t) => t !== '');
  for (const term of terms) {
    const modifier = term.match(/^([a-z][a-z0-9_.-]*)=(.*)$/i);
    if (modifier) {
      const name = (modifier[1] as string).toLowerCase();
      const value = modifier[2] as string;
      if (name === 'redirect' || name === 'exp') {
        if (modifiers.has(name)) errors.push(`"${name}=" appears more than once`);
        else if (!isDomainSpec(value)) errors.push(`"${shown(term)}": not a valid domain-spec`);
      }
      if (!modifiers.has(name)) modifiers.set(name, value);
      continue;
    }
    const directive = parseDirective(term);
    if (typeof directive === 'string') errors.push(directive);
    else directives.push(directive);
  }
  return { directives, modifiers, errors };
}

/** The directives that count: RFC 7208 §5.1 ignores everything after the first `all`. */
function effectiveDirectives(record: SpfRecord): SpfDirective[] {
  const all = record.directives.findIndex((d) => d.mechanism === 'all');
  return all === -1 ? [...record.directives] : record.directives.slice(0, all + 1);
}

/** `redirect=` applies only when the record has no `all` (RFC 7208 §6.1). */
function effectiveRedirect(record: SpfRecord): string | undefined {
  return record.directives.some((d) => d.mechanism === 'all') ? undefined : record.modifiers.get('redirect');
}

/** How a lookup of the SPF record of a domain ended, as the caller's resolver saw it. */
export type SpfFetchResult =
  | { readonly kind: 'found'; readonly records: readonly string[] }
  | { readonly kind: 'none'; readonly detail: string }
  | { readonly kind: 'inconclusive'; readonly detail: string };

/** Reads the TXT records of a domain (the product's transport, through a resolver). */
export type SpfFetch = (domain: string) => Promise<SpfFetchResult>;

/** What following a record's include chain showed. */
export interface SpfEvaluation {
  /** DNS-querying terms counted (include, a, mx, ptr, exists, redirect), every chain together. */
  readonly lookups: number;
  /** More than {@link SPF_LOOKUP_LIMIT}: receivers return permerror and SPF fails. */
  readonly exceeded: boolean;
  /** Domains reached through include/redirect with a pass qualifier before any `all`. */
  readonly authorizes: readonly string[];
  /** Definite errors down the chain (an include without SPF, a broken included record, a loop). */
  readonly errors: readonly string[];
  /** Why the count is not complete, when a lookup was inconclusive. Never a reason to call it valid. */
  readonly inconclusive?: string;
  /** Includes that hold macros: counted, not followed (they depend on the message). */
  readonly unfollowed: readonly string[];
}

/**
 * Count the DNS lookups a receiver would make for `record` (RFC 7208 §4.6.4), following include and redirect
 * through `fetch`. It stops at the first term over the limit, so one walk makes at most
 * {@link SPF_LOOKUP_LIMIT} + 1 fetches whatever the chain holds, loops included.
 */
export async function evaluateSpf(record: SpfRecord, fetch: SpfFetch): Promise<SpfEvaluation> {
  let lookups = 0;
  let exceeded = false;
  let inconclusive: string | undefined;
  const authorizes = new Set<string>();
  const errors: string[] = [];
  const unfollowed: string[] = [];
  const count = () => {
    lookups++;
    if (lookups > SPF_LOOKUP_LIMIT) exceeded = true;
    return !exceeded;
  };
  /** Follow one include or redirect target; `passing` is whether every step so far was a pass. */
  const follow = async (spec: string, path: readonly string[], passing: boolean, how: string) => {
    if (hasMacros(spec)) {
      unfollowed.push(spec);
      return;
    }
    const domain = normalizeName(spec);
    if (passing) authorizes.add(domain);
    if (path.includes(domain)) {
      errors.push(`${how}${domain} loops back to a record already on the chain (${[...path, domain].join(' → ')})`);
      return;
    }
    const fetched = await fetch(domain);
    if (fetched.kind === 'inconclusive') {
      inconclusive ??= `the SPF record of ${domain} could not be read (${fetched.detail})`;
      return;
    }
    const spf = fetched.kind === 'found' ? fetched.records.filter(isSpfRecord) : [];
    if (spf.length === 0) {
      errors.push(`${how}${domain} has no SPF record (${fetched.kind === 'none' ? fetched.detail : 'no v=spf1 TXT'})`);
      return;
    }
    if (spf.length > 1) {
      errors.push(`${how}${domain} has ${spf.length} SPF records; receivers treat that as a permanent error`);
      return;
    }
    const nested = parseSpf(spf[0] as string);
    if (nested.errors.length > 0) {
      errors.push(`${how}${domain} is invalid: ${nested.errors[0]}`);
      return;
    }
    await walk(nested, [...path, domain], passing);
  };
  const walk = async (current: SpfRecord, path: readonly string[], passing: boolean): Promise<void> => {
    for (const d of effectiveDirectives(current)) {
      if (exceeded) return;
      if (d.mechanism === 'include') {
        if (!count()) return;
        await follow(d.value as string, path, passing && d.qualifier === '+', 'include:');
      } else if (d.mechanism === 'a' || d.mechanism === 'mx' || d.mechanism === 'ptr' || d.mechanism === 'exists') {
        if (!count()) return;
      }
    }
    const redirect = effectiveRedirect(current);
    if (redirect !== undefined && !exceeded && count()) await follow(redirect, path, passing, 'redirect=');
  };
  await walk(record, [], true);
  return {
    lookups,
    exceeded,
    authorizes: [...authorizes],
    errors,
    unfollowed,
    ...(inconclusive && !exceeded ? { inconclusive } : {}),
  };
}

/** Whether the record itself (without following anything) names `domain` in a passing include before `all`. */
export function includesDirectly(record: SpfRecord, domain: string): boolean {
  return effectiveDirectives(record).some(
    (d) => d.mechanism === 'include' && d.qualifier === '+' && normalizeName(d.value ?? '') === domain,
  );
}
