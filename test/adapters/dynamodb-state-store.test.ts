import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbStateStore } from '../../lambda/adapters/dynamodb-state-store';
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
