import type { Health, IdentityReport } from './assess-identity';
import type { DmarcReport, MailFromReport } from './diagnose-mail-auth';
import { mailAuthRootCauseKeys, rootCauseKeys } from './root-causes';

/**
 * The alert lifecycle of one identity, as an explicit state machine. Pure: the previous state, what this
 * run saw and the clock come in; the next state and the notifications to send come out.
 *
 * The revocation countdown follows SES's own clock: it starts when SES's status leaves SUCCESS (anchored on
 * `VerificationInfo.LastSuccessTimestamp` and on the last run that saw SUCCESS), never when we first saw a
 * DNS problem. While SES still signs, a confirmed DNS problem is announced without a deadline. Every state
 * and transition is listed in `TRANSITIONS` below (also drawn in the README) and tested row by row.
 */

/** What a notification says. */
export type Stage =
  /** A confirmed problem: DNS wrong while SES still signs (no deadline yet), or SES already failing. */
  | 'DETECTED'
  /** An announced problem where SES has now stopped signing: its revocation clock runs. */
  | 'SIGNING_STOPPED'
  /** SES is verifying a (re)started setup and the records are definitely wrong: it fails after 72 hours. */
  | 'SETUP_BLOCKED'
  /** A new root cause in an announced incident, or SES signing again while DNS is still wrong. */
  | 'UPDATE'
  | 'REMINDER'
  /** SES reports FAILED (revoked), or the SES-anchored deadline has passed. */
  | 'EXPIRED'
  | 'RESOLVED'
  | 'CANNOT_VERIFY'
  /** The identity was deleted, its region removed, or signing turned off: monitoring of the incident stops. */
  | 'CLOSED';

/** Where an identity is. Every phase but QUIET and SUSPECTED means someone was told something is wrong. */
export type Phase =
  /** Nothing known to be wrong. */
  | 'QUIET'
  /** A definite DNS problem seen, not yet confirmed: nothing announced. */
  | 'SUSPECTED'
  /** Announced: DNS wrong, SES still signing; no deadline (SES's clock has not started). */
  | 'AT_RISK'
  /** Announced: SES reports TEMPORARY_FAILURE and has stopped signing; the revocation deadline runs. */
  | 'COUNTDOWN'
  /** Announced: SES is verifying a setup (PENDING) whose records are definitely wrong; 72-hour window. */
  | 'SETUP_BLOCKED'
  /** Announced: SES revoked (FAILED) or the deadline passed; waits for a restarted setup. */
  | 'EXPIRED'
  /** Watching a restarted setup after an announced incident; a RESOLVED is owed when it succeeds. */
  | 'SETUP'
  /** Announced: nothing could be verified for several runs. */
  | 'BLIND';

/** What an incident's deadline is: SES's revocation after it stopped signing, or its setup window. */
export type DeadlineKind = 'REVOCATION' | 'SETUP';

/** SES's DKIM status as the lifecycle reads it. */
export type SesSignal = 'SUCCESS' | 'PENDING' | 'TEMPORARY_FAILURE' | 'FAILED' | 'OFF';
/** The DNS as this run saw it: every record verified, a definite problem, or something not verifiable. */
export type DnsSignal = 'VERIFIED' | 'BROKEN' | 'UNVERIFIED';

export interface Transition {
  readonly from: readonly Phase[];
  readonly ses: readonly SesSignal[];
  readonly dns: readonly DnsSignal[];
  readonly to: Phase;
  /** What is sent on this transition (in addition, announced phases with a deadline remind and expire). */
  readonly emits?: Stage;
  /** When the transition applies (the row is skipped otherwise). */
  readonly when?: 'confirmed' | 'unconfirmed' | 'blind-long-enough' | 'not-blind-long-enough';
  /** A restarted setup: the incident ends and a new one opens in SETUP, evaluated again in the same run. */
  readonly restart?: true;
  readonly note: string;
}

const ANY_DNS: readonly DnsSignal[] = ['VERIFIED', 'BROKEN', 'UNVERIFIED'];
const ANNOUNCED: readonly Phase[] = ['AT_RISK', 'COUNTDOWN', 'SETUP_BLOCKED', 'EXPIRED', 'SETUP', 'BLIND'];
const UNANNOUNCED: readonly Phase[] = ['QUIET', 'SUSPECTED'];

/**
 * Every transition of the lifecycle, first match wins. The README's diagram is drawn from this table, and a
 * test drives `decide` through each row.
 */
export const TRANSITIONS: readonly Transition[] = [
  // Signing turned off, or no DKIM at all: nothing left to watch.
  { from: ANNOUNCED, ses: ['OFF'], dns: ANY_DNS, to: 'QUIET', emits: 'CLOSED', note: 'signing turned off' },
  { from: UNANNOUNCED, ses: ['OFF'], dns: ANY_DNS, to: 'QUIET', note: 'signing off: nothing to watch' },
  // SES revoked the setup (or a setup failed): said once.
  { from: ['EXPIRED'], ses: ['FAILED'], dns: ANY_DNS, to: 'EXPIRED', note: 'already said' },
  {
    from: ['QUIET', 'SUSPECTED', 'AT_RISK', 'COUNTDOWN', 'SETUP_BLOCKED', 'SETUP', 'BLIND'],
    ses: ['FAILED'],
    dns: ANY_DNS,
    to: 'EXPIRED',
    emits: 'EXPIRED',
    note: 'SES reports FAILED',
  },
  // SES stopped signing: its clock runs; SES's own status is the confirmation.
  { from: ['COUNTDOWN'], ses: ['TEMPORARY_FAILURE'], dns: ANY_DNS, to: 'COUNTDOWN', note: 'reminders, EXPIRED' },
  { from: ['EXPIRED'], ses: ['TEMPORARY_FAILURE'], dns: ANY_DNS, to: 'EXPIRED', note: 'deadline passed; waiting' },
  {
    from: ['AT_RISK', 'SETUP_BLOCKED'],
    ses: ['TEMPORARY_FAILURE'],
    dns: ANY_DNS,
    to: 'COUNTDOWN',
    emits: 'SIGNING_STOPPED',
    note: 'SES noticed: its clock starts',
  },
  {
    from: ['QUIET', 'SUSPECTED', 'SETUP', 'BLIND'],
    ses: ['TEMPORARY_FAILURE'],
    dns: ANY_DNS,
    to: 'COUNTDOWN',
    emits: 'DETECTED',
    note: 'first word of the problem, with the deadline',
  },
  // Every record verified and SES signing: over.
  { from: ANNOUNCED, ses: ['SUCCESS'], dns: ['VERIFIED'], to: 'QUIET', emits: 'RESOLVED', note: 'healthy again' },
  { from: UNANNOUNCED, ses: ['SUCCESS'], dns: ['VERIFIED'], to: 'QUIET', note: 'healthy' },
  // A restarted setup (PENDING) after an announced incident is a new incident.
  {
    from: ['AT_RISK', 'COUNTDOWN', 'EXPIRED'],
    ses: ['PENDING'],
    dns: ANY_DNS,
    to: 'SETUP',
    restart: true,
    note: 'setup restarted: new incident, evaluated as SETUP',
  },
  {
    from: ['EXPIRED'],
    ses: ['SUCCESS'],
    dns: ['BROKEN', 'UNVERIFIED'],
    to: 'SETUP',
    restart: true,
    note: 'SES verified a restarted setup: new incident, evaluated as SETUP',
  },
  // SES verifying a setup whose records are definitely wrong.
  {
    from: ['SETUP_BLOCKED'],
    ses: ['PENDING'],
    dns: ['BROKEN', 'UNVERIFIED'],
    to: 'SETUP_BLOCKED',
    note: 'UPDATE on a new cause, reminders',
  },
  { from: ['SETUP_BLOCKED'], ses: ['PENDING'], dns: ['VERIFIED'], to: 'SETUP', note: 'records fixed; SES to verify' },
  {
    from: ['QUIET', 'SUSPECTED', 'SETUP', 'BLIND'],
    ses: ['PENDING'],
    dns: ['BROKEN'],
    to: 'SETUP_BLOCKED',
    emits: 'SETUP_BLOCKED',
    when: 'confirmed',
    note: 'SES will fail the setup after 72 hours',
  },
  { from: ['QUIET', 'SUSPECTED'], ses: ['PENDING'], dns: ['BROKEN'], to: 'SUSPECTED', note: 'to be confirmed' },
  { from: ['SETUP', 'BLIND'], ses: ['PENDING'], dns: ANY_DNS, note: 'waiting for SES', to: 'SETUP' },
  { from: ['QUIET', 'SUSPECTED'], ses: ['PENDING'], dns: ['VERIFIED'], to: 'QUIET', note: 'setup on track' },
  // DNS wrong while SES still signs.
  {
    from: ['COUNTDOWN', 'SETUP_BLOCKED'],
    ses: ['SUCCESS'],
    dns: ['BROKEN'],
    to: 'AT_RISK',
    emits: 'UPDATE',
    note: 'SES signs again, but the DNS is still wrong',
  },
  { from: ['COUNTDOWN', 'SETUP_BLOCKED'], ses: ['SUCCESS'], dns: ['UNVERIFIED'], to: 'AT_RISK', note: 'no clock' },
  { from: ['AT_RISK'], ses: ['SUCCESS'], dns: ['BROKEN', 'UNVERIFIED'], to: 'AT_RISK', note: 'UPDATE on new cause' },
  {
    from: ['QUIET', 'SUSPECTED', 'SETUP', 'BLIND'],
    ses: ['SUCCESS'],
    dns: ['BROKEN'],
    to: 'AT_RISK',
    emits: 'DETECTED',
    when: 'confirmed',
    note: 'SES has not noticed yet: no deadline',
  },
  { from: ['QUIET', 'SUSPECTED'], ses: ['SUCCESS'], dns: ['BROKEN'], to: 'SUSPECTED', note: 'to be confirmed' },
  { from: ['SETUP'], ses: ['SUCCESS'], dns: ['BROKEN'], to: 'SETUP', note: 'to be confirmed' },
  { from: ['BLIND'], ses: ['SUCCESS'], dns: ['BROKEN'], to: 'BLIND', note: 'to be confirmed' },
  // Nothing verifiable: neither confirms nor resets.
  {
    from: ['QUIET', 'SUSPECTED'],
    ses: ['SUCCESS', 'PENDING'],
    dns: ['UNVERIFIED'],
    to: 'BLIND',
    emits: 'CANNOT_VERIFY',
    when: 'blind-long-enough',
    note: 'said once per blind spell',
  },
  {
    from: ['QUIET', 'SUSPECTED'],
    ses: ['SUCCESS', 'PENDING'],
    dns: ['UNVERIFIED'],
    to: 'QUIET',
    when: 'not-blind-long-enough',
    note: 'keeps a suspicion as it is',
  },
  { from: ['BLIND'], ses: ['SUCCESS'], dns: ['UNVERIFIED'], to: 'BLIND', note: 'still blind' },
  { from: ['SETUP'], ses: ['SUCCESS'], dns: ['UNVERIFIED'], to: 'SETUP', note: 'SES verified; waiting to see' },
];

export interface LifecycleSettings {
  /** SES's grace period before it revokes DKIM. */
  readonly graceDays: number;
  /** Hours before the deadline at which to remind, e.g. [72, 24, 6]. */
  readonly reminderHours: readonly number[];
  /** Runs that must see the same root cause (inconclusive runs between them allowed) before DETECTED. */
  readonly confirmRuns: number;
  /** Confirm in one run when every authoritative server shows the problem (nothing inconclusive). */
  readonly confirmOnEveryServer: boolean;
  /** Consecutive runs with nothing verifiable before CANNOT_VERIFY. */
  readonly cannotVerifyRuns: number;
  /** Forget an identity this long after its state was last written (DynamoDB TTL). */
  readonly forgetAfterDays: number;
  /** How long SES looks for the records of a new setup before it marks it FAILED. */
  readonly setupWindowHours: number;
}

export const DEFAULT_LIFECYCLE: LifecycleSettings = {
  graceDays: 5,
  reminderHours: [72, 24, 6],
  confirmRuns: 2,
  confirmOnEveryServer: true,
  cannotVerifyRuns: 3,
  forgetAfterDays: 30,
  setupWindowHours: 72,
};

/** A notification decided but not yet acknowledged as sent by every channel (the outbox). */
export interface PendingNotification {
  /** Unique per identity, region, incident, stage (and threshold or cause set): the de-duplication key. */
  readonly id: string;
  readonly stage: Stage;
  readonly incidentId: string;
  readonly decidedAt: string;
  /** Reminder threshold in hours. */
  readonly threshold?: number;
  /** CLOSED and UPDATE: why, in words. */
  readonly reason?: string;
  /** Set while an invocation is sending it; a claim older than the lease may be taken over. */
  readonly claimedBy?: string;
  readonly claimedAt?: string;
  /** Channels that already have it (a retry sends only to the others). */
  readonly deliveredTo?: readonly string[];
}

export interface Incident {
  /** Stable id: part of every notification id and of the messages' `incident` attribute. */
  readonly id: string;
  readonly openedAt: string;
  /** Root causes announced so far in this incident (an UPDATE goes out for each new one). */
  readonly causes: readonly string[];
  /** COUNTDOWN: when SES's status left SUCCESS, as well as we can tell. SETUP_BLOCKED: when setup began. */
  readonly clockStart?: string;
  /** Earliest plausible revocation (COUNTDOWN) or setup failure (SETUP_BLOCKED); never moves later. */
  readonly deadline?: string;
  readonly deadlineKind?: DeadlineKind;
  readonly remindersSent: readonly number[];
  /** Stages already sent in this incident: each is said once; saying it again is an UPDATE. */
  readonly said?: readonly Stage[];
}

/** A definite problem seen but not yet confirmed. */
export interface Suspicion {
  readonly causes: readonly string[];
  /** Distinct runs that saw one of these causes; inconclusive runs neither add nor reset. */
  readonly runs: number;
  readonly since: string;
}

/** What is stored per identity. Identities that are QUIET with nothing pending are not stored at all. */
export interface IdentityState {
  /** See {@link stateKey}. */
  readonly key: string;
  readonly identity: string;
  readonly region: string;
  readonly account?: string;
  /** Absent for DKIM. */
  readonly track?: Track;
  /** Incremented on every write; writes are conditional on it. */
  readonly version: number;
  readonly phase: Phase;
  readonly health: Health;
  readonly incident?: Incident;
  readonly suspicion?: Suspicion;
  /** Consecutive runs with nothing verifiable. */
  readonly unverifiedRuns: number;
  /** The last run that saw SES say SUCCESS: SES's failure began after it. */
  readonly sesSuccessSeenAt?: string;
  /** The first run that saw this setup PENDING (when SES gives no key generation time). */
  readonly pendingSince?: string;
  /** The run (Lambda request id) that last decided: a retry of the same run is not a new run. */
  readonly lastRunId?: string;
  readonly lastRunAt?: string;
  /** The last stage decided for this identity, and when. */
  readonly lastNotified?: { readonly stage: Stage; readonly at: string };
  /** Epoch seconds after which the store may forget the identity. */
  readonly expiresAt: number;
  readonly pending: readonly PendingNotification[];
}

/** What one run says about one identity, reduced to what the lifecycle needs. */
export interface RunObservation {
  readonly ses: SesSignal;
  readonly dns: DnsSignal;
  readonly health: Health;
  /** Root-cause keys of the definite DNS problems (empty unless `dns` is BROKEN). */
  readonly causes: readonly string[];
  /** The problem shows on every authoritative server and nothing was inconclusive. */
  readonly onEveryServer: boolean;
  /** VerificationInfo.LastSuccessTimestamp. */
  readonly sesLastSuccess?: string;
  /** DkimAttributes.LastKeyGenerationTimestamp: when the current setup began. */
  readonly setupStartedAt?: string;
}

export interface RunContext {
  readonly now: number;
  /** The Lambda request id: Lambda's own retries keep it, so a retry is recognised. */
  readonly runId: string;
}

/** What is watched for an identity: its DKIM records, its custom MAIL FROM domain, its DMARC record. */
export type Track = 'DKIM' | 'MAIL_FROM' | 'DMARC';

/** Whose lifecycle: an identity in a region (in an account, in organization mode), for one track. */
export interface LifecycleSubject {
  readonly identity: string;
  readonly region: string;
  /** Organization mode: two accounts can hold the same identity in the same region. */
  readonly account?: string;
  /** @default 'DKIM' */
  readonly track?: Track;
}

/**
 * The state key: `<region>#<identity>` for DKIM in a single account (unchanged since the first release),
 * prefixed with the account in organization mode and suffixed with the track for MAIL FROM and DMARC.
 */
export function stateKey(
  region: string,
  identity: string,
  scope: Omit<Partial<LifecycleSubject>, 'identity' | 'region'> = {},
): string {
  const base = `${scope.account ? `${scope.account}#` : ''}${region}#${identity}`;
  return scope.track && scope.track !== 'DKIM' ? `${base}#${scope.track}` : base;
}

function sesSignal(report: IdentityReport): SesSignal {
  if (!report.signingEnabled) return 'OFF';
  switch (report.sesStatus) {
    case 'SUCCESS':
    case 'PENDING':
    case 'TEMPORARY_FAILURE':
    case 'FAILED':
      return report.sesStatus;
    default:
      return 'OFF';
  }
}

/** Reduce a report to the lifecycle's view of it. */
export function observeReport(report: IdentityReport): RunObservation {
  const all = [...report.findings, ...report.records.flatMap((r) => r.findings)];
  const causes = rootCauseKeys(report);
  const inconclusive = all.some((f) => f.severity === 'inconclusive');
  const disagree = all.some((f) => f.code === 'NAMESERVERS_DISAGREE' || f.code === 'RESOLVERS_DISAGREE');
  // A report with no records (no tokens) verifies nothing.
  const dns: DnsSignal =
    causes.length > 0 ? 'BROKEN' : inconclusive || report.records.length === 0 ? 'UNVERIFIED' : 'VERIFIED';
  return {
    ses: sesSignal(report),
    dns,
    health: report.health,
    causes,
    onEveryServer: causes.length > 0 && !inconclusive && !disagree,
    sesLastSuccess: report.sesLastSuccess,
    setupStartedAt: report.dkimSetupStartedAt,
  };
}

/** The DNS signal of a report section from its cause keys and findings. */
function dnsSignalOf(causes: readonly string[], section: { readonly findings: readonly { severity: string }[] }) {
  const inconclusive = section.findings.some((f) => f.severity === 'inconclusive');
  return causes.length > 0 ? 'BROKEN' : inconclusive ? 'UNVERIFIED' : 'VERIFIED';
}

/**
 * A custom MAIL FROM domain as the lifecycle reads it: SES's `MailFromDomainStatus` is its clock (SES
 * rechecks a lost MX for 72 hours, then marks it FAILED), the MX and SPF records its DNS.
 */
export function observeMailFrom(section: MailFromReport): RunObservation {
  const causes = mailAuthRootCauseKeys(section, section.domain);
  const dns = dnsSignalOf(causes, section);
  return {
    ses: section.sesStatus,
    dns,
    health: section.health,
    causes,
    onEveryServer:
      causes.length > 0 && dns === 'BROKEN' && !section.findings.some((f) => f.severity === 'inconclusive'),
  };
}

/**
 * A domain's DMARC record as the lifecycle reads it: no SES status (it is the receivers' policy), so it is
 * always "SES signs" and an incident is announced without a deadline, and RESOLVED when the record is fixed.
 */
export function observeDmarc(section: DmarcReport): RunObservation {
  const causes = mailAuthRootCauseKeys(section, section.recordName ?? `_dmarc.${section.organizationalDomain}`);
  const dns = dnsSignalOf(causes, section);
  return {
    ses: 'SUCCESS',
    dns,
    health: section.health,
    causes,
    onEveryServer: causes.length > 0 && !section.findings.some((f) => f.severity === 'inconclusive'),
  };
}

/**
 * The settings of a track: MAIL FROM's grace is SES's 72-hour recheck window; neither MAIL FROM nor DMARC
 * says CANNOT_VERIFY (the DKIM track already says it when the DNS cannot be seen: no second message).
 */
export function trackSettings<T extends LifecycleSettings>(settings: T, track: Track): T {
  if (track === 'DKIM') return settings;
  return {
    ...settings,
    ...(track === 'MAIL_FROM' ? { graceDays: 3 } : {}),
    cannotVerifyRuns: Number.MAX_SAFE_INTEGER,
  };
}

const HOUR = 3_600_000;
const iso = (ms: number) => new Date(ms).toISOString();

/** Hours from `now` to the incident's deadline (negative once passed), to one decimal. */
export function hoursLeft(incident: Incident | undefined, now: number): number | undefined {
  if (!incident?.deadline) return undefined;
  return Math.round(((Date.parse(incident.deadline) - now) / HOUR) * 10) / 10;
}

/** 32-bit FNV-1a, hex: a short stable id without any I/O. */
export function shortHash(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash.toString(16).padStart(8, '0');
}

/** Whether a phase means someone was told something is wrong (a RESOLVED or CLOSED is owed). */
export function isAnnounced(phase: Phase): boolean {
  return (ANNOUNCED as readonly Phase[]).includes(phase);
}

function matches(row: Transition, phase: Phase, o: RunObservation): boolean {
  return row.from.includes(phase) && row.ses.includes(o.ses) && row.dns.includes(o.dns);
}

/** Parse an SES timestamp; anything unusable (or in the future, a skewed clock) is ignored. */
function pastTime(value: string | undefined, now: number): number | undefined {
  if (!value) return undefined;
  const t = Date.parse(value);
  return Number.isNaN(t) || t > now ? undefined : t;
}

/**
 * When SES's status left SUCCESS, as early as it can have been: after SES's last successful check and after
 * the last run that saw SUCCESS, whichever is later. Without either, the first run that saw the failure.
 */
function revocationClockStart(
  previous: Pick<IdentityState, 'sesSuccessSeenAt'>,
  o: Pick<RunObservation, 'sesLastSuccess'>,
  now: number,
): number {
  const bounds = [pastTime(o.sesLastSuccess, now), pastTime(previous.sesSuccessSeenAt, now)].filter(
    (t): t is number => t !== undefined,
  );
  return bounds.length > 0 ? Math.max(...bounds) : now;
}

function setupClockStart(
  previous: Pick<IdentityState, 'pendingSince'>,
  o: Pick<RunObservation, 'setupStartedAt'>,
  now: number,
): number {
  return pastTime(o.setupStartedAt, now) ?? pastTime(previous.pendingSince, now) ?? now;
}

/** SES's clock as one report shows it, without stored state (the CLI): the same anchors as `decide`. */
export interface SesClock {
  readonly kind: DeadlineKind;
  /** When SES's clock started; absent when SES gave no timestamp to anchor it on. */
  readonly clockStart?: string;
  /** The earliest plausible deadline; absent when the clock start is unknown. */
  readonly deadline?: string;
  /** Hours from `now` to the deadline (negative once passed), to one decimal. */
  readonly hoursLeft?: number;
  /** The clock's full length in hours (what is left at most when the start is unknown). */
  readonly lengthHours: number;
}

/**
 * The deadline SES is running for a report, by the lifecycle's rules: the revocation countdown starts when
 * SES's status leaves SUCCESS (anchored on `VerificationInfo.LastSuccessTimestamp`); a PENDING setup has
 * SES's setup window from the key generation time. SUCCESS (SES has not noticed), FAILED (already over) and
 * signing turned off have no running clock.
 */
export function sesClock(
  report: Pick<IdentityReport, 'sesStatus' | 'signingEnabled' | 'sesLastSuccess' | 'dkimSetupStartedAt'>,
  now: number,
  settings: LifecycleSettings = DEFAULT_LIFECYCLE,
): SesClock | undefined {
  if (!report.signingEnabled) return undefined;
  const measured = (kind: DeadlineKind, anchor: number | undefined, lengthHours: number): SesClock => {
    if (anchor === undefined) return { kind, lengthHours };
    const start = kind === 'REVOCATION' ? revocationClockStart({}, { sesLastSuccess: iso(anchor) }, now) : anchor;
    const deadline = start + lengthHours * HOUR;
    return {
      kind,
      clockStart: iso(start),
      deadline: iso(deadline),
      hoursLeft: Math.round(((deadline - now) / HOUR) * 10) / 10,
      lengthHours,
    };
  };
  if (report.sesStatus === 'TEMPORARY_FAILURE') {
    return measured('REVOCATION', pastTime(report.sesLastSuccess, now), settings.graceDays * 24);
  }
  if (report.sesStatus === 'PENDING') {
    const start = pastTime(report.dkimSetupStartedAt, now);
    return measured(
      'SETUP',
      start === undefined ? undefined : setupClockStart({}, { setupStartedAt: iso(start) }, now),
      settings.setupWindowHours,
    );
  }
  return undefined;
}

/** Whether a row's guard holds for this run. */
function guardHolds(row: Transition, confirmed: boolean, unverifiedRuns: number, settings: LifecycleSettings) {
  switch (row.when) {
    case undefined:
      return true;
    case 'confirmed':
      return confirmed;
    case 'unconfirmed':
      return !confirmed;
    case 'blind-long-enough':
      return unverifiedRuns >= settings.cannotVerifyRuns;
    case 'not-blind-long-enough':
      return unverifiedRuns < settings.cannotVerifyRuns;
  }
}

/**
 * Decide the next state and the notifications of one identity for one run. Pending notifications of earlier
 * runs are kept: the caller sends and acknowledges them. A retry of a run already decided (same run id)
 * decides nothing new.
 */
export function decide(
  previous: IdentityState | undefined,
  report: LifecycleSubject,
  o: RunObservation,
  run: RunContext,
  settings: LifecycleSettings = DEFAULT_LIFECYCLE,
): { state: IdentityState; notifications: PendingNotification[] } {
  const { now } = run;
  const key = stateKey(report.region, report.identity, report);
  const base: IdentityState = previous ?? {
    key,
    identity: report.identity,
    region: report.region,
    ...(report.account ? { account: report.account } : {}),
    ...(report.track && report.track !== 'DKIM' ? { track: report.track } : {}),
    version: 0,
    phase: 'QUIET',
    health: o.health,
    unverifiedRuns: 0,
    expiresAt: 0,
    pending: [],
  };
  if (previous?.lastRunId === run.runId) return { state: previous, notifications: [] };

  const openIncident = (): Incident => ({ id: iso(now), openedAt: iso(now), causes: [], remindersSent: [] });
  // Counted only where it can lead to CANNOT_VERIFY: otherwise there is nothing to remember (and no write).
  const unverifiedRuns =
    o.dns === 'UNVERIFIED' && settings.cannotVerifyRuns < Number.MAX_SAFE_INTEGER ? base.unverifiedRuns + 1 : 0;
  let phase = base.phase;
  let incident = base.incident;
  let suspicion = base.suspicion;
  const out: PendingNotification[] = [];
  const notify = (stage: Stage, extra: { suffix?: string; threshold?: number; reason?: string } = {}) => {
    incident ??= openIncident();
    if (!incident.said?.includes(stage)) incident = { ...incident, said: [...(incident.said ?? []), stage] };
    out.push({
      id: `${key}#${incident.id}#${stage}${extra.suffix ?? ''}`,
      stage,
      incidentId: incident.id,
      decidedAt: iso(now),
      ...(extra.threshold !== undefined ? { threshold: extra.threshold } : {}),
      ...(extra.reason ? { reason: extra.reason } : {}),
    });
  };

  // Suspicion: distinct runs that saw an overlapping set of causes; disjoint causes start over, an
  // inconclusive run changes nothing.
  if (o.dns === 'BROKEN') {
    const overlaps = suspicion?.causes.some((c) => o.causes.includes(c)) ?? false;
    suspicion = overlaps
      ? {
          causes: [...new Set([...(suspicion?.causes ?? []), ...o.causes])].sort(),
          runs: (suspicion?.runs ?? 0) + 1,
          since: suspicion?.since ?? iso(now),
        }
      : { causes: o.causes, runs: 1, since: iso(now) };
  } else if (o.dns === 'VERIFIED' || o.ses === 'OFF') {
    suspicion = undefined;
  }
  const confirmed = () =>
    o.dns === 'BROKEN' &&
    ((suspicion?.runs ?? 0) >= settings.confirmRuns || (settings.confirmOnEveryServer && o.onEveryServer));
  const find = () =>
    TRANSITIONS.find((r) => matches(r, phase, o) && guardHolds(r, confirmed(), unverifiedRuns, settings));

  let row = find();
  if (row?.restart) {
    // A restarted setup is a new incident, evaluated as SETUP in the same run.
    // The causes the ended incident already confirmed need no second confirmation in the new one.
    const known = o.causes.some((c) => incident?.causes.includes(c));
    phase = 'SETUP';
    incident = openIncident();
    suspicion =
      o.dns === 'BROKEN' ? { causes: o.causes, runs: known ? settings.confirmRuns : 1, since: iso(now) } : undefined;
    row = find();
  }
  const from = phase;
  const to = row?.to ?? phase;
  if (isAnnounced(to) && (!isAnnounced(from) || !incident)) incident = openIncident();

  // The clocks. COUNTDOWN: SES's revocation clock, anchored on SES. SETUP_BLOCKED: SES's 72-hour setup window.
  if (incident && to === 'COUNTDOWN' && !incident.deadline) {
    const start = revocationClockStart(base, o, now);
    incident = withDeadline(incident, start, start + settings.graceDays * 24 * HOUR, 'REVOCATION', now, settings);
  } else if (incident && to === 'SETUP_BLOCKED' && !incident.deadline) {
    const start = setupClockStart(base, o, now);
    incident = withDeadline(incident, start, start + settings.setupWindowHours * HOUR, 'SETUP', now, settings);
  } else if (incident?.deadline && (to === 'AT_RISK' || to === 'SETUP')) {
    // SES signs again (or a setup is being re-verified): that clock stopped.
    const { deadline: _d, deadlineKind: _k, clockStart: _c, ...rest } = incident;
    incident = { ...rest, remindersSent: [] };
  }
  phase = to;
  const left = hoursLeft(incident, now);
  const pastRevocation = phase === 'COUNTDOWN' && left !== undefined && left <= 0;

  if (row?.emits) {
    if (pastRevocation) {
      // Detected after SES's grace period already ran out: that is the news.
      notify('EXPIRED');
    } else if (row.emits === 'UPDATE') {
      notify('UPDATE', {
        suffix: `#${phase}#${iso(now)}`,
        reason: 'SES signs again, but the DNS is still wrong somewhere.',
      });
    } else if (incident?.said?.includes(row.emits)) {
      // SES flipping back and forth (it read a stale server one check, a good one the next): the stage was
      // said in this incident already; what changed is news, not a second announcement.
      notify('UPDATE', {
        suffix: `#${row.emits}#${iso(now)}`,
        reason:
          row.emits === 'SIGNING_STOPPED'
            ? 'SES has stopped signing again: a new revocation clock runs.'
            : 'The records are definitely wrong again while SES verifies the setup.',
      });
    } else {
      notify(
        row.emits,
        row.emits === 'CLOSED' ? { reason: 'DKIM signing was turned off for this identity in SES.' } : {},
      );
    }
  }
  if (pastRevocation) {
    if (!out.some((n) => n.stage === 'EXPIRED')) notify('EXPIRED');
    phase = 'EXPIRED';
  }

  // Root causes of an announced incident: those announced with a stage this run are not news; any other new
  // one is an UPDATE. Causes never leave the set during an incident, so a flapping finding is said once.
  if (incident && isAnnounced(phase) && phase !== 'EXPIRED' && o.dns === 'BROKEN') {
    const fresh = o.causes.filter((c) => !incident?.causes.includes(c));
    if (fresh.length > 0) {
      const all = [...(incident.causes ?? []), ...fresh].sort();
      if (out.length === 0 && incident.causes.length > 0) {
        notify('UPDATE', { suffix: `#${shortHash(all.join('\n'))}`, reason: 'A new problem was found.' });
      }
      incident = { ...incident, causes: all };
    }
  }

  // Reminders before a running deadline, whatever DNS said this run.
  if (incident?.deadline && (phase === 'COUNTDOWN' || phase === 'SETUP_BLOCKED') && left !== undefined) {
    const due = settings.reminderHours.filter((h) => left <= h && !incident?.remindersSent.includes(h));
    if (due.length > 0) {
      // Several thresholds crossed at once (missed runs): one reminder, for the nearest.
      const threshold = Math.min(...due);
      // Per clock: a new deadline in the same incident (SES stopped signing again) gets its own reminders.
      notify('REMINDER', { suffix: `#${incident.deadlineKind}#${incident.clockStart}#${threshold}`, threshold });
      incident = { ...incident, remindersSent: [...incident.remindersSent, ...due] };
    }
  }

  if (!isAnnounced(phase)) {
    incident = undefined;
    phase = suspicion ? 'SUSPECTED' : 'QUIET';
  } else if (phase !== 'SETUP' && phase !== 'BLIND') {
    // Announced: the suspicion did its work.
    suspicion = undefined;
  }

  const known = new Set(base.pending.map((p) => p.id));
  const fresh = out.filter((n) => !known.has(n.id));
  const last = fresh[fresh.length - 1];
  return {
    state: {
      key: base.key,
      identity: base.identity,
      region: base.region,
      ...pick(base, 'account'),
      ...pick(base, 'track'),
      version: base.version + 1,
      phase,
      health: o.health,
      ...(incident ? { incident } : {}),
      ...(suspicion ? { suspicion } : {}),
      unverifiedRuns,
      ...(o.ses === 'SUCCESS' ? { sesSuccessSeenAt: iso(now) } : pick(base, 'sesSuccessSeenAt')),
      ...(o.ses === 'PENDING' ? { pendingSince: base.pendingSince ?? iso(now) } : {}),
      lastRunId: run.runId,
      lastRunAt: iso(now),
      ...(last ? { lastNotified: { stage: last.stage, at: iso(now) } } : pick(base, 'lastNotified')),
      expiresAt: Math.floor(now / 1000) + settings.forgetAfterDays * 86_400,
      pending: [...base.pending, ...fresh],
    },
    notifications: fresh,
  };
}

function withDeadline(
  incident: Incident,
  start: number,
  deadline: number,
  kind: DeadlineKind,
  now: number,
  settings: LifecycleSettings,
): Incident {
  return {
    ...incident,
    clockStart: iso(start),
    deadline: iso(deadline),
    deadlineKind: kind,
    // The first word of a clock says how much is left: thresholds already behind are not reminded.
    remindersSent: settings.reminderHours.filter((h) => (deadline - now) / HOUR <= h),
  };
}

function pick<K extends keyof IdentityState>(state: IdentityState, k: K): Partial<Pick<IdentityState, K>> {
  return state[k] === undefined ? {} : ({ [k]: state[k] } as Partial<Pick<IdentityState, K>>);
}

/**
 * The identity is gone from SES (deleted, or its region no longer monitored): one final notice when someone
 * was told something is wrong, and nothing else pending (stale alerts about a deleted identity help nobody).
 */
export function closeVanished(state: IdentityState, run: RunContext, reason: string): IdentityState {
  const announced = isAnnounced(state.phase) && state.incident;
  const closing: PendingNotification[] = announced
    ? [
        {
          id: `${state.key}#${state.incident?.id}#CLOSED`,
          stage: 'CLOSED',
          incidentId: state.incident?.id ?? '',
          decidedAt: iso(run.now),
          reason,
        },
      ]
    : [];
  // Keep a CLOSED already decided (and possibly half-delivered) rather than deciding it again.
  const kept = state.pending.filter((p) => p.stage === 'CLOSED');
  const pending = kept.length > 0 ? kept : closing;
  return {
    ...state,
    version: state.version + 1,
    phase: 'QUIET',
    suspicion: undefined,
    unverifiedRuns: 0,
    lastRunId: run.runId,
    lastRunAt: iso(run.now),
    ...(pending.length > 0 && kept.length === 0
      ? { lastNotified: { stage: 'CLOSED' as const, at: iso(run.now) } }
      : {}),
    pending,
  };
}

/**
 * Whether a state needs to be stored at all: a quiet identity with nothing pending is the same as no state.
 * (Identities disappear from the table when healthy, so a healthy fleet costs no writes.)
 */
export function isWorthStoring(state: IdentityState): boolean {
  return state.phase !== 'QUIET' || state.pending.length > 0 || state.unverifiedRuns > 0 || !!state.suspicion;
}

/**
 * Whether `next` differs from `previous` in anything but the run bookkeeping. When not, the write is skipped
 * (unless the TTL is getting close): a stable incident costs no write per run.
 */
export function changedSince(previous: IdentityState | undefined, next: IdentityState, now: number): boolean {
  if (!previous) return true;
  const strip = ({ version: _v, lastRunId: _r, lastRunAt: _a, expiresAt: _e, ...rest }: IdentityState) =>
    JSON.stringify(rest);
  if (strip(previous) !== strip(next)) return true;
  // Refresh the TTL when less than half of it is left.
  return previous.expiresAt - now / 1000 < (next.expiresAt - now / 1000) / 2;
}

/**
 * The state diagram of `TRANSITIONS` in Mermaid (`stateDiagram-v2`): one edge per pair of phases, labelled
 * with what is sent. The README shows exactly this, and a test keeps the two the same.
 */
export function lifecycleDiagram(): string {
  const edges = new Map<string, Set<string>>();
  for (const row of TRANSITIONS) {
    for (const from of row.from) {
      // Staying in a phase is not drawn; what is sent meanwhile (UPDATE, REMINDER) is in the notes.
      if (from === row.to) continue;
      const key = `${from} --> ${row.to}`;
      const labels = edges.get(key) ?? new Set<string>();
      if (row.emits) labels.add(row.emits);
      edges.set(key, labels);
    }
  }
  const lines = [...edges.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([edge, labels]) => `  ${edge}${labels.size > 0 ? `: ${[...labels].sort().join(', ')}` : ''}`);
  return [
    'stateDiagram-v2',
    '  [*] --> QUIET',
    ...lines,
    '  note right of COUNTDOWN: REMINDER before the deadline, EXPIRED when it passes',
    '  note right of SETUP_BLOCKED: REMINDER before the 72-hour setup window ends',
    '  note right of AT_RISK: UPDATE for each new root cause',
  ].join('\n');
}
