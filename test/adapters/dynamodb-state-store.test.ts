import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DynamoDbScanLedger, DynamoDbStateStore } from '../../lambda/adapters/dynamodb-state-store';
import { DEFAULT_LIFECYCLE, decide, type RunObservation } from '../../lambda/domain/lifecycle';
import { StaleStateError } from '../../lambda/ports';
import { startDynalite } from '../support/dynalite';

const T = Date.parse('2026-11-23T00:00:00Z');
const bad: RunObservation = {
  ses: 'SUCCESS',
  dns: 'BROKEN',
  health: 'AT_RISK',
  causes: ['record|tok1._domainkey.a.example'],
  onEveryServer: true,
};
const run = (hours: number, runId = `run-${hours}`) => ({ now: T + hours * 3_600_000, runId });

describe('DynamoDbStateStore (dynalite)', () => {
  let db: Awaited<ReturnType<typeof startDynalite>>;
  let store: DynamoDbStateStore;
  beforeAll(async () => {
    db = await startDynalite();
    store = new DynamoDbStateStore(db.doc, db.tableName);
  });
  afterAll(async () => {
    await db?.stop();
  });

  it('stores and reads back a state with its incident, outbox and TTL', async () => {
    const { state } = decide(undefined, { identity: 'a.example', region: 'eu-west-1' }, bad, run(0), DEFAULT_LIFECYCLE);

    await store.put(state);
    const read = await store.get('eu-west-1#a.example');

    expect(read).toEqual(state);
    expect(read?.expiresAt).toBe(T / 1000 + 30 * 86_400);
    expect(read?.pending.map((p) => p.stage)).toEqual(['DETECTED']);
    expect(await store.get('eu-west-1#nobody.example')).toBeUndefined();
  });

  it('refuses a write based on a stale read, so overlapping runs cannot clobber each other', async () => {
    const first = decide(
      undefined,
      { identity: 'b.example', region: 'eu-west-1' },
      bad,
      run(0),
      DEFAULT_LIFECYCLE,
    ).state;
    await store.put(first);
    const runA = decide(first, { identity: 'b.example', region: 'eu-west-1' }, bad, run(1), DEFAULT_LIFECYCLE).state;
    const runB = decide(first, { identity: 'b.example', region: 'eu-west-1' }, bad, run(1), DEFAULT_LIFECYCLE).state;

    await store.put(runA);
    await expect(store.put(runB)).rejects.toThrow(StaleStateError);
    expect((await store.get('eu-west-1#b.example'))?.version).toBe(2);
  });

  it('refuses to create a state that another run created first', async () => {
    const state = decide(
      undefined,
      { identity: 'c.example', region: 'eu-west-1' },
      bad,
      run(0),
      DEFAULT_LIFECYCLE,
    ).state;
    await store.put(state);

    await expect(store.put(state)).rejects.toThrow(
      'state of eu-west-1#c.example changed since it was read (expected version 0)',
    );
  });

  it('lists every stored state and deletes one only at the version it was read', async () => {
    const state = decide(
      undefined,
      { identity: 'd.example', region: 'eu-west-1' },
      bad,
      run(0),
      DEFAULT_LIFECYCLE,
    ).state;
    await store.put(state);

    expect((await store.list()).map((s) => s.key)).toContain('eu-west-1#d.example');
    await expect(store.remove('eu-west-1#d.example', state.version + 1)).rejects.toThrow(StaleStateError);
    await store.remove('eu-west-1#d.example', state.version);
    expect(await store.get('eu-west-1#d.example')).toBeUndefined();
  });
});

describe('DynamoDbScanLedger (dynalite): lease, cursors and attribute cache beside the identity states', () => {
  let db: Awaited<ReturnType<typeof startDynalite>>;
  let ledger: DynamoDbScanLedger;
  let store: DynamoDbStateStore;
  beforeAll(async () => {
    db = await startDynalite('ledger-state');
    ledger = new DynamoDbScanLedger(db.doc, db.tableName);
    store = new DynamoDbStateStore(db.doc, db.tableName);
  });
  afterAll(async () => {
    await db?.stop();
  });

  it('grants the lease to one run at a time; the same run may take it again; a lapsed lease is taken over', async () => {
    expect(await ledger.acquire('run-a', T, T + 900_000)).toBe(true);
    expect(await ledger.acquire('run-b', T + 60_000, T + 960_000)).toBe(false);
    // Lambda retries an invocation with the same request ID.
    expect(await ledger.acquire('run-a', T + 60_000, T + 960_000)).toBe(true);
    // run-a crashed: after its lease ran out, the next run takes over, and run-a cannot release it.
    expect(await ledger.acquire('run-c', T + 961_000, T + 1_861_000)).toBe(true);
    await ledger.release('run-a');
    expect(await ledger.acquire('run-d', T + 962_000, T + 1_862_000)).toBe(false);
    await ledger.release('run-c');
    expect(await ledger.acquire('run-d', T + 963_000, T + 1_863_000)).toBe(true);
    await ledger.release('run-d');
  });

  it('stores one cursor per region and forgets it on request', async () => {
    await ledger.putCursor('eu-west-1', 'm.example');
    await ledger.putCursor('us-east-1', 'b.example');

    expect(await ledger.getCursor('eu-west-1')).toBe('m.example');
    expect(await ledger.getCursor('us-east-1')).toBe('b.example');
    await ledger.putCursor('eu-west-1', undefined);
    expect(await ledger.getCursor('eu-west-1')).toBeUndefined();
    expect(await ledger.getCursor('ap-south-1')).toBeUndefined();
  });

  it('keeps cached attributes per region, and the state list returns identity states only', async () => {
    // Prepare: an identity state, the lease, a cursor and two cache entries in one table.
    const { state } = decide(undefined, { identity: 'a.example', region: 'eu-west-1' }, bad, run(0), DEFAULT_LIFECYCLE);
    await store.put(state);
    await ledger.acquire('run-x', T, T + 900_000);
    const entry = {
      name: 'byo.example',
      region: 'eu-west-1',
      type: 'DOMAIN' as const,
      origin: 'EXTERNAL',
      tokens: ['sel1'],
      v1Tokens: [],
      lastKeyGeneration: '2026-11-01T00:00:00.000Z',
      readAt: '2026-11-23T00:00:00.000Z',
    };
    await ledger.save(entry);
    await ledger.save({ ...entry, region: 'us-east-1', name: 'other.example' });

    // Act
    const cached = await ledger.load('eu-west-1');
    const states = await store.list();

    // Assess
    expect([...cached.values()]).toEqual([entry]);
    // One scan serves every region of the run.
    const scans = vi.spyOn(db.doc, 'send');
    expect([...(await ledger.load('us-east-1')).keys()]).toEqual(['other.example']);
    expect(scans).not.toHaveBeenCalled();
    scans.mockRestore();
    expect(states.map((s) => s.key)).toEqual(['eu-west-1#a.example']);
    await ledger.release('run-x');
  });

  it('keeps custom MAIL FROM domains beside the attributes, read by the same one scan, and forgets one on request', async () => {
    // Prepare
    const mailFrom = {
      name: 'mf.example',
      region: 'eu-west-1',
      mailFrom: {
        domain: 'bounce.mf.example',
        status: 'SUCCESS' as const,
        behaviorOnMxFailure: 'USE_DEFAULT_VALUE' as const,
      },
      readAt: '2026-11-23T00:00:00.000Z',
    };
    await ledger.saveMailFrom(mailFrom);
    await ledger.saveMailFrom({ ...mailFrom, name: 'gone.example' });
    await ledger.removeMailFrom('eu-west-1', 'gone.example');
    const fresh = new DynamoDbScanLedger(db.doc, db.tableName);
    const scans = vi.spyOn(db.doc, 'send');

    // Act
    const found = await fresh.loadMailFrom('eu-west-1');
    const attributes = await fresh.load('eu-west-1');

    // Assess
    expect([...found.values()]).toEqual([mailFrom]);
    expect([...attributes.keys()]).not.toContain('mf.example');
    expect(scans).toHaveBeenCalledTimes(1);
    scans.mockRestore();
    expect(await store.list()).not.toEqual(expect.arrayContaining([expect.objectContaining({ name: 'mf.example' })]));
  });
});
