import { describe, expect, it } from 'vitest';
import {
  type CachedSesAttributes,
  fullReadReason,
  identityFromV1,
  inZoneOrder,
  looksLikeEasyDkim,
  MAIL_FROM_REWRITE_AFTER_MS,
  mailFromCacheChange,
  mailFromSlice,
  normalizeV1Status,
  refreshSlice,
  rotateAfter,
  type SesV1DkimAttributes,
  sameAttributes,
} from '../../lambda/domain/ses-v1';

const easy = ['a'.repeat(32), 'b'.repeat(32), 'c'.repeat(32)];
const cached = (extra: Partial<CachedSesAttributes> = {}): CachedSesAttributes => ({
  name: 'example.com',
  region: 'eu-west-1',
  type: 'DOMAIN',
  origin: 'AWS_SES',
  tokens: easy,
  v1Tokens: easy,
  readAt: '2026-11-20T00:00:00.000Z',
  ...extra,
});
const v1 = (status: string, tokens: string[] = easy, enabled = true): SesV1DkimAttributes => ({
  DkimEnabled: enabled,
  DkimVerificationStatus: status,
  DkimTokens: tokens,
});

describe('SES v1 answers', () => {
  it.each([
    ['Success', 'SUCCESS'],
    ['Pending', 'PENDING'],
    ['Failed', 'FAILED'],
    ['TemporaryFailure', 'TEMPORARY_FAILURE'],
    ['NotStarted', 'NOT_STARTED'],
    ['SUCCESS', undefined],
    ['success', undefined],
    [undefined, undefined],
  ])('normalizes v1 status %s to %s (anything else is unknown)', (given, expected) => {
    expect(normalizeV1Status(given)).toBe(expected);
  });

  const cases: [string, SesV1DkimAttributes | undefined, CachedSesAttributes | undefined, string | undefined][] = [
    ['missing from the map', undefined, cached(), 'missing from the v1 answer'],
    ['an unknown status', v1('Verified'), cached(), 'unknown v1 status "Verified"'],
    ['a temporary failure', v1('TemporaryFailure'), cached(), 'status TEMPORARY_FAILURE'],
    ['a pending setup', v1('Pending'), cached(), 'status PENDING'],
    ['success, cached, same tokens', v1('Success'), cached(), undefined],
    ['success, cached, new tokens', v1('Success', ['d'.repeat(32), ...easy.slice(1)]), cached(), 'DKIM tokens changed'],
    ['success, new, Easy DKIM tokens', v1('Success'), undefined, undefined],
    ['success, new, no tokens (BYODKIM?)', v1('Success', []), undefined, 'new identity, not Easy DKIM tokens'],
    ['success, new, a selector', v1('Success', ['sel1']), undefined, 'new identity, not Easy DKIM tokens'],
    ['DKIM off, not started', v1('NotStarted', [], false), undefined, undefined],
  ];
  it.each(cases)('full read needed: %s', (_label, answer, entry, reason) => {
    expect(fullReadReason(answer, entry)).toBe(reason);
  });

  it('takes BYODKIM selectors, origin and key time from the cache, status and signing from v1', () => {
    const identity = identityFromV1(
      'Byo.Example.com.',
      'eu-west-1',
      v1('TemporaryFailure', [], true),
      cached({ origin: 'EXTERNAL', tokens: ['sel1'], lastKeyGeneration: '2026-11-01T00:00:00.000Z' }),
    );

    expect(identity).toEqual({
      name: 'byo.example.com',
      region: 'eu-west-1',
      type: 'DOMAIN',
      dkim: {
        signingEnabled: true,
        status: 'TEMPORARY_FAILURE',
        tokens: ['sel1'],
        origin: 'EXTERNAL',
        lastKeyGeneration: '2026-11-01T00:00:00.000Z',
      },
    });
  });

  it('knows Easy DKIM tokens by their shape only', () => {
    expect(looksLikeEasyDkim(easy)).toBe(true);
    expect(looksLikeEasyDkim(easy.slice(0, 2))).toBe(false);
    expect(looksLikeEasyDkim([...easy.slice(0, 2), 'sel1'])).toBe(false);
  });

  it('compares cache entries without their read time', () => {
    expect(sameAttributes(cached(), cached({ readAt: '2026-11-23T00:00:00.000Z' }))).toBe(true);
    expect(sameAttributes(cached(), cached({ origin: 'EXTERNAL' }))).toBe(false);
    expect(sameAttributes(undefined, cached())).toBe(false);
  });

  it('refreshes never-read identities first, then the oldest', () => {
    const cache = new Map([
      ['a', cached({ name: 'a', readAt: '2026-11-22T00:00:00.000Z' })],
      ['b', cached({ name: 'b', readAt: '2026-11-01T00:00:00.000Z' })],
      ['c', cached({ name: 'c', readAt: '2026-11-10T00:00:00.000Z' })],
    ]);
    expect([...refreshSlice(['a', 'b', 'c', 'd'], cache, 2)]).toEqual(['d', 'b']);
    expect(refreshSlice(['a'], cache, 0).size).toBe(0);
  });

  it('orders identities by zone, labels from the right, addresses right after their domain', () => {
    expect(
      inZoneOrder(['mail.b.example', 'a.example', 'news@b.example', 'b.example', 'b.example.org', 'x.b.example']),
    ).toEqual(['a.example', 'b.example', 'news@b.example', 'mail.b.example', 'x.b.example', 'b.example.org']);
  });

  it('starts after the cursor and wraps around, whether or not the cursor is still listed', () => {
    const ordered = ['a.test', 'b.test', 'c.test', 'd.test'];
    expect(rotateAfter(ordered, 'b.test')).toEqual(['c.test', 'd.test', 'a.test', 'b.test']);
    expect(rotateAfter(ordered, 'bb.test')).toEqual(['c.test', 'd.test', 'a.test', 'b.test']);
    expect(rotateAfter(ordered, 'z.test')).toEqual(ordered);
    expect(rotateAfter(ordered, undefined)).toEqual(ordered);
  });

  it('reads MAIL FROM attributes in a rolling slice on batch boundaries, wrapping, every identity within ceil(N / size) runs', () => {
    const names = Array.from({ length: 1000 }, (_, i) => `d${String(i).padStart(4, '0')}.test`);
    const seen = new Map<string, number>();
    let after: string | undefined;
    for (let run = 1; run <= 3; run++) {
      const slice = mailFromSlice(names, after, 400);
      expect(slice.names.size).toBe(400);
      for (const n of slice.names) if (!seen.has(n)) seen.set(n, run);
      after = slice.last;
    }
    expect(seen.size).toBe(1000);
    // Run 3 reads 800-999, then 0-199 again.
    expect(mailFromSlice(names, 'd0799.test', 400).last).toBe('d0199.test');
    // A cursor inside a batch (a name added or removed since) starts at that batch's first name.
    expect([...mailFromSlice(names, 'd0450.test', 100).names][0]).toBe('d0400.test');
    // A small fleet is read whole every run, with no position to store.
    expect(mailFromSlice(names.slice(0, 300), 'd0100.test', 400)).toEqual({
      names: new Set(names.slice(0, 300)),
      last: undefined,
    });
  });

  it('writes a MAIL FROM cache entry only when it changes, goes away, or grows old', () => {
    const mailFrom = {
      domain: 'mail.a.test',
      status: 'SUCCESS' as const,
      behaviorOnMxFailure: 'USE_DEFAULT_VALUE' as const,
    };
    const entry = { name: 'a.test', region: 'eu-west-1', mailFrom, readAt: '2026-11-01T00:00:00.000Z' };
    const now = Date.parse('2026-11-02T00:00:00.000Z');

    expect(mailFromCacheChange(undefined, undefined, now)).toBeUndefined();
    expect(mailFromCacheChange(undefined, mailFrom, now)).toBe('save');
    expect(mailFromCacheChange(entry, mailFrom, now)).toBeUndefined();
    expect(mailFromCacheChange(entry, { ...mailFrom, status: 'TEMPORARY_FAILURE' }, now)).toBe('save');
    expect(mailFromCacheChange(entry, { ...mailFrom, behaviorOnMxFailure: 'REJECT_MESSAGE' }, now)).toBe('save');
    expect(mailFromCacheChange(entry, undefined, now)).toBe('remove');
    expect(mailFromCacheChange(entry, mailFrom, Date.parse(entry.readAt) + MAIL_FROM_REWRITE_AFTER_MS)).toBe('save');
  });
});
