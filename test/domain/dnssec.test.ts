import { describe, expect, it } from 'vitest';
import { dsRecord, generateSigningKey, signRrset, ZSK_FLAGS } from '../../bin/demo/dnssec-signer';
import {
  absoluteTime,
  compareSerial,
  dsDigest,
  dsMatchesKey,
  keyTag,
  MAX_CHECKED,
  type RrsigRecord,
  signatureVerifies,
  signatureWindow,
  signedData,
  verifyRrset,
} from '../../lambda/domain/dnssec';

const b64 = (s: string) => Buffer.from(s.replace(/\s/g, ''), 'base64');

// RFC 4034 §5.4 and RFC 4509 §2.3: the DS records of dskey.example.com's key 60485.
const RFC4034_KEY = {
  flags: 256,
  algorithm: 5,
  key: b64(`AQOeiiR0GOMYkDshWoSKz9XzfwJr1AYtsmx3TGkJaNXVbfi/2pHm822aJ5iI9BMzNXxeYCmZDRD99WYwYqUSdjMmmAphXdvx
    egXd/M5+X7OrzKBaMbCVdFLUUh6DhweJBjEVv5f2wwjM9XzcnOf+EPbtG9DMBmADjFDc2w/rljwvFw==`),
};

// RFC 8080 §6.1: an Ed25519 key, its DS and an RRSIG over an MX RRset.
const RFC8080_KEY = { flags: 257, algorithm: 15, key: b64('l02Woi0iS8Aa25FQkUd9RMzZHJpBoRQwAQEX1SxZJA4=') };
const RFC8080_MX = { name: 'example.com', type: 'MX', data: [{ preference: 10, exchange: 'mail.example.com' }] };
const RFC8080_SIG: RrsigRecord = {
  typeCovered: 'MX',
  algorithm: 15,
  labels: 2,
  originalTTL: 3600,
  expiration: 1440021600,
  inception: 1438207200,
  keyTag: 3613,
  signersName: 'example.com',
  signature: b64('oL9krJun7xfBOIWcGHi7mag5/hdZrKWw15jPGrHpjQeRAvTdszaPD+QLs3fx8A4M3e23mRZ9VrbpMngwcrqNAg=='),
};

const NOW = 1_800_000_000;
const DAY = 86_400;
const window = { inception: NOW - DAY, expiration: NOW + 14 * DAY };
const cname = { name: 'tok1._domainkey.example.test', type: 'CNAME', data: ['tok1.dkim.amazonses.test'] };

describe('DS and key tags (RFC vectors)', () => {
  it('computes the key tag and SHA-1 / SHA-256 DS digests of RFC 4034 §5.4 and RFC 4509 §2.3', () => {
    expect(keyTag(RFC4034_KEY)).toBe(60485);
    expect(dsDigest('dskey.example.com', RFC4034_KEY, 1)?.toString('hex').toUpperCase()).toBe(
      '2BB183AF5F22588179A53B0A98631FAD1A292118',
    );
    expect(dsDigest('DSKEY.Example.COM.', RFC4034_KEY, 2)?.toString('hex').toUpperCase()).toBe(
      'D4B7D520E7BB5F0F67674A0CCEB1E3E0614B93C4F9E99B8383F6A1E4469DA50A',
    );
    expect(dsDigest('dskey.example.com', RFC4034_KEY, 3)).toBeUndefined();
  });

  it('matches the RFC 8080 DS to its Ed25519 key, and not to another name or key', () => {
    const ds = {
      keyTag: 3613,
      algorithm: 15,
      digestType: 2,
      digest: Buffer.from('3aa5ab37efce57f737fc1627013fee07bdf241bd10f3b1964ab55c78e79a304b', 'hex'),
    };
    expect(keyTag(RFC8080_KEY)).toBe(3613);
    expect(dsMatchesKey('example.com', ds, RFC8080_KEY)).toBe(true);
    expect(dsMatchesKey('example.net', ds, RFC8080_KEY)).toBe(false);
    expect(dsMatchesKey('example.com', ds, generateSigningKey(15).dnskey)).toBe(false);
  });

  it('verifies the RFC 8080 Ed25519 signature over the MX RRset, and rejects a changed record', () => {
    expect(signatureVerifies(RFC8080_MX, RFC8080_SIG, RFC8080_KEY)).toBe(true);
    // Canonical form: case does not change what was signed.
    expect(signatureVerifies({ ...RFC8080_MX, name: 'EXAMPLE.com.' }, RFC8080_SIG, RFC8080_KEY)).toBe(true);
    const changed = { ...RFC8080_MX, data: [{ preference: 20, exchange: 'mail.example.com' }] };
    expect(signatureVerifies(changed, RFC8080_SIG, RFC8080_KEY)).toBe(false);
  });
});

describe('signatures made with node:crypto', () => {
  for (const algorithm of [8, 13, 15] as const) {
    it(`algorithm ${algorithm}: a signature verifies, whatever the record order and name case`, () => {
      const key = generateSigningKey(algorithm, ZSK_FLAGS);
      const txt = { name: 'sel._domainkey.example.test', type: 'TXT', data: [['b'], ['a'], ['c']] };
      const sig = signRrset(txt, 'example.test', key, window);
      expect(signatureVerifies(txt, sig, key.dnskey)).toBe(true);
      const reordered = { name: 'SEL._domainkey.Example.test', type: 'TXT', data: [['c'], ['a'], ['b'], ['a']] };
      expect(signatureVerifies(reordered, sig, key.dnskey)).toBe(true);
      expect(signatureVerifies({ ...txt, data: [['b'], ['a']] }, sig, key.dnskey)).toBe(false);
      const other = generateSigningKey(algorithm, ZSK_FLAGS);
      expect(signatureVerifies(txt, sig, other.dnskey)).toBe(false);
    });
  }

  it('lowercases CNAME targets before signing (RFC 4034 §6.2)', () => {
    const key = generateSigningKey(13);
    const sig = signRrset(cname, 'example.test', key, window);
    expect(signatureVerifies({ ...cname, data: ['TOK1.DKIM.amazonses.test.'] }, sig, key.dnskey)).toBe(true);
  });

  it('signs a wildcard expansion as the wildcard', () => {
    const key = generateSigningKey(13);
    const wildcard = { name: '*.example.test', type: 'TXT', data: [['x']] };
    const sig = signRrset(wildcard, 'example.test', key, window);
    expect(sig.labels).toBe(2);
    expect(signatureVerifies({ ...wildcard, name: 'any.thing.example.test' }, sig, key.dnskey)).toBe(true);
    expect(signedData({ ...wildcard, name: 'a.example.test' }, sig)).toEqual(signedData(wildcard, sig));
  });

  it('DS records made for a key match it', () => {
    const key = generateSigningKey(8);
    expect(dsMatchesKey('example.test', dsRecord('example.test', key.dnskey), key.dnskey)).toBe(true);
  });
});

describe('bounded work', () => {
  it(`checks at most ${MAX_CHECKED} signatures of an RRset: a flood of junk signatures cannot buy unbounded work`, () => {
    const key = generateSigningKey(13);
    const good = signRrset(cname, 'example.test', key, window);
    const junk = { ...good, signature: Buffer.alloc(64, 1) };
    const early = [good, ...Array.from({ length: 40 }, () => junk)];
    const late = [...Array.from({ length: 40 }, () => junk), good];
    expect(verifyRrset({ ...cname, signatures: early }, [key.dnskey], 'example.test', NOW).kind).toBe('SECURE');
    expect(verifyRrset({ ...cname, signatures: late }, [key.dnskey], 'example.test', NOW).kind).toBe('BAD_SIGNATURE');
  });
});

describe('validity windows', () => {
  it('uses serial arithmetic across the 2106 wrap', () => {
    expect(compareSerial(1, 2 ** 32 - 1)).toBe(1);
    expect(compareSerial(5, 5)).toBe(0);
    const wrapNow = 2 ** 32 + 100; // shortly after the 32-bit wrap
    const sig = { expiration: 200, inception: 2 ** 32 - 1000 } as RrsigRecord;
    expect(signatureWindow(sig, wrapNow)).toBe('VALID');
    expect(signatureWindow(sig, wrapNow + 200)).toBe('EXPIRED');
    expect(absoluteTime(200, wrapNow)).toBe(2 ** 32 + 200);
    expect(absoluteTime(2 ** 32 - 1000, wrapNow)).toBe(2 ** 32 - 1000);
  });

  it('judges an RRset: secure, expired, not yet valid, unsigned, bad signature, wrong signer', () => {
    const key = generateSigningKey(13);
    const keys = [key.dnskey];
    const signed = (w: typeof window, zone = 'example.test') => ({
      ...cname,
      signatures: [signRrset(cname, zone, key, w)],
    });
    expect(verifyRrset(signed(window), keys, 'example.test', NOW)).toEqual({
      kind: 'SECURE',
      expiresAt: window.expiration,
      signedAt: window.inception,
    });
    expect(
      verifyRrset(signed({ inception: NOW - 30 * DAY, expiration: NOW - 2 * DAY }), keys, 'example.test', NOW),
    ).toEqual({ kind: 'EXPIRED', expiredAt: NOW - 2 * DAY });
    expect(
      verifyRrset(signed({ inception: NOW + DAY, expiration: NOW + 9 * DAY }), keys, 'example.test', NOW).kind,
    ).toBe('NOT_YET_VALID');
    expect(verifyRrset({ ...cname, signatures: [] }, keys, 'example.test', NOW).kind).toBe('UNSIGNED');
    const broken = signed(window);
    const corrupted = Buffer.from(broken.signatures[0]?.signature ?? []);
    corrupted[5] = (corrupted[5] ?? 0) ^ 0xff;
    const bad = verifyRrset(
      { ...broken, signatures: [{ ...(broken.signatures[0] as RrsigRecord), signature: corrupted }] },
      keys,
      'example.test',
      NOW,
    );
    expect(bad).toMatchObject({ kind: 'BAD_SIGNATURE', why: expect.stringContaining('does not verify') });
    const foreign = verifyRrset(signed(window), [generateSigningKey(13).dnskey], 'example.test', NOW);
    expect(foreign).toMatchObject({ kind: 'BAD_SIGNATURE', why: expect.stringContaining('do not include') });
    expect(verifyRrset(signed(window, 'other.test'), keys, 'example.test', NOW)).toMatchObject({
      kind: 'BAD_SIGNATURE',
      why: expect.stringContaining('not by the zone'),
    });
    const rsasha1 = { ...(signed(window).signatures[0] as RrsigRecord), algorithm: 5 };
    expect(verifyRrset({ ...cname, signatures: [rsasha1] }, keys, 'example.test', NOW).kind).toBe('UNSUPPORTED');
  });
});
