/**
 * In-process DNS servers for the offline demo and the benchmark (the tests use real knot and unbound):
 * authoritative servers that answer from zone data with the AA flag, referrals, NXDOMAIN/NODATA with the
 * SOA, and TCP for large answers; and a small iterative resolver that starts at a root server, follows
 * referrals and CNAMEs, as a public resolver would. Everything listens on loopback only.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import dnsPacket, { type Answer, type DecodedPacket, type Packet, type RecordType } from 'dns-packet';
import { type DnsEndpoint, DnsTransport } from '../../lambda/adapters/dns/dns-transport';

export type RecordData = string | string[] | { mname: string; serial: number };

/** One resource record; names are absolute, without the trailing dot. */
export interface ZoneRecord {
  readonly name: string;
  readonly type: 'A' | 'AAAA' | 'NS' | 'CNAME' | 'TXT' | 'SOA';
  readonly data: RecordData;
}

export interface Zone {
  readonly origin: string;
  readonly records: readonly ZoneRecord[];
}

/**
 * Build a zone from short lines: `['@', 'NS', 'ns1.example']`, `['sel._domainkey', 'TXT', ['v=DKIM1; ...']]`.
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
  return { name: record.name, type: record.type, ttl: 300, data: record.data as string } as Answer;
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

/** Authoritative answers for a set of zones. */
export function answerAuthoritatively(index: ZoneIndex, qname: string, qtype: string): Packet {
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

type Responder = (question: { name: string; type: string }, recursionDesired: boolean) => Promise<Packet>;

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
    else packet = await this.respond({ name: question.name, type: question.type }, query.flag_rd);
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
  return new InProcessDnsServer(address, port, async (q) => answerAuthoritatively(index, q.name, q.type));
}

/**
 * A recursive resolver that resolves iteratively from `root`, following referrals (glue first) and CNAMEs.
 * `pick` chooses which of several delegated servers to ask, so two resolvers can reach different servers,
 * as real resolvers do when nameservers disagree.
 */
export function iterativeResolver(
  address: string,
  port: number,
  root: DnsEndpoint,
  pick: (servers: string[]) => string[] = (s) => s,
): InProcessDnsServer {
  const transport = new DnsTransport({ timeoutMs: 500, attempts: 2 });
  // Delegations learnt from referrals, as a real resolver caches them: zone → server addresses.
  const delegations = new Map<string, string[]>();
  const closestServers = (name: string): string[] => {
    for (let n = name.toLowerCase(); n.includes('.'); n = n.slice(n.indexOf('.') + 1)) {
      const known = delegations.get(n);
      if (known) return known;
    }
    return [root.address];
  };
  const lookup = async (name: string, type: RecordType, depth: number): Promise<Packet & { rcode?: string }> => {
    let servers = closestServers(name);
    for (let step = 0; step < 12 && depth < 6; step++) {
      let response: Awaited<ReturnType<DnsTransport['query']>> | undefined;
      for (const server of pick(servers)) {
        response = await transport.query({ address: server, port: root.port }, { name, type, recursionDesired: false });
        if (response.ok && response.rcode !== 'SERVFAIL' && response.rcode !== 'REFUSED') break;
      }
      if (!response?.ok || response.rcode === 'SERVFAIL' || response.rcode === 'REFUSED') {
        return { type: 'response', flags: dnsPacket.RECURSION_AVAILABLE | 2, answers: [] };
      }
      const referral = response.authorities.filter((r) => r.type === 'NS');
      if (!response.authoritative && response.answers.length === 0 && referral.length > 0) {
        const names = referral.map((r) => String((r as { data: unknown }).data).toLowerCase());
        const glue = response.additionals
          .filter((r) => r.type === 'A' && names.includes(r.name.toLowerCase()))
          .map((r) => String((r as { data: unknown }).data));
        servers = glue;
        if (servers.length === 0) {
          for (const ns of names) {
            const resolved = await lookup(ns, 'A', depth + 1);
            servers.push(
              ...(resolved.answers ?? [])
                .filter((r) => r.type === 'A')
                .map((r) => String((r as { data: unknown }).data)),
            );
          }
        }
        if (servers.length === 0) break;
        delegations.set(referral[0]?.name.toLowerCase() ?? '', servers);
        continue;
      }
      const cname = response.answers.find((r) => r.type === 'CNAME' && r.name.toLowerCase() === name.toLowerCase());
      const rcodeBits = response.rcode === 'NXDOMAIN' ? 3 : 0;
      if (cname && type !== 'CNAME') {
        const rest = await lookup(String((cname as { data: unknown }).data), type, depth + 1);
        return { ...rest, answers: [cname, ...(rest.answers ?? [])] };
      }
      return {
        type: 'response',
        flags: dnsPacket.RECURSION_AVAILABLE | rcodeBits,
        answers: [...response.answers],
        authorities: response.authorities.filter((r) => r.type === 'SOA'),
      };
    }
    return { type: 'response', flags: dnsPacket.RECURSION_AVAILABLE | 2, answers: [] };
  };
  return new InProcessDnsServer(address, port, async (q, rd) => {
    if (!rd) return { type: 'response', flags: 5 }; // REFUSED: a resolver, not an authority
    return lookup(q.name, q.type as RecordType, 0);
  });
}
