import dnsPacket, { type Answer } from 'dns-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { zone } from '../../bin/demo/in-process-dns';
import { DnsProber } from '../../lambda/adapters/dns/dkim-dns-prober';
import { DnsTransport } from '../../lambda/adapters/dns/dns-transport';
import { assessMailAuth } from '../../lambda/domain/diagnose-mail-auth';
import { planMailAuthChecks } from '../../lambda/domain/expected-records';
import { SPF_LOOKUP_LIMIT } from '../../lambda/domain/spf';
import {
  answer,
  authoritative,
  HostileDnsServer,
  type HostileScript,
  omniscientResolver,
} from '../support/hostile-dns-server';
import { mailFromIdentity } from '../support/mail-auth-world';

// Scripted in-process servers on 127.0.115.x: a MAIL FROM domain whose records are built to cause work.
const SUBNET = '127.0.115';
const PORT = 15515;
const at = (host: number) => `${SUBNET}.${host}`;
const CHAIN = /^n(\d+)\.chain\.hostile\.test$/;

/** Hostile data on top of an honest script: hundreds of MX and TXT records, an SPF chain that never ends. */
function hostile(honest: HostileScript, flags: number): HostileScript {
  return (q) => {
    const name = q.name.toLowerCase();
    const respond = (answers: Answer[]) => answer({ type: 'response', flags, answers });
    if (name === 'mail.hostile.test' && q.type === 'MX') {
      return respond(
        Array.from({ length: 300 }, (_, i) => ({
          name,
          type: 'MX',
          ttl: 300,
          data: { preference: i, exchange: `mx${i}.hostile.test` },
        })),
      );
    }
    if (name === 'mail.hostile.test' && q.type === 'TXT') {
      // 400 verification tokens, then the one SPF record: it must not be pushed out and read as missing.
      const junk = Array.from({ length: 400 }, (_, i) => `verification-token-${i}=${'x'.repeat(20)}`);
      return respond(
        [...junk, 'v=spf1 include:amazonses.com include:n0.chain.hostile.test ~all'].map((t) => ({
          name,
          type: 'TXT',
          ttl: 300,
          data: [t],
        })),
      );
    }
    const chain = name.match(CHAIN);
    if (chain && q.type === 'TXT') {
      // Every record includes ten fresh names: followed blindly, this never ends.
      const next = Array.from({ length: 10 }, (_, i) => `include:n${Number(chain[1]) * 10 + i + 1}.chain.hostile.test`);
      const record = `v=spf1 ${next.join(' ')} -all`;
      return respond([{ name, type: 'TXT', ttl: 300, data: record.match(/.{1,255}/g) ?? [] }]);
    }
    return honest(q);
  };
}

describe('MAIL FROM and DMARC checks against hostile data', () => {
  const servers: HostileDnsServer[] = [];
  let resolver: HostileDnsServer;
  let prober: DnsProber;
  let transport: DnsTransport;

  beforeAll(async () => {
    const parent = zone('test', [
      ['@', 'NS', 'ns'],
      ['ns', 'A', at(1)],
      ['hostile', 'NS', 'ns.hostile'],
      ['ns.hostile', 'A', at(11)],
    ]);
    const child = zone('hostile.test', [
      ['@', 'NS', 'ns'],
      ['ns', 'A', at(11)],
      ['_dmarc', 'TXT', `v=DMARC1; p=reject; rua=${'mailto:a@hostile.test,'.repeat(1000)}`],
    ]);
    const amazonses = zone('amazonses.com', [['@', 'TXT', 'v=spf1 ip4:199.255.192.0/22 -all']]);
    servers.push(await HostileDnsServer.start(at(1), PORT, authoritative([parent])));
    servers.push(
      await HostileDnsServer.start(at(11), PORT, hostile(authoritative([child]), dnsPacket.AUTHORITATIVE_ANSWER)),
    );
    resolver = await HostileDnsServer.start(
      at(53),
      PORT,
      hostile(omniscientResolver([parent, child, amazonses]), dnsPacket.RECURSION_AVAILABLE),
    );
    servers.push(resolver);
    transport = new DnsTransport({ timeoutMs: 300, attempts: 2 });
    prober = new DnsProber(transport, { resolvers: [{ address: at(53), port: PORT }], authoritativePort: PORT });
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()));
  });

  it('bounds the work: 300 MX, 401 TXT records and an endless include chain end as findings, within budget', async () => {
    const identity = mailFromIdentity('hostile.test');
    const plan = planMailAuthChecks(identity);
    const started = performance.now();
    const report = assessMailAuth(plan, identity, await prober.observeMailAuth(plan), 'HEALTHY');

    expect(performance.now() - started).toBeLessThan(5000);
    const chainQueries = resolver.queries.filter((q) => CHAIN.test(q.name.toLowerCase()));
    expect(new Set(chainQueries.map((q) => q.name)).size).toBeLessThanOrEqual(SPF_LOOKUP_LIMIT);
    expect(transport.stats.queries).toBeLessThan(200);
    expect(report.mailFrom?.findings.map((f) => f.code)).toEqual(['MAIL_FROM_MX_MISMATCH', 'MAIL_FROM_SPF_INVALID']);
    expect(report.mailFrom?.findings[1]?.message).toContain('needs more than 10 DNS lookups');
    for (const record of report.mailFrom?.records ?? []) {
      for (const a of record.answers) expect(a.values.length).toBeLessThanOrEqual(32);
    }
    const mx = report.mailFrom?.findings[0];
    expect(mx?.message.length).toBeLessThan(1000);
    expect(mx?.message).toContain('(32 records seen)');
    expect(mx?.fixes).toHaveLength(33);
  });

  it('a DMARC record far over any real size is reported unparsed, not read', async () => {
    const identity = mailFromIdentity('hostile.test');
    const plan = planMailAuthChecks(identity, { checkMailFrom: false });
    const report = assessMailAuth(plan, identity, await prober.observeMailAuth(plan), 'REVOKED');

    expect(report.dmarc?.findings.map((f) => [f.code, f.severity])).toEqual([['DMARC_INVALID', 'problem']]);
    expect(report.dmarc?.findings[0]?.message).toContain('characters long; over 2048 it is not parsed');
    expect(report.dmarc?.findings[0]?.message.length).toBeLessThan(1000);
  });
});
