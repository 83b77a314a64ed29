import { describe, expect, it } from 'vitest';
import { sesClock } from '../../lambda/domain/lifecycle';

const NOW = Date.parse('2026-11-23T09:00:00.000Z');
const report = (sesStatus: string, extra: Record<string, string> = {}, signingEnabled = true) =>
  ({ sesStatus, signingEnabled, ...extra }) as Parameters<typeof sesClock>[0];

describe('sesClock (the CLI: the lifecycle clock without stored state)', () => {
  it('TEMPORARY_FAILURE: 5 days from SES last successful check', () => {
    expect(sesClock(report('TEMPORARY_FAILURE', { sesLastSuccess: '2026-11-20T02:12:51.000Z' }), NOW)).toEqual({
      kind: 'REVOCATION',
      clockStart: '2026-11-20T02:12:51.000Z',
      deadline: '2026-11-25T02:12:51.000Z',
      hoursLeft: 41.2,
      lengthHours: 120,
    });
  });

  it('TEMPORARY_FAILURE without a usable anchor: no invented deadline, only the clock length', () => {
    expect(sesClock(report('TEMPORARY_FAILURE'), NOW)).toEqual({ kind: 'REVOCATION', lengthHours: 120 });
    // A timestamp in the future (a skewed clock) is ignored, as the lifecycle ignores it.
    expect(sesClock(report('TEMPORARY_FAILURE', { sesLastSuccess: '2027-01-01T00:00:00.000Z' }), NOW)).toEqual({
      kind: 'REVOCATION',
      lengthHours: 120,
    });
  });

  it("PENDING: SES's 72-hour window from the setup start", () => {
    expect(sesClock(report('PENDING', { dkimSetupStartedAt: '2026-11-22T15:20:00.000Z' }), NOW)).toEqual(
      expect.objectContaining({ kind: 'SETUP', deadline: '2026-11-25T15:20:00.000Z', hoursLeft: 54.3 }),
    );
  });

  it('SUCCESS (SES has not noticed), FAILED (over) and signing off have no running clock', () => {
    expect(sesClock(report('SUCCESS', { sesLastSuccess: '2026-11-20T00:00:00.000Z' }), NOW)).toBeUndefined();
    expect(sesClock(report('FAILED'), NOW)).toBeUndefined();
    expect(sesClock(report('TEMPORARY_FAILURE', {}, false), NOW)).toBeUndefined();
  });

  it('follows the grace-period setting', () => {
    const settings = {
      graceDays: 3,
      reminderHours: [],
      confirmRuns: 2,
      confirmOnEveryServer: true,
      cannotVerifyRuns: 3,
      forgetAfterDays: 30,
      setupWindowHours: 72,
    };
    expect(
      sesClock(report('TEMPORARY_FAILURE', { sesLastSuccess: '2026-11-22T09:00:00.000Z' }), NOW, settings)?.hoursLeft,
    ).toBe(48);
  });
});
