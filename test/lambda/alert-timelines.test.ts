import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbStateStore } from '../../lambda/adapters/dynamodb-state-store';
import {
  AlertLifecycleRun,
  type AlertLifecycleSettings,
  advanceLifecycle,
  type LifecycleScope,
} from '../../lambda/alert-lifecycle';
import type { IdentityReport } from '../../lambda/domain/assess-identity';
import { DEFAULT_LIFECYCLE, stateKey } from '../../lambda/domain/lifecycle';
import { startDynalite } from '../support/dynalite';
import { CountingStore, RecordingChannel, reportFor, type Sight } from '../support/reports';

/**
 * Hour-by-hour incident timelines through the real lifecycle, the real DynamoDB store (dynalite) and two
 * channels, asserting the exact messages each channel receives.
 */
const HOUR = 3_600_000;
const T0 = Date.parse('2026-12-01T00:00:00Z');
const at = (hours: number) => new Date(T0 + hours * HOUR).toISOString();
const SETTINGS: AlertLifecycleSettings = { ...DEFAULT_LIFECYCLE, digestThreshold: 5, claimLeaseMs: 20 * 60_000 };
const quiet = { info: () => {}, warn: () => {}, error: () => {} };

let db: Awaited<ReturnType<typeof startDynalite>>;
let tables = 0;
beforeAll(async () => {
  db = await startDynalite('timelines');
});
afterAll(async () => {
  await db?.stop();
});

/** A fresh world: its own state table, a store and two channels. */
async function world() {
  tables++;
  const table = await db.createTable(`timelines-${tables}`);
  const store = new CountingStore(new DynamoDbStateStore(db.doc, table));
  const sns = new RecordingChannel('sns');
  const slack = new RecordingChannel('slack-webhook');
  const log: string[] = [];
  const run = async (
    hour: number,
    reports: IdentityReport[],
    options: { id?: string; scope?: LifecycleScope; offsetMs?: number } = {},
  ) => {
    const before = sns.sent.length;
    const outcome = await advanceLifecycle(
      reports,
      SETTINGS,
      { account: '123456789012' },
      {
        store,
        channels: [sns, slack],
        now: () => T0 + hour * HOUR + (options.offsetMs ?? 0),
        invocationId: options.id ?? `w${tables}-run-${hour}`,
        logger: quiet,
      },
      options.scope,
    );
    for (const alert of sns.sent.slice(before)) {
      const stages = [alert.attributes.stage].flat();
      const ids = [alert.attributes.identity].flat();
      stages.forEach((s, i) => {
        log.push(`${hour}h ${s}${ids.length > 1 || ids[0] !== reports[0]?.identity ? ` ${ids[i]}` : ''}`);
      });
    }
    return outcome;
  };
  return { store, sns, slack, log, run };
}

/** Drive one identity through a timeline: hour → sight (holding until changed). */
async function timeline(identity: string, sights: Record<number, Sight>, lastHour: number) {
  const w = await world();
  let current = sights[0] as Sight;
  for (let hour = 0; hour <= lastHour; hour++) {
    current = sights[hour] ?? current;
    await w.run(hour, [reportFor(identity, current)]);
  }
  return w;
}

describe('incident timelines (lifecycle + dynalite + channels, hour by hour)', () => {
  it('incident 1: one CNAME mistyped; SES TEMPORARY_FAILURE at 30 h; fixed at 60 h', async () => {
    const w = await timeline(
      'typo.example',
      {
        0: { ses: 'SUCCESS', dns: 'typo' },
        30: { ses: 'TEMPORARY_FAILURE', dns: 'typo', lastSuccess: at(29.5) },
        60: { ses: 'TEMPORARY_FAILURE', dns: 'ok', lastSuccess: at(29.5) },
        61: { ses: 'SUCCESS', dns: 'ok', lastSuccess: at(60.8) },
      },
      80,
    );

    expect(w.log).toEqual(['0h DETECTED', '30h SIGNING_STOPPED', '61h RESOLVED']);
    expect(w.slack.stages()).toEqual(w.sns.stages());
    const [detected, stopped] = w.sns.sent;
    expect(detected?.text).toContain('SES has not noticed yet and still signs');
    expect(detected?.text).not.toMatch(/hours left/);
    expect(stopped?.text).toContain(`it may revoke DKIM by ${at(149.5)}: 119.5 hours left`);
    expect(stopped?.attributes).toMatchObject({
      severity: 'critical',
      stage: 'SIGNING_STOPPED',
      account: '123456789012',
    });
    // Nothing is left in the table once healthy again.
    expect(await w.store.get(stateKey('eu-west-1', 'typo.example'))).toBeUndefined();
  });

  it('incident 2: old provider stale for 5 days; revocation; restart; the new setup fails again', async () => {
    const w = await timeline(
      'moved.example',
      {
        0: { ses: 'SUCCESS', dns: 'stale' },
        10: { ses: 'TEMPORARY_FAILURE', dns: 'stale', lastSuccess: at(9.6) },
        130: { ses: 'FAILED', dns: 'stale' },
        150: { ses: 'PENDING', dns: 'stale', setupStartedAt: at(149.5) },
        222: { ses: 'FAILED', dns: 'stale' },
      },
      240,
    );

    expect(w.log).toEqual([
      '1h DETECTED',
      '10h SIGNING_STOPPED',
      '58h REMINDER',
      '106h REMINDER',
      '124h REMINDER',
      '130h EXPIRED',
      '150h SETUP_BLOCKED',
      '198h REMINDER',
      '216h REMINDER',
      '222h EXPIRED',
    ]);
    const expired = w.sns.sent[5];
    expect(expired?.text).toContain('--signing-attributes-origin AWS_SES');
    const incidents = new Set(w.sns.sent.map((a) => a.attributes.incident));
    expect(incidents.size).toBe(2);
  });

  it('a stale server plus a good server that times out every other run: confirmed on the 2nd run, no UPDATE flood', async () => {
    const w = await world();
    for (let hour = 0; hour < 72; hour++) {
      await w.run(hour, [reportFor('flap.example', { ses: 'SUCCESS', dns: hour % 2 ? 'stale+timeout' : 'stale' })]);
    }

    expect(w.log).toEqual(['1h DETECTED']);
  });

  it("one identity's store error does not stop the others' alerts; it is reported and retried", async () => {
    const w = await world();
    w.store.failFor.add(stateKey('eu-west-1', 'b.example'));
    const reports = ['a.example', 'b.example', 'c.example'].map((n) => reportFor(n, { ses: 'SUCCESS', dns: 'typo' }));

    const outcome = await w.run(0, reports);

    expect(w.sns.stages().sort()).toEqual(['DETECTED a.example', 'DETECTED c.example']);
    expect(outcome.failures).toEqual([expect.stringContaining('eu-west-1#b.example')]);
    w.store.failFor.clear();
    await w.run(1, reports);
    expect(w.sns.stages().sort()).toEqual(['DETECTED a.example', 'DETECTED b.example', 'DETECTED c.example']);
  });

  it('a channel fails; the Lambda retry (same request id) sends to that channel only, exactly once', async () => {
    const w = await world();
    w.slack.failNext = 1;
    const reports = [reportFor('retry.example', { ses: 'SUCCESS', dns: 'typo' })];

    const first = await w.run(0, reports, { id: 'req-1' });
    const retry = await w.run(0, reports, { id: 'req-1', offsetMs: 60_000 });

    expect(first.failures).toHaveLength(1);
    expect(retry.failures).toEqual([]);
    expect(w.sns.stages()).toEqual(['DETECTED retry.example']);
    expect(w.slack.stages()).toEqual(['DETECTED retry.example']);
    await w.run(1, reports, { id: 'req-2' });
    expect(w.sns.stages()).toEqual(['DETECTED retry.example']);
    expect(w.slack.stages()).toEqual(['DETECTED retry.example']);
    expect((await w.store.get(stateKey('eu-west-1', 'retry.example')))?.pending).toEqual([]);
  });

  it('an invocation that dies after claiming (a timeout): its Lambda retry, same request id, takes the claims back and sends once', async () => {
    const w = await world();
    const reports = [reportFor('crash.example', { ses: 'SUCCESS', dns: 'typo' })];
    const crashed = new AlertLifecycleRun(
      SETTINGS,
      {},
      {
        store: w.store,
        channels: [w.sns, w.slack],
        now: () => T0,
        invocationId: 'req-crash',
        logger: quiet,
      },
    );
    await crashed.load();
    await crashed.advance(reports[0] as IdentityReport);
    // ... and the function is killed here, before delivering: the claim stays in the table.
    expect((await w.store.get(stateKey('eu-west-1', 'crash.example')))?.pending[0]?.claimedBy).toBe('req-crash');

    await w.run(0, reports, { id: 'req-crash', offsetMs: 120_000 });

    expect(w.sns.stages()).toEqual(['DETECTED crash.example']);
    expect(w.slack.stages()).toEqual(['DETECTED crash.example']);
    expect((await w.store.get(stateKey('eu-west-1', 'crash.example')))?.pending).toEqual([]);
  });

  it('a deleted identity: one CLOSED; re-created later, it starts fresh (no stale DETECTED or RESOLVED)', async () => {
    const w = await world();
    const scope = (names: string[]): LifecycleScope => ({
      monitoredRegions: ['eu-west-1'],
      completeRegions: ['eu-west-1'],
      listedKeys: new Set(names.map((n) => stateKey('eu-west-1', n))),
    });
    const broken = reportFor('gone.example', { ses: 'SUCCESS', dns: 'typo' });
    w.slack.failAlways = true; // the Slack copy of DETECTED stays undelivered
    await w.run(0, [broken], { scope: scope(['gone.example']) });
    await w.run(1, [], { scope: scope([]) });
    w.slack.failAlways = false;
    await w.run(2, [], { scope: scope([]) });
    await w.run(3, [reportFor('gone.example', { ses: 'SUCCESS', dns: 'ok' })], { scope: scope(['gone.example']) });

    expect(w.sns.stages()).toEqual(['DETECTED gone.example', 'CLOSED gone.example']);
    expect(w.slack.stages()).toEqual(['CLOSED gone.example']);
    expect(w.sns.sent[1]?.text).toContain('no longer an SES identity in eu-west-1');
    expect(await w.store.get(stateKey('eu-west-1', 'gone.example'))).toBeUndefined();
  });

  it('a region removed from the settings closes its incidents; a region whose listing failed closes nothing', async () => {
    const w = await world();
    const r1 = reportFor('x.example', { ses: 'SUCCESS', dns: 'typo' }, 'us-east-1');
    const r2 = reportFor('y.example', { ses: 'SUCCESS', dns: 'typo' }, 'eu-west-1');
    const all = new Set([stateKey('us-east-1', 'x.example'), stateKey('eu-west-1', 'y.example')]);
    await w.run(0, [r1, r2], {
      scope: {
        monitoredRegions: ['us-east-1', 'eu-west-1'],
        completeRegions: ['us-east-1', 'eu-west-1'],
        listedKeys: all,
      },
    });
    await w.run(1, [], {
      scope: { monitoredRegions: ['eu-west-1'], completeRegions: [], listedKeys: new Set() },
    });

    expect(w.sns.stages().sort()).toEqual(['CLOSED x.example', 'DETECTED x.example', 'DETECTED y.example']);
  });

  it('a healthy fleet of 1,000 identities writes nothing, and an at-risk one is written only when it changes', async () => {
    const w = await world();
    const fleet = Array.from({ length: 1000 }, (_, i) =>
      reportFor(`h${i}.fleet.example`, { ses: 'SUCCESS', dns: 'ok' }),
    );
    await w.run(0, fleet);
    await w.run(1, fleet);

    expect(w.store.puts + w.store.removes).toBe(0);
    const broken = reportFor('h0.fleet.example', { ses: 'SUCCESS', dns: 'typo' });
    await w.run(2, [broken, ...fleet.slice(1)]);
    const afterDetected = w.store.puts;
    await w.run(3, [broken, ...fleet.slice(1)]);
    await w.run(4, [broken, ...fleet.slice(1)]);
    // DETECTED: decide+claim, then acknowledge. The next runs change nothing but SES's last SUCCESS sighting.
    expect(afterDetected).toBe(2);
    expect(w.store.puts - afterDetected).toBeLessThanOrEqual(2);
  }, 60_000);
});
