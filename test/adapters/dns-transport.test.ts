import dgram from 'node:dgram';
import net from 'node:net';
import dnsPacket, { type DecodedPacket, type Packet } from 'dns-packet';
import { afterEach, describe, expect, it } from 'vitest';
import { DnsTransport } from '../../lambda/adapters/dns/dns-transport';

// Hand-made servers on 127.0.22.x for the transport's ordinary behaviour; the attacks (forged IDs and
// questions, garbage, FORMERR, TCP abuse) are in hostile-dns.test.ts.
const ADDRESS = '127.0.22.1';
const answerFor = (query: DecodedPacket, overrides: Partial<Packet> = {}): Buffer =>
  dnsPacket.encode({
    type: 'response',
    id: query.id,
    flags: dnsPacket.AUTHORITATIVE_ANSWER,
    questions: query.questions,
    answers: [{ name: query.questions?.[0]?.name ?? '', type: 'TXT', ttl: 60, data: ['v=DKIM1; p=real'] }],
    ...overrides,
  });

describe('DnsTransport', () => {
  const closers: (() => void)[] = [];
  afterEach(() => {
    for (const close of closers.splice(0)) close();
  });

  async function udpServer(port: number, reply: (query: DecodedPacket, send: (b: Buffer) => void) => void) {
    const socket = dgram.createSocket('udp4');
    socket.on('message', (message, peer) =>
      reply(dnsPacket.decode(message), (buffer) => socket.send(buffer, peer.port, peer.address)),
    );
    await new Promise<void>((resolve) => socket.bind(port, ADDRESS, () => resolve()));
    closers.push(() => socket.close());
  }
  const question = { name: 'sel._domainkey.example.test', type: 'TXT' as const, recursionDesired: false };

  it('retries over TCP when the UDP answer is truncated', async () => {
    await udpServer(15403, (query, send) =>
      send(answerFor(query, { flags: dnsPacket.TRUNCATED_RESPONSE, answers: [] })),
    );
    const tcp = net.createServer((socket) =>
      socket.on('data', (data) => {
        const query = dnsPacket.decode(data.subarray(2));
        const response = answerFor(query, {
          answers: [
            {
              name: question.name,
              type: 'TXT',
              data: ['x'.repeat(255), 'y'.repeat(255), 'z'.repeat(255), 'w'.repeat(255), 'v'.repeat(255)],
            },
          ],
        });
        const length = Buffer.alloc(2);
        length.writeUInt16BE(response.length);
        socket.end(Buffer.concat([length, response]));
      }),
    );
    await new Promise<void>((resolve) => tcp.listen(15403, ADDRESS, () => resolve()));
    closers.push(() => tcp.close());
    const transport = new DnsTransport({ timeoutMs: 500 });

    const result = await transport.query({ address: ADDRESS, port: 15403 }, question);

    expect(result).toMatchObject({ ok: true, overTcp: true, authoritative: true });
    expect(transport.stats.tcpFallbacks).toBe(1);
  });

  it('reports a closed port at once as a network error, and a silent server as a timeout', async () => {
    await udpServer(15404, () => {});
    const transport = new DnsTransport({ timeoutMs: 100, attempts: 2 });

    const closed = await transport.query({ address: ADDRESS, port: 15405 }, question);
    const silent = await transport.query({ address: ADDRESS, port: 15404 }, question);

    expect(closed).toMatchObject({
      ok: false,
      failure: 'NETWORK_ERROR',
      detail: expect.stringContaining('ECONNREFUSED'),
    });
    expect(silent).toEqual({ ok: false, failure: 'TIMEOUT', detail: 'no answer within 100 ms (2 tries)' });
  });

  it('stops asking a server that keeps timing out, so one dead server cannot stall a run', async () => {
    await udpServer(15406, () => {});
    const transport = new DnsTransport({ timeoutMs: 50, attempts: 1, deadAfterTimeouts: 3 });

    const results = [];
    for (let i = 0; i < 6; i++) results.push(await transport.query({ address: ADDRESS, port: 15406 }, question));

    expect(transport.stats.queries).toBe(3);
    expect(results.every((r) => !r.ok && r.failure === 'TIMEOUT')).toBe(true);
    expect(results[5]).toMatchObject({ detail: expect.stringContaining('did not answer its last 3 queries') });
  });

  it('reports a name too long to ask as a failure instead of throwing', async () => {
    const name = `${'a'.repeat(60)}.${'b'.repeat(60)}.${'c'.repeat(60)}.${'d'.repeat(60)}.example.test`;

    const result = await new DnsTransport({ timeoutMs: 100 }).query(
      { address: ADDRESS, port: 15409 },
      { ...question, name },
    );

    expect(result).toMatchObject({
      ok: false,
      failure: 'MALFORMED',
      detail: expect.stringContaining('cannot ask for'),
    });
  });

  it('uses a fresh random query ID for each query', async () => {
    const ids: number[] = [];
    await udpServer(15407, (query, send) => {
      ids.push(query.id ?? -1);
      send(answerFor(query));
    });
    const transport = new DnsTransport({ timeoutMs: 500 });

    for (let i = 0; i < 20; i++) await transport.query({ address: ADDRESS, port: 15407 }, question);

    expect(new Set(ids).size).toBeGreaterThan(15);
  });
});
