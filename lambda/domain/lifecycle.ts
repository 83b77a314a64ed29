import type { Health, IdentityReport } from './assess-identity';

/**
 * The alert lifecycle of one identity: when to say something, and what. Pure: the clock, the previous
 * state and the run's report come in; the next state and the notifications to send come out.
 *
 * An incident opens at the first run that sees a definitive problem. It is announced (DETECTED) once
 * confirmed, reminded at each threshold before the deadline (the earliest plausible revocation), closed by
 * EXPIRED when the deadline passes or SES revokes, and by RESOLVED when every record is verified again.
 */

export type Stage = 'DETECTED' | 'UPDATE' | 'REMINDER' | 'EXPIRED' | 'RESOLVED' | 'CANNOT_VERIFY';

export interface LifecycleSettings {
  /** SES's grace period before it revokes DKIM. */
  readonly graceDays: number;
  /** Hours before the deadline at which to remind, e.g. [72, 24, 6]. */
  readonly reminderHours: readonly number[];
  /** Consecutive runs that must see the same definitive problem before DETECTED. */
  readonly confirmRuns: number;
  /** Confirm in one run when every authoritative server shows the problem (nothing inconclusive). */
  readonly confirmOnEveryServer: boolean;
  /** Consecutive UNKNOWN runs before CANNOT_VERIFY. */
  readonly cannotVerifyRuns: number;
  /** Forget an identity this long after it was last seen (DynamoDB TTL). */
  readonly forgetAfterDays: number;
}

export const DEFAULT_LIFECYCLE: LifecycleSettings = {
  graceDays: 5,
  reminderHours: [72, 24, 6],
  confirmRuns: 2,
  confirmOnEveryServer: true,
  cannotVerifyRuns: 3,
  forgetAfterDays: 30,
};

/** A notification decided but not yet acknowledged as sent (the outbox). */
export interface PendingNotification {
  /** Unique per identity, incident, stage (and threshold): the de-duplication key. */
  readonly id: string;
  readonly stage: Stage;
  readonly decidedAt: string;
  /** Reminder threshold in hours. */
  readonly threshold?: number;
  /** Set while an invocation is sending it; a claim older than the lease may be taken over. */
  readonly claimedBy?: string;
  readonly claimedAt?: string;
  /** Channels that already have it (a retry sends only to the others). */
  readonly deliveredTo?: readonly string[];
}

export interface Incident {
  /** When the incident opened (ISO); part of every notification id. */
  readonly openedAt: string;
  /** PROBLEM: DNS or SES definitively wrong. BLIND: nothing could be verified for several runs. */
  readonly kind: 'PROBLEM' | 'BLIND';
  readonly sesFailureFirstSeen?: string;
  /** Earliest plausible revocation (ISO); never moves later during an incident. */
  readonly deadline?: string;
  /** DETECTED, EXPIRED or CANNOT_VERIFY has been decided for this incident. */
  readonly notified: boolean;
  readonly notifiedFingerprint?: string;
  readonly remindersSent: readonly number[];
  readonly expired: boolean;
}

/** What is stored per identity. */
export interface IdentityState {
  /** `<region>#<identity>` */
  readonly key: string;
  readonly identity: string;
  readonly region: string;
  /** Incremented on every write; writes are conditional on it. */
  readonly version: number;
  readonly health: Health;
  readonly incident?: Incident;
  readonly consecutiveBad: number;
  readonly consecutiveInconclusive: number;
  /** Fingerprint of the last definitive problem seen, for confirmation across runs. */
  readonly lastFingerprint?: string;
  readonly lastSeen: string;
  /** The last stage decided for this identity, and when. */
  readonly lastNotified?: { readonly stage: Stage; readonly at: string };
  /** Epoch seconds after which the store may forget the identity. */
  readonly expiresAt: number;
  readonly pending: readonly PendingNotification[];
}

/** What one run says about one identity, reduced to what the lifecycle needs. */
export interface RunObservation {
  readonly kind: 'BAD' | 'INCONCLUSIVE' | 'GOOD' | 'NEUTRAL_PENDING' | 'NEUTRAL_DISABLED';
  readonly health: Health;
  readonly sesStatus: string;
  readonly lastSuccess?: string;
  /** Stable summary of the definitive problems (codes, records, servers). */
  readonly fingerprint: string;
  /** The problem shows on every authoritative server and nothing was inconclusive. */
  readonly onEveryServer: boolean;
}

/** 32-bit FNV-1a, hex: a short stable fingerprint without any I/O. */
function fnv1a(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash.toString(16).padStart(8, '0');
}

export function stateKey(region: string, identity: string): string {
  return `${region}#${identity}`;
}

/** Reduce a report to the lifecycle's view of it. */
export function observeReport(report: IdentityReport): RunObservation {
  const all = [...report.findings, ...report.records.flatMap((r) => r.findings.map((f) => ({ ...f, record: r.name })))];
  // Codes and records only: which resolver happened to reach which server changes from run to run and
  // must neither delay confirmation nor send updates.
  const problems = [
    ...new Set(
      all
        .filter((f) => f.severity === 'problem' && f.code !== 'RESOLVERS_DISAGREE')
        .map((f) => `${f.code}|${'record' in f ? f.record : ''}`),
    ),
  ].sort();
  const inconclusive = all.some((f) => f.severity === 'inconclusive');
  const disagree = all.some((f) => f.code === 'NAMESERVERS_DISAGREE' || f.code === 'RESOLVERS_DISAGREE');
  const kind: RunObservation['kind'] =
    report.health === 'AT_RISK' || report.health === 'FAILING' || report.health === 'REVOKED'
      ? 'BAD'
      : report.health === 'UNKNOWN'
        ? 'INCONCLUSIVE'
        : report.health === 'HEALTHY'
          ? 'GOOD'
          : report.health === 'PENDING'
            ? 'NEUTRAL_PENDING'
            : 'NEUTRAL_DISABLED';
  return {
    kind,
    health: report.health,
    sesStatus: report.sesStatus,
    lastSuccess: report.sesLastSuccess,
    fingerprint: fnv1a(problems.join('\n')),
    onEveryServer: problems.length > 0 && !inconclusive && !disagree,
  };
}

const HOUR = 3_600_000;
const iso = (ms: number) => new Date(ms).toISOString();

/** Hours from `now` to the incident's deadline (negative once passed), to one decimal. */
export function hoursLeft(incident: Incident | undefined, now: number): number | undefined {
  if (!incident?.deadline) return undefined;
  return Math.round(((Date.parse(incident.deadline) - now) / HOUR) * 10) / 10;
}

function notification(
  state: { key: string },
  incident: Incident,
  stage: Stage,
  now: number,
  suffix = '',
): PendingNotification {
  return { id: `${state.key}#${incident.openedAt}#${stage}${suffix}`, stage, decidedAt: iso(now) };
}

/** The earliest plausible revocation for a bad run, given what SES says. */
function deadlineFor(
  incident: Incident,
  observation: RunObservation,
  settings: LifecycleSettings,
  now: number,
): string {
  const grace = settings.graceDays * 24 * HOUR;
  const candidates = [Date.parse(incident.openedAt) + grace];
  if (incident.deadline) candidates.push(Date.parse(incident.deadline));
  if (incident.sesFailureFirstSeen) {
    candidates.push(Date.parse(incident.sesFailureFirstSeen) + grace);
    const lastSuccess = observation.lastSuccess ? Date.parse(observation.lastSuccess) : Number.NaN;
    if (!Number.isNaN(lastSuccess) && lastSuccess < Date.parse(incident.sesFailureFirstSeen))
      candidates.push(lastSuccess + grace);
  }
  if (observation.health === 'REVOKED') candidates.push(now);
  return iso(Math.min(...candidates));
}

/** Reminders due now: every threshold crossed and not yet sent. */
function dueReminders(incident: Incident, settings: LifecycleSettings, now: number): number[] {
  const left = hoursLeft(incident, now);
  if (left === undefined) return [];
  return settings.reminderHours.filter((h) => left <= h && !incident.remindersSent.includes(h));
}

/** Time-driven stages of a notified, open incident: EXPIRED at the deadline, else reminders. */
function timeDriven(
  key: { key: string },
  incident: Incident,
  settings: LifecycleSettings,
  now: number,
  revoked: boolean,
) {
  const out: PendingNotification[] = [];
  let next = incident;
  const left = hoursLeft(incident, now);
  if (revoked || (left !== undefined && left <= 0)) {
    out.push(notification(key, incident, 'EXPIRED', now));
    next = { ...next, expired: true };
  } else {
    const due = dueReminders(incident, settings, now);
    if (due.length > 0) {
      // Several thresholds crossed at once (a missed run): one reminder, for the nearest.
      const threshold = Math.min(...due);
      out.push({ ...notification(key, incident, 'REMINDER', now, `#${threshold}`), threshold });
      next = { ...next, remindersSent: [...next.remindersSent, ...due] };
    }
  }
  return { incident: next, notifications: out };
}

/**
 * Decide the next state and the notifications of one identity for one run. Pending notifications of
 * earlier runs are kept: the caller sends and acknowledges them.
 */
export function decide(
  previous: IdentityState | undefined,
  report: { identity: string; region: string },
  observation: RunObservation,
  now: number,
  settings: LifecycleSettings = DEFAULT_LIFECYCLE,
): { state: IdentityState; notifications: PendingNotification[] } {
  const key = stateKey(report.region, report.identity);
  const base: IdentityState = previous ?? {
    key,
    identity: report.identity,
    region: report.region,
    version: 0,
    health: observation.health,
    consecutiveBad: 0,
    consecutiveInconclusive: 0,
    lastSeen: iso(now),
    expiresAt: 0,
    pending: [],
  };
  const out: PendingNotification[] = [];
  let incident = base.incident;
  let consecutiveBad = base.consecutiveBad;
  let consecutiveInconclusive = base.consecutiveInconclusive;
  let lastFingerprint = base.lastFingerprint;
  const open = (kind: Incident['kind']): Incident => ({
    openedAt: iso(now),
    kind,
    notified: false,
    remindersSent: [],
    expired: false,
  });

  switch (observation.kind) {
    case 'BAD': {
      consecutiveBad = lastFingerprint === observation.fingerprint ? consecutiveBad + 1 : 1;
      consecutiveInconclusive = 0;
      lastFingerprint = observation.fingerprint;
      // A blind spell that turns out to be a problem keeps the earliest deadline it had.
      if (!incident || incident.kind === 'BLIND') {
        incident = { ...open('PROBLEM'), ...(incident?.deadline ? { deadline: incident.deadline } : {}) };
      }
      if (observation.sesStatus === 'TEMPORARY_FAILURE' && !incident.sesFailureFirstSeen) {
        incident = { ...incident, sesFailureFirstSeen: iso(now) };
      }
      incident = { ...incident, deadline: deadlineFor(incident, observation, settings, now) };
      const sesConfirms = observation.sesStatus === 'TEMPORARY_FAILURE' || observation.sesStatus === 'FAILED';
      const confirmed =
        incident.notified ||
        sesConfirms ||
        consecutiveBad >= settings.confirmRuns ||
        (settings.confirmOnEveryServer && observation.onEveryServer);
      if (!confirmed || incident.expired) break;
      if (!incident.notified) {
        const revoked = observation.health === 'REVOKED' || (hoursLeft(incident, now) ?? 1) <= 0;
        const stage: Stage = revoked ? 'EXPIRED' : 'DETECTED';
        out.push(notification({ key }, incident, stage, now));
        const left = hoursLeft(incident, now) ?? Number.POSITIVE_INFINITY;
        incident = {
          ...incident,
          notified: true,
          expired: revoked,
          notifiedFingerprint: observation.fingerprint,
          // DETECTED already says how many hours are left: thresholds already behind us are not reminded.
          remindersSent: settings.reminderHours.filter((h) => left <= h),
        };
        break;
      }
      const timed = timeDriven({ key }, incident, settings, now, observation.health === 'REVOKED');
      // EXPIRED says everything there is to say; otherwise changed findings are an update of this incident.
      if (!timed.incident.expired && incident.notifiedFingerprint !== observation.fingerprint) {
        out.push(notification({ key }, incident, 'UPDATE', now, `#${observation.fingerprint}`));
      }
      incident = { ...timed.incident, notifiedFingerprint: observation.fingerprint };
      out.push(...timed.notifications);
      break;
    }
    case 'INCONCLUSIVE': {
      // Neither evidence of a problem nor of a fix: counters for confirmation stay as they are.
      consecutiveInconclusive += 1;
      if (incident?.kind === 'PROBLEM' && incident.notified && !incident.expired) {
        const timed = timeDriven({ key }, incident, settings, now, false);
        incident = timed.incident;
        out.push(...timed.notifications);
      } else if (
        consecutiveInconclusive >= settings.cannotVerifyRuns &&
        !(incident?.kind === 'BLIND' && incident.notified)
      ) {
        if (!incident?.notified)
          incident = { ...open('BLIND'), ...(incident?.deadline ? { deadline: incident.deadline } : {}) };
        out.push(notification({ key }, incident, 'CANNOT_VERIFY', now));
        incident = { ...incident, notified: true };
      }
      break;
    }
    case 'GOOD': {
      if (incident?.notified) out.push(notification({ key }, incident, 'RESOLVED', now));
      incident = undefined;
      consecutiveBad = 0;
      consecutiveInconclusive = 0;
      lastFingerprint = undefined;
      break;
    }
    case 'NEUTRAL_PENDING': {
      // SES is re-verifying (a restarted setup): keep the incident open until the records are verified.
      consecutiveBad = 0;
      consecutiveInconclusive = 0;
      lastFingerprint = undefined;
      break;
    }
    case 'NEUTRAL_DISABLED': {
      // Signing turned off on purpose: nothing left to watch, nothing to announce.
      incident = undefined;
      consecutiveBad = 0;
      consecutiveInconclusive = 0;
      lastFingerprint = undefined;
      break;
    }
  }
  const known = new Set(base.pending.map((p) => p.id));
  const fresh = out.filter((n) => !known.has(n.id));
  return {
    state: {
      ...base,
      version: base.version + 1,
      health: observation.health,
      incident,
      consecutiveBad,
      consecutiveInconclusive,
      lastFingerprint,
      lastSeen: iso(now),
      lastNotified:
        fresh.length > 0 ? { stage: fresh[fresh.length - 1]?.stage as Stage, at: iso(now) } : base.lastNotified,
      expiresAt: Math.floor(now / 1000) + settings.forgetAfterDays * 86_400,
      pending: [...base.pending, ...fresh],
    },
    notifications: fresh,
  };
}
