import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DnsProber } from '../../lambda/adapters/dns/dkim-dns-prober';
import { DnsTransport } from '../../lambda/adapters/dns/dns-transport';
import type { Health } from '../../lambda/domain/assess-identity';
import { assessMailAuth, type MailAuthReport } from '../../lambda/domain/diagnose-mail-auth';
import { planMailAuthChecks } from '../../lambda/domain/expected-records';
import type { SesIdentity, SesMailFrom } from '../../lambda/domain/ses-identity';
import { type MailAuthWorld, mailFromIdentity, SES_MX, startMailAuthWorld } from '../support/mail-auth-world';

// Real knotd + unbound on 127.0.113.x; see test/support/mail-auth-world.ts for the zones.
const SUBNET = '127.0.113';
const PORT = 15513;

describe('MAIL FROM and DMARC checks against real knot servers and an unbound resolver', () => {
  let world: MailAuthWorld;
  let prober: DnsProber;

  beforeAll(async () => {
    world = await startMailAuthWorld(SUBNET, PORT);
    prober = new DnsProber(new DnsTransport({ timeoutMs: 300, attempts: 2 }), {
      resolvers: [world.resolver],
      authoritativePort: PORT,
    });
  });
  afterAll(async () => {
    await world?.stop();
  });

  async function check(identity: SesIdentity, dkimHealth: Health = 'HEALTHY'): Promise<MailAuthReport> {
    const plan = planMailAuthChecks(identity);
    return assessMailAuth(plan, identity, await prober.observeMailAuth(plan), dkimHealth);
  }
  const domain = (name: string, mailFrom: Partial<SesMailFrom> = {}) => mailFromIdentity(name, mailFrom);
  const codes = (part?: { findings: readonly { code: string }[] }) => (part?.findings ?? []).map((f) => f.code);
  const ns1 = (zone: string) => `ns1.${zone} (${SUBNET}.11:${PORT})`;
  const ns2 = (zone: string) => `ns2.${zone} (${SUBNET}.12:${PORT})`;
  const resolver = `resolver ${SUBNET}.53:${PORT}`;

  it('reports correct MX, SPF and DMARC records HEALTHY after asking both nameservers and the resolver', async () => {
    const report = await check(domain('good.test'));

    expect(codes(report.mailFrom)).toEqual([]);
    expect(report.mailFrom?.health).toBe('HEALTHY');
    expect(report.mailFrom?.records.map((r) => r.answers.map((a) => `${a.server}: ${a.values.join(', ')}`))).toEqual([
      [ns1('good.test'), ns2('good.test'), resolver].map((s) => `${s}: MX 10 ${SES_MX}`),
      [ns1('good.test'), ns2('good.test'), resolver].map((s) => `${s}: TXT "v=spf1 include:amazonses.com ~all"`),
    ]);
    expect(report.dmarc).toMatchObject({
      domain: 'good.test',
      recordName: '_dmarc.good.test',
      policy: 'reject',
      health: 'HEALTHY',
      findings: [],
    });
  });

  it('MAIL_FROM_MX_MISSING: names the servers and the exact MX to publish; p=none is information', async () => {
    const report = await check(domain('nomx.test'));

    const [missing] = report.mailFrom?.findings ?? [];
    expect(missing).toMatchObject({
      code: 'MAIL_FROM_MX_MISSING',
      severity: 'problem',
      servers: [ns1('nomx.test'), ns2('nomx.test'), resolver],
      fixes: [{ action: 'publish', name: 'mail.nomx.test', type: 'MX', value: `10 ${SES_MX}` }],
      dig: `dig @${SUBNET}.11 -p ${PORT} +norecurse +noall +answer +comments mail.nomx.test MX`,
    });
    expect(report.mailFrom?.health).toBe('AT_RISK');
    expect(report.dmarc?.findings.map((f) => [f.code, f.severity])).toEqual([['DMARC_POLICY_NONE', 'info']]);
    expect(report.dmarc?.health).toBe('HEALTHY');
  });

  it('MAIL_FROM_MX_MISMATCH for two MX records, and DMARC_MULTIPLE for two DMARC records', async () => {
    const report = await check(domain('twomx.test'));

    expect(codes(report.mailFrom)).toEqual(['MAIL_FROM_MX_MISMATCH']);
    const [mismatch] = report.mailFrom?.findings ?? [];
    expect(mismatch?.message).toContain('SES needs exactly one MX there: with several, its setup fails.');
    expect(mismatch?.fixes).toEqual([
      { action: 'remove', name: 'mail.twomx.test', type: 'MX', value: '20 mx.other.test' },
    ]);
    expect(codes(report.dmarc)).toEqual(['DMARC_MULTIPLE']);
    expect(report.dmarc?.policy).toBeUndefined();
    expect(report.dmarc?.health).toBe('AT_RISK');
  });

  it('MAIL_FROM_MX_MISMATCH for another region’s MX, MAIL_FROM_SPF_MISSING, and DMARC_MISSING', async () => {
    const report = await check(domain('wrongmx.test'));

    expect(codes(report.mailFrom)).toEqual(['MAIL_FROM_MX_MISMATCH', 'MAIL_FROM_SPF_MISSING']);
    expect(report.mailFrom?.findings[0]?.fixes).toEqual([
      { action: 'remove', name: 'mail.wrongmx.test', type: 'MX', value: '10 feedback-smtp.us-east-1.amazonses.com' },
      { action: 'publish', name: 'mail.wrongmx.test', type: 'MX', value: `10 ${SES_MX}` },
    ]);
    expect(report.mailFrom?.findings[1]?.fixes).toEqual([
      { action: 'publish', name: 'mail.wrongmx.test', type: 'TXT', value: 'v=spf1 include:amazonses.com ~all' },
    ]);
    expect(report.dmarc?.findings.map((f) => [f.code, f.severity, f.fixes?.[0]?.name])).toEqual([
      ['DMARC_MISSING', 'warning', '_dmarc.wrongmx.test'],
    ]);
  });

  it('MAIL_FROM_SPF_INVALID for a syntax error, and DMARC_INVALID for an unusable policy', async () => {
    const report = await check(domain('badspf.test'));

    expect(codes(report.mailFrom)).toEqual(['MAIL_FROM_SPF_INVALID']);
    expect(report.mailFrom?.findings[0]?.message).toContain('"ip4:192.0.2.300": not an IPv4 network');
    expect(report.dmarc?.findings.map((f) => [f.code, f.severity])).toEqual([['DMARC_INVALID', 'problem']]);
    expect(report.dmarc?.findings[0]?.message).toContain('Receivers apply no DMARC policy at all.');
  });

  it('MAIL_FROM_SPF_INVALID for two SPF records; DMARC_PCT_DEPRECATED as information', async () => {
    const report = await check(domain('twospf.test'));

    expect(codes(report.mailFrom)).toEqual(['MAIL_FROM_SPF_INVALID']);
    expect(report.mailFrom?.findings[0]?.message).toContain('has 2 SPF records');
    expect(report.mailFrom?.findings[0]?.fixes).toEqual([
      { action: 'remove', name: 'mail.twospf.test', type: 'TXT', value: 'v=spf1 mx -all' },
    ]);
    expect(report.dmarc?.findings.map((f) => [f.code, f.severity])).toEqual([['DMARC_PCT_DEPRECATED', 'info']]);
    expect(report.dmarc?.policy).toBe('quarantine');
  });

  it('MAIL_FROM_SPF_INVALID when the include chain needs more than 10 DNS lookups (followed through the resolver)', async () => {
    const report = await check(domain('longspf.test'));

    expect(codes(report.mailFrom)).toEqual(['MAIL_FROM_SPF_INVALID']);
    expect(report.mailFrom?.findings[0]?.message).toContain('needs more than 10 DNS lookups');
  });

  it('MAIL_FROM_SPF_INVALID for an include loop, without going round', async () => {
    const report = await check(domain('loopspf.test'));

    expect(codes(report.mailFrom)).toEqual(['MAIL_FROM_SPF_INVALID']);
    expect(report.mailFrom?.findings[0]?.message).toContain('loops back');
  });

  it('MAIL_FROM_SPF_MISMATCH for a valid SPF record that does not authorize SES', async () => {
    const report = await check(domain('noses.test'));

    expect(codes(report.mailFrom)).toEqual(['MAIL_FROM_SPF_MISMATCH']);
    expect(report.mailFrom?.findings[0]?.message).toContain('no include:amazonses.com before "all"');
  });

  it.each([
    ['FAILED', 'REJECT_MESSAGE', 'SES_MAIL_FROM_FAILED', 'REVOKED', 'fails with MailFromDomainNotVerified'],
    ['TEMPORARY_FAILURE', 'USE_DEFAULT_VALUE', 'SES_MAIL_FROM_TEMPORARY_FAILURE', 'FAILING', 'not aligned'],
    ['PENDING', 'USE_DEFAULT_VALUE', 'SES_MAIL_FROM_PENDING', 'PENDING', "SES's own MAIL FROM"],
  ] as const)('%s under %s: %s saying what SES does; health %s', async (status, behavior, code, health, says) => {
    const report = await check(domain('good.test', { status, behaviorOnMxFailure: behavior }));

    expect(codes(report.mailFrom)).toEqual([code]);
    expect(report.mailFrom?.health).toBe(health);
    expect(report.mailFrom?.findings[0]?.message).toContain(says);
  });

  it('SES_MAIL_FROM_FAILED gives the command to restart, shell-quoted', async () => {
    const report = await check(domain('good.test', { status: 'FAILED' }));

    expect(report.mailFrom?.findings[0]?.message).toContain(
      'aws sesv2 put-email-identity-mail-from-attributes --email-identity good.test --mail-from-domain mail.good.test --behavior-on-mx-failure USE_DEFAULT_VALUE --region eu-west-1',
    );
  });

  it('a server that never answers is inconclusive, never missing, and never healthy', async () => {
    const report = await check(domain('slow.test'));

    expect(report.mailFrom?.findings.map((f) => [f.code, f.severity, f.servers])).toEqual([
      ['LOOKUP_FAILED', 'inconclusive', [`ns2.slow.test (${SUBNET}.42:${PORT})`]],
      ['LOOKUP_FAILED', 'inconclusive', [`ns2.slow.test (${SUBNET}.42:${PORT})`]],
    ]);
    expect(report.mailFrom?.health).toBe('UNKNOWN');
  });

  it('the old provider still listed in the delegation: MX missing there only, another DMARC policy there', async () => {
    const report = await check(domain('stale.test'));

    const old = `ns-old.stale.test (${SUBNET}.22:${PORT})`;
    expect(report.mailFrom?.findings.map((f) => [f.code, f.servers])).toEqual([['MAIL_FROM_MX_MISSING', [old]]]);
    expect(report.mailFrom?.health).toBe('AT_RISK');
    expect(report.dmarc?.findings.map((f) => [f.code, f.severity, f.servers])).toEqual([
      ['DMARC_SERVERS_DISAGREE', 'warning', [old]],
    ]);
    expect(report.dmarc?.findings[0]?.fixes).toEqual([
      { action: 'remove', name: '_dmarc.stale.test', type: 'TXT', value: 'v=DMARC1; p=none' },
      { action: 'publish', name: '_dmarc.stale.test', type: 'TXT', value: 'v=DMARC1; p=reject' },
    ]);
    expect(report.dmarc?.policy).toBe('reject');
  });

  it('DMARC_WILL_FAIL: a subdomain identity with DKIM failing and no custom MAIL FROM, under the organizational sp=reject', async () => {
    const identity: SesIdentity = { ...domain('sub.org.test'), mailFrom: undefined };
    const report = await check(identity, 'FAILING');

    expect(report.mailFrom).toBeUndefined();
    expect(report.dmarc).toMatchObject({
      domain: 'sub.org.test',
      organizationalDomain: 'org.test',
      recordName: '_dmarc.org.test',
      policy: 'reject',
      health: 'AT_RISK',
    });
    const [willFail] = report.dmarc?.findings ?? [];
    expect(willFail).toMatchObject({ code: 'DMARC_WILL_FAIL', severity: 'problem' });
    expect(willFail?.message).toContain("it uses SES's own MAIL FROM domain, which never aligns");
    expect(willFail?.message).toContain('receivers reject it (sp=reject of _dmarc.org.test)');
    expect(report.dmarc?.records.map((r) => r.name)).toEqual(['_dmarc.sub.org.test', '_dmarc.org.test']);
  });

  it('DMARC_WILL_FAIL is not raised while DKIM is healthy, nor when the MAIL FROM domain aligns', async () => {
    const healthy = await check({ ...domain('sub.org.test'), mailFrom: undefined }, 'HEALTHY');
    const aligned = await check(domain('good.test'), 'REVOKED');

    expect(codes(healthy.dmarc)).not.toContain('DMARC_WILL_FAIL');
    expect(codes(aligned.dmarc)).not.toContain('DMARC_WILL_FAIL');
  });

  it('follows a `_dmarc` CNAME to a DMARC provider through the resolver', async () => {
    const report = await check({ ...domain('cname.org.test'), mailFrom: undefined });

    expect(report.dmarc).toMatchObject({
      recordName: '_dmarc.cname.org.test',
      policy: 'quarantine',
      health: 'HEALTHY',
    });
  });

  it('plans nothing for a check that is turned off', async () => {
    const identity = domain('good.test');
    const plan = planMailAuthChecks(identity, { checkMailFrom: false, checkDmarc: false });
    const observed = await prober.observeMailAuth(plan);

    expect(plan).toEqual({});
    expect(observed.lookups.size).toBe(0);
  });
});
