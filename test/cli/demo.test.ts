import { describe, expect, it } from 'vitest';
import { runEntryPoint } from '../support/run-entry-point';

describe('npm run demo', () => {
  it('diagnoses every bundled scenario offline, with the JSON the CLI prints', async () => {
    const { code, stdout, stderr } = await runEntryPoint('demo', ['--json']);

    expect(stderr).toContain('ses-dkim-sentinel demo');
    expect(code).toBe(0);
    // stdout is the JSON alone: the banner went to stderr.
    const report = JSON.parse(stdout) as {
      identities: {
        identity: string;
        region: string;
        health: string;
        records: { findings: { code: string; message: string }[]; answers: { view: string; rcode: string }[] }[];
        findings: { code: string; message: string }[];
        causes: { code: string; summary: string; fix: string; records: string[]; servers: string[] }[];
        ses?: { status: string; clock: string; deadline?: string; hoursLeft?: number };
        mailFrom?: { domain: string; sesStatus: string; health: string; findings: { code: string }[] };
        dmarc?: { recordName?: string; policy?: string; health: string; findings: { code: string }[] };
      }[];
    };
    const byName = (name: string, region = 'eu-west-1') =>
      report.identities.find((i) => i.identity === name && i.region === region);
    const recordCodes = (name: string) => byName(name)?.records.map((r) => r.findings.map((f) => f.code));

    expect(report.identities.map((i) => `${i.identity}/${i.region} ${i.health}`).sort()).toEqual([
      'appended.example/eu-west-1 AT_RISK',
      'byodkim.example/eu-west-1 HEALTHY',
      'doubled.example/eu-west-1 AT_RISK',
      'healthy.example/eu-west-1 HEALTHY',
      'healthy.example/us-east-1 HEALTHY',
      'migrated.example/eu-west-1 FAILING',
      'moved.example/eu-west-1 FAILING',
      'news@healthy.example/eu-west-1 HEALTHY',
      'newsletter.example/eu-west-1 HEALTHY',
      'proxied.example/eu-west-1 AT_RISK',
      'shop.example/eu-west-1 HEALTHY',
      'swapped.example/eu-west-1 AT_RISK',
      'typo.example/eu-west-1 FAILING',
      'underscore.example/eu-west-1 AT_RISK',
    ]);
    // Incident 1: only the mistyped record.
    expect(recordCodes('typo.example')).toEqual([[], [], ['RECORD_MISMATCH']]);
    // Incident 2: each record, every server named, and SES's own SOA pointing at the stale server.
    for (const codes of recordCodes('moved.example') ?? []) expect(codes).toContain('NAMESERVERS_DISAGREE');
    const disagree = byName('moved.example')?.records[0]?.findings.find((f) => f.code === 'NAMESERVERS_DISAGREE');
    expect(disagree?.message).toMatch(
      /ns1\.provider-b\.example .* says CNAME .*; ns-old\.legacy-dns\.example .* says NXDOMAIN/,
    );
    expect(byName('moved.example')?.findings.find((f) => f.code === 'SES_DKIM_TEMPORARY_FAILURE')?.message).toContain(
      'SES is reading a server with different data',
    );
    // A move with DNSSEC on: the registrar's DS is the old provider's. One zone-level finding names it; the
    // validating resolvers' SERVFAIL is that fault, not an inconclusive lookup.
    expect(recordCodes('migrated.example')).toEqual([[], [], []]);
    const dsMismatch = byName('migrated.example')?.findings.filter((f) => f.code === 'DNSSEC_DS_MISMATCH') ?? [];
    expect(dsMismatch).toHaveLength(1);
    expect(dsMismatch[0]?.message).toMatch(
      /designates key \d+ \(algorithm 13\), but no server of the zone publishes that key: ns1\.provider-a\.example .* publishes key \d+/,
    );
    expect(dsMismatch[0]?.message).toContain('remove the DS record');
    expect(
      byName('migrated.example')?.findings.find((f) => f.code === 'SES_DKIM_TEMPORARY_FAILURE')?.message,
    ).toContain('Fix the DNSSEC problem listed here');
    for (const record of byName('migrated.example')?.records ?? []) {
      expect(record.answers.map((a) => `${a.view} ${a.rcode}`)).toEqual([
        'authoritative NOERROR',
        'authoritative NOERROR',
        'public SERVFAIL',
        'public SERVFAIL',
      ]);
    }
    expect(recordCodes('proxied.example')?.[0]).toEqual(['RECORD_PROXIED']);
    expect(recordCodes('doubled.example')?.[0]).toEqual(['DOUBLED_DOMAIN']);

    // One root cause per incident, with one fix.
    const moved = byName('moved.example');
    expect(moved?.causes.map((c) => c.code)).toEqual(['STALE_NAMESERVER']);
    expect(moved?.causes[0]?.summary).toMatch(/^ns-old\.legacy-dns\.example .* serves an older copy of the zone/);
    expect(moved?.causes[0]?.fix).toMatch(/^Remove ns-old\.legacy-dns\.example from the registrar's NS list/);
    expect(moved?.causes[0]?.records).toHaveLength(3);
    expect(byName('typo.example')?.causes.map((c) => c.code)).toEqual(['VALUE_TYPO']);
    // The deadline, anchored on SES's last success and the demo's fixed clock.
    expect(moved?.ses).toEqual(
      expect.objectContaining({
        status: 'TEMPORARY_FAILURE',
        clock: 'running',
        deadline: '2026-11-25T02:12:51.000Z',
        hoursLeft: 41.2,
      }),
    );
    expect(byName('proxied.example')?.ses).toEqual(
      expect.objectContaining({ status: 'SUCCESS', clock: 'not-started' }),
    );
    expect(byName('proxied.example')?.ses?.deadline).toBeUndefined();
    // Near misses: what was found where.
    for (const name of ['underscore.example', 'appended.example', 'swapped.example']) {
      expect(byName(name)?.causes[0]?.code).toBe('MISNAMED_RECORD');
    }
    expect(byName('underscore.example')?.causes[0]?.summary).toContain('.domainkey.underscore.example holds CNAME');
    expect(byName('swapped.example')?.causes).toHaveLength(1);

    // MAIL FROM: the custom domain that lost its MX (DKIM fine), and one set up right.
    expect(byName('newsletter.example')?.mailFrom).toMatchObject({
      domain: 'mail.newsletter.example',
      sesStatus: 'TEMPORARY_FAILURE',
      health: 'FAILING',
    });
    expect(byName('newsletter.example')?.mailFrom?.findings.map((f) => f.code)).toEqual([
      'SES_MAIL_FROM_TEMPORARY_FAILURE',
      'MAIL_FROM_MX_MISSING',
    ]);
    expect(byName('shop.example')?.mailFrom).toMatchObject({ domain: 'bounce.shop.example', health: 'HEALTHY' });
    expect(byName('shop.example')?.mailFrom?.findings).toEqual([]);
    expect(report.identities.filter((i) => i.mailFrom).map((i) => i.identity)).toEqual([
      'newsletter.example',
      'shop.example',
    ]);
    // DMARC: every domain publishes a policy; SES no longer signing for typo.example means p=reject rejects.
    const dmarcCodes = report.identities.flatMap((i) => i.dmarc?.findings.map((f) => f.code) ?? []);
    expect(dmarcCodes).not.toContain('DMARC_MISSING');
    expect(byName('typo.example')?.dmarc).toMatchObject({ policy: 'reject', health: 'AT_RISK' });
    expect(byName('typo.example')?.dmarc?.findings.map((f) => f.code)).toEqual(['DMARC_WILL_FAIL']);
    expect(byName('byodkim.example')?.dmarc).toMatchObject({ policy: 'none', health: 'HEALTHY' });
    expect(byName('byodkim.example')?.dmarc?.findings.map((f) => f.code)).toEqual(['DMARC_POLICY_NONE']);
    expect(byName('healthy.example')?.dmarc).toMatchObject({
      recordName: '_dmarc.healthy.example',
      policy: 'reject',
      health: 'HEALTHY',
      findings: [],
    });
  });

  it('prints text with no line over 120 characters except suggested commands', async () => {
    const { code, stdout } = await runEntryPoint('demo', []);

    expect(code).toBe(0);
    const long = stdout.split('\n').filter((l) => l.length > 120 && !l.trimStart().startsWith('$ '));
    expect(long).toEqual([]);
    expect(stdout.replace(/\s+/g, ' ')).toContain('it may revoke DKIM by 2026-11-25T02:12:51.000Z: 41.2 hours left.');
    expect(stdout).toMatch(/found: +m4n5b6v7c89xz0/);
    expect(stdout).toMatch(/\n {30,}\^\^\n/);
    expect(stdout).toContain(
      '    MAIL FROM mail.newsletter.example: SES TEMPORARY_FAILURE, USE_DEFAULT_VALUE, FAILING\n',
    );
    expect(stdout).toContain('    MAIL FROM bounce.shop.example: SES SUCCESS, REJECT_MESSAGE, HEALTHY\n');
    expect(stdout).toContain('    DMARC _dmarc.byodkim.example p=none: HEALTHY\n');
  });
});
