/**
 * A minimal DNSSEC signer for the offline demo and the tests (the product only validates): zone keys made
 * with node:crypto, RRSIGs over RRsets with chosen validity windows (expired ones included), DS records,
 * and their zone-file text for knot.
 */
import { createECDH, createHash, createPrivateKey, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { normalizeName } from '../../lambda/domain/dns-name';
import {
  type DnskeyRecord,
  type DsRecord,
  dsDigest,
  keyTag,
  type RrsigRecord,
  type ServedRrset,
  signedData,
} from '../../lambda/domain/dnssec';

/** A zone key pair. */
export interface SigningKey {
  readonly dnskey: DnskeyRecord;
  readonly privateKey: KeyObject;
}

/** DNSKEY flags: 256 for a zone-signing key, 257 with the secure entry point bit for a key-signing key. */
export const ZSK_FLAGS = 256;
export const KSK_FLAGS = 257;

/** Make a key of algorithm 8 (RSA/SHA-256), 13 (ECDSA P-256) or 15 (Ed25519). */
export function generateSigningKey(algorithm: 8 | 13 | 15, flags = KSK_FLAGS): SigningKey {
  const pair =
    algorithm === 8
      ? generateKeyPairSync('rsa', { modulusLength: 2048 })
      : algorithm === 13
        ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
        : generateKeyPairSync('ed25519');
  const jwk = pair.publicKey.export({ format: 'jwk' });
  const b = (v?: string) => Buffer.from(v ?? '', 'base64url');
  let key: Buffer;
  if (algorithm === 8) {
    const e = b(jwk.e);
    // RFC 3110 §2: exponent length, exponent, modulus.
    key = Buffer.concat([Buffer.of(e.length), e, b(jwk.n)]);
  } else if (algorithm === 13) {
    key = Buffer.concat([b(jwk.x), b(jwk.y)]);
  } else {
    key = b(jwk.x);
  }
  return { dnskey: { flags, algorithm, key }, privateKey: pair.privateKey };
}

/**
 * An ECDSA P-256 key (algorithm 13) derived from `seed`: the same seed gives the same key, so the demo's key
 * tags (and its golden files) are stable from run to run. For demos and tests only.
 */
export function seededSigningKey(seed: string, flags = KSK_FLAGS): SigningKey {
  const d = createHash('sha256').update(`ses-dkim-sentinel demo key: ${seed}`).digest();
  const ecdh = createECDH('prime256v1');
  ecdh.setPrivateKey(d);
  const point = ecdh.getPublicKey(); // 0x04 || x || y
  const x = point.subarray(1, 33);
  const y = point.subarray(33, 65);
  const privateKey = createPrivateKey({
    key: {
      kty: 'EC',
      crv: 'P-256',
      d: d.toString('base64url'),
      x: x.toString('base64url'),
      y: y.toString('base64url'),
    },
    format: 'jwk',
  });
  return { dnskey: { flags, algorithm: 13, key: Buffer.concat([x, y]) }, privateKey };
}

/** The validity window of a signature, in seconds since the epoch. */
export interface SignatureWindow {
  readonly inception: number;
  readonly expiration: number;
}

/** Sign an RRset with `key` as the zone `zone` would. */
export function signRrset(
  rrset: Pick<ServedRrset, 'name' | 'type' | 'data'>,
  zone: string,
  key: SigningKey,
  window: SignatureWindow,
  ttl = 300,
): RrsigRecord {
  const unsigned: RrsigRecord = {
    typeCovered: rrset.type,
    algorithm: key.dnskey.algorithm,
    labels: normalizeName(rrset.name)
      .split('.')
      .filter((l) => l !== '' && l !== '*').length,
    originalTTL: ttl,
    expiration: window.expiration % 2 ** 32,
    inception: window.inception % 2 ** 32,
    keyTag: keyTag(key.dnskey),
    signersName: normalizeName(zone),
    signature: Buffer.alloc(0),
  };
  const data = signedData(rrset, unsigned);
  const algorithm = key.dnskey.algorithm;
  const signature =
    algorithm === 13
      ? sign('sha256', data, { key: key.privateKey, dsaEncoding: 'ieee-p1363' })
      : sign(algorithm === 8 ? 'sha256' : null, data, key.privateKey);
  return { ...unsigned, signature };
}

/** The DS record (SHA-256) the parent publishes for `key` of `zone`. */
export function dsRecord(zone: string, key: DnskeyRecord): DsRecord {
  return { keyTag: keyTag(key), algorithm: key.algorithm, digestType: 2, digest: dsDigest(zone, key, 2) as Buffer };
}

/** `YYYYMMDDHHmmSS`, the zone-file form of an RRSIG time. */
function zoneTime(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace(/[-:T]/g, '').slice(0, 14);
}

/** Zone-file text of a DNSKEY's data. */
export function dnskeyText(key: DnskeyRecord): string {
  return `${key.flags} 3 ${key.algorithm} ${Buffer.from(key.key).toString('base64')}`;
}

/** Zone-file text of a DS record's data. */
export function dsText(ds: DsRecord): string {
  return `${ds.keyTag} ${ds.algorithm} ${ds.digestType} ${Buffer.from(ds.digest).toString('hex').toUpperCase()}`;
}

/** Zone-file text of an RRSIG's data. */
export function rrsigText(sig: RrsigRecord): string {
  return [
    sig.typeCovered,
    sig.algorithm,
    sig.labels,
    sig.originalTTL,
    zoneTime(sig.expiration),
    zoneTime(sig.inception),
    sig.keyTag,
    `${sig.signersName}.`,
    Buffer.from(sig.signature).toString('base64'),
  ].join(' ');
}
