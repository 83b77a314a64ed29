import { describe, expect, it } from 'vitest';
import { renderText, toJsonReport } from '../../lambda/domain/render-report';
import { withMailAuth } from '../support/mail-auth-reports';
import { reportFor } from '../support/reports';

const NOW = Date.parse('2026-11-23T09:00:00.000Z');

describe('renderText: SES status, clock and restart in the CLI', () => {
  it('a FAILED BYODKIM identity gets the restart command that keeps its origin, on a line of its own', () => {
    const report = { ...reportFor('byo.example', { ses: 'FAILED', dns: 'missing' }), signingOrigin: 'EXTERNAL' };
    const text = renderText([report], [], { colour: false, width: 100, now: NOW });

    expect(text).toContain('SES DKIM status: FAILED (SES does not sign: the setup was revoked or failed)');
    expect(text).toMatch(
      /\n +\$ aws sesv2 put-email-identity-dkim-signing-attributes --email-identity byo\.example --signing-attributes-origin EXTERNAL /,
    );
    expect(text.split('\n').filter((l) => l.length > 100 && !l.trimStart().startsWith('$ '))).toEqual([]);
  });

  it('SUCCESS with a broken record: no deadline, "SES has not noticed yet"', () => {
    const report = reportFor('a.example', { ses: 'SUCCESS', dns: 'typo', lastSuccess: '2026-11-23T08:00:00.000Z' });
    const text = renderText([report], [], { colour: false, now: NOW }).replace(/\s+/g, ' ');

    expect(text).toContain('SES has not noticed yet and still signs');
    expect(text).not.toContain('hours left');
    expect(toJsonReport([report], [], NOW).identities[0]?.ses).toEqual(
      expect.objectContaining({ status: 'SUCCESS', clock: 'not-started' }),
    );
  });

  it('TEMPORARY_FAILURE without a last-success time: the clock length, no invented deadline', () => {
    const report = reportFor('b.example', { ses: 'TEMPORARY_FAILURE', dns: 'typo' });
    const text = renderText([report], [], { colour: false, now: NOW }).replace(/\s+/g, ' ');

    expect(text).toContain('it may revoke DKIM at most 120 hours after it stopped signing');
    expect(toJsonReport([report], [], NOW).identities[0]?.ses).toEqual(
      expect.objectContaining({ clock: 'running', clockLengthHours: 120 }),
    );
    expect(toJsonReport([report], [], NOW).identities[0]?.ses?.deadline).toBeUndefined();
  });

  it('lists causes before the detail', () => {
    const text = renderText([reportFor('c.example', { ses: 'SUCCESS', dns: 'missing' })], [], {
      colour: false,
      now: NOW,
    });

    expect(text.indexOf('Cause (fix first):')).toBeGreaterThan(0);
    expect(text.indexOf('Cause (fix first):')).toBeLessThan(text.indexOf('Details:'));
  });
});

describe('renderText: the MAIL FROM and DMARC parts', () => {
  it('puts a MAIL FROM line and a DMARC line after the DKIM part, with their findings, fixes and digs indented', () => {
    const report = withMailAuth(reportFor('example.com', { ses: 'SUCCESS', dns: 'ok' }), {
      mailFrom: { ses: 'TEMPORARY_FAILURE', dns: 'mx-missing' },
      dmarc: 'none',
    });

    const text = renderText([report], [], { colour: false, width: 100, now: NOW });
    const lines = text.split('\n');

    const mailFrom = lines.indexOf('    MAIL FROM mail.example.com: SES TEMPORARY_FAILURE, USE_DEFAULT_VALUE, FAILING');
    const dmarc = lines.indexOf('    DMARC _dmarc.example.com p=none: HEALTHY');
    expect(mailFrom).toBeGreaterThan(lines.findIndex((l) => l.startsWith('    Records:')));
    expect(dmarc).toBeGreaterThan(mailFrom);
    expect(lines.slice(mailFrom + 1, dmarc).join('\n')).toMatch(/^ {6}- SES_MAIL_FROM_TEMPORARY_FAILURE: /m);
    expect(lines.slice(mailFrom + 1, dmarc).join('\n')).toMatch(/^ {6}- MAIL_FROM_MX_MISSING: /m);
    expect(lines.slice(mailFrom + 1, dmarc)).toContain(
      '        publish  mail.example.com  MX  10 feedback-smtp.eu-west-1.amazonses.com',
    );
    expect(lines.slice(mailFrom + 1, dmarc).some((l) => /^ {8}\$ dig .*mail\.example\.com MX$/.test(l))).toBe(true);
    expect(lines.slice(dmarc + 1).join('\n')).toMatch(/^ {6}- DMARC_POLICY_NONE: /m);
    expect(lines.filter((l) => l.length > 100 && !l.trimStart().startsWith('$ '))).toEqual([]);
    expect(lines.at(-1)).toBe('1 identity checked: 1 HEALTHY; MAIL FROM: 1 FAILING; DMARC: 1 HEALTHY');
    expect(toJsonReport([report], [], NOW).identities[0]).toMatchObject({
      mailFrom: { domain: 'mail.example.com', health: 'FAILING' },
      dmarc: { policy: 'none', health: 'HEALTHY' },
    });
  });

  it('colours the health word of each part like the identity health; no part, no line', () => {
    const report = withMailAuth(reportFor('example.com', { ses: 'SUCCESS', dns: 'ok' }), { dmarc: 'multiple' });

    const text = renderText([report], [], { colour: true, width: 100 });

    expect(text).not.toContain('MAIL FROM');
    expect(text).toContain('DMARC _dmarc.example.com no policy: \u001b[31mAT_RISK\u001b[0m');
  });
});
