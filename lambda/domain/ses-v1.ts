/**
 * SES v1 batch answers (`ListIdentities`, `GetIdentityDkimAttributes`) and the cached v2 attributes they
 * are combined with. v1 reads 100 identities a call, but it names no signing origin (BYODKIM, replicas),
 * no signing zone, no VerificationInfo and no key generation time: those come from v2 `GetEmailIdentity`,
 * read only where v1 cannot answer and kept between runs.
 */
import type { DkimStatus, IdentityType, SesIdentity, SesMailFrom } from './ses-identity';

/** One entry of v1 `DkimAttributes` (map identity → attributes), as the SDK returns it. */
export interface SesV1DkimAttributes {
  readonly DkimEnabled?: boolean;
  readonly DkimVerificationStatus?: string;
  readonly DkimTokens?: readonly string[];
}

const V1_STATUS: Readonly<Record<string, DkimStatus>> = {
  Pending: 'PENDING',
  Success: 'SUCCESS',
  Failed: 'FAILED',
  TemporaryFailure: 'TEMPORARY_FAILURE',
  NotStarted: 'NOT_STARTED',
};

/** v1 spells the status in CamelCase where v2 uses upper snake case; anything else is unknown. */
export function normalizeV1Status(status: string | undefined): DkimStatus | undefined {
  return status === undefined ? undefined : V1_STATUS[status];
}

/**
 * The v2 attributes worth keeping between runs: what v1 cannot say. Stored per identity; rewritten only when
 * they change or are refreshed.
 */
export interface CachedSesAttributes {
  readonly name: string;
  readonly region: string;
  readonly type: IdentityType;
  readonly origin?: string;
  readonly signingHostedZone?: string;
  /** v2 `Tokens` (for BYODKIM, the selectors). */
  readonly tokens: readonly string[];
  /** What v1 listed as tokens when v2 was read: a change in v1 means the setup changed, so v2 is read again. */
  readonly v1Tokens: readonly string[];
  readonly lastKeyGeneration?: string;
  /** When v2 was read (ISO 8601). */
  readonly readAt: string;
}

/** The attributes to cache from a freshly read identity. */
export function cacheableAttributes(
  identity: SesIdentity,
  v1Tokens: readonly string[],
  readAt: string,
): CachedSesAttributes {
  return {
    name: identity.name,
    region: identity.region,
    type: identity.type,
    ...(identity.dkim.origin ? { origin: identity.dkim.origin } : {}),
    ...(identity.dkim.signingHostedZone ? { signingHostedZone: identity.dkim.signingHostedZone } : {}),
    tokens: [...identity.dkim.tokens],
    v1Tokens: [...v1Tokens],
    ...(identity.dkim.lastKeyGeneration ? { lastKeyGeneration: identity.dkim.lastKeyGeneration } : {}),
    readAt,
  };
}

/** Whether two cache entries say the same thing (the read time aside). */
export function sameAttributes(a: CachedSesAttributes | undefined, b: CachedSesAttributes): boolean {
  if (!a) return false;
  const { readAt: _a, ...left } = a;
  const { readAt: _b, ...right } = b;
  return JSON.stringify(left, Object.keys(left).sort()) === JSON.stringify(right, Object.keys(right).sort());
}

/** Easy DKIM always publishes three 32-character tokens; anything else may be BYODKIM or a replica. */
export function looksLikeEasyDkim(tokens: readonly string[]): boolean {
  return tokens.length === 3 && tokens.every((t) => /^[a-z0-9]{32}$/.test(t));
}

const sameList = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x, i) => x === b[i]);

/**
 * Why v1's answer is not enough for this identity and v2 must be read this run; undefined when it is enough.
 * A name missing from v1's map is unknown, never healthy.
 */
export function fullReadReason(
  v1: SesV1DkimAttributes | undefined,
  cached: CachedSesAttributes | undefined,
): string | undefined {
  if (!v1) return 'missing from the v1 answer';
  const status = normalizeV1Status(v1.DkimVerificationStatus);
  if (!status) return `unknown v1 status ${JSON.stringify(v1.DkimVerificationStatus ?? null).slice(0, 40)}`;
  const enabled = v1.DkimEnabled ?? true;
  // A failure needs VerificationInfo (the countdown's anchor); a pending setup its key generation time.
  if (enabled && status !== 'SUCCESS') return `status ${status}`;
  const tokens = v1.DkimTokens ?? [];
  if (cached) return sameList(cached.v1Tokens, tokens) ? undefined : 'DKIM tokens changed';
  // What v1 lists for BYODKIM and replicas is unconfirmed: only Easy DKIM's unmistakable tokens are trusted.
  if (enabled && !looksLikeEasyDkim(tokens)) return 'new identity, not Easy DKIM tokens';
  return undefined;
}

/**
 * The identity as v1 and the cache describe it. Without a cache entry the identity is taken as Easy DKIM
 * in its own region (checked by {@link looksLikeEasyDkim} before), and an alert is never raised on that
 * assumption alone: the scanner reads v2 before reporting a problem.
 */
export function identityFromV1(
  name: string,
  region: string,
  v1: SesV1DkimAttributes,
  cached: CachedSesAttributes | undefined,
): SesIdentity {
  const byo = cached?.origin === 'EXTERNAL';
  return {
    name: name.trim().toLowerCase().replace(/\.+$/, ''),
    region,
    type: cached?.type ?? (name.includes('@') ? 'EMAIL_ADDRESS' : 'DOMAIN'),
    dkim: {
      signingEnabled: v1.DkimEnabled ?? true,
      status: normalizeV1Status(v1.DkimVerificationStatus),
      tokens: byo ? [...cached.tokens] : [...(v1.DkimTokens ?? [])],
      ...(cached?.origin ? { origin: cached.origin } : {}),
      ...(cached?.signingHostedZone ? { signingHostedZone: cached.signingHostedZone } : {}),
      ...(cached?.lastKeyGeneration ? { lastKeyGeneration: cached.lastKeyGeneration } : {}),
    },
  };
}

/**
 * The identities whose cached attributes are refreshed this run: never read first, then the oldest. With
 * `perRun` refreshes a run, every identity's attributes are at most ceil(N / perRun) runs old.
 */
export function refreshSlice(
  names: readonly string[],
  cache: ReadonlyMap<string, CachedSesAttributes>,
  perRun: number,
): Set<string> {
  const age = (name: string) => cache.get(name)?.readAt ?? '';
  return new Set(
    [...names].sort((a, b) => age(a).localeCompare(age(b)) || a.localeCompare(b)).slice(0, Math.max(0, perRun)),
  );
}

/**
 * The order identities are scanned in: by domain, labels from the right (`com.example.mail`), addresses
 * right after their domain. Identities of one zone come together, so the DNS work they share is done
 * once, even by a prober whose caches are renewed every few thousand identities.
 */
export function zoneOrderKey(name: string): string {
  const at = name.lastIndexOf('@');
  const domain = name
    .slice(at + 1)
    .split('.')
    .reverse()
    .join('.');
  return at < 0 ? domain : `${domain} ${name}`;
}

/** Names in scan order ({@link zoneOrderKey}). */
export function inZoneOrder(names: readonly string[]): string[] {
  return names
    .map((name) => ({ name, key: zoneOrderKey(name) }))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .map((e) => e.name);
}

/**
 * The names (in zone order) starting after `cursor` (the last name a cut-short run reached), wrapping
 * around: the cursor need not be listed any more.
 */
export function rotateAfter(ordered: readonly string[], cursor: string | undefined): string[] {
  if (!cursor) return [...ordered];
  const after = zoneOrderKey(cursor);
  const start = ordered.findIndex((n) => zoneOrderKey(n) > after);
  return start <= 0 ? [...ordered] : [...ordered.slice(start), ...ordered.slice(0, start)];
}

/** An identity's custom MAIL FROM domain as last read (v1 batch or v2), kept between runs. */
export interface CachedMailFrom {
  readonly name: string;
  readonly region: string;
  readonly mailFrom: SesMailFrom;
  /** When SES last said so (ISO 8601). */
  readonly readAt: string;
}

/** A cached MAIL FROM entry read again after this long is rewritten, so it never expires while still true. */
export const MAIL_FROM_REWRITE_AFTER_MS = 30 * 86_400_000;

/**
 * What a fresh read of an identity's MAIL FROM attributes does to its cache entry: `save` when it has a custom
 * MAIL FROM domain that differs from the cached one (or the entry is older than
 * {@link MAIL_FROM_REWRITE_AFTER_MS}), `remove` when it has none any more, nothing when nothing changed.
 */
export function mailFromCacheChange(
  cached: CachedMailFrom | undefined,
  fresh: SesMailFrom | undefined,
  now: number,
): 'save' | 'remove' | undefined {
  if (!fresh) return cached ? 'remove' : undefined;
  if (!cached) return 'save';
  const same =
    cached.mailFrom.domain === fresh.domain &&
    cached.mailFrom.status === fresh.status &&
    cached.mailFrom.behaviorOnMxFailure === fresh.behaviorOnMxFailure;
  return same && now - Date.parse(cached.readAt) < MAIL_FROM_REWRITE_AFTER_MS ? undefined : 'save';
}

/**
 * The identities whose MAIL FROM attributes are read with v1 this run: `size` names of the zone-ordered list,
 * starting at the 100-name batch holding the first name after `after` (the last name the previous run's
 * slice read), wrapping around. Starting on a batch boundary keeps the slice on the scan's own batches, so
 * it costs ceil(size / 100) calls; every identity is read at least every ceil(N / size) runs. With
 * `size >= N` every identity is read.
 * @returns the names, and the last of them (the next run's `after`)
 */
export function mailFromSlice(
  ordered: readonly string[],
  after: string | undefined,
  size: number,
  batch = 100,
): { names: Set<string>; last?: string } {
  if (size >= ordered.length) return { names: new Set(ordered), last: undefined };
  const key = after === undefined ? undefined : zoneOrderKey(after);
  const next =
    key === undefined
      ? 0
      : Math.max(
          0,
          ordered.findIndex((n) => zoneOrderKey(n) > key),
        );
  let start = Math.floor(next / batch) * batch;
  if (start >= ordered.length) start = 0;
  const names = Array.from({ length: size }, (_, i) => ordered[(start + i) % ordered.length] as string);
  return { names: new Set(names), last: names.at(-1) };
}
