/**
 * What the probes saw of the MAIL FROM and DMARC records, as plain data: the DNS adapter produces these,
 * the diagnosis (`diagnose-mail-auth.ts`) reads them.
 */
import type { LookupOutcome, ServerRef, ZoneLookupProblem } from './observations';
import type { SpfEvaluation } from './spf';

/** One MX record. */
export interface MxRecord {
  readonly preference: number;
  readonly exchange: string;
}

/** What one server (an authoritative server asked with RD=0, or a resolver) said about one lookup. */
export interface MailAuthAnswer {
  readonly server: ServerRef;
  readonly outcome: LookupOutcome;
  readonly rcode: string;
  /** MX records at the name (at the end of the CNAME chain, for a resolver). */
  readonly mx?: readonly MxRecord[];
  /** TXT records at the name, each with its character-strings joined. */
  readonly txt?: readonly string[];
  /** The CNAME at the name, when there is one (an authoritative server answers with it alone). */
  readonly cname?: string;
  /** Why the lookup was inconclusive, in words. */
  readonly detail?: string;
}

/** Every answer to one lookup (name and type), and how the zone holding it was found. */
export interface MailAuthLookupObservation {
  readonly name: string;
  readonly type: 'MX' | 'TXT';
  /** The zone apex holding the name; absent when it could not be found. */
  readonly zone?: string;
  readonly answers: readonly MailAuthAnswer[];
  /** Why some or all servers could not be asked (zone not found, budget). Inconclusive, never "missing". */
  readonly problems: readonly ZoneLookupProblem[];
}

/** Key of a lookup in {@link MailAuthObservation.lookups}. */
export function lookupKey(name: string, type: string): string {
  return `${name}|${type}`;
}

/** The MAIL FROM and DMARC view of one identity. */
export interface MailAuthObservation {
  /** By {@link lookupKey}. */
  readonly lookups: ReadonlyMap<string, MailAuthLookupObservation>;
  /** The include chains of each distinct SPF record seen at the MAIL FROM domain, by record text. */
  readonly spf: ReadonlyMap<string, SpfEvaluation>;
}
