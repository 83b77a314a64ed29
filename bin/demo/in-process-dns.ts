/**
 * In-process DNS servers for the offline demo and the benchmark (the tests use real knot and unbound):
 * authoritative servers that answer from zone data with the AA flag, referrals, NXDOMAIN/NODATA with the
 * SOA, and TCP for large answers; and a small iterative resolver that starts at a root server, follows
 * referrals and CNAMEs, as a public resolver would. Everything listens on loopback only.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import dnsPacket, { type Answer, type DecodedPacket, type Packet, type RecordType } from 'dns-packet';
import { type DnsEndpoint, type DnsResult, DnsTransport } from '../../lambda/adapters/dns/dns-transport';
import { normalizeName } from '../../lambda/domain/dns-name';
import {
  type DnskeyRecord,
  type DsRecord,
  dsMatchesKey,
  type RrsigRecord,
  type ServedRrset,
  verifyRrset,
  ZONE_KEY_FLAG,
} from '../../lambda/domain/dnssec';
import { type SignatureWindow, type SigningKey, signRrset } from './dnssec-signer';

/** An MX record's data (a custom MAIL FROM domain's feedback host). */
export interface MxData {
  readonly preference: number;
  readonly exchange: string;
}

export type RecordData =
  | string
  | string[]
  | { mname: string; serial: number }
  | MxData
  | DsRecord
  | DnskeyRecord
  | RrsigRecord;

/** One resource record; names are absolute, without the trailing dot. */
export interface ZoneRecord {
  readonly name: string;
  readonly type: 'A' | 'AAAA' | 'NS' | 'CNAME' | 'MX' | 'TXT' | 'SOA' | 'DS' | 'DNSKEY' | 'RRSIG';
  readonly data: RecordData;
}

export interface Zone {
  readonly origin: string;
  readonly records: readonly ZoneRecord[];
}

/**
 * Build a zone from short lines: `['@', 'NS', 'ns1.example']`, `['sel._domainkey', 'TXT', ['v=DKIM1; ...']]`,
 * `['mail', 'MX', { preference: 10, exchange: 'feedback-smtp.eu-west-1.amazonses.com' }]`.
 * Relative names get the origin appended; names ending in '.' are absolute.
 */
export function zone(
  origin: string,
  lines: readonly [string, ZoneRecord['type'], RecordData][],
  serial = 1,
  mname = `ns1.${origin || 'root'}`,
): Zone {
  const absolute = (name: string) =>
    name === '@' ? origin : name.endsWith('.') ? name.slice(0, -1) : origin === '' ? name : `${name}.${origin}`;
  const records: ZoneRecord[] = [{ name: origin, type: 'SOA', data: { mname, serial } }];
  for (const [name, type, data] of lines) {
    const value = typeof data === 'string' && (type === 'NS' || type === 'CNAME') ? absolute(data) : data;
    records.push({ name: absolute(name).toLowerCase(), type, data: value });
  }
  return { origin, records };
}

const isBelow = (name: string, ancestor: string) =>
  ancestor === '' || name === ancestor || name.endsWith(`.${ancestor}`);

function toAnswer(record: ZoneRecord): Answer {
  if (record.type === 'SOA') {
    const soa = record.data as { mname: string; serial: number };
    return {
      name: record.name,
      type: 'SOA',
      ttl: 300,
      data: {
        mname: soa.mname,
        rname: `hostmaster.${record.name || 'root'}`,
        serial: soa.serial,
        refresh: 3600,
        retry: 600,
        expire: 86400,
        minimum: 60,
      },
    };
  }
  if (record.type === 'TXT') {
    const strings = (Array.isArray(record.data) ? record.data : [record.data as string]).flatMap(
      (s) => s.match(/.{1,255}/g) ?? [''],
    );
    return { name: record.name, type: 'TXT', ttl: 300, data: strings };
  }
  return { name: record.name, type: record.type, ttl: 300, data: record.data } as Answer;
}

/**
 * Sign a zone as a DNS provider with DNSSEC on would: `key` (a combined signing key) in the apex DNSKEY set,
 * and an RRSIG over every RRset the zone is authoritative for, made over exactly the data the server sends.
 */
export function signZone(zone: Zone, key: SigningKey, window: SignatureWindow): Zone {
  const records = [...zone.records, { name: zone.origin, type: 'DNSKEY' as const, data: key.dnskey }];
  const rrsets = new Map<string, ZoneRecord[]>();
  for (const record of records) {
    const at = `${record.name}|${record.type}`;
    rrsets.set(at, [...(rrsets.get(at) ?? []), record]);
  }
  const signatures: ZoneRecord[] = [...rrsets.values()].map((rrset) => {
    const first = rrset[0] as ZoneRecord;
    const data = rrset.map((r) => toAnswer(r) as { data: unknown }).map((a) => a.data);
    return {
      name: first.name,
      type: 'RRSIG',
      data: signRrset({ name: first.name, type: first.type, data }, zone.origin, key, window),
    };
  });
  return { origin: zone.origin, records: [...records, ...signatures] };
}

/** Zones indexed by origin and owner name, so a server hosting thousands of zones answers in O(labels). */
export class ZoneIndex {
  private readonly zones = new Map<string, { zone: Zone; byName: Map<string, ZoneRecord[]>; names: Set<string> }>();

  constructor(zones: readonly Zone[]) {
    for (const zone of zones) {
      const byName = new Map<string, ZoneRecord[]>();
      const names = new Set<string>();
      for (const record of zone.records) {
        byName.set(record.name, [...(byName.get(record.name) ?? []), record]);
        // Every ancestor of an owner name exists (empty non-terminals answer NODATA, not NXDOMAIN).
        for (
          let n = record.name;
          isBelow(n, zone.origin) && !names.has(n);
          n = n.includes('.') ? n.slice(n.indexOf('.') + 1) : ''
        ) {
          names.add(n);
          if (n === zone.origin) break;
        }
      }
      this.zones.set(zone.origin, { zone, byName, names });
    }
  }

  /** The deepest hosted zone containing `name`. */
  find(name: string) {
    for (let n = name; ; n = n.slice(n.indexOf('.') + 1)) {
      const hit = this.zones.get(n);
      if (hit) return hit;
      if (!n.includes('.')) return this.zones.get('');
    }
  }
}

/** The RRSIGs at the owners of `records` that cover their types, for a query with the DO bit. */
function signaturesFor(byName: Map<string, ZoneRecord[]>, records: readonly Answer[]): Answer[] {
  const covered = new Set(records.map((r) => `${r.name}|${r.type}`));
  return [...new Set(records.map((r) => r.name))].flatMap((owner) =>
    (byName.get(owner) ?? [])
      .filter((r) => r.type === 'RRSIG' && covered.has(`${owner}|${(r.data as RrsigRecord).typeCovered}`))
      .map(toAnswer),
  );
}

/** Authoritative answers for a set of zones; with `dnssecOk`, the RRSIGs of a signed zone come along. */
export function answerAuthoritatively(index: ZoneIndex, qname: string, qtype: string, dnssecOk = false): Packet {
  const packet = answerFromZones(index, qname, qtype);
  const hosted = index.find(qname.toLowerCase());
  if (!dnssecOk || !hosted || !packet.answers) return packet;
  const withSignatures = (section: readonly Answer[] = []) => [...section, ...signaturesFor(hosted.byName, section)];
  const aa = ((packet.flags ?? 0) & dnsPacket.AUTHORITATIVE_ANSWER) !== 0;
  return aa
    ? { ...packet, answers: withSignatures(packet.answers), authorities: withSignatures(packet.authorities) }
    : packet;
}

function answerFromZones(index: ZoneIndex, qname: string, qtype: string): Packet {
  const name = qname.toLowerCase();
  const hosted = index.find(name);
  if (!hosted) return { type: 'response', flags: 5, answers: [] }; // REFUSED: not our zone
  const { zone, byName, names } = hosted;
  const soa = (byName.get(zone.origin) ?? []).filter((r) => r.type === 'SOA').map(toAnswer);
  // A delegation between the apex and the name: refer (not authoritative), with glue.
  const below =
    name === zone.origin
      ? []
      : name.slice(0, zone.origin ? name.length - zone.origin.length - 1 : name.length).split('.');
  for (let i = below.length - 1; i >= 0; i--) {
    const cut = [...below.slice(i), ...(zone.origin ? [zone.origin] : [])].join('.');
    const ns = (byName.get(cut) ?? []).filter((r) => r.type === 'NS');
    // The DS set at a delegation belongs to the parent, which answers it itself (RFC 4035 §3.1.4.1).
    if (ns.length > 0 && i === 0 && qtype === 'DS') {
      const ds = (byName.get(cut) ?? []).filter((r) => r.type === 'DS').map(toAnswer);
      return {
        type: 'response',
        flags: dnsPacket.AUTHORITATIVE_ANSWER,
        answers: ds,
        authorities: ds.length ? [] : soa,
      };
    }
    if (ns.length > 0) {
      const glue = ns.flatMap((n) =>
        (byName.get(n.data as string) ?? []).filter((r) => r.type === 'A' || r.type === 'AAAA'),
      );
      return {
        type: 'response',
        flags: 0,
        answers: [],
        authorities: ns.map(toAnswer),
        additionals: glue.map(toAnswer),
      };
    }
  }
  const atName = byName.get(name) ?? [];
  const cname = atName.find((r) => r.type === 'CNAME');
  const aa = dnsPacket.AUTHORITATIVE_ANSWER;
  if (cname && qtype !== 'CNAME') return { type: 'response', flags: aa, answers: [toAnswer(cname)] };
  const matching = atName.filter((r) => r.type === qtype);
  if (matching.length > 0) return { type: 'response', flags: aa, answers: matching.map(toAnswer) };
  // NODATA when the name exists, NXDOMAIN (rcode 3, in the low bits of the flags) when it does not.
  return { type: 'response', flags: names.has(name) ? aa : aa | 3, answers: [], authorities: soa };
}

/** The DNSSEC bits of a query: DO (in the OPT record) and CD (in the header). */
interface QueryBits {
  readonly dnssecOk: boolean;
  readonly checkingDisabled: boolean;
}

type Responder = (
  question: { name: string; type: string },
  recursionDesired: boolean,
  bits: QueryBits,
) => Promise<Packet>;

/** A UDP + TCP DNS server on one address. */
export class InProcessDnsServer {
  private udp?: dgram.Socket;
  private tcp?: net.Server;

  constructor(
    readonly address: string,
    readonly port: number,
    private readonly respond: Responder,
  ) {}

  private async reply(query: DecodedPacket, maxSize: number): Promise<Buffer> {
    const question = query.questions?.[0];
    let packet: Packet;
    if (!question)
      packet = { type: 'response', flags: 1 }; // FORMERR
    else {
      const opt = query.additionals?.find((a) => a.type === 'OPT') as { flag_do?: boolean } | undefined;
      packet = await this.respond({ name: question.name, type: question.type }, query.flag_rd, {
        dnssecOk: opt?.flag_do === true,
        checkingDisabled: query.flag_cd,
      });
    }
    packet = {
      ...packet,
      id: query.id,
      questions: query.questions,
      flags: (packet.flags ?? 0) | (query.flag_rd ? dnsPacket.RECURSION_DESIRED : 0),
    };
    const encoded = dnsPacket.encode(packet);
    if (encoded.length <= maxSize) return encoded;
    return dnsPacket.encode({
      ...packet,
      answers: [],
      authorities: [],
      additionals: [],
      flags: (packet.flags ?? 0) | dnsPacket.TRUNCATED_RESPONSE,
    });
  }

  async start(): Promise<void> {
    const udp = dgram.createSocket('udp4');
    udp.on('message', async (message, peer) => {
      try {
        const query = dnsPacket.decode(message);
        const opt = query.additionals?.find((a) => a.type === 'OPT') as { udpPayloadSize?: number } | undefined;
        udp.send(await this.reply(query, opt?.udpPayloadSize ?? 512), peer.port, peer.address);
      } catch {
        // unreadable query: drop it, as real servers do
      }
    });
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(this.port, this.address, () => resolve());
    });
    this.udp = udp;
    const tcp = net.createServer((socket) => {
      let buffered = Buffer.alloc(0);
      socket.on('error', () => socket.destroy());
      socket.on('data', async (chunk) => {
        buffered = Buffer.concat([buffered, chunk]);
        while (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
          const length = buffered.readUInt16BE(0);
          const message = buffered.subarray(2, 2 + length);
          buffered = buffered.subarray(2 + length);
          try {
            const response = await this.reply(dnsPacket.decode(message), 65_535);
            const prefix = Buffer.alloc(2);
            prefix.writeUInt16BE(response.length);
            socket.write(Buffer.concat([prefix, response]));
          } catch {
            socket.destroy();
          }
        }
      });
    });
    await new Promise<void>((resolve, reject) => {
      tcp.once('error', reject);
      tcp.listen(this.port, this.address, () => resolve());
    });
    this.tcp = tcp;
  }

  async stop(): Promise<void> {
    await Promise.all([
      new Promise<void>((resolve) => (this.udp ? this.udp.close(() => resolve()) : resolve())),
      new Promise<void>((resolve) => (this.tcp ? this.tcp.close(() => resolve()) : resolve())),
    ]);
  }
}

/** An authoritative server for the given zones. */
export function authoritativeServer(address: string, port: number, zones: readonly Zone[]): InProcessDnsServer {
  const index = new ZoneIndex(zones);
  return new InProcessDnsServer(address, port, async (q, _rd, bits) =>
    answerAuthoritatively(index, q.name, q.type, bits.dnssecOk),
  );
}

/** What a validating resolver knows of a zone's chain of trust. */
type TrustStatus =
  | { readonly kind: 'insecure' }
  | { readonly kind: 'bogus' }
  | { readonly kind: 'secure'; readonly keys: DnskeyRecord[] };

const SERVFAIL: Packet = { type: 'response', flags: dnsPacket.RECURSION_AVAILABLE | 2, answers: [] };

/** The RRsets (RRSIGs aside) of a section, each with the RRSIGs that cover it. */
function rrsetsOf(records: readonly Answer[]): ServedRrset[] {
  const sets = new Map<string, ServedRrset & { data: unknown[]; signatures: RrsigRecord[] }>();
  for (const r of records as readonly { name: string; type: string; data: unknown }[]) {
    if (r.type === 'RRSIG' || r.type === 'OPT') continue;
    const name = normalizeName(r.name);
    const at = `${name}|${r.type}`;
    const set = sets.get(at) ?? { name, type: r.type, data: [], signatures: [] };
    set.data.push(r.data);
    sets.set(at, set);
  }
  for (const r of records as readonly { name: string; type: string; data: unknown }[]) {
    if (r.type !== 'RRSIG') continue;
    const sig = r.data as RrsigRecord;
    sets.get(`${normalizeName(r.name)}|${sig.typeCovered}`)?.signatures.push(sig);
  }
  return [...sets.values()];
}

/**
 * A recursive resolver that resolves iteratively from `root`, following referrals (glue first) and CNAMEs.
 * `pick` chooses which of several delegated servers to ask, so two resolvers can reach different servers,
 * as real resolvers do when nameservers disagree. With `validating`, it checks DNSSEC like a validating
 * resolver wherever a parent holds a DS (DS → DNSKEY → RRSIGs over the answer, with the product's own
 * validation code; denial of existence is not checked) and answers SERVFAIL on a broken chain, unless the
 * query has the CD bit.
 */
export function iterativeResolver(
  address: string,
  port: number,
  root: DnsEndpoint,
  pick: (servers: string[]) => string[] = (s) => s,
  validating = false,
): InProcessDnsServer {
  const transport = new DnsTransport({ timeoutMs: 500, attempts: 2 });
  // Delegations learnt from referrals, as a real resolver caches them: zone → server addresses.
  const delegations = new Map<string, string[]>();
  const trust = new Map<string, TrustStatus>();
  const closest = (name: string): { zone: string; servers: string[] } => {
    for (let n = name.toLowerCase(); n.includes('.'); n = n.slice(n.indexOf('.') + 1)) {
      const known = delegations.get(n);
      if (known) return { zone: n, servers: known };
    }
    return { zone: '', servers: [root.address] };
  };
  const ask = (server: string, name: string, type: RecordType): Promise<DnsResult> =>
    transport.query(
      { address: server, port: root.port },
      { name, type, recursionDesired: false, dnssecOk: validating },
    );
  /** The chain of trust into `zone`, from the parent's server that referred there to the zone's own servers. */
  const trustInto = async (zone: string, parentServer: string, servers: string[]): Promise<TrustStatus> => {
    const ds = await ask(parentServer, zone, 'DS');
    const dsRecords = ds.ok ? rrsetsOf(ds.answers).find((r) => r.type === 'DS' && r.name === zone) : undefined;
    if (!dsRecords) return { kind: 'insecure' };
    for (const server of servers) {
      const keys = await ask(server, zone, 'DNSKEY');
      if (!keys.ok || keys.rcode !== 'NOERROR') continue;
      const keySet = rrsetsOf(keys.answers).find((r) => r.type === 'DNSKEY' && r.name === zone);
      if (!keySet) return { kind: 'bogus' };
      const dnskeys = keySet.data as DnskeyRecord[];
      const entry = dnskeys.filter((k) => (dsRecords.data as DsRecord[]).some((d) => dsMatchesKey(zone, d, k)));
      const verdict = verifyRrset(keySet, entry, zone, Date.now() / 1000);
      return verdict.kind === 'SECURE'
        ? { kind: 'secure', keys: dnskeys.filter((k) => (k.flags & ZONE_KEY_FLAG) !== 0) }
        : { kind: 'bogus' };
    }
    return { kind: 'bogus' };
  };
  const lookup = async (
    name: string,
    type: RecordType,
    depth: number,
    checkingDisabled: boolean,
  ): Promise<Packet & { rcode?: string }> => {
    let { zone, servers } = closest(name);
    for (let step = 0; step < 12 && depth < 6; step++) {
      let response: DnsResult | undefined;
      let answeredBy = '';
      for (const server of pick(servers)) {
        response = await ask(server, name, type);
        answeredBy = server;
        if (response.ok && response.rcode !== 'SERVFAIL' && response.rcode !== 'REFUSED') break;
      }
      if (!response?.ok || response.rcode === 'SERVFAIL' || response.rcode === 'REFUSED') return SERVFAIL;
      const referral = response.authorities.filter((r) => r.type === 'NS');
      if (!response.authoritative && response.answers.length === 0 && referral.length > 0) {
        const names = referral.map((r) => String((r as { data: unknown }).data).toLowerCase());
        const glue = response.additionals
          .filter((r) => r.type === 'A' && names.includes(r.name.toLowerCase()))
          .map((r) => String((r as { data: unknown }).data));
        servers = glue;
        if (servers.length === 0) {
          for (const ns of names) {
            const resolved = await lookup(ns, 'A', depth + 1, checkingDisabled);
            servers.push(
              ...(resolved.answers ?? [])
                .filter((r) => r.type === 'A')
                .map((r) => String((r as { data: unknown }).data)),
            );
          }
        }
        if (servers.length === 0) break;
        zone = referral[0]?.name.toLowerCase() ?? '';
        delegations.set(zone, servers);
        if (validating && !trust.has(zone)) trust.set(zone, await trustInto(zone, answeredBy, servers));
        continue;
      }
      if (validating && !checkingDisabled) {
        const status = trust.get(zone) ?? { kind: 'insecure' };
        if (status.kind === 'bogus') return SERVFAIL;
        if (status.kind === 'secure') {
          const now = Date.now() / 1000;
          const inZone = rrsetsOf(response.answers).filter((r) => r.name === zone || r.name.endsWith(`.${zone}`));
          if (inZone.some((r) => verifyRrset(r, status.keys, zone, now).kind !== 'SECURE')) return SERVFAIL;
        }
      }
      const cname = response.answers.find((r) => r.type === 'CNAME' && r.name.toLowerCase() === name.toLowerCase());
      const rcodeBits = response.rcode === 'NXDOMAIN' ? 3 : 0;
      if (cname && type !== 'CNAME') {
        const rest = await lookup(String((cname as { data: unknown }).data), type, depth + 1, checkingDisabled);
        return { ...rest, answers: [cname, ...(rest.answers ?? [])] };
      }
      return {
        type: 'response',
        flags: dnsPacket.RECURSION_AVAILABLE | rcodeBits,
        answers: response.answers.filter((r) => r.type !== 'RRSIG'),
        authorities: response.authorities.filter((r) => r.type === 'SOA'),
      };
    }
    return SERVFAIL;
  };
  return new InProcessDnsServer(address, port, async (q, rd, bits) => {
    if (!rd) return { type: 'response', flags: 5 }; // REFUSED: a resolver, not an authority
    return lookup(q.name, q.type as RecordType, 0, bits.checkingDisabled);
  });
}
