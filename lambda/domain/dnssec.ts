/**
 * DNSSEC validation as a validating resolver does it for one zone (RFC 4034, RFC 4035 §5): DS digests
 * against DNSKEYs, RRSIG validity windows and the signatures themselves. Pure computation on data the probes
 * gathered (node:crypto verifies; nothing here reads a clock or a socket: the time is passed in).
 */
import { createHash, createPublicKey, type KeyObject, verify } from 'node:crypto';
import dnsPacket, { type Answer, type RecordType } from 'dns-packet';
import { normalizeName } from './dns-name';

/** A DS record as the parent serves it (field names as dns-packet decodes them). */
export interface DsRecord {
  readonly keyTag: number;
  readonly algorithm: number;
  readonly digestType: number;
  readonly digest: Uint8Array;
}

/** A DNSKEY record's data. */
export interface DnskeyRecord {
  readonly flags: number;
  readonly algorithm: number;
  readonly key: Uint8Array;
}

/** An RRSIG record's data. */
export interface RrsigRecord {
  readonly typeCovered: string;
  readonly algorithm: number;
  readonly labels: number;
  readonly originalTTL: number;
  /** Seconds since the epoch, modulo 2^32 (RFC 4034 §3.1.5): compare with serial arithmetic. */
  readonly expiration: number;
  readonly inception: number;
  readonly keyTag: number;
  readonly signersName: string;
  readonly signature: Uint8Array;
}

/** One RRset as a server served it, with the RRSIGs that cover it. */
export interface ServedRrset {
  /** Owner name, normalized. */
  readonly name: string;
  readonly type: string;
  /** The records' data as dns-packet decodes them (a name for CNAME, strings for TXT, DnskeyRecord...). */
  readonly data: readonly unknown[];
  readonly signatures: readonly RrsigRecord[];
}

/** Algorithms this module verifies (RFC 8624 "MUST"/"RECOMMENDED" to validate, plus P-384 and Ed448). */
export const SUPPORTED_ALGORITHMS: ReadonlyMap<number, string> = new Map([
  [8, 'RSASHA256'],
  [10, 'RSASHA512'],
  [13, 'ECDSAP256SHA256'],
  [14, 'ECDSAP384SHA384'],
  [15, 'ED25519'],
  [16, 'ED448'],
]);

/** DS digest types this module computes (RFC 8624: SHA-1 is still validated, SHA-256 and SHA-384 too). */
const DIGESTS: ReadonlyMap<number, string> = new Map([
  [1, 'sha1'],
  [2, 'sha256'],
  [4, 'sha384'],
]);

/** The DNSKEY flag marking a zone key (RFC 4034 §2.1.1): only these may sign the zone's data. */
export const ZONE_KEY_FLAG = 0x0100;

/** A name in canonical wire form (RFC 4034 §6.2): lower case, uncompressed. */
export function canonicalNameWire(name: string): Buffer {
  const labels = normalizeName(name)
    .split('.')
    .filter((l) => l !== '');
  return Buffer.concat([...labels.map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)])), Buffer.of(0)]);
}

/** The DNSKEY RDATA on the wire: flags, protocol 3, algorithm, public key. */
export function dnskeyRdata(key: DnskeyRecord): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt16BE(key.flags, 0);
  head.writeUInt8(3, 2);
  head.writeUInt8(key.algorithm, 3);
  return Buffer.concat([head, Buffer.from(key.key)]);
}

/** The key tag of a DNSKEY (RFC 4034 Appendix B; algorithm 1 is not supported anywhere, so not here). */
export function keyTag(key: DnskeyRecord): number {
  const rdata = dnskeyRdata(key);
  let sum = 0;
  for (let i = 0; i < rdata.length; i++) sum += i & 1 ? (rdata[i] as number) : (rdata[i] as number) << 8;
  sum += (sum >> 16) & 0xffff;
  return sum & 0xffff;
}

/** The DS digest of a key of `owner` with the given digest type; undefined for an unsupported type. */
export function dsDigest(owner: string, key: DnskeyRecord, digestType: number): Buffer | undefined {
  const algorithm = DIGESTS.get(digestType);
  if (!algorithm) return undefined;
  return createHash(algorithm)
    .update(Buffer.concat([canonicalNameWire(owner), dnskeyRdata(key)]))
    .digest();
}

/** Whether a DS record designates this key of `owner` (tag, algorithm and digest all match). */
export function dsMatchesKey(owner: string, ds: DsRecord, key: DnskeyRecord): boolean {
  if (ds.algorithm !== key.algorithm || ds.keyTag !== keyTag(key)) return false;
  const digest = dsDigest(owner, key, ds.digestType);
  return digest !== undefined && Buffer.from(ds.digest).equals(digest);
}

/** Whether validators can use this DS at all (known algorithm and digest type); others are ignored (RFC 4035 §5.2). */
export function isUsableDs(ds: DsRecord): boolean {
  return SUPPORTED_ALGORITHMS.has(ds.algorithm) && DIGESTS.has(ds.digestType);
}

/** Types whose RDATA holds names that are lowercased in canonical form (RFC 4034 §6.2 as amended by RFC 6840 §5.1). */
const NAME_RDATA_TYPES = new Set(['NS', 'CNAME', 'PTR', 'DNAME', 'MX', 'SOA', 'SRV']);

function lowercaseNames(type: string, data: unknown): unknown {
  if (!NAME_RDATA_TYPES.has(type)) return data;
  if (typeof data === 'string') return data.toLowerCase();
  const record = { ...(data as Record<string, unknown>) };
  for (const field of ['exchange', 'mname', 'rname', 'target']) {
    const value = record[field];
    if (typeof value === 'string') record[field] = value.toLowerCase();
  }
  return record;
}

/** One record's RDATA in canonical wire form (dns-packet encodes, never compressing names). */
export function canonicalRdata(type: string, data: unknown): Buffer {
  const packet = dnsPacket.encode({
    type: 'response',
    id: 0,
    flags: 0,
    answers: [{ name: '.', type, class: 'IN', ttl: 0, data: lowercaseNames(type, data) } as Answer],
  });
  // Header (12) + root owner name (1) + type, class, TTL (8) + RDLENGTH (2).
  const length = packet.readUInt16BE(12 + 1 + 8);
  return packet.subarray(12 + 1 + 10, 12 + 1 + 10 + length);
}

/** The owner name the signature was made over: a wildcard expansion is signed as `*.<closest labels>` (RFC 4035 §5.3.2). */
function signedOwner(owner: string, labels: number): string {
  const parts = normalizeName(owner)
    .split('.')
    .filter((l) => l !== '');
  if (labels >= parts.length) return parts.join('.');
  return ['*', ...parts.slice(parts.length - labels)].join('.');
}

/** The data an RRSIG signs (RFC 4034 §3.1.8.1, §6.3): its own RDATA without the signature, then the RRset in canonical order. */
export function signedData(rrset: Pick<ServedRrset, 'name' | 'type' | 'data'>, sig: RrsigRecord): Buffer {
  const head = Buffer.alloc(18);
  head.writeUInt16BE(typeCode(sig.typeCovered), 0);
  head.writeUInt8(sig.algorithm, 2);
  head.writeUInt8(sig.labels, 3);
  head.writeUInt32BE(sig.originalTTL >>> 0, 4);
  head.writeUInt32BE(sig.expiration >>> 0, 8);
  head.writeUInt32BE(sig.inception >>> 0, 12);
  head.writeUInt16BE(sig.keyTag, 16);
  const owner = canonicalNameWire(signedOwner(rrset.name, sig.labels));
  const fixed = Buffer.alloc(8);
  fixed.writeUInt16BE(typeCode(rrset.type), 0);
  fixed.writeUInt16BE(1, 2); // class IN
  fixed.writeUInt32BE(sig.originalTTL >>> 0, 4);
  const rdatas = [...new Map(rrset.data.map((d) => canonicalRdata(rrset.type, d)).map((b) => [b.toString('hex'), b]))]
    .map(([, b]) => b)
    .sort(Buffer.compare);
  const records = rdatas.map((rdata) => {
    const length = Buffer.alloc(2);
    length.writeUInt16BE(rdata.length);
    return Buffer.concat([owner, fixed, length, rdata]);
  });
  return Buffer.concat([head, canonicalNameWire(sig.signersName), ...records]);
}

function typeCode(type: string): number {
  // dns-packet knows the codes; encoding a question is the public way to ask it.
  const packet = dnsPacket.encode({
    type: 'query',
    id: 0,
    flags: 0,
    questions: [{ name: '.', type: type as RecordType, class: 'IN' }],
  });
  return packet.readUInt16BE(12 + 1);
}

const base64url = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url');

/** The public key of a DNSKEY as node:crypto needs it; undefined when the algorithm is unsupported or the key unreadable. */
export function publicKeyOf(key: DnskeyRecord): KeyObject | undefined {
  const raw = Buffer.from(key.key);
  try {
    switch (key.algorithm) {
      case 8:
      case 10: {
        // RFC 3110 §2: exponent length (1 byte, or 0 then 2 bytes), exponent, modulus.
        const long = raw[0] === 0;
        const expLength = long ? raw.readUInt16BE(1) : (raw[0] as number);
        const start = long ? 3 : 1;
        const e = raw.subarray(start, start + expLength);
        const n = raw.subarray(start + expLength);
        if (e.length === 0 || n.length === 0) return undefined;
        return createPublicKey({ key: { kty: 'RSA', n: base64url(n), e: base64url(e) }, format: 'jwk' });
      }
      case 13:
      case 14: {
        const size = key.algorithm === 13 ? 32 : 48;
        if (raw.length !== size * 2) return undefined;
        return createPublicKey({
          key: {
            kty: 'EC',
            crv: key.algorithm === 13 ? 'P-256' : 'P-384',
            x: base64url(raw.subarray(0, size)),
            y: base64url(raw.subarray(size)),
          },
          format: 'jwk',
        });
      }
      case 15:
      case 16:
        return createPublicKey({
          key: { kty: 'OKP', crv: key.algorithm === 15 ? 'Ed25519' : 'Ed448', x: base64url(raw) },
          format: 'jwk',
        });
      default:
        return undefined;
    }
  } catch {
    return undefined; // a key that is not a valid point or modulus verifies nothing
  }
}

const HASH: Record<number, string | null> = {
  8: 'sha256',
  10: 'sha512',
  13: 'sha256',
  14: 'sha384',
  15: null,
  16: null,
};

/** Whether `sig` is a correct signature by `key` over `rrset` (cryptography only: the time window is separate). */
export function signatureVerifies(
  rrset: Pick<ServedRrset, 'name' | 'type' | 'data'>,
  sig: RrsigRecord,
  key: DnskeyRecord,
): boolean {
  if (sig.algorithm !== key.algorithm || sig.keyTag !== keyTag(key)) return false;
  const publicKey = publicKeyOf(key);
  const hash = HASH[key.algorithm];
  if (!publicKey || hash === undefined) return false;
  try {
    const data = signedData(rrset, sig);
    const signature = Buffer.from(sig.signature);
    return key.algorithm === 13 || key.algorithm === 14
      ? verify(hash, data, { key: publicKey, dsaEncoding: 'ieee-p1363' }, signature)
      : verify(hash, data, publicKey, signature);
  } catch {
    return false;
  }
}

/** RFC 1982 serial comparison of 32-bit timestamps: negative when a is before b. */
export function compareSerial(a: number, b: number): number {
  const diff = ((a >>> 0) - (b >>> 0) + 2 ** 32) % 2 ** 32;
  if (diff === 0) return 0;
  return diff < 2 ** 31 ? 1 : -1;
}

/** Where `now` (seconds since the epoch) stands in a signature's validity window (RFC 4035 §5.3.1). */
export function signatureWindow(sig: RrsigRecord, now: number): 'VALID' | 'EXPIRED' | 'NOT_YET_VALID' {
  const t = Math.floor(now) % 2 ** 32;
  if (compareSerial(t, sig.expiration) > 0) return 'EXPIRED';
  if (compareSerial(t, sig.inception) < 0) return 'NOT_YET_VALID';
  return 'VALID';
}

/**
 * A signature's expiration as a point in time near `now` (timestamps wrap every 136 years: the one within
 * 68 years of now is meant).
 */
export function absoluteTime(timestamp: number, now: number): number {
  const t = Math.floor(now);
  let delta = ((timestamp >>> 0) - (t % 2 ** 32) + 2 ** 32) % 2 ** 32;
  if (delta >= 2 ** 31) delta -= 2 ** 32;
  return t + delta;
}

/** Keys, and signatures over one RRset, that are checked at most (the rest is ignored). */
export const MAX_CHECKED = 16;

/** How an RRset's signatures stand against a set of keys. */
export type RrsetVerdict =
  /** A signature by one of the keys verifies and is inside its window; `expiresAt`/`signedAt` are of the longest-lived such signature. */
  | { readonly kind: 'SECURE'; readonly expiresAt: number; readonly signedAt: number }
  /** Only signatures whose window has passed verify; `expiredAt` is the latest of their expirations. */
  | { readonly kind: 'EXPIRED'; readonly expiredAt: number }
  /** Signatures verify but none is valid yet (a signer clock ahead of time). */
  | { readonly kind: 'NOT_YET_VALID'; readonly validFrom: number }
  /** No RRSIG covers the RRset. */
  | { readonly kind: 'UNSIGNED' }
  /** RRSIGs are there, but none verifies with the keys (wrong key, broken signature, wrong signer). */
  | { readonly kind: 'BAD_SIGNATURE'; readonly why: string }
  /** Every signature uses an algorithm validators here do not support: no verdict possible. */
  | { readonly kind: 'UNSUPPORTED' };

/**
 * Judge an RRset's signatures against `keys` (the zone's validated keys, or the DS-designated keys for the
 * DNSKEY RRset itself), as of `now` in seconds since the epoch. Signatures by another signer than `zone`
 * do not count (RFC 4035 §5.3.1).
 */
export function verifyRrset(
  rrset: ServedRrset,
  allKeys: readonly DnskeyRecord[],
  zone: string,
  now: number,
): RrsetVerdict {
  // Data from DNS is untrusted: a server listing hundreds of keys or signatures must not cost
  // hundreds-squared verifications (validators bound this too). Real zones have a handful of each.
  const keys = allKeys.slice(0, MAX_CHECKED);
  const covering = rrset.signatures.filter((s) => s.typeCovered === rrset.type).slice(0, MAX_CHECKED);
  if (covering.length === 0) return { kind: 'UNSIGNED' };
  const supported = covering.filter((s) => SUPPORTED_ALGORITHMS.has(s.algorithm));
  if (supported.length === 0) return { kind: 'UNSUPPORTED' };
  const wrongSigner = supported.filter((s) => normalizeName(s.signersName) !== normalizeName(zone));
  const verified = supported.filter(
    (s) => !wrongSigner.includes(s) && keys.some((k) => signatureVerifies(rrset, s, k)),
  );
  const valid = verified.filter((s) => signatureWindow(s, now) === 'VALID');
  if (valid.length > 0) {
    const best = valid.reduce((a, b) => (compareSerial(a.expiration, b.expiration) >= 0 ? a : b));
    return {
      kind: 'SECURE',
      expiresAt: absoluteTime(best.expiration, now),
      signedAt: absoluteTime(best.inception, now),
    };
  }
  const expired = verified.filter((s) => signatureWindow(s, now) === 'EXPIRED');
  if (expired.length > 0) {
    const latest = expired.reduce((a, b) => (compareSerial(a.expiration, b.expiration) >= 0 ? a : b));
    return { kind: 'EXPIRED', expiredAt: absoluteTime(latest.expiration, now) };
  }
  if (verified.length > 0) return { kind: 'NOT_YET_VALID', validFrom: absoluteTime(verified[0]?.inception ?? 0, now) };
  if (wrongSigner.length === supported.length) {
    return {
      kind: 'BAD_SIGNATURE',
      why: `signed by ${normalizeName(supported[0]?.signersName ?? '')}, not by the zone ${zone}`,
    };
  }
  const tags = [...new Set(supported.map((s) => s.keyTag))].sort((a, b) => a - b);
  const known = new Set(keys.map(keyTag));
  return {
    kind: 'BAD_SIGNATURE',
    why: tags.some((t) => known.has(t))
      ? `the signature by key ${tags.filter((t) => known.has(t)).join('/')} does not verify (corrupted, or made over other data)`
      : `signed by key ${tags.join('/')}, which the zone's validated keys (${[...known].sort((a, b) => a - b).join('/') || 'none'}) do not include`,
  };
}
