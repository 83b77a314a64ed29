import { isIP } from 'node:net';
import type { Answer, RecordType, SoaData, TxtData } from 'dns-packet';
import type { IdentityObservation } from '../../domain/assess-identity';
import { isValidDomainName, normalizeName, parentName } from '../../domain/dns-name';
import type { ExpectedRecord } from '../../domain/expected-records';
import { digCommand, listInWords } from '../../domain/findings';
import type {
  LookupOutcome,
  RecordAnswer,
  ServerRef,
  ZoneLookupProblem,
  ZoneObservation,
  ZoneServer,
} from '../../domain/observations';
import { serverLabel } from '../../domain/observations';
import type { DnsEndpoint, DnsResult, DnsTransport } from './dns-transport';

/** The port of the probe's view of DNS that the rest of the product depends on. */
export interface DkimDnsProbe {
  /** Probe every expected record of one domain from every vantage point. */
  observe(domain: string, records: readonly ExpectedRecord[]): Promise<IdentityObservation>;
}

export interface DnsProberOptions {
  /** Recursive resolvers for the public view (and to find zones and nameserver addresses). */
  readonly resolvers: readonly DnsEndpoint[];
  /** The port every authoritative server is asked on (53 in the real world; tests and the demo change it). */
  readonly authoritativePort?: number;
  /** Also probe nameservers over IPv6 (AAAA). Off by default: Lambda outside a VPC has no IPv6 egress. */
  readonly ipv6?: boolean;
}

const MAX_CNAME_HOPS = 8;
const MAX_NAMESERVERS = 24; // a hostile or broken zone must not make us query hundreds of servers

function txtText(data: TxtData): string {
  const parts = Array.isArray(data) ? data : [data];
  return parts.map((p) => (typeof p === 'string' ? p : p.toString('utf8'))).join('');
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

/**
 * Probes DKIM records the way the incidents demand: through public resolvers and directly at every
 * authoritative server of the zone, found from both the parent's delegation and the zone's own NS records.
 * One instance serves one run: it caches zones, nameserver addresses and record answers, so a zone shared
 * by many identities is looked up once.
 */
export class DnsProber implements DkimDnsProbe {
  private readonly authoritativePort: number;
  private readonly zoneOfCache = new Map<string, Promise<{ zone?: string; problem?: ZoneLookupProblem }>>();
  private readonly zoneCache = new Map<string, Promise<ZoneObservation>>();
  private readonly addressCache = new Map<string, Promise<{ addresses: string[]; inconclusive?: string }>>();
  private readonly nsCache = new Map<string, Promise<string[] | undefined>>();
  private readonly recordCache = new Map<string, Promise<RecordAnswer[]>>();
  private readonly resolverRefs: ServerRef[];

  constructor(
    private readonly transport: DnsTransport,
    private readonly options: DnsProberOptions,
  ) {
    if (options.resolvers.length === 0) throw new Error('DnsProber needs at least one resolver');
    this.authoritativePort = options.authoritativePort ?? 53;
    this.resolverRefs = options.resolvers.map((r) => ({
      name: r.address,
      address: r.address,
      port: r.port,
      view: 'public',
    }));
  }

  async observe(domain: string, records: readonly ExpectedRecord[]): Promise<IdentityObservation> {
    const zone = await this.zoneForRecords(domain);
    const answers = new Map<string, readonly RecordAnswer[]>();
    await Promise.all(
      records.map(async (expected) => {
        answers.set(expected.name, await this.recordAnswers(expected, zone));
      }),
    );
    return { zone, answers };
  }

  /** The zone that holds `<selector>._domainkey.<domain>`: `_domainkey` itself may be a zone cut. */
  private async zoneForRecords(domain: string): Promise<ZoneObservation> {
    const found = await this.zoneOf(`_domainkey.${domain}`);
    if (!found.zone) return { servers: [], unresolvedNs: [], problems: found.problem ? [found.problem] : [] };
    if (!found.zone.includes('.') && found.zone !== domain) {
      // No SES domain's zone is a TLD: the domain is not delegated. Asking the TLD's servers would only
      // produce misleading "missing on a.gtld-servers.net" findings.
      return {
        servers: [],
        unresolvedNs: [],
        problems: [],
        notDelegated: { domain, suffix: found.zone, resolver: this.resolverRefs[0] },
      };
    }
    let zone = this.zoneCache.get(found.zone);
    if (!zone) {
      zone = this.observeZone(found.zone);
      this.zoneCache.set(found.zone, zone);
    }
    return zone;
  }

  /** Ask the resolvers in turn until one gives a definitive response. */
  private async askResolvers(name: string, type: RecordType): Promise<{ result: DnsResult; resolver: ServerRef }[]> {
    const tried: { result: DnsResult; resolver: ServerRef }[] = [];
    for (const resolver of this.resolverRefs) {
      const result = await this.transport.query(resolver, { name, type, recursionDesired: true });
      tried.push({ result, resolver });
      if (isDefinitiveResponse(result)) break;
    }
    return tried;
  }

  private resolverFailure(
    name: string,
    type: string,
    tried: { result: DnsResult; resolver: ServerRef }[],
    what: string,
  ): ZoneLookupProblem {
    const why = tried.map((t) => `${serverLabel(t.resolver)}: ${failureWords(t.result).detail}`).join('; ');
    return {
      message: `Could not ${what}: ${why}. Inconclusive: nothing about ${name} could be verified.`,
      servers: tried.map((t) => serverLabel(t.resolver)),
      dig: digCommand(name, type, tried[0]?.resolver),
    };
  }

  /** The apex of the zone containing `name`, from the SOA a resolver returns (answer or authority section). */
  private zoneOf(name: string): Promise<{ zone?: string; problem?: ZoneLookupProblem }> {
    let cached = this.zoneOfCache.get(name);
    if (!cached) {
      cached = (async () => {
        const tried = await this.askResolvers(name, 'SOA');
        const last = tried[tried.length - 1];
        if (!last || !isDefinitiveResponse(last.result)) {
          return { problem: this.resolverFailure(name, 'SOA', tried, `find the DNS zone of ${name}`) };
        }
        const response = last.result;
        const soa = ([...response.answers, ...response.authorities] as DataRecord[]).find((r) => r.type === 'SOA');
        if (soa && isAtOrBelowName(name, normalizeName(soa.name))) return { zone: normalizeName(soa.name) };
        // `_domainkey.<domain>` answered with a CNAME (or no SOA): fall back to the domain itself.
        if (name.startsWith('_domainkey.')) return this.zoneOf(parentName(name));
        return {
          problem: {
            message: `Could not find the DNS zone of ${name}: ${serverLabel(last.resolver)} returned no SOA record. Inconclusive.`,
            servers: [serverLabel(last.resolver)],
            dig: digCommand(name, 'SOA', last.resolver),
          },
        };
      })();
      this.zoneOfCache.set(name, cached);
    }
    return cached;
  }

  /** NS names of a zone as the resolvers see it (undefined when no resolver could answer). */
  private resolverNs(zone: string): Promise<string[] | undefined> {
    let cached = this.nsCache.get(zone);
    if (!cached) {
      cached = (async () => {
        const tried = await this.askResolvers(zone, 'NS');
        const last = tried[tried.length - 1];
        if (!last || !isDefinitiveResponse(last.result)) return undefined;
        return ownedBy(last.result.answers, zone, 'NS').map((r) => normalizeName(r.data as string));
      })();
      this.nsCache.set(zone, cached);
    }
    return cached;
  }

  /** Addresses of a nameserver host, through the resolvers. */
  private addressesOf(host: string): Promise<{ addresses: string[]; inconclusive?: string }> {
    let cached = this.addressCache.get(host);
    if (!cached) {
      cached = (async () => {
        if (isIP(host)) return { addresses: [host] };
        const types: RecordType[] = this.options.ipv6 ? ['A', 'AAAA'] : ['A'];
        const addresses: string[] = [];
        let inconclusive: string | undefined;
        for (const type of types) {
          const tried = await this.askResolvers(host, type);
          const last = tried[tried.length - 1];
          if (!last || !isDefinitiveResponse(last.result)) {
            inconclusive = failureWords(
              last?.result ?? { ok: false, failure: 'TIMEOUT', detail: 'no resolver' },
            ).detail;
            continue;
          }
          // Follow the CNAME chain inside the answer to the addresses.
          let current = host;
          for (let hop = 0; hop < MAX_CNAME_HOPS; hop++) {
            const cname = ownedBy(last.result.answers, current, 'CNAME')[0];
            if (!cname) break;
            current = normalizeName(cname.data as string);
          }
          for (const r of ownedBy(last.result.answers, current, type)) addresses.push(r.data as string);
        }
        if (addresses.length === 0 && !inconclusive && !this.options.ipv6) {
          // Not "no address": an IPv6-only nameserver is real, this run just does not probe IPv6.
          const tried = await this.askResolvers(host, 'AAAA');
          const last = tried[tried.length - 1];
          if (last && isDefinitiveResponse(last.result) && last.result.answers.some((r) => r.type === 'AAAA')) {
            inconclusive = 'it has only IPv6 addresses, and IPv6 probing is off (--ipv6)';
          }
        }
        return { addresses: [...new Set(addresses)], inconclusive: addresses.length === 0 ? inconclusive : undefined };
      })();
      this.addressCache.set(host, cached);
    }
    return cached;
  }

  private async serversOf(
    hosts: readonly string[],
  ): Promise<{ refs: ServerRef[]; unresolved: string[]; inconclusive: string[] }> {
    const refs: ServerRef[] = [];
    const unresolved: string[] = [];
    const inconclusive: string[] = [];
    await Promise.all(
      hosts.map(async (host) => {
        const { addresses, inconclusive: why } = await this.addressesOf(host);
        if (addresses.length === 0) (why ? inconclusive : unresolved).push(why ? `${host} (${why})` : host);
        for (const address of addresses)
          refs.push({ name: host, address, port: this.authoritativePort, view: 'authoritative' });
      }),
    );
    refs.sort((a, b) => a.name.localeCompare(b.name) || a.address.localeCompare(b.address));
    return { refs, unresolved, inconclusive };
  }

  /** The NS set the parent zone delegates `zone` to, read from a referral by one of the parent's servers. */
  private async parentDelegation(
    zone: string,
  ): Promise<{ parentZone?: string; ns?: string[]; server?: ServerRef; problem?: ZoneLookupProblem }> {
    const parentOfApex = parentName(zone);
    if (parentOfApex === '') return {};
    const parent = await this.zoneOf(parentOfApex);
    if (!parent.zone) return { problem: parent.problem };
    const parentHosts = (await this.resolverNs(parent.zone)) ?? [];
    const { refs } = await this.serversOf(parentHosts.slice(0, MAX_NAMESERVERS));
    const failures: string[] = [];
    for (const server of refs) {
      const result = await this.transport.query(server, { name: zone, type: 'NS', recursionDesired: false });
      if (!isDefinitiveResponse(result)) {
        failures.push(`${serverLabel(server)}: ${failureWords(result).detail}`);
        continue;
      }
      // A referral lists the child's NS in the authority section; a server that also hosts the child answers.
      const ns = [...ownedBy(result.authorities, zone, 'NS'), ...ownedBy(result.answers, zone, 'NS')];
      if (ns.length > 0) {
        return { parentZone: parent.zone, ns: [...new Set(ns.map((r) => normalizeName(r.data as string)))], server };
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

  /** Everything about one zone: delegation, its own NS set on each server, and each server's SOA. */
  private async observeZone(zone: string): Promise<ZoneObservation> {
    const problems: ZoneLookupProblem[] = [];
    const [delegation, resolverNs] = await Promise.all([this.parentDelegation(zone), this.resolverNs(zone)]);
    if (delegation.problem) problems.push(delegation.problem);
    const listedByParent = new Set(delegation.ns ?? []);
    const listedByZone = new Set(resolverNs ?? []);
    const observed = new Map<string, ZoneServer>();
    const unresolved = new Set<string>();
    // Servers can list further servers in their own NS records: follow until no new names appear.
    for (let round = 0; round < 3; round++) {
      const hosts = [...new Set([...listedByParent, ...listedByZone])].filter((h) => isValidDomainName(h) || isIP(h));
      const { refs, unresolved: noAddress, inconclusive } = await this.serversOf(hosts.slice(0, MAX_NAMESERVERS));
      for (const host of noAddress) unresolved.add(host);
      for (const why of inconclusive) {
        if (round === 0) {
          problems.push({
            message: `Could not find the address of nameserver ${why} for ${zone}; its answers are unchecked.`,
            servers: [why],
            dig: digCommand(why.split(' ')[0] ?? why, 'A'),
          });
        }
      }
      const fresh = refs.filter((r) => !observed.has(serverLabel(r)));
      if (fresh.length === 0) break;
      await Promise.all(
        fresh.map(async (server) => {
          const [nsResult, soaResult] = await Promise.all([
            this.transport.query(server, { name: zone, type: 'NS', recursionDesired: false }),
            this.transport.query(server, { name: zone, type: 'SOA', recursionDesired: false }),
          ]);
          let apexNs: string[] | undefined;
          let soa: ZoneServer['soa'];
          let detail: string | undefined;
          if (isDefinitiveResponse(nsResult) && nsResult.authoritative) {
            apexNs = ownedBy(nsResult.answers, zone, 'NS').map((r) => normalizeName(r.data as string));
            for (const ns of apexNs) listedByZone.add(ns);
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
    const servers = [...observed.values()]
      .map((s) => ({
        ...s,
        listedBy: [
          ...(listedByParent.has(s.server.name) ? (['parent'] as const) : []),
          ...(listedByZone.has(s.server.name) ? (['zone'] as const) : []),
        ],
      }))
      .sort((a, b) => serverLabel(a.server).localeCompare(serverLabel(b.server)));
    const allHosts = new Set([...listedByParent, ...listedByZone]);
    if (allHosts.size > MAX_NAMESERVERS) {
      problems.push({
        message: `${zone} lists ${allHosts.size} nameservers; only ${MAX_NAMESERVERS} were checked.`,
        servers: [],
        dig: digCommand(zone, 'NS'),
      });
    }
    if (servers.length === 0 && problems.length === 0) {
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
      servers,
      unresolvedNs: [...unresolved],
      problems,
    };
  }

  private recordAnswers(expected: ExpectedRecord, zone: ZoneObservation): Promise<RecordAnswer[]> {
    const key = `${expected.name}|${expected.type}|${zone.zone ?? ''}`;
    let cached = this.recordCache.get(key);
    if (!cached) {
      cached = Promise.all([
        ...zone.servers.map((s) => this.authoritativeAnswer(expected, s.server, zone.zone ?? expected.domain)),
        ...this.resolverRefs.map((r) => this.publicAnswer(expected, r)),
      ]);
      this.recordCache.set(key, cached);
    }
    return cached;
  }

  /** Records of other types at a name, to tell a proxied or wrongly typed record from a missing one. */
  private async otherTypes(server: ServerRef, name: string, types: RecordType[]): Promise<string[]> {
    const found: string[] = [];
    const results = await Promise.all(
      types.map((type) => this.transport.query(server, { name, type, recursionDesired: server.view === 'public' })),
    );
    results.forEach((result, i) => {
      if (!isDefinitiveResponse(result)) return;
      for (const r of ownedBy(result.answers, name, types[i] as string)) {
        found.push(r.type === 'TXT' ? `TXT "${txtText(r.data as TxtData)}"` : `${r.type} ${String(r.data)}`);
      }
    });
    return found;
  }

  private async authoritativeAnswer(expected: ExpectedRecord, server: ServerRef, zone: string): Promise<RecordAnswer> {
    const result = await this.transport.query(server, {
      name: expected.name,
      type: expected.type,
      recursionDesired: false,
    });
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
        ? await this.otherTypes(server, expected.name, expected.type === 'CNAME' ? ['TXT', 'A', 'AAAA'] : ['A', 'AAAA'])
        : [];
    if (other.length > 0) return { server, outcome, rcode: result.rcode, other };
    return { server, outcome, rcode: result.rcode, doubled: await this.findDoubled(expected, server, zone) };
  }

  /** A record missing at its name may have been published with the domain appended again. */
  private async findDoubled(
    expected: ExpectedRecord,
    server: ServerRef,
    zone: string,
  ): Promise<RecordAnswer['doubled']> {
    const candidates = [...new Set([`${expected.name}.${zone}`, `${expected.name}.${expected.domain}`])].filter(
      (n) => n.length <= 253,
    );
    for (const name of candidates) {
      const result = await this.transport.query(server, { name, type: expected.type, recursionDesired: false });
      if (!isDefinitiveResponse(result) || !result.authoritative) continue;
      const values = [
        ...ownedBy(result.answers, name, 'CNAME').map((r) => `CNAME ${normalizeName(r.data as string)}`),
        ...ownedBy(result.answers, name, 'TXT').map((r) => `TXT "${txtText(r.data as TxtData)}"`),
      ];
      if (values.length > 0) return { name, values };
    }
    return undefined;
  }

  /** What a receiver sees: a TXT query through a resolver, following the CNAME to the key. */
  private async publicAnswer(expected: ExpectedRecord, resolver: ServerRef): Promise<RecordAnswer> {
    const result = await this.transport.query(resolver, { name: expected.name, type: 'TXT', recursionDesired: true });
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
        const key = await this.transport.query(resolver, { name: current, type: 'TXT', recursionDesired: true });
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
    const other = outcome === 'NODATA' ? await this.otherTypes(resolver, expected.name, ['A', 'AAAA']) : [];
    return other.length > 0
      ? { server: resolver, outcome, rcode: result.rcode, other }
      : { server: resolver, outcome, rcode: result.rcode };
  }
}

function isAtOrBelowName(name: string, ancestor: string): boolean {
  return ancestor === '' || name === ancestor || name.endsWith(`.${ancestor}`);
}
