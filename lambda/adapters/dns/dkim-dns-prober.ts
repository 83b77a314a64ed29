import { isIP, isIPv4, isIPv6 } from 'node:net';
import type { Answer, MxData, RecordType, SoaData, TxtData } from 'dns-packet';
import type { IdentityObservation } from '../../domain/assess-identity';
import { isDmarcRecord } from '../../domain/dmarc';
import { isAtOrBelow, isValidDomainName, normalizeName, parentName } from '../../domain/dns-name';
import type { ExpectedRecord, MailAuthLookup, MailAuthPlan } from '../../domain/expected-records';
import { digCommand, listInWords } from '../../domain/findings';
import {
  lookupKey,
  type MailAuthAnswer,
  type MailAuthLookupObservation,
  type MailAuthObservation,
  type MxRecord,
} from '../../domain/mail-auth-observations';
import type {
  LookupOutcome,
  RecordAnswer,
  ServerRef,
  SourceDisagreement,
  ZoneLookupProblem,
  ZoneObservation,
  ZoneServer,
} from '../../domain/observations';
import { serverLabel } from '../../domain/observations';
import { evaluateSpf, isSpfRecord, parseSpf, type SpfEvaluation, type SpfFetchResult } from '../../domain/spf';
import type { DkimDnsProbe, MailAuthProbe } from '../../ports';
import type { DnsEndpoint, DnsResult, DnsTransport } from './dns-transport';
import { DnssecProber } from './dnssec-prober';
import { QueryBudget } from './query-budget';

/**
 * How much work the DNS data of one zone or identity may cause. Everything a zone serves is untrusted: a
 * nameserver name with a thousand addresses or a zone listing a hundred dead servers must end as an
 * inconclusive finding naming the budget, never as a stall for the other identities.
 */
export interface ProbeBudgets {
  /** Addresses probed per nameserver host and address family (IPv4, IPv6). @default 4 */
  readonly addressesPerFamily: number;
  /** Nameserver host names probed per zone, from every source together. @default 24 */
  readonly nameserversPerZone: number;
  /** DNS packets (retries included) to discover one zone: delegation, NS sets, addresses, SOA. @default 400 */
  readonly queriesPerZone: number;
  /** DNS packets for one identity's records on every server and resolver. @default 600 */
  readonly queriesPerIdentity: number;
  /** Wall-clock time for one identity, and for the discovery of one zone. @default 60000 */
  readonly msPerIdentity: number;
  /**
   * Queries of one identity (or zone) in flight at once: half the transport's per-server slots, so one zone
   * whose names make a shared resolver slow cannot take all of that resolver's slots. @default 8
   */
  readonly inFlightPerIdentity: number;
}

export const DEFAULT_PROBE_BUDGETS: ProbeBudgets = {
  addressesPerFamily: 4,
  nameserversPerZone: 24,
  queriesPerZone: 400,
  queriesPerIdentity: 600,
  msPerIdentity: 60_000,
  inFlightPerIdentity: 8,
};

export interface DnsProberOptions {
  /** Recursive resolvers for the public view (and to find zones and nameserver addresses). */
  readonly resolvers: readonly DnsEndpoint[];
  /** The port every authoritative server is asked on (53 in the real world; tests and the demo change it). */
  readonly authoritativePort?: number;
  /** Also probe nameservers over IPv6 (AAAA). Off by default: Lambda outside a VPC has no IPv6 egress. */
  readonly ipv6?: boolean;
  /** Limits on the work one zone or identity can cause. @default DEFAULT_PROBE_BUDGETS */
  readonly budgets?: Partial<ProbeBudgets>;
}

const MAX_CNAME_HOPS = 8;
/** Records of one type kept from one MAIL FROM or DMARC answer: a name with hundreds is hostile, not mail. */
const MAX_RECORDS_PER_ANSWER = 32;
/** Rounds of "servers list further servers" before the rest is reported unchecked. */
const MAX_DISCOVERY_ROUNDS = 3;
/** Resolvers asked at once about zones and nameservers, so that one lying resolver is not the only source. */
const CROSS_CHECK_RESOLVERS = 2;

function txtText(data: TxtData): string {
  const parts = Array.isArray(data) ? data : [data];
  return parts.map((p) => (typeof p === 'string' ? p : p.toString('utf8'))).join('');
}

/**
 * At most {@link MAX_RECORDS_PER_ANSWER} TXT records, SPF and DMARC ones first: a name holding hundreds of
 * verification tokens must not push its one SPF record out and make it look missing.
 */
function keepMailAuthFirst(txt: readonly string[]): string[] {
  const wanted = (t: string) => isSpfRecord(t) || isDmarcRecord(t);
  return [...txt.filter(wanted), ...txt.filter((t) => !wanted(t))].slice(0, MAX_RECORDS_PER_ANSWER);
}

/** A resource record with its data, whatever its type. */
interface DataRecord {
  readonly name: string;
  readonly type: string;
  readonly data: unknown;
}

/** The records of `type` owned by `name` (answers from a server may contain anything). */
function ownedBy(records: readonly Answer[], name: string, type: string): DataRecord[] {
  return (records as readonly DataRecord[]).filter(
    (r) => r.type === type && typeof r.name === 'string' && normalizeName(r.name) === name && r.data !== undefined,
  );
}

/** Summarize a failed or odd lookup in words. */
function failureWords(result: DnsResult): { outcome: LookupOutcome; rcode: string; detail: string } {
  if (!result.ok) {
    return {
      outcome: result.failure === 'TIMEOUT' ? 'TIMEOUT' : 'ERROR',
      rcode: result.failure,
      detail: result.detail,
    };
  }
  if (result.rcode === 'SERVFAIL')
    return { outcome: 'SERVFAIL', rcode: 'SERVFAIL', detail: 'SERVFAIL (server failure)' };
  if (result.rcode === 'REFUSED') {
    return {
      outcome: 'REFUSED',
      rcode: 'REFUSED',
      detail: 'REFUSED: the server does not serve this name (lame delegation?)',
    };
  }
  return { outcome: 'ERROR', rcode: result.rcode, detail: `unexpected response ${result.rcode}` };
}

function isDefinitiveResponse(result: DnsResult): result is Extract<DnsResult, { ok: true }> {
  return result.ok && (result.rcode === 'NOERROR' || result.rcode === 'NXDOMAIN');
}

interface ResolverAnswer {
  readonly result: DnsResult;
  readonly resolver: ServerRef;
}

/** What the resolvers say the addresses of one nameserver host are. */
interface HostAddresses {
  readonly addresses: string[];
  /** Why no address could be found, when that is inconclusive. */
  readonly inconclusive?: string;
  /** The host listed more addresses than the budget allows: which were left out, in words. */
  readonly capped?: string;
  readonly disagreement?: SourceDisagreement;
  /** Labels of the resolvers that answered definitively. */
  readonly answeredBy?: readonly string[];
}

/** A cache entry, with the budget it was computed under (a result cut short by another zone's budget is redone). */
interface Memo<T> {
  readonly value: Promise<T>;
  readonly budget: QueryBudget;
}

const sortedWords = (names: readonly string[]) => listInWords([...names].sort()) || 'nothing';

/**
 * Probes DKIM records the way the incidents demand: through public resolvers and directly at every
 * authoritative server of the zone, found from both the parent's delegation and the zone's own NS records.
 * One instance serves one run: it caches zones, nameserver addresses and record answers, so a zone shared
 * by many identities is looked up once. Every query is charged to a budget (per zone for discovery, per
 * identity for the records), so a hostile zone ends inconclusive instead of stalling the run.
 */
export class DnsProber implements DkimDnsProbe, MailAuthProbe {
  private readonly authoritativePort: number;
  private readonly budgets: ProbeBudgets;
  private readonly zoneOfCache = new Map<string, Memo<ZoneCut>>();
  private readonly zoneCache = new Map<string, Promise<ZoneObservation>>();
  private readonly addressCache = new Map<string, Memo<HostAddresses>>();
  private readonly nsCache = new Map<string, Memo<ResolverNs>>();
  private readonly recordCache = new Map<string, Memo<RecordAnswer[]>>();
  private readonly mailAuthCache = new Map<string, Memo<MailAuthLookupObservation>>();
  private readonly spfFetchCache = new Map<string, Memo<SpfFetchResult>>();
  private readonly resolverRefs: ServerRef[];
  private readonly dnssec: DnssecProber;

  constructor(
    private readonly transport: DnsTransport,
    private readonly options: DnsProberOptions,
  ) {
    if (options.resolvers.length === 0) throw new Error('DnsProber needs at least one resolver');
    this.authoritativePort = options.authoritativePort ?? 53;
    this.budgets = { ...DEFAULT_PROBE_BUDGETS, ...options.budgets };
    this.dnssec = new DnssecProber(transport);
    this.resolverRefs = options.resolvers.map((r) => ({
      name: r.address,
      address: r.address,
      port: r.port,
      view: 'public',
    }));
  }

  private newBudget(scope: string, maxQueries: number): QueryBudget {
    return new QueryBudget(scope, {
      maxQueries,
      maxMs: this.budgets.msPerIdentity,
      maxInFlight: this.budgets.inFlightPerIdentity,
    });
  }

  /** Cache a lookup; redo it when the cached run was cut short by another scope's exhausted budget. */
  private memo<T>(cache: Map<string, Memo<T>>, key: string, budget: QueryBudget, compute: () => Promise<T>) {
    const hit = cache.get(key);
    if (hit && (hit.budget === budget || !hit.budget.exhausted)) return hit.value;
    const value = compute();
    cache.set(key, { value, budget });
    return value;
  }

  async observe(domain: string, records: readonly ExpectedRecord[]): Promise<IdentityObservation> {
    const budget = this.newBudget(`identity ${domain}`, this.budgets.queriesPerIdentity);
    let zone = await this.zoneForRecords(domain, budget);
    const answers = new Map<string, readonly RecordAnswer[]>();
    await Promise.all(
      records.map(async (expected) => {
        answers.set(expected.name, await this.recordAnswers(expected, zone, budget));
      }),
    );
    if (zone.dnssec) {
      const servers = zone.servers.map((s) => s.server);
      zone = { ...zone, dnssec: await this.dnssec.observeRecords(zone.dnssec, records, servers, answers, budget) };
    }
    if (budget.exhausted) {
      zone = {
        ...zone,
        problems: [
          ...zone.problems,
          {
            message: `Checking ${domain} stopped early: ${budget.exhausted} (${budget.spent} sent). The answers not received are unchecked: inconclusive, never evidence of a missing record.`,
            servers: [],
            dig: digCommand(records[0]?.name ?? domain, records[0]?.type ?? 'SOA'),
          },
        ],
      };
    }
    return { zone, answers };
  }

  /**
   * Probe one identity's MAIL FROM (MX, SPF TXT) and DMARC (TXT) lookups the way DKIM records are probed:
   * every authoritative server of the zone holding each name with RD=0, and every resolver. The include
   * chain of each SPF record found at the MAIL FROM domain is followed through the resolvers to count its
   * DNS lookups. Everything is charged to one budget of the identity's size.
   */
  async observeMailAuth(plan: MailAuthPlan): Promise<MailAuthObservation> {
    const scope = plan.mailFrom?.domain ?? plan.dmarc?.domain ?? 'nothing';
    const budget = this.newBudget(`mail authentication of ${scope}`, this.budgets.queriesPerIdentity);
    const wanted = [...(plan.mailFrom?.lookups ?? []), ...(plan.dmarc?.lookups ?? [])];
    const lookups = new Map<string, MailAuthLookupObservation>();
    await Promise.all(
      wanted.map(async (lookup) => {
        lookups.set(lookupKey(lookup.name, lookup.type), await this.mailAuthLookup(lookup, budget));
      }),
    );
    const spf = new Map<string, SpfEvaluation>();
    if (plan.mailFrom) {
      const txt = lookups.get(lookupKey(plan.mailFrom.domain, 'TXT'));
      const texts = new Set((txt?.answers ?? []).flatMap((a) => (a.txt ?? []).filter(isSpfRecord)));
      for (const text of texts) {
        const record = parseSpf(text);
        if (record.errors.length > 0) continue;
        spf.set(text, await evaluateSpf(record, (domain) => this.spfRecordsOf(domain, budget)));
      }
    }
    if (budget.exhausted) {
      const stopped = {
        message: `Checking the MAIL FROM and DMARC records of ${scope} stopped early: ${budget.exhausted} (${budget.spent} sent). The answers not received are unchecked: inconclusive, never evidence of a missing record.`,
        servers: [],
        dig: digCommand(wanted[0]?.name ?? scope, wanted[0]?.type ?? 'TXT'),
      };
      for (const [key, observed] of lookups)
        lookups.set(key, { ...observed, problems: [...observed.problems, stopped] });
    }
    return { lookups, spf };
  }

  /** One MAIL FROM or DMARC lookup on every authoritative server of its zone and every resolver. */
  private async mailAuthLookup(lookup: MailAuthLookup, budget: QueryBudget): Promise<MailAuthLookupObservation> {
    const { name, type } = lookup;
    let found = await this.zoneOf(name, budget);
    if (!found.zone && parentName(name).includes('.')) {
      // A CNAME at the name (`_dmarc` pointing at a DMARC provider) hides its zone's SOA: ask one level up.
      const parent = await this.zoneOf(parentName(name), budget);
      if (parent.zone) found = parent;
    }
    if (!found.zone) return { name, type, answers: [], problems: found.problem ? [found.problem] : [] };
    if (!found.zone.includes('.')) {
      const resolver = found.resolver ?? this.resolverRefs[0];
      return {
        name,
        type,
        answers: [],
        problems: [
          {
            message: `${name} is not checked: the closest zone that exists above it is the top-level domain ${found.zone}, so its domain is not delegated. Inconclusive here; the DKIM findings say more.`,
            servers: resolver ? [serverLabel(resolver)] : [],
            dig: digCommand(name, 'SOA', resolver),
          },
        ],
      };
    }
    const apex = found.zone;
    let pending = this.zoneCache.get(apex);
    if (!pending) {
      pending = this.observeZone(apex);
      this.zoneCache.set(apex, pending);
    }
    const zone = await pending;
    return this.memo(this.mailAuthCache, `${name}|${type}|${apex}`, budget, async () => {
      const answers = await Promise.all([
        ...zone.servers.map((s) => this.mailAuthAnswer(s.server, name, type, budget)),
        ...this.resolverRefs.map((r) => this.mailAuthAnswer(r, name, type, budget)),
      ]);
      return { name, type, zone: apex, answers, problems: [...zone.problems] };
    });
  }

  /** What one server says about `name` `type`; a resolver's answer is read at the end of the CNAME chain. */
  private async mailAuthAnswer(
    server: ServerRef,
    name: string,
    type: 'MX' | 'TXT',
    budget: QueryBudget,
  ): Promise<MailAuthAnswer> {
    const authoritative = server.view === 'authoritative';
    const result = await this.transport.query(server, { name, type, recursionDesired: !authoritative }, budget);
    if (!isDefinitiveResponse(result)) return { server, ...failureWords(result) };
    if (authoritative && !result.authoritative) {
      const referral = result.authorities.find((r) => r.type === 'NS');
      return {
        server,
        outcome: 'NOT_AUTHORITATIVE',
        rcode: result.rcode,
        detail: referral
          ? `not authoritative: referred to ${normalizeName(referral.name)} (a zone cut the probe did not expect)`
          : 'answered without the authoritative (AA) flag: the server does not serve this zone (lame delegation?)',
      };
    }
    const first = ownedBy(result.answers, name, 'CNAME')[0];
    let current = name;
    for (let hop = 0; hop < MAX_CNAME_HOPS; hop++) {
      const cname = ownedBy(result.answers, current, 'CNAME')[0];
      if (!cname) break;
      current = normalizeName(String(cname.data));
    }
    const cname = first ? { cname: normalizeName(String(first.data)) } : {};
    if (type === 'MX') {
      const mx: MxRecord[] = ownedBy(result.answers, current, 'MX')
        .slice(0, MAX_RECORDS_PER_ANSWER)
        .map((r) => {
          const data = r.data as MxData;
          return { preference: Number(data.preference ?? 0), exchange: normalizeName(String(data.exchange)) };
        });
      if (mx.length > 0) return { server, outcome: 'ANSWER', rcode: result.rcode, mx, ...cname };
    } else {
      const txt = keepMailAuthFirst(ownedBy(result.answers, current, 'TXT').map((r) => txtText(r.data as TxtData)));
      if (txt.length > 0) return { server, outcome: 'ANSWER', rcode: result.rcode, txt, ...cname };
    }
    // An authoritative CNAME alone is an answer: its target lives elsewhere and the resolvers follow it.
    if (first && authoritative) return { server, outcome: 'ANSWER', rcode: result.rcode, ...cname };
    return { server, outcome: result.rcode === 'NXDOMAIN' ? 'NXDOMAIN' : 'NODATA', rcode: result.rcode, ...cname };
  }

  /** The TXT records of an SPF include or redirect target, from the resolvers (what receivers read). */
  private spfRecordsOf(domain: string, budget: QueryBudget): Promise<SpfFetchResult> {
    return this.memo(this.spfFetchCache, domain, budget, async () => {
      const tried = await this.askResolvers(domain, 'TXT', budget);
      const answer = tried.find((t) => isDefinitiveResponse(t.result));
      if (!answer) {
        const last = tried[tried.length - 1];
        return { kind: 'inconclusive', detail: last ? failureWords(last.result).detail : 'no resolver' };
      }
      const result = answer.result as Extract<DnsResult, { ok: true }>;
      let current = domain;
      for (let hop = 0; hop < MAX_CNAME_HOPS; hop++) {
        const cname = ownedBy(result.answers, current, 'CNAME')[0];
        if (!cname) break;
        current = normalizeName(String(cname.data));
      }
      const records = keepMailAuthFirst(ownedBy(result.answers, current, 'TXT').map((r) => txtText(r.data as TxtData)));
      if (records.length > 0) return { kind: 'found', records };
      return { kind: 'none', detail: result.rcode === 'NXDOMAIN' ? 'NXDOMAIN' : 'no TXT record' };
    });
  }

  /** The zone that holds `<selector>._domainkey.<domain>`: `_domainkey` itself may be a zone cut. */
  private async zoneForRecords(domain: string, budget: QueryBudget): Promise<ZoneObservation> {
    const found = await this.zoneOf(`_domainkey.${domain}`, budget);
    const disagreements = found.disagreement ? [found.disagreement] : [];
    if (!found.zone) {
      return { servers: [], unresolvedNs: [], problems: found.problem ? [found.problem] : [], disagreements };
    }
    if (!found.zone.includes('.') && found.zone !== domain) {
      // No SES domain's zone is a TLD: the domain is not delegated. Asking the TLD's servers would only
      // produce misleading "missing on a.gtld-servers.net" findings.
      return {
        servers: [],
        unresolvedNs: [],
        problems: [],
        disagreements,
        notDelegated: { domain, suffix: found.zone, resolver: found.resolver ?? this.resolverRefs[0] },
      };
    }
    let zone = this.zoneCache.get(found.zone);
    if (!zone) {
      zone = this.observeZone(found.zone);
      this.zoneCache.set(found.zone, zone);
    }
    const observed = await zone;
    return disagreements.length > 0
      ? { ...observed, disagreements: [...disagreements, ...(observed.disagreements ?? [])] }
      : observed;
  }

  /**
   * Ask the first resolvers at once (two sources, so one lying resolver cannot choose alone), then the others
   * in turn until one gives a definitive response. Answers come back in the resolvers' order.
   */
  private async askResolvers(name: string, type: RecordType, budget: QueryBudget): Promise<ResolverAnswer[]> {
    const ask = async (resolver: ServerRef): Promise<ResolverAnswer> => ({
      resolver,
      result: await this.transport.query(resolver, { name, type, recursionDesired: true }, budget),
    });
    const tried = await Promise.all(this.resolverRefs.slice(0, CROSS_CHECK_RESOLVERS).map(ask));
    for (const resolver of this.resolverRefs.slice(CROSS_CHECK_RESOLVERS)) {
      if (tried.some((t) => isDefinitiveResponse(t.result))) break;
      tried.push(await ask(resolver));
    }
    if (tried.some((t) => isDefinitiveResponse(t.result))) return tried;
    // A validating resolver answers SERVFAIL for every name of a zone whose DNSSEC is broken: ask those again
    // with the CD bit, so the zone and its servers can still be found and checked (the DNSSEC checks name the
    // fault; a SERVFAIL that persists without validation stays inconclusive).
    return Promise.all(
      tried.map(async (t) =>
        t.result.ok && t.result.rcode === 'SERVFAIL'
          ? {
              resolver: t.resolver,
              result: await this.transport.query(
                t.resolver,
                { name, type, recursionDesired: true, checkingDisabled: true },
                budget,
              ),
            }
          : t,
      ),
    );
  }

  private resolverFailure(name: string, type: string, tried: ResolverAnswer[], what: string): ZoneLookupProblem {
    const why = tried.map((t) => `${serverLabel(t.resolver)}: ${failureWords(t.result).detail}`).join('; ');
    return {
      message: `Could not ${what}: ${why}. Inconclusive: nothing about ${name} could be verified.`,
      servers: tried.map((t) => serverLabel(t.resolver)),
      dig: digCommand(name, type, tried[0]?.resolver),
    };
  }

  /**
   * The apex of the zone containing `name`, from the SOA the resolvers return (answer or authority section).
   * Two resolvers that answer with different apexes are a disagreement: the first one's is used, and the
   * other view stays unchecked.
   */
  private zoneOf(name: string, budget: QueryBudget): Promise<ZoneCut> {
    return this.memo(this.zoneOfCache, name, budget, async () => {
      const tried = await this.askResolvers(name, 'SOA', budget);
      const definitive = tried.filter((t) => isDefinitiveResponse(t.result));
      if (definitive.length === 0) {
        return { problem: this.resolverFailure(name, 'SOA', tried, `find the DNS zone of ${name}`) };
      }
      const apexes = definitive.map((t) => ({ resolver: t.resolver, apex: apexFrom(t.result, name) }));
      const chosen = apexes.find((a) => a.apex !== undefined);
      if (!chosen?.apex) {
        // `_domainkey.<domain>` answered with a CNAME (or no SOA): fall back to the domain itself.
        if (name.startsWith('_domainkey.')) return this.zoneOf(parentName(name), budget);
        const first = definitive[0] as ResolverAnswer;
        return {
          problem: {
            message: `Could not find the DNS zone of ${name}: ${serverLabel(first.resolver)} returned no SOA record. Inconclusive.`,
            servers: [serverLabel(first.resolver)],
            dig: digCommand(name, 'SOA', first.resolver),
          },
        };
      }
      const others = apexes.filter((a) => a.apex !== undefined && a.apex !== chosen.apex);
      const disagreement: SourceDisagreement | undefined =
        others.length > 0
          ? {
              subject: `the zone holding ${name}`,
              claims: [chosen, ...others].map((a) => ({
                source: serverLabel(a.resolver),
                says: a.apex === '' ? 'the root' : (a.apex as string),
              })),
              allChecked: false,
              dig: digCommand(name, 'SOA', others[0]?.resolver),
            }
          : undefined;
      return { zone: chosen.apex, resolver: chosen.resolver, disagreement };
    });
  }

  /** NS names of a zone as each resolver sees it (`ns` is their union; undefined when none could answer). */
  private resolverNs(zone: string, budget: QueryBudget): Promise<ResolverNs> {
    return this.memo(this.nsCache, zone, budget, async () => {
      const tried = await this.askResolvers(zone, 'NS', budget);
      const bySource = tried
        .filter((t) => isDefinitiveResponse(t.result))
        .map((t) => ({
          resolver: t.resolver,
          ns: [
            ...new Set(
              ownedBy((t.result as Extract<DnsResult, { ok: true }>).answers, zone, 'NS').map((r) =>
                normalizeName(String(r.data)),
              ),
            ),
          ],
        }));
      if (bySource.length === 0) return { bySource };
      return { ns: [...new Set(bySource.flatMap((s) => s.ns))], bySource };
    });
  }

  /**
   * Addresses of a nameserver host, from every resolver asked (their union, so one resolver cannot hide a
   * server), at most `addressesPerFamily` of each family.
   */
  private addressesOf(host: string, budget: QueryBudget): Promise<HostAddresses> {
    return this.memo(this.addressCache, host, budget, async () => {
      const types: RecordType[] = this.options.ipv6 ? ['A', 'AAAA'] : ['A'];
      const addresses: string[] = [];
      const capped: string[] = [];
      const claims: SourceDisagreement['claims'][number][] = [];
      const answeredBy = new Set<string>();
      let inconclusive: string | undefined;
      for (const type of types) {
        const tried = await this.askResolvers(host, type, budget);
        const definitive = tried.filter((t) => isDefinitiveResponse(t.result));
        if (definitive.length === 0) {
          const last = tried[tried.length - 1];
          inconclusive = last ? failureWords(last.result).detail : 'no resolver';
          continue;
        }
        for (const t of definitive) answeredBy.add(serverLabel(t.resolver));
        const sets = definitive.map((t) => ({
          resolver: t.resolver,
          found: addressesInAnswer((t.result as Extract<DnsResult, { ok: true }>).answers, host, type),
        }));
        const union = [...new Set(sets.flatMap((s) => s.found))];
        const first = sets[0]?.found ?? [];
        if (sets.some((s) => s.found.length !== first.length || s.found.some((a) => !first.includes(a)))) {
          for (const s of sets)
            claims.push({ source: serverLabel(s.resolver), says: `${type} ${sortedWords(s.found)}` });
        }
        if (union.length > this.budgets.addressesPerFamily) {
          capped.push(
            `${host} has ${union.length} ${type === 'A' ? 'IPv4' : 'IPv6'} addresses; only ${this.budgets.addressesPerFamily} were checked (budget: ${this.budgets.addressesPerFamily} addresses of each family per nameserver)`,
          );
        }
        addresses.push(...union.slice(0, this.budgets.addressesPerFamily));
      }
      if (addresses.length === 0 && !inconclusive && !this.options.ipv6) {
        // Not "no address": an IPv6-only nameserver is real, this run just does not probe IPv6.
        const tried = await this.askResolvers(host, 'AAAA', budget);
        if (
          tried.some((t) => isDefinitiveResponse(t.result) && addressesInAnswer(t.result.answers, host, 'AAAA').length)
        ) {
          inconclusive = 'it has only IPv6 addresses, and IPv6 probing is off (--ipv6)';
        }
      }
      return {
        addresses,
        inconclusive: addresses.length === 0 ? inconclusive : undefined,
        capped: capped.length > 0 ? capped.join('; ') : undefined,
        answeredBy: [...answeredBy],
        disagreement:
          claims.length > 0
            ? { subject: `the addresses of ${host}`, claims, allChecked: true, dig: digCommand(host, 'A') }
            : undefined,
      };
    });
  }

  /**
   * The servers behind nameserver host names. `glue` (the parent's referral's addresses for hosts inside the
   * zone) is a second source: its addresses are probed too, and a difference from the resolvers is named.
   */
  private async serversOf(hosts: readonly string[], budget: QueryBudget, glue?: Glue): Promise<HostServers> {
    const found: HostServers = { refs: [], unresolved: [], inconclusive: [], capped: [], disagreements: [] };
    await Promise.all(
      hosts.map(async (host) => {
        const looked = await this.addressesOf(host, budget);
        const { addresses, inconclusive, capped, disagreement } = glue ? this.withGlue(host, looked, glue) : looked;
        if (addresses.length === 0) {
          if (inconclusive) found.inconclusive.push({ host, why: inconclusive });
          else found.unresolved.push(host);
        }
        if (capped) found.capped.push({ host, why: capped });
        if (disagreement) found.disagreements.push(disagreement);
        for (const address of addresses)
          found.refs.push({ name: host, address, port: this.authoritativePort, view: 'authoritative' });
      }),
    );
    found.refs.sort((a, b) => a.name.localeCompare(b.name) || a.address.localeCompare(b.address));
    return found;
  }

  /** Add a host's glue to what the resolvers said, within the per-family cap, naming any difference. */
  private withGlue(host: string, looked: HostAddresses, glue: Glue): HostAddresses {
    const fromGlue = (glue.addresses.get(host) ?? []).filter((a) => this.options.ipv6 || isIPv4(a));
    if (fromGlue.length === 0) return looked;
    const families = new Set(fromGlue.map((a) => (isIPv4(a) ? 4 : 6)));
    const resolved = looked.addresses.filter((a) => families.has(isIPv4(a) ? 4 : 6));
    const differs =
      looked.inconclusive === undefined &&
      (resolved.length !== fromGlue.length || resolved.some((a) => !fromGlue.includes(a)));
    const union = [...new Set([...looked.addresses, ...fromGlue])];
    const kept = [
      ...union.filter((a) => isIPv4(a)).slice(0, this.budgets.addressesPerFamily),
      ...union.filter((a) => !isIPv4(a)).slice(0, this.budgets.addressesPerFamily),
    ];
    const cappedNow =
      kept.length < union.length
        ? `${host} has ${union.length} addresses from the resolvers and the parent's glue; only ${kept.length} were checked (budget: ${this.budgets.addressesPerFamily} addresses of each family per nameserver)`
        : undefined;
    return {
      addresses: kept,
      // The glue gave addresses to probe: the server is checked even when the resolvers could not say.
      inconclusive: undefined,
      capped: looked.capped ?? cappedNow,
      disagreement: differs
        ? {
            subject: `the addresses of ${host}`,
            claims: [
              { source: glue.source, says: sortedWords(fromGlue) },
              ...(looked.disagreement?.claims ?? [
                { source: listInWords(looked.answeredBy ?? []) || 'the resolvers', says: sortedWords(resolved) },
              ]),
            ],
            allChecked: cappedNow === undefined && looked.capped === undefined,
            dig: glue.dig,
          }
        : looked.disagreement,
    };
  }

  /** The NS set the parent zone delegates `zone` to, read from a referral by one of the parent's servers. */
  private async parentDelegation(
    zone: string,
    budget: QueryBudget,
  ): Promise<{ parentZone?: string; ns?: string[]; server?: ServerRef; glue?: Glue; problem?: ZoneLookupProblem }> {
    const parentOfApex = parentName(zone);
    if (parentOfApex === '') return {};
    const parent = await this.zoneOf(parentOfApex, budget);
    if (!parent.zone) return { problem: parent.problem };
    const parentHosts = (await this.resolverNs(parent.zone, budget)).ns ?? [];
    const usable = parentHosts.filter((h) => isValidDomainName(h) && !isIP(h)).sort();
    const { refs } = await this.serversOf(usable.slice(0, this.budgets.nameserversPerZone), budget);
    const failures: string[] = [];
    for (const server of refs) {
      const result = await this.transport.query(server, { name: zone, type: 'NS', recursionDesired: false }, budget);
      if (!isDefinitiveResponse(result)) {
        failures.push(`${serverLabel(server)}: ${failureWords(result).detail}`);
        if (!result.ok && result.failure === 'BUDGET_EXCEEDED') break;
        continue;
      }
      // A referral lists the child's NS in the authority section; a server that also hosts the child answers.
      const ns = [...ownedBy(result.authorities, zone, 'NS'), ...ownedBy(result.answers, zone, 'NS')];
      if (ns.length > 0) {
        const hosts = [...new Set(ns.map((r) => normalizeName(String(r.data))))];
        return { parentZone: parent.zone, ns: hosts, server, glue: glueOf(result.additionals, zone, hosts, server) };
      }
      failures.push(`${serverLabel(server)}: no delegation for ${zone} (${result.rcode})`);
    }
    return {
      parentZone: parent.zone,
      problem: {
        message: `Could not read the delegation of ${zone} from its parent zone ${parent.zone}: ${failures.join('; ') || 'no parent nameserver could be found'}. Servers listed only by the parent may be unchecked.`,
        servers: refs.map(serverLabel),
        dig: digCommand(zone, 'NS', refs[0]),
      },
    };
  }

  /**
   * Everything about one zone: delegation, its own NS set on each server, and each server's SOA. Every
   * nameserver listed by any source is either probed or named in a finding: none is dropped silently.
   */
  private async observeZone(zone: string): Promise<ZoneObservation> {
    const budget = this.newBudget(`zone ${zone}`, this.budgets.queriesPerZone);
    const problems: ZoneLookupProblem[] = [];
    const disagreements: SourceDisagreement[] = [];
    const [delegation, fromResolvers] = await Promise.all([
      this.parentDelegation(zone, budget),
      this.resolverNs(zone, budget),
    ]);
    if (delegation.problem) problems.push(delegation.problem);
    const resolverNs = fromResolvers.ns;
    const listedByParent = new Set(delegation.ns ?? []);
    const listedByServers = new Set<string>();
    const listedByZone = new Set(resolverNs ?? []);
    const observed = new Map<string, ZoneServer>();
    const unresolved = new Set<string>();
    const ipLiterals = new Set<string>();
    const handled = new Set<string>();
    const overCap: string[] = [];
    const unchecked = (host: string, why: string, dig = digCommand(host, 'A')) =>
      problems.push({
        message: `Nameserver ${host} is listed for ${zone} but was not checked: ${why}. Its answers are unchecked: inconclusive.`,
        servers: [host],
        dig,
      });
    // Servers can list further servers in their own NS records: follow until no new names appear.
    for (let round = 0; round < MAX_DISCOVERY_ROUNDS; round++) {
      const fresh = [...new Set([...listedByParent, ...listedByZone])].filter((h) => !handled.has(h)).sort();
      if (fresh.length === 0) break;
      const toResolve: string[] = [];
      for (const host of fresh) {
        handled.add(host);
        if (isIP(host)) ipLiterals.add(host);
        else if (!isValidDomainName(host)) unchecked(host, 'its name is not a host name the probe can look up');
        else if (handled.size - ipLiterals.size > this.budgets.nameserversPerZone) overCap.push(host);
        else toResolve.push(host);
      }
      const found = await this.serversOf(toResolve, budget, delegation.glue);
      for (const host of found.unresolved) unresolved.add(host);
      for (const { host, why } of found.inconclusive) unchecked(host, `its address could not be found (${why})`);
      for (const { host, why } of found.capped) {
        problems.push({
          message: `Not every address of nameserver ${host} was checked: ${why}.`,
          servers: [host],
          dig: digCommand(host, 'A'),
        });
      }
      disagreements.push(...found.disagreements);
      const servers = found.refs.filter((r) => !observed.has(serverLabel(r)));
      await Promise.all(
        servers.map(async (server) => {
          const [nsResult, soaResult] = await Promise.all([
            this.transport.query(server, { name: zone, type: 'NS', recursionDesired: false }, budget),
            this.transport.query(server, { name: zone, type: 'SOA', recursionDesired: false }, budget),
          ]);
          let apexNs: string[] | undefined;
          let soa: ZoneServer['soa'];
          let detail: string | undefined;
          if (isDefinitiveResponse(nsResult) && nsResult.authoritative) {
            apexNs = [...new Set(ownedBy(nsResult.answers, zone, 'NS').map((r) => normalizeName(String(r.data))))];
            for (const ns of apexNs) {
              listedByZone.add(ns);
              listedByServers.add(ns);
            }
          } else {
            detail = isDefinitiveResponse(nsResult) ? 'not authoritative for the zone' : failureWords(nsResult).detail;
          }
          const soaRecord = isDefinitiveResponse(soaResult) ? ownedBy(soaResult.answers, zone, 'SOA')[0] : undefined;
          if (soaRecord) {
            const data = soaRecord.data as SoaData;
            if (typeof data.mname === 'string' && typeof data.serial === 'number') {
              soa = { mname: normalizeName(data.mname), serial: data.serial };
            }
          }
          observed.set(serverLabel(server), { server, listedBy: [], apexNs, soa, detail });
        }),
      );
    }
    const allHosts = new Set([...listedByParent, ...listedByZone]);
    const neverReached = [...allHosts].filter((h) => !handled.has(h)).sort();
    for (const host of neverReached) {
      unchecked(host, `it was found only after ${MAX_DISCOVERY_ROUNDS} rounds of servers listing further servers`);
    }
    if (overCap.length > 0) {
      problems.push({
        message: `${zone} lists ${allHosts.size - ipLiterals.size} nameservers; only ${this.budgets.nameserversPerZone} were checked (budget: ${this.budgets.nameserversPerZone} per zone). Unchecked: ${listInWords(overCap)}.`,
        servers: overCap,
        dig: digCommand(zone, 'NS'),
      });
    }
    disagreements.push(...nsDisagreements(zone, fromResolvers, delegation, listedByServers));
    if (budget.exhausted) {
      problems.push({
        message: `Checking the nameservers of ${zone} stopped early: ${budget.exhausted} (${budget.spent} sent). Servers and answers not reached are unchecked: inconclusive.`,
        servers: [],
        dig: digCommand(zone, 'NS'),
      });
    }
    const zoneServers = [...observed.values()]
      .map((s) => ({
        ...s,
        listedBy: [
          ...(listedByParent.has(s.server.name) ? (['parent'] as const) : []),
          ...(listedByZone.has(s.server.name) ? (['zone'] as const) : []),
        ],
      }))
      .sort((a, b) => serverLabel(a.server).localeCompare(serverLabel(b.server)));
    const dnssec =
      zoneServers.length > 0
        ? await this.dnssec.observeChain(
            zone,
            delegation.server,
            zoneServers.map((s) => s.server),
            budget,
          )
        : undefined;
    if (zoneServers.length === 0 && problems.length === 0) {
      problems.push({
        message: `No authoritative server of ${zone} could be found (parent lists ${listInWords([...listedByParent]) || 'none'}; resolvers list ${listInWords(resolverNs ?? []) || 'none'}). Inconclusive.`,
        servers: [],
        dig: digCommand(zone, 'NS'),
      });
    }
    return {
      zone,
      parentZone: delegation.parentZone,
      parentNs: delegation.ns,
      parentServer: delegation.server,
      resolverNs,
      servers: zoneServers,
      unresolvedNs: [...unresolved],
      ipLiteralNs: [...ipLiterals].sort(),
      disagreements,
      problems,
      ...(dnssec ? { dnssec } : {}),
    };
  }

  private recordAnswers(expected: ExpectedRecord, zone: ZoneObservation, budget: QueryBudget): Promise<RecordAnswer[]> {
    const key = `${expected.name}|${expected.type}|${zone.zone ?? ''}`;
    return this.memo(this.recordCache, key, budget, () =>
      Promise.all([
        ...zone.servers.map((s) => this.authoritativeAnswer(expected, s.server, zone.zone ?? expected.domain, budget)),
        ...this.resolverRefs.map((r) => this.publicAnswer(expected, r, budget)),
      ]),
    );
  }

  /** Records of other types at a name, to tell a proxied or wrongly typed record from a missing one. */
  private async otherTypes(
    server: ServerRef,
    name: string,
    types: RecordType[],
    budget: QueryBudget,
  ): Promise<string[]> {
    const found: string[] = [];
    const results = await Promise.all(
      types.map((type) =>
        this.transport.query(server, { name, type, recursionDesired: server.view === 'public' }, budget),
      ),
    );
    results.forEach((result, i) => {
      if (!isDefinitiveResponse(result)) return;
      for (const r of ownedBy(result.answers, name, types[i] as string)) {
        found.push(r.type === 'TXT' ? `TXT "${txtText(r.data as TxtData)}"` : `${r.type} ${String(r.data)}`);
      }
    });
    return found;
  }

  private async authoritativeAnswer(
    expected: ExpectedRecord,
    server: ServerRef,
    zone: string,
    budget: QueryBudget,
  ): Promise<RecordAnswer> {
    const result = await this.transport.query(
      server,
      { name: expected.name, type: expected.type, recursionDesired: false },
      budget,
    );
    if (!isDefinitiveResponse(result)) return { server, ...failureWords(result) };
    if (!result.authoritative) {
      const referral = result.authorities.find((r) => r.type === 'NS');
      return {
        server,
        outcome: 'NOT_AUTHORITATIVE',
        rcode: result.rcode,
        detail: referral
          ? `not authoritative: referred to ${normalizeName(referral.name)} (a zone cut the probe did not expect)`
          : 'answered without the authoritative (AA) flag: the server does not serve this zone (lame delegation?)',
      };
    }
    const cname = ownedBy(result.answers, expected.name, 'CNAME')[0];
    if (cname) return { server, outcome: 'ANSWER', rcode: result.rcode, cname: normalizeName(cname.data as string) };
    const txt = ownedBy(result.answers, expected.name, 'TXT').map((r) => txtText(r.data as TxtData));
    if (expected.type === 'TXT' && txt.length > 0) return { server, outcome: 'ANSWER', rcode: result.rcode, txt };
    const outcome: LookupOutcome = result.rcode === 'NXDOMAIN' ? 'NXDOMAIN' : 'NODATA';
    const other =
      outcome === 'NODATA'
        ? await this.otherTypes(
            server,
            expected.name,
            expected.type === 'CNAME' ? ['TXT', 'A', 'AAAA'] : ['A', 'AAAA'],
            budget,
          )
        : [];
    if (other.length > 0) return { server, outcome, rcode: result.rcode, other };
    const doubled = await this.findDoubled(expected, server, zone, budget);
    if (doubled) return { server, outcome, rcode: result.rcode, doubled };
    const misnamed = await this.findMisnamed(expected, server, budget);
    return { server, outcome, rcode: result.rcode, ...(misnamed ? { misnamed } : {}) };
  }

  /**
   * A record missing at its name may have been published without the underscore of `_domainkey`. Asked of
   * the same server; a failed lookup is no evidence either way.
   */
  private async findMisnamed(
    expected: ExpectedRecord,
    server: ServerRef,
    budget: QueryBudget,
  ): Promise<RecordAnswer['misnamed']> {
    const marker = '._domainkey.';
    const at = expected.name.indexOf(marker);
    if (at <= 0) return undefined;
    const name = `${expected.name.slice(0, at)}.domainkey.${expected.name.slice(at + marker.length)}`;
    return this.valuesAt(name, expected.type, server, budget);
  }

  /** The CNAME/TXT values a server definitively serves at `name`, if any. */
  private async valuesAt(
    name: string,
    type: RecordType,
    server: ServerRef,
    budget: QueryBudget,
  ): Promise<{ name: string; values: string[] } | undefined> {
    const result = await this.transport.query(server, { name, type, recursionDesired: false }, budget);
    if (!isDefinitiveResponse(result) || !result.authoritative) return undefined;
    const values = [
      ...ownedBy(result.answers, name, 'CNAME').map((r) => `CNAME ${normalizeName(r.data as string)}`),
      ...ownedBy(result.answers, name, 'TXT').map((r) => `TXT "${txtText(r.data as TxtData)}"`),
    ];
    return values.length > 0 ? { name, values } : undefined;
  }

  /** A record missing at its name may have been published with the domain appended again. */
  private async findDoubled(
    expected: ExpectedRecord,
    server: ServerRef,
    zone: string,
    budget: QueryBudget,
  ): Promise<RecordAnswer['doubled']> {
    const candidates = [...new Set([`${expected.name}.${zone}`, `${expected.name}.${expected.domain}`])].filter(
      (n) => n.length <= 253,
    );
    for (const name of candidates) {
      const found = await this.valuesAt(name, expected.type, server, budget);
      if (found) return found;
    }
    return undefined;
  }

  /** What a receiver sees: a TXT query through a resolver, following the CNAME to the key. */
  private async publicAnswer(
    expected: ExpectedRecord,
    resolver: ServerRef,
    budget: QueryBudget,
  ): Promise<RecordAnswer> {
    const result = await this.transport.query(
      resolver,
      { name: expected.name, type: 'TXT', recursionDesired: true },
      budget,
    );
    if (!isDefinitiveResponse(result)) {
      const words = failureWords(result);
      return words.outcome === 'SERVFAIL'
        ? {
            server: resolver,
            ...words,
            detail:
              'SERVFAIL from the resolver (often a DNSSEC validation failure, or no nameserver of the zone answering)',
          }
        : { server: resolver, ...words };
    }
    const first = ownedBy(result.answers, expected.name, 'CNAME')[0];
    let current = expected.name;
    for (let hop = 0; hop < MAX_CNAME_HOPS; hop++) {
      const cname = ownedBy(result.answers, current, 'CNAME')[0];
      if (!cname) break;
      current = normalizeName(cname.data as string);
    }
    let txt = ownedBy(result.answers, current, 'TXT').map((r) => txtText(r.data as TxtData));
    if (first) {
      const cname = normalizeName(first.data as string);
      let keyOutcome: LookupOutcome = txt.length > 0 ? 'ANSWER' : result.rcode === 'NXDOMAIN' ? 'NXDOMAIN' : 'NODATA';
      if (txt.length === 0) {
        // Confirm at the end of the chain: a resolver may return the CNAME without chasing it.
        const key = await this.transport.query(
          resolver,
          { name: current, type: 'TXT', recursionDesired: true },
          budget,
        );
        if (!isDefinitiveResponse(key)) keyOutcome = failureWords(key).outcome;
        else {
          txt = ownedBy(key.answers, current, 'TXT').map((r) => txtText(r.data as TxtData));
          keyOutcome = txt.length > 0 ? 'ANSWER' : key.rcode === 'NXDOMAIN' ? 'NXDOMAIN' : 'NODATA';
        }
      }
      return { server: resolver, outcome: 'ANSWER', rcode: result.rcode, cname, txt, keyOutcome };
    }
    if (txt.length > 0) return { server: resolver, outcome: 'ANSWER', rcode: result.rcode, txt };
    const outcome: LookupOutcome = result.rcode === 'NXDOMAIN' ? 'NXDOMAIN' : 'NODATA';
    const other = outcome === 'NODATA' ? await this.otherTypes(resolver, expected.name, ['A', 'AAAA'], budget) : [];
    return other.length > 0
      ? { server: resolver, outcome, rcode: result.rcode, other }
      : { server: resolver, outcome, rcode: result.rcode };
  }
}

/** Where the zone cut above a name is, as one resolver says. */
interface ZoneCut {
  readonly zone?: string;
  /** The resolver whose answer placed the cut. */
  readonly resolver?: ServerRef;
  readonly problem?: ZoneLookupProblem;
  readonly disagreement?: SourceDisagreement;
}

interface ResolverNs {
  /** The union of every definitive answer; undefined when no resolver could answer. */
  readonly ns?: string[];
  readonly bySource: readonly { readonly resolver: ServerRef; readonly ns: readonly string[] }[];
}

/** Addresses the parent's referral gave for nameservers inside the delegated zone (glue). */
interface Glue {
  readonly addresses: ReadonlyMap<string, readonly string[]>;
  /** `the parent's referral from a.nic.example (192.0.2.1)` */
  readonly source: string;
  readonly dig: string;
}

/**
 * Glue from a referral: only for hosts inside the delegated zone, as resolvers use it (glue for names
 * elsewhere is ignored by resolvers, and so here).
 */
function glueOf(additionals: readonly Answer[], zone: string, hosts: readonly string[], server: ServerRef): Glue {
  const addresses = new Map<string, string[]>();
  for (const host of hosts.filter((h) => isAtOrBelow(h, zone))) {
    const found = [
      ...ownedBy(additionals, host, 'A')
        .map((r) => String(r.data))
        .filter((a) => isIPv4(a)),
      ...ownedBy(additionals, host, 'AAAA')
        .map((r) => String(r.data))
        .filter((a) => isIPv6(a)),
    ];
    if (found.length > 0) addresses.set(host, [...new Set(found)]);
  }
  return {
    addresses,
    source: `the parent's referral from ${serverLabel(server)}`,
    dig: digCommand(zone, 'NS', server).replace('+noall +answer', '+noall +authority +additional'),
  };
}

interface HostServers {
  readonly refs: ServerRef[];
  readonly unresolved: string[];
  readonly inconclusive: { host: string; why: string }[];
  readonly capped: { host: string; why: string }[];
  readonly disagreements: SourceDisagreement[];
}

/** The zone apex a resolver's response to an SOA query for `name` shows, if any. */
function apexFrom(result: DnsResult, name: string): string | undefined {
  if (!isDefinitiveResponse(result)) return undefined;
  const soa = ([...result.answers, ...result.authorities] as DataRecord[]).find(
    (r) => r.type === 'SOA' && typeof r.name === 'string',
  );
  if (!soa) return undefined;
  const apex = normalizeName(soa.name);
  return isAtOrBelow(name, apex) ? apex : undefined;
}

/** The addresses of `type` at `host`, following the CNAME chain inside the answer. */
function addressesInAnswer(answers: readonly Answer[], host: string, type: RecordType): string[] {
  let current = host;
  for (let hop = 0; hop < MAX_CNAME_HOPS; hop++) {
    const cname = ownedBy(answers, current, 'CNAME')[0];
    if (!cname) break;
    current = normalizeName(String(cname.data));
  }
  const valid = type === 'A' ? isIPv4 : isIPv6;
  return [...new Set(ownedBy(answers, current, type).map((r) => String(r.data)))].filter((a) => valid(a));
}

/**
 * Resolvers that disagree with each other about a zone's NS set, or list a nameserver that neither the
 * parent's referral nor any of the zone's own servers lists. Every listed server is probed anyway (the
 * union), so nothing is hidden; the finding says which source said what. A resolver that did not answer
 * is not a source, and so never a disagreement.
 */
function nsDisagreements(
  zone: string,
  fromResolvers: ResolverNs,
  delegation: { ns?: string[]; server?: ServerRef },
  listedByServers: ReadonlySet<string>,
): SourceDisagreement[] {
  const found: SourceDisagreement[] = [];
  const sets = fromResolvers.bySource;
  const first = sets[0];
  if (first && sets.some((s) => s.ns.length !== first.ns.length || s.ns.some((n) => !first.ns.includes(n)))) {
    found.push({
      subject: `the NS set of ${zone}`,
      claims: sets.map((s) => ({ source: serverLabel(s.resolver), says: sortedWords(s.ns) })),
      allChecked: true,
      dig: digCommand(zone, 'NS', sets[1]?.resolver),
    });
  }
  const authoritative = new Set([...(delegation.ns ?? []), ...listedByServers]);
  if (authoritative.size === 0) return found;
  for (const s of sets) {
    const only = s.ns.filter((n) => !authoritative.has(n));
    if (only.length === 0) continue;
    found.push({
      subject: `the NS set of ${zone}`,
      claims: [
        { source: serverLabel(s.resolver), says: sortedWords(s.ns) },
        ...(delegation.ns && delegation.server
          ? [
              {
                source: `the parent's referral from ${serverLabel(delegation.server)}`,
                says: sortedWords(delegation.ns),
              },
            ]
          : []),
        ...(listedByServers.size > 0
          ? [{ source: `the zone's own servers`, says: sortedWords([...listedByServers]) }]
          : []),
      ],
      allChecked: true,
      dig: digCommand(zone, 'NS', s.resolver),
    });
  }
  return found;
}
