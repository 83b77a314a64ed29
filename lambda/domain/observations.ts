/**
 * What the DNS probes saw, as plain data. The DNS adapter produces these; the diagnosis reads them.
 */
import type { DsRecord, ServedRrset } from './dnssec';

export type View = 'authoritative' | 'public';

/**
 * How one lookup ended. `ANSWER`, `NXDOMAIN` and `NODATA` are definitive; the others are inconclusive and
 * must never be read as "missing" (a timeout or SERVFAIL says nothing about the record).
 */
export type LookupOutcome =
  | 'ANSWER'
  | 'NXDOMAIN'
  | 'NODATA'
  | 'TIMEOUT'
  | 'SERVFAIL'
  | 'REFUSED'
  | 'NOT_AUTHORITATIVE'
  | 'ERROR';

const DEFINITIVE: ReadonlySet<LookupOutcome> = new Set(['ANSWER', 'NXDOMAIN', 'NODATA']);

export function isDefinitive(outcome: LookupOutcome): boolean {
  return DEFINITIVE.has(outcome);
}

/** A server the product asked: an authoritative nameserver or a public recursive resolver. */
export interface ServerRef {
  /** Host name of a nameserver (`ns1.example.com`), or the address of a resolver. */
  readonly name: string;
  readonly address: string;
  readonly port: number;
  readonly view: View;
}

/** What one server said about one expected record. */
export interface RecordAnswer {
  readonly server: ServerRef;
  readonly outcome: LookupOutcome;
  /** The DNS rcode, or TIMEOUT / NETWORK_ERROR / MALFORMED when no usable response came. */
  readonly rcode: string;
  /** The CNAME published at the record's name, if any. */
  readonly cname?: string;
  /**
   * TXT records (each with its character-strings joined): at the record's name in the authoritative
   * view; at the end of the CNAME chain in the public view.
   */
  readonly txt?: readonly string[];
  /** Public view, when the name is a CNAME: how the lookup of the key at its target ended. */
  readonly keyOutcome?: LookupOutcome;
  /** Records of other types found at the name when the expected type was absent (`A 104.16.1.1`). */
  readonly other?: readonly string[];
  /** Where the record was found instead when the provider appended the domain again. */
  readonly doubled?: { readonly name: string; readonly values: readonly string[] };
  /**
   * Where the record was found instead under another near-miss name: the underscore of `_domainkey` left
   * out (`<token>.domainkey.<domain>`). Only a definitive answer from the same server counts.
   */
  readonly misnamed?: { readonly name: string; readonly values: readonly string[] };
  /** Why the lookup was inconclusive, in words (`no answer in 2000 ms, 3 tries`). */
  readonly detail?: string;
}

/** One authoritative server of a zone, and what it says about the zone itself. */
export interface ZoneServer {
  readonly server: ServerRef;
  /** Where the server was found: the parent's delegation (referral) and/or the zone's own NS records. */
  readonly listedBy: readonly ('parent' | 'zone')[];
  /** The zone's NS set as this server serves it; absent when the lookup was inconclusive. */
  readonly apexNs?: readonly string[];
  /** The zone's SOA as this server serves it. */
  readonly soa?: { readonly mname: string; readonly serial: number };
  /** Why apexNs/soa are missing, when they are. */
  readonly detail?: string;
}

/** A zone-level lookup that could not be completed. */
export interface ZoneLookupProblem {
  readonly message: string;
  readonly servers: readonly string[];
  readonly dig: string;
}

/**
 * Two sources of the zone's shape (resolvers, the parent's referral, the zone's own servers) that said
 * different things. A source that did not answer is not a source: a timeout is never a disagreement.
 */
export interface SourceDisagreement {
  /** What they disagree about, in words: `the NS set of example.com`, `the zone holding _domainkey.example.com`. */
  readonly subject: string;
  /** Each source and what it said. */
  readonly claims: readonly { readonly source: string; readonly says: string }[];
  /**
   * True when every server any source named was probed anyway (nothing is hidden: the finding explains);
   * false when only one source's view could be followed, so the other view is unchecked.
   */
  readonly allChecked: boolean;
  readonly dig: string;
}

/** The zone holding an identity's DKIM records, as seen from its parent and from its own servers. */
export interface ZoneObservation {
  /** The zone apex; absent when it could not be found. */
  readonly zone?: string;
  readonly parentZone?: string;
  /** The NS names the parent zone delegates to; absent when the parent could not be asked. */
  readonly parentNs?: readonly string[];
  /** The parent's server whose referral gave `parentNs`. */
  readonly parentServer?: ServerRef;
  /** The NS names recursive resolvers return for the apex. */
  readonly resolverNs?: readonly string[];
  readonly servers: readonly ZoneServer[];
  /**
   * Set when the closest zone found is a top-level domain: the domain itself is not delegated (an expired
   * registration, or NS records removed at the registrar). No authoritative server is probed then.
   */
  readonly notDelegated?: { readonly domain: string; readonly suffix: string; readonly resolver?: ServerRef };
  /** NS host names listed somewhere that have no address (or none could be found). */
  readonly unresolvedNs: readonly string[];
  /**
   * NS targets that are IP addresses written as names (`192.0.2.15.`): resolvers look them up as host names
   * and find nothing, so they are a misconfiguration, never an address to query.
   */
  readonly ipLiteralNs?: readonly string[];
  /** Sources that gave different answers about the zone cut, the NS set or nameserver addresses. */
  readonly disagreements?: readonly SourceDisagreement[];
  readonly problems: readonly ZoneLookupProblem[];
  /** The zone's DNSSEC chain (and, per identity, the signatures over its DKIM records); absent when not probed. */
  readonly dnssec?: DnssecObservation;
}

/** One server's answer to a DNSSEC query (asked with the DO bit). */
export interface DnssecServerAnswer {
  readonly server: ServerRef;
  /** The RRset with the RRSIGs covering it; absent when the server has no such data (authoritative NODATA/NXDOMAIN). */
  readonly rrset?: ServedRrset;
  /** Why the lookup was inconclusive (timeout, SERVFAIL, over budget): never evidence of anything. */
  readonly inconclusive?: string;
}

/** A resolver that answered SERVFAIL for a DKIM record, asked the same again with the CD bit. */
export interface ResolverCdCheck {
  readonly name: string;
  readonly resolver: ServerRef;
  /** True when it answered with CD set: the data is reachable and only validation failed. */
  readonly answersWithCd: boolean;
}

/** What the DNSSEC probes saw of one zone: the parent's DS set, each server's keys and signatures. */
export interface DnssecObservation {
  /** Seconds since the epoch when the evidence was gathered: signature windows are judged against it. */
  readonly checkedAt: number;
  /** The parent's server asked for the DS set. */
  readonly parentServer?: ServerRef;
  /** The parent's DS set; `none` means the zone is unsigned as far as validators care. */
  readonly ds:
    | { readonly kind: 'found'; readonly records: readonly DsRecord[] }
    | { readonly kind: 'none' }
    | { readonly kind: 'inconclusive'; readonly detail: string };
  /** Each authoritative server's DNSKEY RRset (asked only when the parent has a DS). */
  readonly keys: readonly DnssecServerAnswer[];
  /** Each authoritative server's signed answer for each DKIM record name (asked only when the parent has a DS). */
  readonly records: readonly (DnssecServerAnswer & { readonly name: string })[];
  readonly resolverChecks: readonly ResolverCdCheck[];
}

/** Human label for a server: `ns1.example.com (192.0.2.1)` or `resolver 1.1.1.1`. */
export function serverLabel(server: ServerRef): string {
  const port = server.port === 53 ? '' : `:${server.port}`;
  const address = server.address.includes(':') && port ? `[${server.address}]` : server.address;
  if (server.view === 'public') return `resolver ${address}${port}`;
  return `${server.name} (${address}${port})`;
}
