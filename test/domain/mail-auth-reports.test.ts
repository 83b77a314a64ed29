import { describe, expect, it } from 'vitest';
import { withMailAuth } from '../support/mail-auth-reports';
import { reportFor } from '../support/reports';

// The fixture builder the lifecycle timelines use: its sections come from the real diagnosis.
describe('withMailAuth (fixture for timelines with MAIL FROM and DMARC sections)', () => {
  const codes = (findings?: readonly { code: string }[]) => (findings ?? []).map((f) => f.code);

  it('MAIL FROM breaks while DKIM is fine: its own FAILING health, DKIM untouched', () => {
    const dkim = reportFor('example.com', { ses: 'SUCCESS', dns: 'ok' });
    const report = withMailAuth(dkim, { mailFrom: { ses: 'TEMPORARY_FAILURE', dns: 'mx-missing' }, dmarc: 'reject' });

    expect(report.health).toBe('HEALTHY');
    expect(report.findings).toEqual(dkim.findings);
    expect(report.mailFrom?.health).toBe('FAILING');
    expect(codes(report.mailFrom?.findings)).toEqual(['SES_MAIL_FROM_TEMPORARY_FAILURE', 'MAIL_FROM_MX_MISSING']);
    expect(report.dmarc).toMatchObject({ policy: 'reject', health: 'HEALTHY', findings: [] });
  });

  it('both break: DKIM failing and MAIL FROM not aligned make DMARC_WILL_FAIL a problem under p=reject', () => {
    const report = withMailAuth(reportFor('example.com', { ses: 'TEMPORARY_FAILURE', dns: 'missing' }), {
      mailFrom: { ses: 'TEMPORARY_FAILURE', dns: 'mx-missing', behavior: 'REJECT_MESSAGE' },
      dmarc: 'reject',
    });

    expect(report.health).toBe('FAILING');
    expect(report.mailFrom?.findings[0]?.message).toContain('MailFromDomainNotVerified');
    expect(report.dmarc?.findings.map((f) => [f.code, f.severity])).toEqual([['DMARC_WILL_FAIL', 'problem']]);
    expect(report.dmarc?.health).toBe('AT_RISK');
  });

  it.each([
    ['stale', 'AT_RISK', ['MAIL_FROM_MX_MISSING']],
    ['timeout', 'UNKNOWN', ['LOOKUP_FAILED']],
    ['mx-several', 'AT_RISK', ['MAIL_FROM_MX_MISMATCH']],
    ['spf-missing', 'AT_RISK', ['MAIL_FROM_SPF_MISSING']],
    ['ok', 'HEALTHY', []],
  ] as const)('MAIL FROM dns %s: health %s, codes %j', (dns, health, expected) => {
    const report = withMailAuth(reportFor('example.com', { ses: 'SUCCESS', dns: 'ok' }), {
      mailFrom: { ses: 'SUCCESS', dns },
    });
    expect(report.mailFrom?.health).toBe(health);
    expect(codes(report.mailFrom?.findings)).toEqual(expected);
    expect(report.dmarc).toBeUndefined();
  });

  it.each([
    ['none', 'HEALTHY', ['DMARC_POLICY_NONE']],
    ['missing', 'HEALTHY', ['DMARC_MISSING']],
    ['multiple', 'AT_RISK', ['DMARC_MULTIPLE']],
    ['invalid', 'AT_RISK', ['DMARC_INVALID']],
    ['timeout', 'UNKNOWN', ['LOOKUP_FAILED']],
  ] as const)('DMARC %s: health %s, codes %j', (dmarc, health, expected) => {
    const report = withMailAuth(reportFor('example.com', { ses: 'SUCCESS', dns: 'ok' }), { dmarc });
    expect(report.mailFrom).toBeUndefined();
    expect(report.dmarc?.health).toBe(health);
    expect(codes(report.dmarc?.findings)).toEqual(expected);
  });
});
