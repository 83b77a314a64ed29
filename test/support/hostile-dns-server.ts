/**
 * A scriptable, hostile DNS server for the tests: UDP and TCP on one loopback address, in-process, where a
 * script decides per query what goes back: an honest answer from zone data, a forged one (wrong ID, another
 * question, another source port), raw garbage, silence, a TC bit followed by TCP garbage, a TCP answer
 * dripped a byte at a time. It records every query so tests can assert exactly how much work a zone caused.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import dnsPacket, { type Answer, type DecodedPacket, type Packet } from 'dns-packet';
import { answerAuthoritatively, type Zone, ZoneIndex } from '../../bin/demo/in-process-dns';

/** One query as the server received it. */
export interface HostileQuery {
  readonly id: number;
  readonly name: string;
  readonly type: string;
  readonly class: string;
  readonly edns: boolean;
  readonly recursionDesired: boolean;
  readonly over: 'udp' | 'tcp';
  /** The address of the server that received it. */
  readonly server: string;
}

/** What to send back. */
export type HostileAction =
  /** A response; `id` and `questions` default to the query's. Over UDP it is truncated (TC) when too big. */
  | { readonly kind: 'answer'; readonly packet: Packet; readonly noTruncate?: boolean }
  /** Bytes exactly as given (over TCP: no length prefix is added). */
  | { readonly kind: 'raw'; readonly bytes: Buffer }
  | { readonly kind: 'silence' }
  /** TCP: close the connection. */
  | { readonly kind: 'close' }
  | { readonly kind: 'all'; readonly actions: readonly HostileAction[] }
  | { readonly kind: 'later'; readonly ms: number; readonly action: HostileAction }
  /** UDP: the action sent from another source: another port, or another loopback address. */
  | { readonly kind: 'from'; readonly address?: string; readonly port: number; readonly action: HostileAction }
  /** TCP: a length-prefixed response written `bytesPerChunk` bytes every `everyMs`. */
  | { readonly kind: 'drip'; readonly packet: Packet; readonly bytesPerChunk: number; readonly everyMs: number };

export type HostileScript = (query: HostileQuery) => HostileAction | Promise<HostileAction>;

export const answer = (packet: Packet, noTruncate = false): HostileAction => ({ kind: 'answer', packet, noTruncate });
export const raw = (bytes: Buffer): HostileAction => ({ kind: 'raw', bytes });
export const silence: HostileAction = { kind: 'silence' };

function fill(packet: Packet, query: DecodedPacket): Packet {
  return {
    ...packet,
    type: 'response',
    id: packet.id ?? query.id,
    questions: packet.questions ?? query.questions,
    flags: packet.flags ?? 0,
  };
}

/** A length-prefixed TCP DNS message. */
export function framed(message: Buffer): Buffer {
  const length = Buffer.alloc(2);
  length.writeUInt16BE(message.length);
  return Buffer.concat([length, message]);
}

export class HostileDnsServer {
  /** Every query received, in order. */
  readonly queries: HostileQuery[] = [];
  private udp?: dgram.Socket;
  private tcp?: net.Server;
  private readonly sockets = new Set<net.Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(
    readonly address: string,
    readonly port: number,
    public script: HostileScript,
  ) {}

  static async start(address: string, port: number, script: HostileScript): Promise<HostileDnsServer> {
    const server = new HostileDnsServer(address, port, script);
    await server.listen();
    return server;
  }

  /** Queries received for a name (case-insensitive), optionally of one type. */
  count(name?: string, type?: string): number {
    return this.queries.filter(
      (q) => (name === undefined || q.name.toLowerCase() === name.toLowerCase()) && (!type || q.type === type),
    ).length;
  }

  private describe(query: DecodedPacket, over: 'udp' | 'tcp'): HostileQuery {
    const q = query.questions?.[0];
    return {
      id: query.id ?? 0,
      name: q?.name ?? '',
      type: q?.type ?? '',
      class: q?.class ?? '',
      edns: (query.additionals ?? []).some((a) => a.type === 'OPT'),
      recursionDesired: query.flag_rd,
      over,
      server: this.address,
    };
  }

  private later(ms: number, run: () => void) {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      run();
    }, ms);
    this.timers.add(timer);
  }

  private async actUdp(action: HostileAction, query: DecodedPacket, peer: dgram.RemoteInfo, socket: dgram.Socket) {
    switch (action.kind) {
      case 'silence':
      case 'close':
        return;
      case 'raw':
        socket.send(action.bytes, peer.port, peer.address);
        return;
      case 'answer': {
        const packet = fill(action.packet, query);
        const opt = query.additionals?.find((a) => a.type === 'OPT') as { udpPayloadSize?: number } | undefined;
        let bytes = dnsPacket.encode(packet);
        if (!action.noTruncate && bytes.length > (opt?.udpPayloadSize ?? 512)) {
          bytes = dnsPacket.encode({
            ...packet,
            answers: [],
            authorities: [],
            additionals: [],
            flags: (packet.flags ?? 0) | dnsPacket.TRUNCATED_RESPONSE,
          });
        }
        socket.send(bytes, peer.port, peer.address);
        return;
      }
      case 'all':
        for (const a of action.actions) await this.actUdp(a, query, peer, socket);
        return;
      case 'later':
        this.later(action.ms, () => void this.actUdp(action.action, query, peer, socket));
        return;
      case 'from': {
        const other = dgram.createSocket('udp4');
        await new Promise<void>((resolve) => other.bind(action.port, action.address ?? this.address, () => resolve()));
        await this.actUdp(action.action, query, peer, other);
        this.later(50, () => other.close());
        return;
      }
      case 'drip':
        return; // TCP only
    }
  }

  private async actTcp(action: HostileAction, query: DecodedPacket, socket: net.Socket) {
    if (socket.destroyed) return;
    switch (action.kind) {
      case 'silence':
      case 'from':
        return;
      case 'close':
        socket.end();
        return;
      case 'raw':
        socket.write(action.bytes);
        return;
      case 'answer':
        socket.write(framed(dnsPacket.encode(fill(action.packet, query))));
        return;
      case 'all':
        for (const a of action.actions) await this.actTcp(a, query, socket);
        return;
      case 'later':
        this.later(action.ms, () => void this.actTcp(action.action, query, socket));
        return;
      case 'drip': {
        const bytes = framed(dnsPacket.encode(fill(action.packet, query)));
        let offset = 0;
        const next = () => {
          if (socket.destroyed || offset >= bytes.length) return;
          socket.write(bytes.subarray(offset, offset + action.bytesPerChunk));
          offset += action.bytesPerChunk;
          this.later(action.everyMs, next);
        };
        next();
        return;
      }
    }
  }

  private async listen(): Promise<void> {
    const udp = dgram.createSocket('udp4');
    udp.on('message', async (message, peer) => {
      let query: DecodedPacket;
      try {
        query = dnsPacket.decode(message);
      } catch {
        return;
      }
      const described = this.describe(query, 'udp');
      this.queries.push(described);
      await this.actUdp(await this.script(described), query, peer, udp);
    });
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(this.port, this.address, () => resolve());
    });
    this.udp = udp;
    const tcp = net.createServer((socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      socket.on('error', () => socket.destroy());
      let buffered = Buffer.alloc(0);
      socket.on('data', async (chunk) => {
        buffered = Buffer.concat([buffered, chunk]);
        while (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
          const length = buffered.readUInt16BE(0);
          const message = buffered.subarray(2, 2 + length);
          buffered = buffered.subarray(2 + length);
          let query: DecodedPacket;
          try {
            query = dnsPacket.decode(message);
          } catch {
            socket.destroy();
            return;
          }
          const described = this.describe(query, 'tcp');
          this.queries.push(described);
          await this.actTcp(await this.script(described), query, socket);
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
    for (const timer of this.timers) clearTimeout(timer);
    for (const socket of this.sockets) socket.destroy();
    await Promise.all([
      new Promise<void>((resolve) => (this.udp ? this.udp.close(() => resolve()) : resolve())),
      new Promise<void>((resolve) => (this.tcp ? this.tcp.close(() => resolve()) : resolve())),
    ]);
  }
}

/** A script that answers authoritatively from zone data (referrals, NXDOMAIN/NODATA with the SOA). */
export function authoritative(zones: readonly Zone[]): HostileScript {
  const index = new ZoneIndex(zones);
  return (q) => answer(answerAuthoritatively(index, q.name, q.type));
}

/**
 * A script that plays a recursive resolver which already knows every zone given: it answers from the deepest
 * zone holding the name (so from the child, not the parent's referral) and follows CNAMEs, without AA.
 */
export function omniscientResolver(zones: readonly Zone[]): HostileScript {
  const index = new ZoneIndex(zones);
  return (q) => {
    const answers: Answer[] = [];
    let name = q.name;
    let last: Packet = { type: 'response', flags: 0 };
    for (let hop = 0; hop < 8; hop++) {
      last = answerAuthoritatively(index, name, q.type);
      answers.push(...(last.answers ?? []));
      const cname = (last.answers ?? []).find((r) => r.type === 'CNAME');
      if (!cname || q.type === 'CNAME') break;
      name = String((cname as { data: unknown }).data);
    }
    const rcode = (last.flags ?? 0) & 0xf;
    return answer({
      type: 'response',
      flags: dnsPacket.RECURSION_AVAILABLE | (q.recursionDesired ? dnsPacket.RECURSION_DESIRED : 0) | rcode,
      answers,
      authorities: (last.authorities ?? []).filter((r) => r.type === 'SOA'),
    });
  };
}
