import { randomInt } from 'node:crypto';
import dgram from 'node:dgram';
import net, { isIPv6 } from 'node:net';
import dnsPacket, { type Answer, type DecodedPacket, type RecordType } from 'dns-packet';
import { Limiter } from './limiter';

/** Where to send a query. */
export interface DnsEndpoint {
  readonly address: string;
  readonly port: number;
}

export interface DnsQuestion {
  readonly name: string;
  readonly type: RecordType;
  /** RD flag: true for recursive resolvers, false when asking an authoritative server directly. */
  readonly recursionDesired: boolean;
}

/** A response that passed the ID/question checks. */
export interface DnsResponse {
  readonly ok: true;
  readonly rcode: string;
  readonly authoritative: boolean;
  readonly answers: readonly Answer[];
  readonly authorities: readonly Answer[];
  readonly additionals: readonly Answer[];
  readonly overTcp: boolean;
}

/** No usable response: the caller must treat this as inconclusive, never as "no such record". */
export interface DnsFailure {
  readonly ok: false;
  readonly failure: 'TIMEOUT' | 'NETWORK_ERROR' | 'MALFORMED';
  readonly detail: string;
}

export type DnsResult = DnsResponse | DnsFailure;

export interface DnsTransportOptions {
  /** Time to wait for one attempt. */
  readonly timeoutMs: number;
  /** Attempts per query for timeouts, SERVFAIL and malformed answers. @default 3 */
  readonly attempts?: number;
  /** Queries in flight at once, all servers together. @default 128 */
  readonly maxInFlight?: number;
  /** Queries in flight at once to one server (be polite to other people's nameservers). @default 16 */
  readonly maxInFlightPerServer?: number;
  /** After this many consecutive timeouts a server is considered down and later queries fail fast. @default 6 */
  readonly deadAfterTimeouts?: number;
}

/** Counters for one run, for metrics and the benchmark. */
export interface DnsTransportStats {
  queries: number;
  tcpFallbacks: number;
  timeouts: number;
  failures: number;
}

const EDNS_UDP_SIZE = 1232; // the DNS Flag Day 2020 size: avoids IP fragmentation
const MAX_TCP_MESSAGE = 65_535;

/**
 * DNS over UDP with TCP fallback, with dns-packet (node:dns hides the AA flag, the authority section and
 * referrals). Every query has a random ID and its own socket (random source port); a response is accepted
 * only if its ID and question match. Timeouts, SERVFAIL and garbage are retried; a server that keeps timing
 * out is marked down so one dead server cannot stall a run.
 */
export class DnsTransport {
  readonly stats: DnsTransportStats = { queries: 0, tcpFallbacks: 0, timeouts: 0, failures: 0 };
  private readonly global: Limiter;
  private readonly perServer = new Map<string, Limiter>();
  private readonly consecutiveTimeouts = new Map<string, number>();
  private readonly attempts: number;
  private readonly maxPerServer: number;
  private readonly deadAfter: number;

  constructor(private readonly options: DnsTransportOptions) {
    this.attempts = options.attempts ?? 3;
    this.global = new Limiter(options.maxInFlight ?? 128);
    this.maxPerServer = options.maxInFlightPerServer ?? 16;
    this.deadAfter = options.deadAfterTimeouts ?? 6;
  }

  /** Ask one server one question. Never throws: failures are data. */
  async query(endpoint: DnsEndpoint, question: DnsQuestion): Promise<DnsResult> {
    try {
      const name = question.name.replace(/\.$/, '');
      if (name.length > 253 || name.split('.').some((label) => label.length > 63)) {
        throw new Error('a DNS name is at most 253 characters, each label at most 63');
      }
      this.encode(question, 0);
    } catch (error) {
      // e.g. a name over 253 characters: it cannot be asked, and so cannot exist in DNS.
      return {
        ok: false,
        failure: 'MALFORMED',
        detail: `cannot ask for ${question.name}: ${(error as Error).message}`,
      };
    }
    const key = `${endpoint.address}|${endpoint.port}`;
    let limiter = this.perServer.get(key);
    if (!limiter) {
      limiter = new Limiter(this.maxPerServer);
      this.perServer.set(key, limiter);
    }
    return limiter.run(() => this.global.run(() => this.withRetries(key, endpoint, question)));
  }

  private async withRetries(key: string, endpoint: DnsEndpoint, question: DnsQuestion): Promise<DnsResult> {
    let last: DnsResult | undefined;
    for (let attempt = 1; attempt <= this.attempts; attempt++) {
      if ((this.consecutiveTimeouts.get(key) ?? 0) >= this.deadAfter) {
        return {
          ok: false,
          failure: 'TIMEOUT',
          detail: `not asked: the server did not answer its last ${this.deadAfter} queries`,
        };
      }
      this.stats.queries++;
      let result = await this.udp(endpoint, question, true);
      // RFC 6891 §7: a server that does not understand EDNS answers FORMERR; ask again without it.
      if (result.ok === true && result.rcode === 'FORMERR') {
        this.stats.queries++;
        result = await this.udp(endpoint, question, false);
      }
      if (result.ok === 'truncated') {
        this.stats.tcpFallbacks++;
        result = await this.tcp(endpoint, question);
      }
      last = result as DnsResult;
      if (!last.ok && last.failure === 'TIMEOUT') {
        this.stats.timeouts++;
        this.consecutiveTimeouts.set(key, (this.consecutiveTimeouts.get(key) ?? 0) + 1);
      } else {
        this.consecutiveTimeouts.set(key, 0);
      }
      const retry = last.ok ? last.rcode === 'SERVFAIL' : last.failure !== 'NETWORK_ERROR';
      if (!retry) break;
    }
    const result = last as DnsResult;
    if (!result.ok) {
      this.stats.failures++;
      if (result.failure === 'TIMEOUT') {
        return { ...result, detail: `no answer within ${this.options.timeoutMs} ms (${this.attempts} tries)` };
      }
    }
    return result;
  }

  private encode(question: DnsQuestion, id: number, edns = true): Buffer {
    return dnsPacket.encode({
      type: 'query',
      id,
      flags: question.recursionDesired ? dnsPacket.RECURSION_DESIRED : 0,
      questions: [{ name: question.name, type: question.type, class: 'IN' }],
      additionals: edns ? [{ type: 'OPT', name: '.', udpPayloadSize: EDNS_UDP_SIZE, flags: 0 } as Answer] : [],
    });
  }

  /** Whether a decoded packet answers our question (anything else is ignored as a possible spoof). */
  private matches(packet: DecodedPacket, id: number, question: DnsQuestion): boolean {
    if (packet.id !== id || packet.type !== 'response') return false;
    const q = packet.questions?.[0];
    // Some servers omit the question in error responses (FORMERR, REFUSED); the ID still has to match.
    if (!q) return (packet as { rcode?: string }).rcode !== 'NOERROR';
    return q.name.toLowerCase() === question.name.toLowerCase() && q.type === question.type;
  }

  private toResponse(packet: DecodedPacket, overTcp: boolean): DnsResponse {
    return {
      ok: true,
      rcode: (packet as { rcode?: string }).rcode ?? 'NOERROR',
      authoritative: packet.flag_aa,
      answers: packet.answers ?? [],
      authorities: packet.authorities ?? [],
      additionals: packet.additionals ?? [],
      overTcp,
    };
  }

  private udp(endpoint: DnsEndpoint, question: DnsQuestion, edns: boolean): Promise<DnsResult | { ok: 'truncated' }> {
    const id = randomInt(0, 65_536);
    const message = this.encode(question, id, edns);
    return new Promise((resolve) => {
      const socket = dgram.createSocket(isIPv6(endpoint.address) ? 'udp6' : 'udp4');
      let malformed: string | undefined;
      let settled = false;
      const finish = (result: DnsResult | { ok: 'truncated' }) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        socket.close();
        resolve(result);
      };
      const timer = setTimeout(
        () =>
          finish(
            malformed
              ? { ok: false, failure: 'MALFORMED', detail: `unreadable response: ${malformed}` }
              : { ok: false, failure: 'TIMEOUT', detail: `no answer within ${this.options.timeoutMs} ms` },
          ),
        this.options.timeoutMs,
      );
      socket.on('error', (error: NodeJS.ErrnoException) =>
        finish({
          ok: false,
          failure: 'NETWORK_ERROR',
          detail: `${error.code ?? error.message} from ${endpoint.address}:${endpoint.port}`,
        }),
      );
      socket.on('message', (buffer) => {
        let packet: DecodedPacket;
        try {
          packet = dnsPacket.decode(buffer);
        } catch (error) {
          malformed = (error as Error).message;
          return; // keep waiting: a forged or broken datagram must not end the query
        }
        if (!this.matches(packet, id, question)) return;
        if (packet.flag_tc) finish({ ok: 'truncated' });
        else finish(this.toResponse(packet, false));
      });
      // A connected socket only receives datagrams from the server and reports ICMP port-unreachable.
      socket.connect(endpoint.port, endpoint.address, () => socket.send(message));
    });
  }

  private tcp(endpoint: DnsEndpoint, question: DnsQuestion): Promise<DnsResult> {
    const id = randomInt(0, 65_536);
    const message = this.encode(question, id);
    return new Promise((resolve) => {
      const socket = net.connect({ host: endpoint.address, port: endpoint.port });
      let buffered = Buffer.alloc(0);
      let settled = false;
      const finish = (result: DnsResult) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        socket.destroy();
        resolve(result);
      };
      const timer = setTimeout(
        () =>
          finish({ ok: false, failure: 'TIMEOUT', detail: `no answer over TCP within ${this.options.timeoutMs} ms` }),
        this.options.timeoutMs,
      );
      socket.on('connect', () => {
        const length = Buffer.alloc(2);
        length.writeUInt16BE(message.length);
        socket.write(Buffer.concat([length, message]));
      });
      socket.on('error', (error: NodeJS.ErrnoException) =>
        finish({
          ok: false,
          failure: 'NETWORK_ERROR',
          detail: `${error.code ?? error.message} from ${endpoint.address}:${endpoint.port} over TCP`,
        }),
      );
      socket.on('close', () =>
        finish({ ok: false, failure: 'NETWORK_ERROR', detail: 'TCP connection closed before a full answer' }),
      );
      socket.on('data', (chunk) => {
        buffered = Buffer.concat([buffered, chunk]);
        if (buffered.length > MAX_TCP_MESSAGE + 2) {
          finish({ ok: false, failure: 'MALFORMED', detail: 'TCP answer longer than a DNS message can be' });
          return;
        }
        if (buffered.length < 2) return;
        const length = buffered.readUInt16BE(0);
        if (buffered.length < 2 + length) return;
        try {
          const packet = dnsPacket.decode(buffered.subarray(2, 2 + length));
          if (!this.matches(packet, id, question)) {
            finish({ ok: false, failure: 'MALFORMED', detail: 'TCP answer does not match the question' });
          } else {
            finish(this.toResponse(packet, true));
          }
        } catch (error) {
          finish({ ok: false, failure: 'MALFORMED', detail: `unreadable TCP response: ${(error as Error).message}` });
        }
      });
    });
  }
}
