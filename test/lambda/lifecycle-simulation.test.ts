import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbStateStore } from '../../lambda/adapters/dynamodb-state-store';
import { type AlertLifecycleSettings, advanceLifecycle, type LifecycleScope } from '../../lambda/alert-lifecycle';
import type { IdentityReport } from '../../lambda/domain/assess-identity';
import { DEFAULT_LIFECYCLE, type IdentityState, stateKey } from '../../lambda/domain/lifecycle';
import type { StateStore } from '../../lambda/ports';
import { startDynalite } from '../support/dynalite';
import { RecordingChannel, reportFor, type Sight } from '../support/reports';

/**
 * A thousand hourly runs of the real lifecycle against dynalite with the faults production sees: DNS that
 * breaks and heals, SES that notices (TEMPORARY_FAILURE), revokes (FAILED) and is restarted (PENDING),
 * inconclusive lookups, identities deleted and re-created, a region whose listing fails, channels that fail
 * (the invocation is retried by Lambda with the same request id, or not at all), and overlapping runs.
 */
const RUNS = 1000;
const HEAL_FROM = RUNS - 40; // the last runs are clean: every incident must have ended by then
const IDENTITIES = 8;
const REGIONS = ['eu-west-1', 'us-east-1'];
const HOUR = 3_600_000;
const T0 = Date.parse('2026-12-01T00:00:00Z');
const SETTINGS: AlertLifecycleSettings = { ...DEFAULT_LIFECYCLE, digestThreshold: 4, claimLeaseMs: 20 * 60_000 };

function mulberry32(seed: number) {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

interface Decided {
  readonly id: string;
  readonly key: string;
  readonly stage: string;
  readonly incidentId: string;
  readonly at: number;
}

/** A store that remembers every notification ever put in an outbox. */
class RecordingStore implements StateStore {
  readonly decided = new Map<string, Decided>();
  constructor(private readonly inner: StateStore) {}
  get(key: string) {
    return this.inner.get(key);
  }
  list() {
    return this.inner.list();
  }
  remove(key: string, version: number) {
    return this.inner.remove(key, version);
  }
  async put(state: IdentityState) {
    await this.inner.put(state);
    for (const p of state.pending) {
      if (!this.decided.has(p.id)) {
        this.decided.set(p.id, {
          id: p.id,
          key: state.key,
          stage: p.stage,
          incidentId: p.incidentId,
          at: Date.parse(p.decidedAt),
        });
      }
    }
  }
}

interface Truth {
  readonly name: string;
  readonly region: string;
  dns: 'ok' | 'typo' | 'stale' | 'missing';
  ses: Sight['ses'];
  sesSince: number;
  lastSuccess: number;
  deletedUntil: number;
}

describe(`lifecycle simulation (${RUNS} hourly runs, ${IDENTITIES} identities in 2 regions, seeded faults)`, () => {
  let db: Awaited<ReturnType<typeof startDynalite>>;
  beforeAll(async () => {
    db = await startDynalite('simulation');
  });
  afterAll(async () => {
    await db?.stop();
  });

  it('loses no alert, duplicates none, never expires while SES signs, and ends every incident', async () => {
    const random = mulberry32(20261123);
    const store = new RecordingStore(new DynamoDbStateStore(db.doc, db.tableName));
    const channels = [new RecordingChannel('sns'), new RecordingChannel('slack-webhook')];
    for (const c of channels) c.latencyMs = 2;
    const perChannel = new Map<string, number>(); // `${id}|${channel}` -> deliveries
    const logger = {
      info: (message: string, extra: Record<string, unknown>) => {
        if (message !== 'alert delivered') return;
        for (const id of extra.notifications as string[]) {
          const k = `${id}|${extra.channel}`;
          perChannel.set(k, (perChannel.get(k) ?? 0) + 1);
        }
      },
      warn: () => {},
      error: () => {},
    };
    const sesAt = new Map<string, string>(); // `${key}|${hour}` -> SES status that hour
    const truth: Truth[] = Array.from({ length: IDENTITIES }, (_, i) => ({
      name: `id${i}.example`,
      region: REGIONS[i % 2] as string,
      dns: 'ok',
      ses: 'SUCCESS',
      sesSince: 0,
      lastSuccess: 0,
      deletedUntil: -1,
    }));
    const counts = { invocations: 0, retried: 0, overlapped: 0, inconclusive: 0, deletions: 0, listingFailures: 0 };

    const evolve = (t: Truth, hour: number) => {
      if (hour >= HEAL_FROM) {
        t.dns = 'ok';
        if (t.ses !== 'SUCCESS') t.ses = t.ses === 'FAILED' ? 'PENDING' : 'SUCCESS';
        t.deletedUntil = Math.min(t.deletedUntil, hour);
        return;
      }
      if (t.deletedUntil > hour) return;
      if (t.deletedUntil === hour) Object.assign(t, { dns: 'ok', ses: 'SUCCESS', sesSince: hour, lastSuccess: hour });
      if (random() < 0.002) {
        counts.deletions++;
        t.deletedUntil = hour + 5 + Math.floor(random() * 20);
        return;
      }
      // DNS breaks and heals (identity 0 is only healed by the final clean period).
      if (t.dns === 'ok' && random() < 0.02)
        t.dns = (['typo', 'stale', 'missing'] as const)[Math.floor(random() * 3)] ?? 'typo';
      else if (t.dns !== 'ok' && t.name !== 'id0.example' && random() < 0.02) t.dns = 'ok';
      // SES's own clock.
      const since = hour - t.sesSince;
      const move = (ses: Sight['ses']) => Object.assign(t, { ses, sesSince: hour });
      if (t.ses === 'SUCCESS') {
        if (t.dns !== 'ok' && random() < 0.15) move('TEMPORARY_FAILURE');
        else t.lastSuccess = hour;
      } else if (t.ses === 'TEMPORARY_FAILURE') {
        if (t.dns === 'ok') move('SUCCESS');
        else if (since >= 120) move('FAILED');
      } else if (t.ses === 'FAILED') {
        if (random() < 0.05) move('PENDING');
      } else if (t.ses === 'PENDING') {
        if (t.dns === 'ok' && since >= 1) move('SUCCESS');
        else if (since >= 72) move('FAILED');
      }
    };

    const sight = (t: Truth): Sight => {
      const inconclusive = random() < 0.08;
      if (inconclusive) counts.inconclusive++;
      const dns = inconclusive ? (t.dns === 'stale' ? 'stale+timeout' : t.dns === 'ok' ? 'timeout' : t.dns) : t.dns;
      return {
        ses: t.ses,
        dns,
        lastSuccess: new Date(T0 + t.lastSuccess * HOUR).toISOString(),
        ...(t.ses === 'PENDING' ? { setupStartedAt: new Date(T0 + t.sesSince * HOUR).toISOString() } : {}),
      };
    };

    const invoke = async (
      hour: number,
      offsetMs: number,
      id: string,
      reports: IdentityReport[],
      scope: LifecycleScope,
    ) => {
      counts.invocations++;
      return advanceLifecycle(
        reports,
        SETTINGS,
        {},
        { store, channels, now: () => T0 + hour * HOUR + offsetMs, invocationId: id, logger },
        scope,
      );
    };

    for (let hour = 0; hour <= RUNS; hour++) {
      for (const t of truth) evolve(t, hour);
      const clean = hour >= HEAL_FROM;
      const failedRegion = !clean && random() < 0.02 ? REGIONS[Math.floor(random() * 2)] : undefined;
      if (failedRegion) counts.listingFailures++;
      const present = truth.filter((t) => t.deletedUntil <= hour && t.region !== failedRegion);
      const reports = present.map((t) => reportFor(t.name, sight(t), t.region));
      for (const t of present) sesAt.set(`${stateKey(t.region, t.name)}|${hour}`, t.ses);
      const scope: LifecycleScope = {
        monitoredRegions: REGIONS,
        completeRegions: REGIONS.filter((r) => r !== failedRegion),
        listedKeys: new Set(present.map((t) => stateKey(t.region, t.name))),
      };
      for (const c of channels) c.failNext = !clean && random() < 0.1 ? 1 : 0;
      const roll = random();
      if (!clean && roll < 0.1) {
        counts.overlapped++;
        await Promise.all([
          invoke(hour, 0, `run-${hour}`, reports, scope),
          invoke(hour, 900, `dup-${hour}`, reports, scope),
        ]);
        // A retried invocation may also overlap the next schedule: the retry comes back while it runs.
      } else {
        const first = await invoke(hour, 0, `run-${hour}`, reports, scope);
        // Lambda retries a failed invocation with the same request id, most of the time.
        if (first.failures.length > 0 && random() < 0.8) {
          counts.retried++;
          await invoke(hour, 60_000, `run-${hour}`, reports, scope);
        }
      }
    }

    const decided = [...store.decided.values()];
    const duplicated = [...perChannel.entries()].filter(([, n]) => n > 1).map(([k]) => k);
    // A notification about an identity that later vanished is replaced by its CLOSED (stale alerts help nobody).
    const closedAt = new Map(
      decided.filter((d) => d.stage === 'CLOSED').map((d) => [`${d.key}#${d.incidentId}`, d.at]),
    );
    const lost = decided
      .filter((d) => !(d.stage !== 'CLOSED' && closedAt.has(`${d.key}#${d.incidentId}`)))
      .filter((d) => channels.some((c) => !perChannel.has(`${d.id}|${c.name}`)))
      .map((d) => d.id);
    const expiredWhileSigning = decided
      .filter((d) => d.stage === 'EXPIRED')
      .filter((d) => sesAt.get(`${d.key}|${Math.round((d.at - T0) / HOUR)}`) === 'SUCCESS')
      .map((d) => d.id);
    const byIncident = new Map<string, Decided[]>();
    for (const d of decided)
      byIncident.set(`${d.key}#${d.incidentId}`, [...(byIncident.get(`${d.key}#${d.incidentId}`) ?? []), d]);
    const unended = [...byIncident.entries()]
      .filter(([, notes]) => {
        const last = [...notes].sort((a, b) => a.at - b.at).at(-1);
        return !['RESOLVED', 'EXPIRED', 'CLOSED'].includes(last?.stage ?? '');
      })
      .map(([incident]) => incident);
    const leftover: string[] = [];
    for (const t of truth)
      leftover.push(...((await store.get(stateKey(t.region, t.name)))?.pending ?? []).map((p) => p.id));
    const stages = new Map<string, number>();
    for (const d of decided) stages.set(d.stage, (stages.get(d.stage) ?? 0) + 1);

    // The closing figures, quoted in the issue's closing note.
    process.stdout.write(
      `simulation: ${RUNS + 1} runs, ${counts.invocations} invocations (${counts.overlapped} overlapping pairs, ${counts.retried} Lambda retries), ${counts.inconclusive} inconclusive identity-runs, ${counts.deletions} deletions, ${counts.listingFailures} failed listings; ${byIncident.size} incidents, ${decided.length} notifications decided (${[...stages].map(([s, n]) => `${n} ${s}`).join(', ')}), ${[...perChannel.values()].reduce((a, b) => a + b, 0)} channel deliveries; lost ${lost.length}, duplicated ${duplicated.length}, EXPIRED while SES signs ${expiredWhileSigning.length}, incidents not ended ${unended.length}, left pending ${leftover.length}\n`,
    );

    expect(counts.deletions).toBeGreaterThan(0);
    expect(counts.retried).toBeGreaterThan(5);
    expect(counts.overlapped).toBeGreaterThan(5);
    expect(duplicated).toEqual([]);
    expect(lost).toEqual([]);
    expect(expiredWhileSigning).toEqual([]);
    expect(unended).toEqual([]);
    expect(leftover).toEqual([]);
    for (const stage of ['DETECTED', 'SIGNING_STOPPED', 'REMINDER', 'EXPIRED', 'RESOLVED', 'CLOSED', 'SETUP_BLOCKED'])
      expect(stages.get(stage) ?? 0, stage).toBeGreaterThan(0);
  }, 240_000);
});
