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
      'proxied.example/eu-west-1 AT_RISK',
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
  });

  it('prints text with no line over 120 characters except suggested commands', async () => {
    const { code, stdout } = await runEntryPoint('demo', []);

    expect(code).toBe(0);
    const long = stdout.split('\n').filter((l) => l.length > 120 && !l.trimStart().startsWith('$ '));
    expect(long).toEqual([]);
    expect(stdout.replace(/\s+/g, ' ')).toContain('it may revoke DKIM by 2026-11-25T02:12:51.000Z: 41.2 hours left.');
    expect(stdout).toMatch(/found: +m4n5b6v7c89xz0/);
    expect(stdout).toMatch(/\n {30,}\^\^\n/);
  });
});
