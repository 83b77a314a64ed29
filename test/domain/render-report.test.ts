import { describe, expect, it } from 'vitest';
import { renderText, toJsonReport } from '../../lambda/domain/render-report';
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
