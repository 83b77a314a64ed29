import type { IdentityReport } from './domain/assess-identity';
import {
  changedSince,
  closeVanished,
  decide,
  hoursLeft,
  type IdentityState,
  isWorthStoring,
  type LifecycleSettings,
  observeDmarc,
  observeMailFrom,
  observeReport,
  type PendingNotification,
  type RunContext,
  type RunObservation,
  stateKey,
  type Track,
  trackSettings,
} from './domain/lifecycle';
import {
  type AlertContext,
  type NotificationView,
  type RenderedAlert,
  renderDigest,
  renderIdentityAlert,
  trackReport,
} from './domain/render-alert';
import { Limiter } from './limiter';
import { type AlertChannel, type RunLogger, StaleStateError, type StateStore } from './ports';

export interface AlertLifecycleSettings extends LifecycleSettings {
  /** This many notifications or more in one run go out as one digest per channel. */
  readonly digestThreshold: number;
  /** A claim older than this is considered abandoned (a crashed invocation) and taken over. */
  readonly claimLeaseMs: number;
}

export interface AlertLifecycleDependencies {
  readonly store: StateStore;
  readonly channels: readonly AlertChannel[];
  readonly now: () => number;
  /** Identifies this run (the Lambda request ID: Lambda's own retries keep it). */
  readonly invocationId: string;
  readonly logger: RunLogger;
}

/**
 * Which identities this run could have seen: stored identities outside it are gone. A region whose identity
 * list failed this run is not complete, so nothing in it is taken for deleted.
 */
export interface LifecycleScope {
  /** Regions the monitor watches now. */
  readonly monitoredRegions: readonly string[];
  /** Regions whose identity list was read completely this run. */
  readonly completeRegions: readonly string[];
  /** State keys (`<region>#<identity>`) SES listed this run, assessed or not. */
  readonly listedKeys: ReadonlySet<string>;
}

/** A notification delivered to every channel in this run. */
export interface DeliveredNotification {
  readonly id: string;
  readonly stage: PendingNotification['stage'];
  readonly identity: string;
  readonly region: string;
  readonly channels: readonly string[];
}

export interface LifecycleOutcome {
  readonly delivered: readonly DeliveredNotification[];
  /** What failed (a channel, or one identity's state); undelivered alerts stay in the outbox for the next run. */
  readonly failures: readonly string[];
  /** The state of every identity with something to remember after this run (for metrics such as hours left). */
  readonly states: readonly IdentityState[];
}

interface Claimed {
  readonly report: IdentityReport;
  readonly state: IdentityState;
  readonly claimed: readonly PendingNotification[];
}

const MAX_WRITE_ATTEMPTS = 5;

/** The report of an identity that is gone: enough to say which one, and that it is no longer watched. */
function vanishedReport(state: IdentityState): IdentityReport {
  return {
    identity: state.identity,
    region: state.region,
    identityType: state.identity.includes('@') ? 'EMAIL_ADDRESS' : 'DOMAIN',
    health: state.health,
    sesStatus: 'NONE',
    signingEnabled: false,
    records: [],
    findings: [],
  };
}

function viewOf(notification: PendingNotification, state: IdentityState, now: number): NotificationView {
  const incident = state.incident?.id === notification.incidentId ? state.incident : undefined;
  return {
    stage: notification.stage,
    track: state.track ?? 'DKIM',
    incidentId: notification.incidentId,
    phase: state.phase,
    threshold: notification.threshold,
    hoursLeft: hoursLeft(incident, now),
    deadline: incident?.deadline,
    deadlineKind: incident?.deadlineKind,
    clockStart: incident?.clockStart,
    openedAt: notification.incidentId,
    reason: notification.reason,
    brokenForHours:
      notification.stage === 'RESOLVED'
        ? Math.round((now - Date.parse(notification.incidentId)) / 360_000) / 10
        : undefined,
  };
}

/**
 * One run of the alert lifecycle. Each identity is advanced on its own (a store error for one never blocks
 * the others), and what is decided is delivered at least once and, short of a crash between sending and
 * acknowledging, exactly once per (identity, region, incident, stage, channel):
 * 1. decide and claim: the new state and the claim on its outbox are one conditional write, so of two
 *    overlapping invocations only one owns a notification; a retry of this run (same id) takes its own
 *    earlier claims back;
 * 2. deliver each claimed notification to each channel that has not had it (a digest when there are many);
 * 3. acknowledge (remove what every channel has) or release the claim on what failed, for the next run.
 */
export class AlertLifecycleRun {
  private readonly limiter = new Limiter(16);
  private readonly claims: Claimed[] = [];
  private readonly states = new Map<string, IdentityState>();
  private readonly failures: string[] = [];
  private stored = new Map<string, IdentityState>();
  private readonly run: RunContext;
  private readonly nowIso: string;

  constructor(
    private readonly settings: AlertLifecycleSettings,
    private readonly context: AlertContext,
    private readonly deps: AlertLifecycleDependencies,
  ) {
    this.run = { now: deps.now(), runId: deps.invocationId };
    this.nowIso = new Date(this.run.now).toISOString();
  }

  /** Read every stored state once (only identities with something to remember are stored). */
  async load(): Promise<void> {
    this.stored = new Map((await this.deps.store.list()).map((s) => [s.key, s]));
  }

  /**
   * Advance one identity, on each of its tracks (DKIM; its custom MAIL FROM domain and DMARC record when
   * checked: incidents of their own); never throws (a failure is recorded and the others go on).
   */
  advance(report: IdentityReport): Promise<void> {
    const tracks: [Track, RunObservation | undefined][] = [
      ['DKIM', observeReport(report)],
      ['MAIL_FROM', report.mailFrom && observeMailFrom(report.mailFrom)],
      ['DMARC', report.dmarc && observeDmarc(report.dmarc)],
    ];
    return this.limiter.run(async () => {
      for (const [track, observation] of tracks) {
        const key = stateKey(report.region, report.identity, { track });
        const stored = this.stored.get(key);
        try {
          if (observation) {
            const settings = trackSettings(this.settings, track);
            const subject = { identity: report.identity, region: report.region, track };
            await this.change(key, stored, trackReport(report, track), (previous) => {
              const { state } = decide(previous, subject, observation, this.run, settings);
              return state;
            });
          } else if (stored && track === 'DMARC') {
            // The DMARC check was turned off: say so once. (A missing MAIL FROM section may only mean this
            // run did not read it, so it closes nothing: its state is forgotten by its TTL if it never returns.)
            const reason = `The DMARC check is off for ${report.identity}: monitoring of this incident stopped.`;
            await this.change(key, stored, trackReport(report, track), (previous) =>
              previous ? closeVanished(previous, this.run, reason) : undefined,
            );
          }
        } catch (error) {
          this.fail(`state of ${key}`, error, { identity: report.identity, region: report.region, track });
        }
      }
    });
  }

  /** Close the incidents of stored identities this run shows are gone. */
  async closeVanished(scope: LifecycleScope): Promise<void> {
    const monitored = new Set(scope.monitoredRegions);
    const complete = new Set(scope.completeRegions);
    // Listed keys name identities (no track): every track of a listed identity is still there.
    const gone = [...this.stored.values()].filter(
      (s) =>
        !monitored.has(s.region) ||
        (complete.has(s.region) && !scope.listedKeys.has(stateKey(s.region, s.identity, { account: s.account }))),
    );
    await Promise.all(
      gone.map((stored) =>
        this.limiter.run(async () => {
          const reason = monitored.has(stored.region)
            ? `${stored.identity} is no longer an SES identity in ${stored.region} (deleted, or ignored by configuration): monitoring stopped.`
            : `region ${stored.region} is no longer monitored: monitoring of ${stored.identity} stopped.`;
          try {
            await this.change(
              stored.key,
              stored,
              trackReport(vanishedReport(stored), stored.track ?? 'DKIM'),
              (previous) => (previous ? closeVanished(previous, this.run, reason) : undefined),
            );
          } catch (error) {
            this.fail(`state of ${stored.key}`, error, { identity: stored.identity, region: stored.region });
          }
        }),
      ),
    );
  }

  /** Deliver what was claimed, then acknowledge it. */
  async deliver(): Promise<LifecycleOutcome> {
    const { now } = this.run;
    const deliveredTo = new Map<string, Set<string>>();
    const items = this.claims.flatMap((c) => c.claimed.map((n) => ({ ...c, notification: n })));
    for (const channel of this.deps.channels) {
      const due = items.filter((i) => !(i.notification.deliveredTo ?? []).includes(channel.name));
      if (due.length === 0) continue;
      const batches: { alert: RenderedAlert; ids: string[] }[] =
        due.length >= this.settings.digestThreshold
          ? [
              {
                alert: renderDigest(
                  due.map((i) => ({ report: i.report, view: viewOf(i.notification, i.state, now) })),
                  this.context,
                ),
                ids: due.map((i) => i.notification.id),
              },
            ]
          : due.map((i) => ({
              alert: renderIdentityAlert(i.report, this.context, viewOf(i.notification, i.state, now)),
              ids: [i.notification.id],
            }));
      for (const batch of batches) {
        try {
          await channel.send(batch.alert);
          this.deps.logger.info('alert delivered', { channel: channel.name, notifications: batch.ids });
          for (const id of batch.ids) {
            const set = deliveredTo.get(id) ?? new Set<string>();
            set.add(channel.name);
            deliveredTo.set(id, set);
          }
        } catch (error) {
          this.fail(`channel ${channel.name}`, error, { channel: channel.name, notifications: batch.ids });
        }
      }
    }

    // Acknowledge what every channel has; release the rest (keeping which channels already have it).
    const allChannels = this.deps.channels.map((c) => c.name);
    const delivered: DeliveredNotification[] = [];
    await Promise.all(
      this.claims.map((claim) =>
        this.limiter.run(async () => {
          try {
            await this.acknowledge(claim.state.key, deliveredTo, allChannels);
          } catch (error) {
            // Delivered but not acknowledged: the claim expires and the next run may send it once more.
            this.fail(`acknowledgement for ${claim.state.key}`, error, { key: claim.state.key });
          }
          for (const n of claim.claimed) {
            const channels = [...new Set([...(n.deliveredTo ?? []), ...(deliveredTo.get(n.id) ?? [])])];
            if (allChannels.every((c) => channels.includes(c))) {
              delivered.push({
                id: n.id,
                stage: n.stage,
                identity: claim.report.identity,
                region: claim.report.region,
                channels,
              });
            }
          }
        }),
      ),
    );
    return { delivered, failures: this.failures, states: [...this.states.values()] };
  }

  private fail(what: string, error: unknown, extra: Record<string, unknown>): void {
    const reason = error instanceof Error ? error.message : String(error);
    this.failures.push(`${what}: ${reason}`);
    this.deps.logger.error(`${what} failed`, { ...extra, reason });
  }

  /** A claim this run may take: unclaimed, claimed by an earlier attempt of this same run, or abandoned. */
  private isFree(p: PendingNotification): boolean {
    if (!p.claimedBy || p.claimedBy === this.deps.invocationId) return true;
    return p.claimedAt !== undefined && this.run.now - Date.parse(p.claimedAt) > this.settings.claimLeaseMs;
  }

  /**
   * Decide, claim and write one identity: one conditional write (or delete, when there is nothing left to
   * remember), re-reading when another invocation wrote first. Nothing is written when nothing changed.
   */
  private async change(
    key: string,
    first: IdentityState | undefined,
    report: IdentityReport,
    next: (previous: IdentityState | undefined) => IdentityState | undefined,
  ): Promise<void> {
    let previous = first;
    for (let attempt = 1; ; attempt++) {
      const decided = next(previous);
      if (!decided) return;
      const claimed = decided.pending
        .filter((p) => this.isFree(p))
        .map((p) => ({ ...p, claimedBy: this.deps.invocationId, claimedAt: this.nowIso }));
      const mine = new Map(claimed.map((p) => [p.id, p]));
      const state: IdentityState = {
        ...decided,
        version: (previous?.version ?? 0) + 1,
        pending: decided.pending.map((p) => mine.get(p.id) ?? p),
      };
      try {
        if (!isWorthStoring(state)) {
          if (previous) await this.deps.store.remove(key, previous.version);
        } else if (claimed.length > 0 || changedSince(previous, state, this.run.now)) {
          await this.deps.store.put(state);
        }
        if (isWorthStoring(state)) this.states.set(key, state);
        if (claimed.length > 0) this.claims.push({ report, state, claimed });
        return;
      } catch (error) {
        if (!(error instanceof StaleStateError) || attempt >= MAX_WRITE_ATTEMPTS) throw error;
        previous = await this.deps.store.get(key);
      }
    }
  }

  private async acknowledge(key: string, deliveredTo: Map<string, Set<string>>, allChannels: string[]) {
    for (let attempt = 1; ; attempt++) {
      const previous = await this.deps.store.get(key);
      if (!previous) return;
      let changed = false;
      const pending = previous.pending.flatMap((p) => {
        if (p.claimedBy !== this.deps.invocationId || p.claimedAt !== this.nowIso) return [p];
        changed = true;
        const channels = [...new Set([...(p.deliveredTo ?? []), ...(deliveredTo.get(p.id) ?? [])])];
        if (allChannels.every((c) => channels.includes(c))) return [];
        const { claimedBy: _b, claimedAt: _a, ...released } = p;
        return [{ ...released, deliveredTo: channels }];
      });
      if (!changed) return;
      const state = { ...previous, version: previous.version + 1, pending };
      try {
        if (isWorthStoring(state)) await this.deps.store.put(state);
        else await this.deps.store.remove(key, previous.version);
        if (isWorthStoring(state)) this.states.set(key, state);
        else this.states.delete(key);
        return;
      } catch (error) {
        if (!(error instanceof StaleStateError) || attempt >= MAX_WRITE_ATTEMPTS) throw error;
      }
    }
  }
}

/** One whole run of the lifecycle over finished reports (the CLI-free path the scanner and tests use). */
export async function advanceLifecycle(
  reports: readonly IdentityReport[],
  settings: AlertLifecycleSettings,
  context: AlertContext,
  deps: AlertLifecycleDependencies,
  scope?: LifecycleScope,
): Promise<LifecycleOutcome> {
  const run = new AlertLifecycleRun(settings, context, deps);
  await run.load();
  await Promise.all(reports.map((report) => run.advance(report)));
  if (scope) await run.closeVanished(scope);
  return run.deliver();
}
