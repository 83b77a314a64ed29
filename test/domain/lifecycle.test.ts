import { describe, expect, it } from 'vitest';
import type { IdentityReport } from '../../lambda/domain/assess-identity';
import {
  DEFAULT_LIFECYCLE,
  decide,
  hoursLeft,
  type IdentityState,
  observeReport,
  type RunObservation,
} from '../../lambda/domain/lifecycle';

const T = Date.parse('2026-11-23T00:00:00Z');
const HOUR = 3_600_000;
const IDENTITY = { identity: 'example.com', region: 'eu-west-1' };

const obs = (kind: RunObservation['kind'], extra: Partial<RunObservation> = {}): RunObservation => ({
  kind,
  health:
    kind === 'BAD'
      ? 'AT_RISK'
      : kind === 'INCONCLUSIVE'
        ? 'UNKNOWN'
        : kind === 'GOOD'
          ? 'HEALTHY'
          : kind === 'NEUTRAL_PENDING'
            ? 'PENDING'
            : 'DISABLED',
  sesStatus: 'SUCCESS',
  fingerprint: kind === 'BAD' ? 'missing-tok1' : '00000000',
  onEveryServer: kind === 'BAD',
  ...extra,
});

/** Run the lifecycle hourly over a timeline (hour → observation; the previous one holds until changed). */
function simulate(timeline: Record<number, RunObservation>, lastHour: number, settings = DEFAULT_LIFECYCLE) {
  let state: IdentityState | undefined;
  const sent: string[] = [];
  let current = timeline[0] ?? obs('GOOD');
  for (let hour = 0; hour <= lastHour; hour++) {
    current = timeline[hour] ?? current;
    const result = decide(state, IDENTITY, current, T + hour * HOUR, settings);
    for (const n of result.notifications) sent.push(`${hour}h ${n.stage}${n.threshold ? ` ${n.threshold}` : ''}`);
    // The caller acknowledges what it sent.
    state = { ...result.state, pending: [] };
  }
  return { sent, state };
}

describe('the alert lifecycle', () => {
  it('a record deleted while SES still says SUCCESS: DETECTED, reminders at 72, 24 and 6 hours, EXPIRED, nothing else', () => {
    const { sent, state } = simulate({ 0: obs('GOOD'), 1: obs('BAD') }, 24 * 8);

    expect(sent).toEqual(['1h DETECTED', '49h REMINDER 72', '97h REMINDER 24', '115h REMINDER 6', '121h EXPIRED']);
    expect(state?.incident?.deadline).toBe(new Date(T + 121 * HOUR).toISOString());
    expect(state?.lastNotified).toEqual({ stage: 'EXPIRED', at: new Date(T + 121 * HOUR).toISOString() });
  });

  it('the record restored in between: exactly one RESOLVED and no more reminders', () => {
    const { sent } = simulate({ 0: obs('GOOD'), 1: obs('BAD'), 60: obs('GOOD') }, 24 * 8);

    expect(sent).toEqual(['1h DETECTED', '49h REMINDER 72', '60h RESOLVED']);
  });

  it('one run where a nameserver timed out: no alert at all', () => {
    expect(simulate({ 0: obs('GOOD'), 5: obs('INCONCLUSIVE'), 6: obs('GOOD') }, 48).sent).toEqual([]);
  });

  it('waits for a second run when the problem is not on every server', () => {
    const partial = obs('BAD', { onEveryServer: false });

    expect(simulate({ 0: partial, 1: obs('GOOD') }, 3).sent).toEqual([]);
    expect(simulate({ 0: partial }, 3).sent).toEqual(['1h DETECTED']);
    expect(simulate({ 0: partial, 1: obs('BAD', { onEveryServer: false, fingerprint: 'other' }) }, 1).sent).toEqual([]);
  });

  it('an inconclusive run between two bad ones still confirms, and does not reset the deadline', () => {
    const partial = obs('BAD', { onEveryServer: false });
    const { sent, state } = simulate({ 0: partial, 1: obs('INCONCLUSIVE'), 2: partial }, 2);

    expect(sent).toEqual(['2h DETECTED']);
    expect(state?.incident?.openedAt).toBe(new Date(T).toISOString());
  });

  it('takes SES TEMPORARY_FAILURE as confirmation, and starts the clock at its last success when earlier', () => {
    const lastSuccess = new Date(T - 30 * HOUR).toISOString();
    const failing = obs('BAD', {
      health: 'FAILING',
      sesStatus: 'TEMPORARY_FAILURE',
      onEveryServer: false,
      lastSuccess,
    });
    const { sent, state } = simulate({ 0: failing }, 0);

    expect(sent).toEqual(['0h DETECTED']);
    expect(state?.incident?.deadline).toBe(new Date(T - 30 * HOUR + 120 * HOUR).toISOString());
    expect(hoursLeft(state?.incident, T)).toBe(90);
    expect(state?.incident?.remindersSent).toEqual([]);
  });

  it('detected late: thresholds already passed are not reminded, the next one is', () => {
    const lastSuccess = new Date(T - 100 * HOUR).toISOString();
    const failing = obs('BAD', { health: 'FAILING', sesStatus: 'TEMPORARY_FAILURE', lastSuccess });

    expect(simulate({ 0: failing }, 30).sent).toEqual(['0h DETECTED', '14h REMINDER 6', '20h EXPIRED']);
  });

  it('sends an UPDATE, not a new incident, when the findings change, e.g. when SES stops signing', () => {
    const { sent } = simulate(
      {
        0: obs('BAD'),
        3: obs('BAD', { health: 'FAILING', sesStatus: 'TEMPORARY_FAILURE', fingerprint: 'missing+ses' }),
      },
      4,
    );

    expect(sent).toEqual(['0h DETECTED', '3h UPDATE']);
  });

  it('SES revoking the setup sends EXPIRED at once, then nothing until it is healthy again', () => {
    const revoked = obs('BAD', { health: 'REVOKED', sesStatus: 'FAILED', fingerprint: 'revoked' });
    const { sent } = simulate({ 0: obs('BAD'), 2: revoked, 10: obs('NEUTRAL_PENDING'), 12: obs('GOOD') }, 14);

    expect(sent).toEqual(['0h DETECTED', '2h EXPIRED', '12h RESOLVED']);
  });

  it('says CANNOT_VERIFY once after three inconclusive runs, and RESOLVED when it can see again', () => {
    const { sent } = simulate({ 0: obs('GOOD'), 1: obs('INCONCLUSIVE'), 10: obs('GOOD') }, 12);

    expect(sent).toEqual(['3h CANNOT_VERIFY', '10h RESOLVED']);
  });

  it('keeps reminding during an open incident even when a run is inconclusive', () => {
    const { sent } = simulate({ 0: obs('BAD'), 40: obs('INCONCLUSIVE') }, 50);

    expect(sent).toEqual(['0h DETECTED', '48h REMINDER 72']);
  });

  it('closes an incident silently when signing is turned off on purpose', () => {
    expect(simulate({ 0: obs('BAD'), 5: obs('NEUTRAL_DISABLED') }, 200).sent).toEqual(['0h DETECTED']);
  });

  it('sends one reminder for the nearest threshold when runs were missed', () => {
    let state: IdentityState | undefined;
    const first = decide(state, IDENTITY, obs('BAD'), T, DEFAULT_LIFECYCLE);
    state = { ...first.state, pending: [] };
    const later = decide(state, IDENTITY, obs('BAD'), T + 100 * HOUR, DEFAULT_LIFECYCLE);

    expect(later.notifications.map((n) => [n.stage, n.threshold])).toEqual([['REMINDER', 24]]);
    expect(later.state.incident?.remindersSent).toEqual([72, 24]);
  });

  it('keeps unsent notifications in the outbox and never decides the same one twice', () => {
    const first = decide(undefined, IDENTITY, obs('BAD'), T, DEFAULT_LIFECYCLE);
    const again = decide(first.state, IDENTITY, obs('BAD'), T + HOUR, DEFAULT_LIFECYCLE);

    expect(first.state.pending.map((p) => p.stage)).toEqual(['DETECTED']);
    expect(again.notifications).toEqual([]);
    expect(again.state.pending.map((p) => p.id)).toEqual(first.state.pending.map((p) => p.id));
    expect(again.state.version).toBe(2);
  });
});

describe('observeReport', () => {
  const report = (health: IdentityReport['health'], findings: [string, string, string[]][]): IdentityReport => ({
    identity: 'example.com',
    region: 'eu-west-1',
    identityType: 'DOMAIN',
    health,
    sesStatus: 'SUCCESS',
    signingEnabled: true,
    records: [
      {
        name: 'tok1._domainkey.example.com',
        type: 'CNAME',
        expected: 'x',
        findings: findings.map(
          ([code, severity, servers]) => ({ code, severity, servers, message: '', dig: '' }) as never,
        ),
        answers: [],
      },
    ],
    findings: [],
  });

  it('ignores which resolver reached which server, so a stale server cannot block confirmation', () => {
    const a = observeReport(
      report('AT_RISK', [
        ['NAMESERVERS_DISAGREE', 'problem', ['ns1', 'old']],
        ['RECORD_MISSING', 'problem', ['old', 'resolver 1.1.1.1']],
        ['RESOLVERS_DISAGREE', 'problem', ['r1', 'r2']],
      ]),
    );
    const b = observeReport(
      report('AT_RISK', [
        ['NAMESERVERS_DISAGREE', 'problem', ['ns1', 'old']],
        ['RECORD_MISSING', 'problem', ['old']],
      ]),
    );

    expect(a.fingerprint).toBe(b.fingerprint);
    expect(a.onEveryServer).toBe(false);
  });

  it('says a problem is on every server only when nothing disagrees and nothing was inconclusive', () => {
    expect(observeReport(report('AT_RISK', [['RECORD_MISSING', 'problem', ['ns1', 'ns2']]])).onEveryServer).toBe(true);
    expect(
      observeReport(
        report('AT_RISK', [
          ['RECORD_MISSING', 'problem', ['ns1']],
          ['LOOKUP_FAILED', 'inconclusive', ['ns2']],
        ]),
      ).onEveryServer,
    ).toBe(false);
    expect(observeReport(report('UNKNOWN', [['LOOKUP_FAILED', 'inconclusive', ['ns2']]])).kind).toBe('INCONCLUSIVE');
  });
});
