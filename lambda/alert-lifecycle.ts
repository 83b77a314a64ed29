import { Limiter } from './adapters/dns/limiter';
import { StaleStateError, type StateStore } from './adapters/dynamodb-state-store';
import type { AlertChannel } from './adapters/sns-alert-channel';
import type { IdentityReport } from './domain/assess-identity';
import {
  decide,
  hoursLeft,
  type IdentityState,
  type LifecycleSettings,
  observeReport,
  type PendingNotification,
} from './domain/lifecycle';
import {
  type AlertContext,
  type NotificationView,
  type RenderedAlert,
  renderDigest,
  renderIdentityAlert,
} from './domain/render-alert';

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
  /** Identifies this invocation in claims (the Lambda request ID). */
  readonly invocationId: string;
  readonly logger: {
    warn(message: string, extra: Record<string, unknown>): void;
    error(message: string, extra: Record<string, unknown>): void;
  };
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
  /** Deliveries that failed on some channel; they stay in the outbox and are retried next run. */
  readonly failures: readonly string[];
  /** The state of every identity after this run (for metrics such as hours left). */
  readonly states: readonly IdentityState[];
}

interface Claimed {
  readonly report: IdentityReport;
  readonly state: IdentityState;
  readonly claimed: readonly PendingNotification[];
}

const MAX_WRITE_ATTEMPTS = 5;

/** Read, change and write one state, re-reading when another invocation wrote first. */
async function update(
  store: StateStore,
  key: string,
  change: (previous: IdentityState | undefined) => IdentityState | undefined,
): Promise<IdentityState | undefined> {
  for (let attempt = 1; ; attempt++) {
    const previous = await store.get(key);
    const next = change(previous);
    if (!next) return previous;
    try {
      await store.put(next);
      return next;
    } catch (error) {
      if (!(error instanceof StaleStateError) || attempt >= MAX_WRITE_ATTEMPTS) throw error;
    }
  }
}

function viewOf(notification: PendingNotification, state: IdentityState, now: number): NotificationView {
  const incident = state.incident;
  const openedAt = notification.id.split('#')[2];
  return {
    stage: notification.stage,
    threshold: notification.threshold,
    hoursLeft: hoursLeft(incident, now),
    deadline: incident?.deadline,
    openedAt,
    brokenForHours:
      notification.stage === 'RESOLVED' && openedAt
        ? Math.round((now - Date.parse(openedAt)) / 360_000) / 10
        : undefined,
  };
}

/**
 * Advance every identity's lifecycle for one run and deliver what it decides, at least once and, short of a
 * crash between sending and acknowledging, exactly once:
 * 1. decide and claim: the new state and the claim on its outbox are one conditional write, so of two
 *    overlapping invocations only one owns a notification;
 * 2. deliver each claimed notification to each channel that has not had it (a digest when there are many);
 * 3. acknowledge (remove what every channel has) or release the claim on what failed, for the next run.
 */
export async function advanceLifecycle(
  reports: readonly IdentityReport[],
  settings: AlertLifecycleSettings,
  context: AlertContext,
  deps: AlertLifecycleDependencies,
): Promise<LifecycleOutcome> {
  const now = deps.now();
  const nowIso = new Date(now).toISOString();
  const limiter = new Limiter(16);
  const claims: Claimed[] = [];
  const states: IdentityState[] = [];
  await Promise.all(
    reports.map((report) =>
      limiter.run(async () => {
        let claimed: PendingNotification[] = [];
        const state = await update(deps.store, `${report.region}#${report.identity}`, (previous) => {
          const { state: next } = decide(previous, report, observeReport(report), now, settings);
          const free = (p: PendingNotification) =>
            !p.claimedBy || (p.claimedAt !== undefined && now - Date.parse(p.claimedAt) > settings.claimLeaseMs);
          claimed = next.pending.filter(free).map((p) => ({ ...p, claimedBy: deps.invocationId, claimedAt: nowIso }));
          const mine = new Map(claimed.map((p) => [p.id, p]));
          return { ...next, pending: next.pending.map((p) => mine.get(p.id) ?? p) };
        });
        if (state) states.push(state);
        if (state && claimed.length > 0) claims.push({ report, state, claimed });
      }),
    ),
  );

  // Deliver: per channel, what that channel has not had yet.
  const deliveredTo = new Map<string, Set<string>>();
  const failures: string[] = [];
  const items = claims.flatMap((c) => c.claimed.map((n) => ({ ...c, notification: n })));
  for (const channel of deps.channels) {
    const due = items.filter((i) => !(i.notification.deliveredTo ?? []).includes(channel.name));
    if (due.length === 0) continue;
    const batches: { alert: RenderedAlert; ids: string[] }[] =
      due.length >= settings.digestThreshold
        ? [
            {
              alert: renderDigest(
                due.map((i) => ({ report: i.report, view: viewOf(i.notification, i.state, now) })),
                context,
              ),
              ids: due.map((i) => i.notification.id),
            },
          ]
        : due.map((i) => ({
            alert: renderIdentityAlert(i.report, context, viewOf(i.notification, i.state, now)),
            ids: [i.notification.id],
          }));
    for (const batch of batches) {
      try {
        await channel.send(batch.alert);
        for (const id of batch.ids) {
          const set = deliveredTo.get(id) ?? new Set<string>();
          set.add(channel.name);
          deliveredTo.set(id, set);
        }
      } catch (error) {
        failures.push(`${channel.name}: ${(error as Error).message}`);
        deps.logger.error('alert not delivered', {
          channel: channel.name,
          notifications: batch.ids,
          error: (error as Error).message,
        });
      }
    }
  }

  // Acknowledge what every channel has; release the rest (keeping which channels already have it).
  const allChannels = deps.channels.map((c) => c.name);
  const delivered: DeliveredNotification[] = [];
  await Promise.all(
    claims.map((claim) =>
      limiter.run(async () => {
        await update(deps.store, claim.state.key, (previous) => {
          if (!previous) return undefined;
          let changed = false;
          const pending = previous.pending.flatMap((p) => {
            if (p.claimedBy !== deps.invocationId || p.claimedAt !== nowIso) return [p];
            changed = true;
            const channels = [...new Set([...(p.deliveredTo ?? []), ...(deliveredTo.get(p.id) ?? [])])];
            if (allChannels.every((c) => channels.includes(c))) return [];
            return [{ ...p, claimedBy: undefined, claimedAt: undefined, deliveredTo: channels }];
          });
          return changed ? { ...previous, version: previous.version + 1, pending } : undefined;
        });
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
  return { delivered, failures, states };
}
