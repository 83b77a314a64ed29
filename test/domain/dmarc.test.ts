import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  isDmarcRecord,
  MAX_DMARC_LENGTH,
  organizationalDomain,
  parseDmarc,
  relaxedAligned,
} from '../../lambda/domain/dmarc';

describe('isDmarcRecord (RFC 7489 §6.6.3 step 2)', () => {
  it.each([
    ['v=DMARC1; p=none', true],
    ['v=DMARC1;p=none', true],
    ['v = DMARC1 ; p=none', true],
    ['V=DMARC1; p=none', true],
    ['v=DMARC1', true],
    ['v=dmarc1; p=none', false],
    ['v=DMARC10; p=none', false],
    ['p=none; v=DMARC1', false],
    [' v=DMARC1; p=none', false],
    ['v=spf1 -all', false],
  ])('%j: %s', (text, expected) => {
    expect(isDmarcRecord(text)).toBe(expected);
  });
});

describe('parseDmarc on the RFC 7489 Appendix B examples', () => {
  it.each([
    ['v=DMARC1; p=none; rua=mailto:dmarc-feedback@example.com', 'none'],
    ['v=DMARC1; p=none; rua=mailto:dmarc-feedback@example.com; ruf=mailto:auth-reports@thirdparty.example.net', 'none'],
    [
      'v=DMARC1; p=quarantine; rua=mailto:dmarc-feedback@example.com; ruf=mailto:auth-reports@thirdparty.example.net; pct=25',
      'quarantine',
    ],
    ['v=DMARC1; p=reject; rua=mailto:dmarc-feedback@example.com,mailto:tld-test@thirdparty.example.net!10m', 'reject'],
    ['v=DMARC1; p=reject; sp=quarantine; adkim=s; aspf=s; fo=0:1:d:s; rf=afrf; ri=3600;', 'reject'],
  ])('%s', (text, policy) => {
    const record = parseDmarc(text);
    expect(record.errors).toEqual([]);
    expect(record.policy).toBe(policy);
    expect(record.effectivePolicy).toBe(policy);
  });

  it('reads sp, adkim and aspf, with relaxed defaults', () => {
    expect(parseDmarc('v=DMARC1; p=reject; sp=none; aspf=s')).toMatchObject({
      policy: 'reject',
      subdomainPolicy: 'none',
      aspf: 's',
      adkim: 'r',
    });
  });

  it('flags pct as deprecated (a note, not an error)', () => {
    const record = parseDmarc('v=DMARC1; p=quarantine; pct=25');
    expect(record.errors).toEqual([]);
    expect(record.notes.join(' ')).toContain('"pct" is deprecated');
  });
});

describe('parseDmarc accepts DMARCbis (RFC 9989)', () => {
  it('takes t, np and psd, and p anywhere after v', () => {
    const record = parseDmarc('v=DMARC1; t=y; psd=n; np=reject; p=reject; rua=mailto:d@example.com');
    expect(record.errors).toEqual([]);
    expect(record.policy).toBe('reject');
    expect(record.notes).toEqual([
      '"p" does not come right after "v": RFC 9989 allows that, RFC 7489 requires p second',
    ]);
  });
});

describe('parseDmarc names each error', () => {
  it.each([
    ['v=DMARC1; p=block', 'p=block: must be one of none, quarantine, reject', undefined],
    ['v=DMARC1', 'the required tag "p"', undefined],
    ['v=DMARC1; rua=mailto:d@example.com', 'the required tag "p"', 'none'],
    ['v=DMARC1; p=reject; sp=bogus', 'sp=bogus', undefined],
    ['v=DMARC1; p=reject; sp=bogus; rua=mailto:d@example.com', 'sp=bogus', 'none'],
    ['v=DMARC1; p=none; p=reject', 'the tag "p" appears more than once', 'none'],
    ['v=DMARC1; p=none; pct=150', 'pct=150', 'none'],
    ['v=DMARC1; p=none; rua=dmarc@example.com', '"dmarc@example.com" is not a URI', 'none'],
    ['v=DMARC1; p=none; adkim=x', 'adkim=x', 'none'],
    ['v=DMARC1; p=none; garbage', '"garbage" is not a tag=value pair', 'none'],
    ['v=DMARC1; p=none; t=maybe', 't=maybe', 'none'],
  ])('%j', (text, error, effective) => {
    const record = parseDmarc(text);
    expect(record.errors.join('; ')).toContain(error);
    expect(record.effectivePolicy).toBe(effective);
  });

  it('does not parse a huge record, quickly', () => {
    const huge = `v=DMARC1; p=none; ${'x=y; '.repeat(50_000)}`;
    const record = parseDmarc(huge);
    expect(record.errors).toEqual([
      `the record is ${huge.length} characters long; over ${MAX_DMARC_LENGTH} it is not parsed`,
    ]);
    expect(record.effectivePolicy).toBeUndefined();
  });

  it('never throws, whatever the text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (text) => {
        expect(() => parseDmarc(text)).not.toThrow();
        expect(() => parseDmarc(`v=DMARC1; ${text}`)).not.toThrow();
      }),
    );
  });
});

describe('organizationalDomain (Public Suffix List)', () => {
  it.each([
    ['example.com', 'example.com'],
    ['mail.example.com', 'example.com'],
    ['a.b.example.co.uk', 'example.co.uk'],
    ['Mail.Example.COM.', 'example.com'],
    ['mail.example.test', 'example.test'],
    ['bucket.s3.amazonaws.com', 'bucket.s3.amazonaws.com'],
  ])('%s → %s', (name, org) => {
    expect(organizationalDomain(name)).toBe(org);
  });

  it('relaxed alignment compares organizational domains', () => {
    expect(relaxedAligned('mail.example.com', 'example.com')).toBe(true);
    expect(relaxedAligned('bounce.example.co.uk', 'example.com')).toBe(false);
  });
});
