import { randomInt } from 'node:crypto';
import dgram from 'node:dgram';
import net, { isIPv6 } from 'node:net';
import dnsPacket, { type Answer, type DecodedPacket, type RecordType } from 'dns-packet';
import { Limiter } from '../../limiter';
import type { QueryBudget } from './query-budget';

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
  /** DO bit (RFC 3225): ask for the RRSIGs too. Needs EDNS: a server that rejects EDNS is asked without it. */
  readonly dnssecOk?: boolean;
  /** CD bit (RFC 4035 §3.2.2): a validating resolver answers without validating. */
  readonly checkingDisabled?: boolean;
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

/**
 * No usable response: the caller must treat this as inconclusive, never as "no such record".
 * `BUDGET_EXCEEDED`: not asked (or not asked again) because the identity or zone used up its query budget.
 */
export interface DnsFailure {
  readonly ok: false;
  readonly failure: 'TIMEOUT' | 'NETWORK_ERROR' | 'MALFORMED' | 'BUDGET_EXCEEDED';
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
  /** Queries not sent because their identity or zone had used up its budget. */
  overBudget: number;
}

/** What one UDP exchange produced besides a response: a truncated answer, or a FORMERR to our EDNS. */
type UdpOutcome = DnsResult | { ok: 'truncated' } | { ok: 'edns-rejected' };

/** How a decoded packet relates to the query in flight. */
type Match = 'answer' | 'edns-rejected' | 'no-question' | 'unrelated';

const EDNS_UDP_SIZE = 1232; // the DNS Flag Day 2020 size: avoids IP fragmentation
const MAX_TCP_MESSAGE = 65_535;

/** One query waiting on a pooled UDP socket. */
interface PendingUdp {
  readonly id: number;
  readonly question: DnsQuestion;
  readonly edns: boolean;
  /** Why a datagram from the server could not be read, if one could not. */
  malformed?: string;
  finish(result: UdpOutcome): void;
}

/** A UDP socket connected to one server, shared by the queries in flight to it (told apart by ID). */
interface UdpChannel {
  readonly socket: dgram.Socket;
  readonly ready: Promise<void>;
  readonly pending: Map<number, PendingUdp>;
  served: number;
  /** No new queries: closed once the last one in flight is done. */
  retired: boolean;
  idleTimer?: NodeJS.Timeout;
}

/** Queries one socket carries before a fresh one (a fresh random source port) takes over. */
const QUERIES_PER_SOCKET = 64;
/** An idle socket is closed after this long (a run touches hundreds of servers; file descriptors are few). */
const SOCKET_IDLE_MS = 1000;

/**
 * DNS over UDP with TCP fallback, with dns-packet (node:dns hides the AA flag, the authority section and
 * referrals). Queries to one server share a small pool of connected UDP sockets (creating a socket per
 * query cost about 30% of a run's CPU); each socket serves a bounded number of queries, so source ports
 * still change. Every query has a random ID unused on its socket; a response is accepted only if it comes
 * from the server (the socket is connected) and its ID and its question section (name, type and class,
 * whatever the rcode) match. Timeouts,
 * SERVFAIL and garbage are retried; a server that keeps timing out is marked down so one dead server cannot
 * stall a run. A query may carry a {@link QueryBudget}: every packet is charged to it, and none is sent once
 * it has run out.
 */
export class DnsTransport {
  readonly stats: DnsTransportStats = { queries: 0, tcpFallbacks: 0, timeouts: 0, failures: 0, overBudget: 0 };
  private readonly global: Limiter;
  private readonly perServer = new Map<string, Limiter>();
  private readonly consecutiveTimeouts = new Map<string, number>();
  /** Servers that answered FORMERR to EDNS: asked without it from then on, over UDP and TCP alike. */
  private readonly withoutEdns = new Set<string>();
  private readonly channels = new Map<string, UdpChannel>();
  private readonly attempts: number;
  private readonly maxPerServer: number;
  private readonly deadAfter: number;

  constructor(private readonly options: DnsTransportOptions) {
    this.attempts = options.attempts ?? 3;
    this.global = new Limiter(options.maxInFlight ?? 128);
    this.maxPerServer = options.maxInFlightPerServer ?? 16;
    this.deadAfter = options.deadAfterTimeouts ?? 6;
  }

  /**
   * Ask one server one question. Never throws: failures are data.
   * @param budget the identity's or zone's budget to charge each packet to; none for the product's own checks.
   */
  async query(endpoint: DnsEndpoint, question: DnsQuestion, budget?: QueryBudget): Promise<DnsResult> {
    try {
      const name = question.name.replace(/\.$/, '');
      if (name.length > 253 || name.split('.').some((label) => label.length > 63)) {
        throw new Error('a DNS name is at most 253 characters, each label at most 63');
      }
      this.template(question, true);
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
    const perServer = limiter;
    const run = () => perServer.run(() => this.global.run(() => this.withRetries(key, endpoint, question, budget)));
    return budget ? budget.limiter.run(run) : run();
  }

  /** Charge one packet to the budget; a failure to return when it may not be sent. */
  private overBudget(budget: QueryBudget | undefined, last: DnsResult | undefined): DnsFailure | undefined {
    const refused = budget?.charge();
    if (refused === undefined) {
      this.stats.queries++;
      return undefined;
    }
    this.stats.overBudget++;
    const before = last && !last.ok ? ` (the last try: ${last.detail})` : '';
    return { ok: false, failure: 'BUDGET_EXCEEDED', detail: `not asked: ${refused}${before}` };
  }

  private async withRetries(
    key: string,
    endpoint: DnsEndpoint,
    question: DnsQuestion,
    budget: QueryBudget | undefined,
  ): Promise<DnsResult> {
    let last: DnsResult | undefined;
    for (let attempt = 1; attempt <= this.attempts; attempt++) {
      if ((this.consecutiveTimeouts.get(key) ?? 0) >= this.deadAfter) {
        return {
          ok: false,
          failure: 'TIMEOUT',
          detail: `not asked: the server did not answer its last ${this.deadAfter} queries`,
        };
      }
      const refused = this.overBudget(budget, last);
      if (refused) return refused;
      // Never wait past the budget's deadline: the identity is reported over budget instead.
      const timeoutMs = Math.min(this.options.timeoutMs, budget?.remainingMs() ?? Number.POSITIVE_INFINITY);
      let result: UdpOutcome = await this.udp(endpoint, question, !this.withoutEdns.has(key), timeoutMs);
      // RFC 6891 §7: a server that does not understand EDNS answers FORMERR; ask again without it, and keep
      // asking it without EDNS (over TCP too), or it could never be checked.
      if (result.ok === 'edns-rejected') {
        this.withoutEdns.add(key);
        const refusedAgain = this.overBudget(budget, last);
        if (refusedAgain) return refusedAgain;
        result = await this.udp(endpoint, question, false, timeoutMs);
      }
      if (result.ok === 'edns-rejected') {
        result = { ok: false, failure: 'MALFORMED', detail: 'FORMERR to a query without EDNS' };
      }
      if (result.ok === 'truncated') {
        const refusedTcp = this.overBudget(budget, last);
        if (refusedTcp) return refusedTcp;
        this.stats.tcpFallbacks++;
        let overTcp = await this.tcpExchange(endpoint, question, !this.withoutEdns.has(key), timeoutMs);
        if (overTcp.ok === 'edns-rejected') {
          this.withoutEdns.add(key);
          const refusedAgain = this.overBudget(budget, last);
          if (refusedAgain) return refusedAgain;
          overTcp = await this.tcpExchange(endpoint, question, false, timeoutMs);
        }
        result =
          overTcp.ok === 'edns-rejected'
            ? { ok: false, failure: 'MALFORMED', detail: 'FORMERR over TCP to a query without EDNS' }
            : overTcp;
      }
      if (budget && timeoutMs < this.options.timeoutMs && !result.ok && result.failure === 'TIMEOUT') {
        // Cut short by the deadline, not the server's fault: counting it would let one identity's deadline
        // mark a shared resolver as down for everyone.
        this.stats.overBudget++;
        return { ok: false, failure: 'BUDGET_EXCEEDED', detail: `no answer before the deadline: ${budget.expire()}` };
      }
      last = result;
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

  private encode(question: DnsQuestion, id: number, edns: boolean): Buffer {
    return dnsPacket.encode({
      type: 'query',
      id,
      flags:
        (question.recursionDesired ? dnsPacket.RECURSION_DESIRED : 0) |
        (question.checkingDisabled ? dnsPacket.CHECKING_DISABLED : 0),
      questions: [{ name: question.name, type: question.type, class: 'IN' }],
      additionals: edns
        ? [
            {
              type: 'OPT',
              name: '.',
              udpPayloadSize: EDNS_UDP_SIZE,
              flags: question.dnssecOk ? dnsPacket.DNSSEC_OK : 0,
            } as Answer,
          ]
        : [],
    });
  }

  /**
   * How a decoded packet relates to our query. Only an exact question (one entry: name, type, class) makes
   * an answer, whatever its rcode: an NXDOMAIN without the question would otherwise be read as "missing".
   * The single exception is a FORMERR without a question to a query with EDNS: old servers answer EDNS so
   * (RFC 6891 §7), and all it can cause is asking once more without EDNS.
   */
  private match(packet: DecodedPacket, id: number, question: DnsQuestion, edns: boolean): Match {
    if (packet.id !== id || packet.type !== 'response') return 'unrelated';
    const rcode = (packet as { rcode?: string }).rcode;
    const questions = packet.questions ?? [];
    if (questions.length === 0) return edns && rcode === 'FORMERR' ? 'edns-rejected' : 'no-question';
    const q = questions[0];
    if (
      questions.length !== 1 ||
      !q ||
      q.name.toLowerCase() !== question.name.toLowerCase() ||
      q.type !== question.type ||
      (q.class ?? 'IN') !== 'IN'
    ) {
      return 'unrelated';
    }
    return edns && rcode === 'FORMERR' ? 'edns-rejected' : 'answer';
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

  /**
   * The encoded query with ID 0, made once per question and EDNS choice; each attempt copies it and writes
   * its own ID, instead of encoding the question again.
   */
  private readonly templates = new WeakMap<DnsQuestion, { edns?: Buffer; plain?: Buffer }>();

  private template(question: DnsQuestion, edns: boolean): Buffer {
    let entry = this.templates.get(question);
    if (!entry) {
      entry = {};
      this.templates.set(question, entry);
    }
    const which = edns ? 'edns' : 'plain';
    const packet = entry[which] ?? this.encode(question, 0, edns);
    entry[which] = packet;
    return packet;
  }

  private packet(question: DnsQuestion, id: number, edns: boolean): Buffer {
    const message = Buffer.from(this.template(question, edns));
    message.writeUInt16BE(id, 0);
    return message;
  }

  /** Close every pooled socket (the end of a run); queries still in flight fail as network errors. */
  close(): void {
    for (const [key, channel] of this.channels) this.closeChannel(key, channel, 'the transport was closed');
  }

  private closeChannel(key: string, channel: UdpChannel, reason?: string): void {
    if (this.channels.get(key) === channel) this.channels.delete(key);
    clearTimeout(channel.idleTimer);
    for (const pending of [...channel.pending.values()]) {
      pending.finish({ ok: false, failure: 'NETWORK_ERROR', detail: reason ?? 'socket closed' });
    }
    try {
      channel.socket.close();
    } catch {
      // already closed
    }
  }

  /** The server's current socket, or a new one connected to it. */
  private channelFor(endpoint: DnsEndpoint): { key: string; channel: UdpChannel } {
    const key = `${endpoint.address}|${endpoint.port}`;
    const current = this.channels.get(key);
    if (current && !current.retired) return { key, channel: current };
    const socket = dgram.createSocket(isIPv6(endpoint.address) ? 'udp6' : 'udp4');
    // A connected socket only receives datagrams from the server and reports ICMP port-unreachable.
    const ready = new Promise<void>((resolve) => socket.connect(endpoint.port, endpoint.address, () => resolve()));
    const channel: UdpChannel = { socket, ready, pending: new Map(), served: 0, retired: false };
    this.channels.set(key, channel);
    socket.on('error', (error: NodeJS.ErrnoException) => {
      // The error concerns this server (ECONNREFUSED from an ICMP port-unreachable): every query on it fails.
      channel.retired = true;
      this.closeChannel(key, channel, `${error.code ?? error.message} from ${endpoint.address}:${endpoint.port}`);
    });
    socket.on('message', (buffer) => {
      let packet: DecodedPacket;
      try {
        packet = dnsPacket.decode(buffer);
      } catch (error) {
        // From the server (the socket is connected), but unreadable: whichever query it answered cannot
        // use it. Keep waiting: a forged or broken datagram must not end a query.
        for (const pending of channel.pending.values()) pending.malformed = (error as Error).message;
        return;
      }
      const pending = packet.id === undefined ? undefined : channel.pending.get(packet.id);
      if (!pending) return;
      const match = this.match(packet, pending.id, pending.question, pending.edns);
      if (match === 'no-question') pending.malformed = 'a response without the question section';
      // Keep waiting after anything but our answer: a spoofed datagram must not end the query.
      if (match === 'edns-rejected') pending.finish({ ok: 'edns-rejected' });
      else if (match !== 'answer') return;
      else if (packet.flag_tc) pending.finish({ ok: 'truncated' });
      else pending.finish(this.toResponse(packet, false));
    });
    return { key, channel };
  }

  private udp(endpoint: DnsEndpoint, question: DnsQuestion, edns: boolean, timeoutMs: number): Promise<UdpOutcome> {
    const { key, channel } = this.channelFor(endpoint);
    let id = randomInt(0, 65_536);
    while (channel.pending.has(id)) id = randomInt(0, 65_536);
    const message = this.packet(question, id, edns);
    channel.served++;
    if (channel.served >= QUERIES_PER_SOCKET) channel.retired = true;
    clearTimeout(channel.idleTimer);
    channel.socket.ref();
    return new Promise((resolve) => {
      let settled = false;
      const pending: PendingUdp = {
        id,
        question,
        edns,
        finish: (result) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          channel.pending.delete(id);
          if (channel.pending.size === 0) {
            if (channel.retired) this.closeChannel(key, channel);
            else {
              // Idle: it must not keep the process alive, and is closed if nobody needs it soon.
              channel.socket.unref();
              channel.idleTimer = setTimeout(() => this.closeChannel(key, channel), SOCKET_IDLE_MS);
              channel.idleTimer.unref();
            }
          }
          resolve(result);
        },
      };
      const timer = setTimeout(
        () =>
          pending.finish(
            pending.malformed
              ? { ok: false, failure: 'MALFORMED', detail: `unreadable response: ${pending.malformed}` }
              : { ok: false, failure: 'TIMEOUT', detail: `no answer within ${timeoutMs} ms` },
          ),
        timeoutMs,
      );
      channel.pending.set(id, pending);
      channel.ready.then(() => {
        if (!settled) channel.socket.send(message);
      });
    });
  }

  private tcpExchange(
    endpoint: DnsEndpoint,
    question: DnsQuestion,
    edns: boolean,
    timeoutMs: number,
  ): Promise<DnsResult | { ok: 'edns-rejected' }> {
    const id = randomInt(0, 65_536);
    const message = this.packet(question, id, edns);
    return new Promise((resolve) => {
      const socket = net.connect({ host: endpoint.address, port: endpoint.port });
      let buffered = Buffer.alloc(0);
      let settled = false;
      const finish = (result: DnsResult | { ok: 'edns-rejected' }) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        socket.destroy();
        resolve(result);
      };
      const timer = setTimeout(
        () => finish({ ok: false, failure: 'TIMEOUT', detail: `no answer over TCP within ${timeoutMs} ms` }),
        timeoutMs,
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
          const match = this.match(packet, id, question, edns);
          if (match === 'edns-rejected') finish({ ok: 'edns-rejected' });
          else if (match !== 'answer') {
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
