import { performance } from 'node:perf_hooks';
import dnsPacket, { type Packet } from 'dns-packet';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { type DnsQuestion, type DnsResult, DnsTransport } from '../../lambda/adapters/dns/dns-transport';
import { QueryBudget } from '../../lambda/adapters/dns/query-budget';
import {
  answer,
  framed,
  type HostileAction,
  HostileDnsServer,
  type HostileScript,
  raw,
  silence,
} from '../support/hostile-dns-server';

// The transport against a scripted hostile server on 127.0.67.x: everything a broken or hostile network can
// send back. Each test asserts the exact outcome, not only that nothing crashed.
const ADDRESS = '127.0.67.1';
const question: DnsQuestion = { name: 'sel._domainkey.example.test', type: 'TXT', recursionDesired: false };
const KEY = 'v=DKIM1; p=real';
const genuine = (overrides: Partial<Packet> = {}): HostileAction =>
  answer({
    type: 'response',
    flags: dnsPacket.AUTHORITATIVE_ANSWER,
    answers: [{ name: question.name, type: 'TXT', ttl: 60, data: [KEY] }],
    ...overrides,
  });
const txtOf = (result: DnsResult) =>
  result.ok ? result.answers.map((a) => (a as { data: Buffer[] }).data.map(String).join('')) : [];

describe('DnsTransport against a hostile server', () => {
  const servers: HostileDnsServer[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.stop()));
  });
  async function serve(port: number, script: HostileScript): Promise<HostileDnsServer> {
    const server = await HostileDnsServer.start(ADDRESS, port, script);
    servers.push(server);
    return server;
  }

  it('ignores a response with the wrong ID or for another question and accepts the genuine one', async () => {
    await serve(15401, (q) => ({
      kind: 'all',
      actions: [
        genuine({ id: (q.id + 1) % 65_536, answers: [{ name: question.name, type: 'TXT', data: ['spoofed'] }] }),
        genuine({ questions: [{ name: 'other.example.test', type: 'TXT' }] }),
        genuine({ questions: [{ name: question.name, type: 'CNAME' }] }),
        genuine({ questions: [{ name: question.name, type: 'TXT', class: 'CH' }] }),
        { kind: 'later', ms: 20, action: genuine() },
      ],
    }));

    const result = await new DnsTransport({ timeoutMs: 500 }).query({ address: ADDRESS, port: 15401 }, question);

    expect(txtOf(result)).toEqual([KEY]);
  });

  it('never accepts a response without the question section, whatever its rcode (NXDOMAIN is not "missing")', async () => {
    for (const rcode of [0, 3, 5]) {
      const server = await serve(15410 + rcode, () => genuine({ questions: [], flags: rcode, answers: [] }));
      const transport = new DnsTransport({ timeoutMs: 80, attempts: 2 });

      const result = await transport.query({ address: ADDRESS, port: server.port }, question);

      expect(result).toEqual({
        ok: false,
        failure: 'MALFORMED',
        detail: 'unreadable response: a response without the question section',
      });
      expect(server.queries).toHaveLength(2);
    }
  });

  it('ignores a reply from another source port or another address (the socket is connected)', async () => {
    const forged = genuine({ answers: [{ name: question.name, type: 'TXT', data: ['forged'] }] });
    await serve(15402, () => ({
      kind: 'all',
      actions: [
        { kind: 'from', port: 15403, action: forged },
        { kind: 'from', address: '127.0.67.2', port: 15402, action: forged },
        { kind: 'later', ms: 40, action: genuine() },
      ],
    }));
    await serve(15404, () => ({ kind: 'from', port: 15405, action: forged }));

    const transport = new DnsTransport({ timeoutMs: 300, attempts: 1 });
    const withGenuine = await transport.query({ address: ADDRESS, port: 15402 }, question);
    const onlyForged = await transport.query({ address: ADDRESS, port: 15404 }, question);

    expect(txtOf(withGenuine)).toEqual([KEY]);
    expect(onlyForged).toMatchObject({ ok: false, failure: 'TIMEOUT' });
  });

  it('reports garbage as MALFORMED after retrying, never as an answer', async () => {
    const server = await serve(15406, () => raw(Buffer.from([0xde, 0xad, 0xbe, 0xef])));
    const transport = new DnsTransport({ timeoutMs: 100, attempts: 2 });

    const result = await transport.query({ address: ADDRESS, port: 15406 }, question);

    expect(result).toMatchObject({ ok: false, failure: 'MALFORMED' });
    expect(server.queries).toHaveLength(2);
  });

  it('survives a compression-pointer loop in the question name (reported MALFORMED)', async () => {
    await serve(15407, (q) => {
      const header = Buffer.from([q.id >> 8, q.id & 0xff, 0x84, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
      // The name at offset 12 is a pointer to offset 14, which points back to 12.
      return raw(Buffer.concat([header, Buffer.from([0xc0, 14, 0xc0, 12, 0, 16, 0, 1])]));
    });

    const result = await new DnsTransport({ timeoutMs: 100, attempts: 1 }).query(
      { address: ADDRESS, port: 15407 },
      question,
    );

    expect(result).toMatchObject({ ok: false, failure: 'MALFORMED', detail: expect.stringContaining('bad pointer') });
  });

  it('reports TC followed by TCP garbage, a TCP answer for another question, or a closed connection, never an answer', async () => {
    const truncated = genuine({ flags: dnsPacket.TRUNCATED_RESPONSE, answers: [] });
    const cases: [number, HostileAction, string][] = [
      [15420, raw(framed(Buffer.from('not a dns message at all'))), 'unreadable TCP response'],
      [15421, genuine({ questions: [{ name: 'other.example.test', type: 'TXT' }] }), 'does not match the question'],
      [
        15422,
        { kind: 'all', actions: [raw(Buffer.from([0x00])), { kind: 'close' }] },
        'TCP connection closed before a full answer',
      ],
    ];
    for (const [port, overTcp, detail] of cases) {
      await serve(port, (q) => (q.over === 'udp' ? truncated : overTcp));
      const transport = new DnsTransport({ timeoutMs: 300, attempts: 1 });

      const result = await transport.query({ address: ADDRESS, port }, question);

      expect(result).toMatchObject({ ok: false, detail: expect.stringContaining(detail) });
      expect(result.ok || result.failure).not.toBe('TIMEOUT');
      expect(transport.stats.tcpFallbacks).toBe(1);
    }
  });

  it('bounds a TCP answer dripped a byte at a time by the timeout', async () => {
    await serve(15430, (q) =>
      q.over === 'udp'
        ? genuine({ flags: dnsPacket.TRUNCATED_RESPONSE, answers: [] })
        : {
            kind: 'drip',
            packet: {
              type: 'response',
              flags: dnsPacket.AUTHORITATIVE_ANSWER,
              answers: [{ name: question.name, type: 'TXT', data: [KEY] }],
            },
            bytesPerChunk: 1,
            everyMs: 40,
          },
    );
    const transport = new DnsTransport({ timeoutMs: 250, attempts: 2 });

    const started = performance.now();
    const result = await transport.query({ address: ADDRESS, port: 15430 }, question);
    const elapsed = performance.now() - started;

    expect(result).toEqual({ ok: false, failure: 'TIMEOUT', detail: 'no answer within 250 ms (2 tries)' });
    expect(elapsed).toBeLessThan(2 * 250 + 300);
  });

  it('reads a 60 KB answer over TCP in full, and rejects a TCP stream longer than a DNS message can be', async () => {
    const strings = Array.from({ length: 235 }, (_, i) => String(i % 10).repeat(255));
    await serve(15431, (q) =>
      q.over === 'udp'
        ? genuine({ flags: dnsPacket.TRUNCATED_RESPONSE, answers: [] })
        : genuine({ answers: [{ name: question.name, type: 'TXT', data: strings }] }),
    );
    await serve(15432, (q) =>
      q.over === 'udp'
        ? genuine({ flags: dnsPacket.TRUNCATED_RESPONSE, answers: [] })
        : raw(Buffer.concat([Buffer.from([0xff, 0xff]), Buffer.alloc(70_000, 0x41)])),
    );
    const transport = new DnsTransport({ timeoutMs: 1000, attempts: 1 });

    const big = await transport.query({ address: ADDRESS, port: 15431 }, question);
    const endless = await transport.query({ address: ADDRESS, port: 15432 }, question);

    expect(big).toMatchObject({ ok: true, overTcp: true });
    expect(txtOf(big)[0]?.length).toBe(235 * 255);
    expect(endless).toEqual({
      ok: false,
      failure: 'MALFORMED',
      detail: 'TCP answer longer than a DNS message can be',
    });
  });

  it('after a FORMERR to EDNS, asks that server without EDNS from then on, over UDP and over TCP', async () => {
    // An old server: FORMERR (without the question, as some send it) to anything with EDNS; the answer is
    // too big for 512 bytes, so it has to come over TCP.
    const key = `v=DKIM1; k=rsa; p=${'A'.repeat(600)}`;
    const server = await serve(15440, (q) =>
      q.edns
        ? answer({ type: 'response', flags: 1, questions: [] })
        : answer({
            type: 'response',
            flags: dnsPacket.AUTHORITATIVE_ANSWER,
            answers: [
              { name: question.name, type: 'TXT', data: [key.slice(0, 255), key.slice(255, 510), key.slice(510)] },
            ],
          }),
    );
    const transport = new DnsTransport({ timeoutMs: 300, attempts: 1 });

    const first = await transport.query({ address: ADDRESS, port: 15440 }, question);
    const second = await transport.query({ address: ADDRESS, port: 15440 }, question);

    for (const result of [first, second]) {
      expect(result).toMatchObject({ ok: true, rcode: 'NOERROR', overTcp: true });
      expect(txtOf(result)).toEqual([key]);
    }
    expect(server.queries.map((q) => `${q.over}${q.edns ? '+edns' : ''}`)).toEqual([
      'udp+edns',
      'udp',
      'tcp',
      'udp',
      'tcp',
    ]);
  });

  it('charges every packet to the budget and sends nothing once it has run out', async () => {
    const server = await serve(15450, () => silence);
    const transport = new DnsTransport({ timeoutMs: 60, attempts: 3 });
    const budget = new QueryBudget('zone evil.test', { maxQueries: 4, maxMs: 10_000, maxInFlight: 4 });

    const first = await transport.query({ address: ADDRESS, port: 15450 }, question, budget);
    const second = await transport.query({ address: ADDRESS, port: 15450 }, question, budget);
    const third = await transport.query({ address: ADDRESS, port: 15450 }, question, budget);

    expect(first).toMatchObject({ ok: false, failure: 'TIMEOUT' });
    expect(second).toEqual({
      ok: false,
      failure: 'BUDGET_EXCEEDED',
      detail: 'not asked: the zone evil.test used its budget of 4 DNS queries (the last try: no answer within 60 ms)',
    });
    expect(third).toMatchObject({ failure: 'BUDGET_EXCEEDED' });
    expect(server.queries).toHaveLength(4);
    expect(budget.spent).toBe(4);
  });

  it('never waits past the budget deadline, even with a long timeout', async () => {
    await serve(15451, () => silence);
    const transport = new DnsTransport({ timeoutMs: 5000, attempts: 3 });
    const budget = new QueryBudget('identity slow.test', { maxQueries: 100, maxMs: 200, maxInFlight: 4 });

    const started = performance.now();
    const result = await transport.query({ address: ADDRESS, port: 15451 }, question, budget);
    const elapsed = performance.now() - started;

    expect(result).toMatchObject({
      ok: false,
      failure: 'BUDGET_EXCEEDED',
      detail: expect.stringContaining('the identity slow.test used its time budget of 200 ms'),
    });
    expect(elapsed).toBeLessThan(450);
  });

  it('property: random bytes never throw out of the transport and are never an answer', async () => {
    let reply = Buffer.alloc(0);
    await serve(15460, () => raw(reply));
    const transport = new DnsTransport({ timeoutMs: 25, attempts: 1, deadAfterTimeouts: 1_000_000 });
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 0, maxLength: 600 }), async (bytes) => {
        reply = Buffer.from(bytes);
        const result = await transport.query({ address: ADDRESS, port: 15460 }, question);
        // A random datagram matches a random query ID and question with negligible probability.
        expect(result.ok).toBe(false);
      }),
      { numRuns: 60 },
    );
  });

  it('property: a response is accepted only when its ID, name, type and class all match, whatever the rcode', async () => {
    let respond: HostileScript = () => silence;
    await serve(15461, (q) => respond(q));
    const transport = new DnsTransport({ timeoutMs: 25, attempts: 1, deadAfterTimeouts: 1_000_000 });
    const forgery = fc.record({
      sameId: fc.boolean(),
      name: fc.constantFrom(question.name, question.name.toUpperCase(), 'other._domainkey.example.test', ''),
      type: fc.constantFrom('TXT', 'CNAME', 'A'),
      klass: fc.constantFrom('IN', 'CH'),
      withQuestion: fc.boolean(),
      rcode: fc.constantFrom(0, 2, 3, 5),
    });
    await fc.assert(
      fc.asyncProperty(forgery, async (f) => {
        respond = (q) =>
          answer({
            type: 'response',
            id: f.sameId ? q.id : (q.id + 1) % 65_536,
            flags: dnsPacket.AUTHORITATIVE_ANSWER | f.rcode,
            questions:
              f.withQuestion && f.name ? [{ name: f.name, type: f.type as 'TXT', class: f.klass as 'IN' }] : [],
            answers: [{ name: question.name, type: 'TXT', data: ['forged'] }],
          });
        const result = await transport.query({ address: ADDRESS, port: 15461 }, question);
        const matches =
          f.sameId && f.withQuestion && f.name !== '' && f.name.toLowerCase() === question.name && f.type === 'TXT';
        expect(result.ok).toBe(matches && f.klass === 'IN');
      }),
      { numRuns: 80 },
    );
  });
});
