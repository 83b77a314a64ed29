import { performance } from 'node:perf_hooks';
import dnsPacket, { type Packet } from 'dns-packet';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { type RecordData, type Zone, type ZoneRecord, zone } from '../../bin/demo/in-process-dns';
import { DnsProber, type ProbeBudgets } from '../../lambda/adapters/dns/dkim-dns-prober';
import {
  type DnsQuestion,
  type DnsResult,
  DnsTransport,
  type DnsTransportOptions,
} from '../../lambda/adapters/dns/dns-transport';
import { QueryBudget } from '../../lambda/adapters/dns/query-budget';
import { checkDkim } from '../../lambda/check-dkim';
import { assessIdentity, type IdentityReport } from '../../lambda/domain/assess-identity';
import { expectedDkimRecords } from '../../lambda/domain/expected-records';
import type { SesIdentity } from '../../lambda/domain/ses-identity';
import { byoDkimIdentity, easyDkimIdentity, fakeKey, SIGNING_ZONE } from '../support/dkim-world';
import {
  answer,
  authoritative,
  framed,
  type HostileAction,
  HostileDnsServer,
  type HostileScript,
  omniscientResolver,
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

  it("an identity's deadline does not mark a shared server as down for everyone else", async () => {
    let asked = 0;
    await serve(15452, () => (++asked <= 3 ? silence : genuine()));
    const transport = new DnsTransport({ timeoutMs: 1000, attempts: 1, deadAfterTimeouts: 2 });

    const cutShort = [];
    for (let i = 0; i < 3; i++) {
      const budget = new QueryBudget(`identity slow${i}.test`, { maxQueries: 10, maxMs: 60, maxInFlight: 2 });
      cutShort.push(await transport.query({ address: ADDRESS, port: 15452 }, question, budget));
    }
    const unhurried = await transport.query({ address: ADDRESS, port: 15452 }, question);

    expect(cutShort.map((r) => !r.ok && r.failure)).toEqual(['BUDGET_EXCEEDED', 'BUDGET_EXCEEDED', 'BUDGET_EXCEEDED']);
    expect(txtOf(unhurried)).toEqual([KEY]);
    expect(transport.stats.timeouts).toBe(0);
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

// The prober against a small world of scripted servers on 127.0.66.x: a `test.` parent, child zones whose
// nameservers (and resolvers) misbehave, and the signing-key zone. Every server is in-process.
const SUBNET = '127.0.66';
const PORT = 15366;
const at = (host: number) => `${SUBNET}.${host}`;
const PARENT = at(1);
type Line = [string, ZoneRecord['type'], RecordData];

interface WorldSpec {
  /** Lines of the `test.` zone: delegations (and glue) of the scenario's domains. */
  readonly delegations: readonly Line[];
  /** The child zones (served by the resolvers, and by the servers the scenario scripts). */
  readonly zones: readonly Zone[];
  /** Authoritative servers: address → script. */
  readonly servers?: Readonly<Record<string, HostileScript>>;
  /** Each resolver, as a wrapper around an honest one (default: one honest resolver). */
  readonly resolvers?: readonly ((honest: HostileScript) => HostileScript)[];
  readonly budgets?: Partial<ProbeBudgets>;
  readonly transport?: Partial<DnsTransportOptions>;
}

interface World {
  readonly prober: DnsProber;
  readonly transport: DnsTransport;
  server(address: string): HostileDnsServer;
  check(identity: SesIdentity): Promise<IdentityReport>;
}

const cnames = (tokens: readonly string[]): Line[] =>
  tokens.map((t) => [`${t}._domainkey`, 'CNAME', `${t}.${SIGNING_ZONE}.`]);
const allCodes = (report: IdentityReport) => [
  ...report.findings.map((f) => f.code),
  ...report.records.flatMap((r) => r.findings.map((f) => f.code)),
];
const findingsOf = (report: IdentityReport, code: string) =>
  [...report.findings, ...report.records.flatMap((r) => r.findings)].filter((f) => f.code === code);

describe('DnsProber against hostile zones, nameservers and resolvers', () => {
  const running: HostileDnsServer[] = [];
  afterEach(async () => {
    await Promise.all(running.splice(0).map((s) => s.stop()));
  });

  async function startWorld(spec: WorldSpec, tokens: readonly string[] = []): Promise<World> {
    const parent = zone('test', [['@', 'NS', 'ns'], ['ns', 'A', PARENT], ...spec.delegations]);
    const keys = zone(SIGNING_ZONE, [
      ...tokens.map((t): Line => [t, 'TXT', `v=DKIM1; k=rsa; p=${fakeKey()}`]),
      ['big', 'TXT', `v=DKIM1; k=rsa; p=${fakeKey(1200, 9)}`],
    ]);
    const honest = omniscientResolver([parent, ...spec.zones, keys]);
    const start = async (address: string, script: HostileScript) => {
      const server = await HostileDnsServer.start(address, PORT, script);
      running.push(server);
      return server;
    };
    const byAddress = new Map<string, HostileDnsServer>();
    byAddress.set(PARENT, await start(PARENT, authoritative([parent])));
    for (const [address, script] of Object.entries(spec.servers ?? {}))
      byAddress.set(address, await start(address, script));
    const resolvers = [];
    for (const [i, wrap] of (spec.resolvers ?? [(h: HostileScript) => h]).entries()) {
      resolvers.push({ address: at(53 + i), port: PORT });
      byAddress.set(at(53 + i), await start(at(53 + i), wrap(honest)));
    }
    const transport = new DnsTransport({ timeoutMs: 150, attempts: 2, ...spec.transport });
    const prober = new DnsProber(transport, { resolvers, authoritativePort: PORT, budgets: spec.budgets });
    return {
      prober,
      transport,
      server: (address) => byAddress.get(address) as HostileDnsServer,
      check: async (identity) => {
        const records = expectedDkimRecords(identity);
        const observation = await prober.observe(records[0]?.domain ?? identity.name, records);
        return assessIdentity({ identity, records }, observation);
      },
    };
  }

  it('a nameserver name with 1,000 addresses: 4 are probed, the rest named in an inconclusive finding, within budget', async () => {
    const tokens = ['evtok1', 'evtok2', 'evtok3'];
    // The first address is a real server; the other 999 are loopback addresses nobody listens on.
    const addresses = [
      at(11),
      ...Array.from({ length: 999 }, (_, i) => `127.0.${68 + Math.floor(i / 250)}.${1 + (i % 250)}`),
    ];
    const evil = zone('evil.test', [
      ['@', 'NS', 'ns'],
      ...addresses.map((a): Line => ['ns', 'A', a]),
      ...cnames(tokens),
    ]);
    const world = await startWorld(
      { delegations: [['evil', 'NS', 'ns.evil']], zones: [evil], servers: { [at(11)]: authoritative([evil]) } },
      tokens,
    );

    const started = performance.now();
    const report = await world.check(easyDkimIdentity('evil.test', tokens));
    const elapsed = performance.now() - started;

    expect(report.health).toBe('UNKNOWN');
    const capped = report.findings.find((f) => f.message.includes('has 1000 IPv4 addresses'));
    expect(capped).toMatchObject({ code: 'LOOKUP_FAILED', severity: 'inconclusive', servers: ['ns.evil.test'] });
    expect(capped?.message).toContain('only 4 were checked (budget: 4 addresses of each family per nameserver)');
    for (const record of report.records) {
      expect(record.answers.filter((a) => a.view === 'authoritative')).toHaveLength(4);
    }
    expect(allCodes(report)).not.toContain('RECORD_MISSING');
    // Before the budget: 6,000 queries to 1,000 addresses (96 s with silent addresses and 2 s timeouts).
    expect(world.transport.stats.queries).toBeLessThanOrEqual(60);
    expect(elapsed).toBeLessThan(3000);
  });

  it('an NS target that is an IP address written as a name is a finding, never an address to query', async () => {
    const tokens = ['iptok1', 'iptok2', 'iptok3'];
    const ip = zone('ip.test', [
      ['@', 'NS', 'ns1'],
      ['@', 'NS', `${at(99)}.`],
      ['ns1', 'A', at(12)],
      ...cnames(tokens),
    ]);
    const world = await startWorld(
      {
        delegations: [
          ['ip', 'NS', 'ns1.ip'],
          ['ip', 'NS', `${at(99)}.`],
        ],
        zones: [ip],
        servers: { [at(12)]: authoritative([ip]), [at(99)]: authoritative([ip]) },
      },
      tokens,
    );

    const report = await world.check(easyDkimIdentity('ip.test', tokens));

    expect(world.server(at(99)).queries).toEqual([]);
    expect(report.findings.map((f) => [f.code, f.severity, f.servers])).toEqual([
      ['NAMESERVER_IP_LITERAL', 'warning', [at(99)]],
    ]);
    expect(report.findings[0]?.message).toContain(
      `The NS record ${at(99)} for ip.test is an IP address written as a host name`,
    );
    expect(report.health).toBe('HEALTHY');
    for (const record of report.records) {
      expect(record.answers.map((a) => a.server)).toEqual([
        `ns1.ip.test (${at(12)}:${PORT})`,
        `resolver ${at(53)}:${PORT}`,
      ]);
    }
  });

  it('a nameserver found only in the second round whose address lookup fails makes the identity UNKNOWN, naming it', async () => {
    const tokens = ['rdtok1', 'rdtok2', 'rdtok3'];
    const round = zone('round.test', [
      ['@', 'NS', 'ns1'],
      ['@', 'NS', 'ns2'],
      ['ns1', 'A', at(13)],
      ['ns2', 'A', at(14)],
      ...cnames(tokens),
    ]);
    const world = await startWorld(
      {
        delegations: [['round', 'NS', 'ns1.round']],
        zones: [round],
        servers: { [at(13)]: authoritative([round]) },
        // A resolver that still has only ns1 cached, and cannot find ns2's address.
        resolvers: [
          (honest) => (q) =>
            q.name === 'ns2.round.test'
              ? silence
              : q.name === 'round.test' && q.type === 'NS'
                ? answer({
                    type: 'response',
                    flags: 0x80,
                    answers: [{ name: 'round.test', type: 'NS', data: 'ns1.round.test' }],
                  })
                : honest(q),
        ],
      },
      tokens,
    );

    const report = await world.check(easyDkimIdentity('round.test', tokens));

    expect(report.health).toBe('UNKNOWN');
    const unchecked = report.findings.find((f) => f.servers.includes('ns2.round.test'));
    expect(unchecked).toMatchObject({ code: 'LOOKUP_FAILED', severity: 'inconclusive' });
    expect(unchecked?.message).toContain('Nameserver ns2.round.test is listed for round.test but was not checked');
  });

  it('a chain of servers each listing one more: the servers beyond the discovery rounds are named, not dropped', async () => {
    const tokens = ['chtok1', 'chtok2', 'chtok3'];
    // Server i serves a copy of the zone whose NS set is {ns<i>, ns<i+1>}: each round finds one more name.
    const copy = (i: number) =>
      zone('chain.test', [
        ['@', 'NS', `ns${i}`],
        ['@', 'NS', `ns${i + 1}`],
        ...[1, 2, 3, 4, 5].map((n): Line => [`ns${n}`, 'A', at(21 + n)]),
        ...cnames(tokens),
      ]);
    const world = await startWorld(
      {
        delegations: [['chain', 'NS', 'ns1.chain']],
        zones: [
          zone('chain.test', [
            ['@', 'NS', 'ns1'],
            ...[1, 2, 3, 4, 5].map((n): Line => [`ns${n}`, 'A', at(21 + n)]),
            ...cnames(tokens),
          ]),
        ],
        servers: Object.fromEntries([1, 2, 3, 4].map((i) => [at(21 + i), authoritative([copy(i)])])),
      },
      tokens,
    );

    const report = await world.check(easyDkimIdentity('chain.test', tokens));

    expect(report.health).toBe('UNKNOWN');
    expect(world.server(at(25)).queries).toEqual([]);
    const unchecked = report.findings.find((f) => f.servers.includes('ns4.chain.test'));
    expect(unchecked).toMatchObject({ code: 'LOOKUP_FAILED', severity: 'inconclusive' });
    expect(unchecked?.message).toContain('it was found only after 3 rounds of servers listing further servers');
  });

  it('an NXDOMAIN without the question section from the only nameserver is inconclusive, never RECORD_MISSING', async () => {
    const tokens = ['nxtok1', 'nxtok2', 'nxtok3'];
    const nx = zone('nx.test', [['@', 'NS', 'ns1'], ['ns1', 'A', at(15)], ...cnames(tokens)]);
    const honestNx = authoritative([nx]);
    const world = await startWorld(
      {
        delegations: [['nx', 'NS', 'ns1.nx']],
        zones: [nx],
        servers: {
          [at(15)]: (q) =>
            q.name.includes('_domainkey')
              ? answer({ type: 'response', flags: dnsPacket.AUTHORITATIVE_ANSWER | 3, questions: [] })
              : honestNx(q),
        },
      },
      tokens,
    );

    const report = await world.check(easyDkimIdentity('nx.test', tokens));

    expect(report.health).toBe('UNKNOWN');
    expect(allCodes(report)).not.toContain('RECORD_MISSING');
    for (const record of report.records) {
      expect(record.findings.map((f) => f.code)).toEqual(['LOOKUP_FAILED']);
      expect(record.findings[0]?.message).toContain('without the question section');
    }
  });

  it('a server that rejects EDNS is checked without it over UDP and TCP (a key too big for 512 bytes)', async () => {
    const byo = zone('byo.test', [
      ['@', 'NS', 'ns1'],
      ['ns1', 'A', at(16)],
      ['big._domainkey', 'TXT', `v=DKIM1; k=rsa; p=${fakeKey(1200, 9)}`],
    ]);
    const honestByo = authoritative([byo]);
    const world = await startWorld({
      delegations: [['byo', 'NS', 'ns1.byo']],
      zones: [byo],
      servers: { [at(16)]: (q) => (q.edns ? answer({ type: 'response', flags: 1 }) : honestByo(q)) },
    });

    const report = await world.check(byoDkimIdentity('byo.test', 'big'));

    expect(report.health).toBe('HEALTHY');
    const asked = world.server(at(16)).queries;
    expect(asked.filter((q) => q.over === 'tcp').length).toBeGreaterThan(0);
    // Only the first contact (the zone's NS and SOA, asked at once) carries EDNS; nothing after the FORMERR.
    const lastWithEdns = asked.map((q) => q.edns).lastIndexOf(true);
    expect(lastWithEdns).toBeLessThan(2);
    expect(asked.filter((q) => q.over === 'tcp').every((q) => !q.edns)).toBe(true);
  });

  it('a lying resolver that adds its own nameserver cannot hide a missing record: both are probed, and the disagreement is named', async () => {
    const tokens = ['lietok1', 'lietok2', 'lietok3'];
    const lie = zone('lie.test', [['@', 'NS', 'ns1'], ['ns1', 'A', at(17)], ...cnames(tokens).slice(0, 2)]);
    const perfect = zone('lie.test', [
      ['@', 'NS', 'ns1'],
      ['@', 'NS', 'ns-evil'],
      ['ns-evil', 'A', at(40)],
      ...cnames(tokens),
    ]);
    const world = await startWorld(
      {
        delegations: [['lie', 'NS', 'ns1.lie']],
        zones: [lie],
        servers: { [at(17)]: authoritative([lie]), [at(40)]: authoritative([perfect]) },
        resolvers: [
          (honest) => honest,
          (honest) => {
            const liar = omniscientResolver([perfect]);
            return (q) => (q.name.endsWith('lie.test') && !q.name.includes('_domainkey') ? liar(q) : honest(q));
          },
        ],
      },
      tokens,
    );

    const report = await world.check(easyDkimIdentity('lie.test', tokens));

    expect(report.health).toBe('AT_RISK');
    expect(world.server(at(40)).count()).toBeGreaterThan(0);
    const missing = report.records[2]?.findings.find((f) => f.code === 'RECORD_MISSING');
    expect(missing?.servers).toContain(`ns1.lie.test (${at(17)}:${PORT})`);
    const disagree = findingsOf(report, 'ZONE_SOURCES_DISAGREE');
    expect(disagree.map((f) => f.severity)).toEqual(expect.arrayContaining(['warning']));
    expect(disagree.some((f) => f.message.includes(`resolver ${at(53)}:${PORT} says ns1.lie.test`))).toBe(true);
    expect(
      disagree.some((f) => f.message.includes(`resolver ${at(54)}:${PORT} says ns-evil.lie.test and ns1.lie.test`)),
    ).toBe(true);
  });

  it("a resolver lying about an in-zone nameserver's address: the parent's glue is probed too, and the difference named", async () => {
    const tokens = ['gltok1', 'gltok2', 'gltok3'];
    const real = zone('glue.test', [['@', 'NS', 'ns1'], ['ns1', 'A', at(27)], ...cnames(tokens).slice(1)]);
    const perfect = zone('glue.test', [['@', 'NS', 'ns1'], ['ns1', 'A', at(41)], ...cnames(tokens)]);
    const world = await startWorld(
      {
        delegations: [
          ['glue', 'NS', 'ns1.glue'],
          ['ns1.glue', 'A', at(27)],
        ],
        zones: [real],
        servers: { [at(27)]: authoritative([real]), [at(41)]: authoritative([perfect]) },
        resolvers: [
          (honest) => {
            const liar = omniscientResolver([perfect]);
            return (q) => (q.name === 'ns1.glue.test' ? liar(q) : honest(q));
          },
        ],
      },
      tokens,
    );

    const report = await world.check(easyDkimIdentity('glue.test', tokens));

    expect(report.health).toBe('AT_RISK');
    expect(report.records[0]?.findings.find((f) => f.code === 'RECORD_MISSING')?.servers).toContain(
      `ns1.glue.test (${at(27)}:${PORT})`,
    );
    expect(world.server(at(41)).count()).toBeGreaterThan(0);
    const [disagree] = findingsOf(report, 'ZONE_SOURCES_DISAGREE');
    expect(disagree).toMatchObject({ severity: 'warning' });
    expect(disagree?.message).toContain(
      `Sources disagree about the addresses of ns1.glue.test: the parent's referral from ns.test (${PARENT}:${PORT}) says ${at(27)}; resolver ${at(53)}:${PORT} says ${at(41)}`,
    );
  });

  it('a resolver that places the zone cut elsewhere is a disagreement naming both, and the identity is never HEALTHY', async () => {
    const tokens = ['cuttok1', 'cuttok2', 'cuttok3'];
    const cut = zone('cut.test', [['@', 'NS', 'ns1'], ['ns1', 'A', at(18)], ...cnames(tokens)]);
    const fake = zone('_domainkey.cut.test', [
      ['@', 'NS', 'ns-evil.cut.test.'],
      ...tokens.map((t): Line => [t, 'CNAME', `${t}.${SIGNING_ZONE}.`]),
    ]);
    const world = await startWorld(
      {
        delegations: [['cut', 'NS', 'ns1.cut']],
        zones: [cut],
        servers: { [at(18)]: authoritative([cut]) },
        resolvers: [
          (honest) => {
            const liar = omniscientResolver([fake]);
            return (q) => (q.name === '_domainkey.cut.test' ? liar(q) : honest(q));
          },
          (honest) => honest,
        ],
      },
      tokens,
    );

    const report = await world.check(easyDkimIdentity('cut.test', tokens));

    expect(report.health).not.toBe('HEALTHY');
    const [disagree] = findingsOf(report, 'ZONE_SOURCES_DISAGREE');
    expect(disagree?.severity).toBe('inconclusive');
    expect(disagree?.message).toContain(
      `Sources disagree about the zone holding _domainkey.cut.test: resolver ${at(53)}:${PORT} says _domainkey.cut.test; resolver ${at(54)}:${PORT} says cut.test`,
    );
  });

  it('a resolver that only times out is not a disagreement', async () => {
    const tokens = ['tmtok1', 'tmtok2', 'tmtok3'];
    const quiet = zone('quiet.test', [['@', 'NS', 'ns1'], ['ns1', 'A', at(19)], ...cnames(tokens)]);
    const world = await startWorld(
      {
        delegations: [['quiet', 'NS', 'ns1.quiet']],
        zones: [quiet],
        servers: { [at(19)]: authoritative([quiet]) },
        resolvers: [(honest) => honest, () => () => silence],
      },
      tokens,
    );

    const report = await world.check(easyDkimIdentity('quiet.test', tokens));

    expect(allCodes(report)).not.toContain('ZONE_SOURCES_DISAGREE');
    expect(report.findings).toEqual([]);
    for (const record of report.records) {
      expect(record.findings.map((f) => [f.code, f.servers])).toEqual([
        ['LOOKUP_FAILED', [`resolver ${at(54)}:${PORT}`]],
      ]);
    }
  });

  it('an identity over its time budget is reported as such and does not delay the others', async () => {
    const tokens = ['tptok1', 'tptok2', 'tptok3'];
    const goodTokens = ['gdtok1', 'gdtok2', 'gdtok3'];
    const tarpit = zone('tarpit.test', [['@', 'NS', 'ns1'], ['ns1', 'A', at(20)], ...cnames(tokens)]);
    const good = zone('good.test', [['@', 'NS', 'ns1'], ['ns1', 'A', at(21)], ...cnames(goodTokens)]);
    const world = await startWorld(
      {
        delegations: [
          ['tarpit', 'NS', 'ns1.tarpit'],
          ['good', 'NS', 'ns1.good'],
        ],
        zones: [tarpit, good],
        servers: { [at(20)]: () => silence, [at(21)]: authoritative([good]) },
        budgets: { msPerIdentity: 400 },
        transport: { timeoutMs: 3000, attempts: 3 },
      },
      [...tokens, ...goodTokens],
    );
    const identities = [easyDkimIdentity('tarpit.test', tokens), easyDkimIdentity('good.test', goodTokens)];

    const started = performance.now();
    const { identities: reports } = await checkDkim(
      { listIdentities: async () => ({ identities, errors: [] }) },
      world.prober,
      { concurrency: 2 },
    );
    const elapsed = performance.now() - started;

    const byName = new Map(reports.map((r) => [r.identity, r]));
    expect(byName.get('good.test')?.health).toBe('HEALTHY');
    const slow = byName.get('tarpit.test') as IdentityReport;
    expect(slow.health).toBe('UNKNOWN');
    expect(allCodes(slow)).not.toContain('RECORD_MISSING');
    expect(
      slow.findings.some((f) => f.code === 'LOOKUP_FAILED' && f.message.includes('used its time budget of 400 ms')),
    ).toBe(true);
    expect(elapsed).toBeLessThan(1500);
  });

  it('a zone listing 30 nameservers: 24 are checked, the rest named, and the zone and identity stay within their query budgets', async () => {
    const tokens = ['mntok1', 'mntok2', 'mntok3'];
    const hosts = Array.from({ length: 30 }, (_, i) => `ns${String(i + 1).padStart(2, '0')}`);
    const many = zone('many.test', [
      ...hosts.map((h): Line => ['@', 'NS', h]),
      ...hosts.map((h, i): Line => [h, 'A', at(100 + i)]),
      ...cnames(tokens),
    ]);
    const world = await startWorld(
      {
        delegations: hosts.map((h): Line => ['many', 'NS', `${h}.many`]),
        zones: [many],
        servers: { [at(100)]: authoritative([many]) },
        budgets: { queriesPerZone: 40, queriesPerIdentity: 30 },
      },
      tokens,
    );

    const report = await world.check(easyDkimIdentity('many.test', tokens));

    expect(report.health).toBe('UNKNOWN');
    const overCap = report.findings.find((f) => f.message.includes('only 24 were checked'));
    expect(overCap?.servers).toEqual(hosts.slice(24).map((h) => `${h}.many.test`));
    expect(
      report.findings.some((f) => f.message.includes('the zone many.test used its budget of 40 DNS queries')),
    ).toBe(true);
    expect(
      report.findings.some((f) => f.message.includes('the identity many.test used its budget of 30 DNS queries')),
    ).toBe(true);
    expect(world.transport.stats.queries).toBeLessThanOrEqual(40 + 30);
    expect(allCodes(report)).not.toContain('RECORD_MISSING');
  });
});
