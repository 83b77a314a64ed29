import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  evaluateSpf,
  includesDirectly,
  isSpfRecord,
  MAX_SPF_LENGTH,
  parseSpf,
  SPF_LOOKUP_LIMIT,
  type SpfFetch,
  type SpfFetchResult,
} from '../../lambda/domain/spf';

/** A fake resolver over a table of TXT records, counting what it was asked. */
function table(records: Record<string, readonly string[] | 'timeout'>): SpfFetch & { asked: string[] } {
  const asked: string[] = [];
  const fetch = async (domain: string): Promise<SpfFetchResult> => {
    asked.push(domain);
    const found = records[domain];
    if (found === 'timeout') return { kind: 'inconclusive', detail: 'no answer within 2000 ms' };
    if (!found) return { kind: 'none', detail: 'NXDOMAIN' };
    return { kind: 'found', records: found };
  };
  return Object.assign(fetch, { asked });
}

describe('isSpfRecord (RFC 7208 §4.5 record selection)', () => {
  it.each([
    ['v=spf1 -all', true],
    ['V=SPF1 -all', true],
    ['v=spf1', true],
    ['v=spf10 -all', false],
    ['v=spf1-all', false],
    [' v=spf1 -all', false],
    ['spf2.0/pra -all', false],
  ])('%j is an SPF record: %s', (text, expected) => {
    expect(isSpfRecord(text)).toBe(expected);
  });
});

describe('parseSpf accepts the RFC 7208 examples', () => {
  it.each([
    'v=spf1 +all',
    'v=spf1 a -all',
    'v=spf1 a:example.org -all',
    'v=spf1 mx -all',
    'v=spf1 mx:example.org -all',
    'v=spf1 mx mx:example.org -all',
    'v=spf1 mx/30 mx:example.org/30 -all',
    'v=spf1 ptr -all',
    'v=spf1 ip4:192.0.2.128/28 -all',
    'v=spf1 ip6:2001:db8::/32 ip6:::1 ip6:::ffff:192.0.2.1 -all',
    'v=spf1 include:example.com include:example.net -all',
    'v=spf1 redirect=example.org',
    'v=spf1 exists:%{ir}.%{l1r+-}._spf.%{d} -all',
    'v=spf1 -include:ip4._spf.%{d} -include:ptr._spf.%{d} +all',
    'v=spf1 mx -all exp=explain._spf.%{d}',
    'v=spf1 a:mail.example.com/24//64 ~all',
    'v=spf1 include:_spf.example.ua ?all',
    'v=spf1 include:amazonses.com ~all',
    'v=spf1 unknown-mod=anything -all',
    'v=spf1 include:spf.example.x-1 include:spf.example.123a -all',
  ])('%s', (text) => {
    expect(parseSpf(text).errors).toEqual([]);
  });

  it('reads qualifiers, mechanisms and values in order', () => {
    const record = parseSpf(
      'v=spf1 include:_spf.example.ua mx:example.org/30 -ip4:192.0.2.0/24 ~all exp=x.example.com',
    );
    expect(record.directives).toEqual([
      { qualifier: '+', mechanism: 'include', value: '_spf.example.ua' },
      { qualifier: '+', mechanism: 'mx', value: 'example.org' },
      { qualifier: '-', mechanism: 'ip4', value: '192.0.2.0/24' },
      { qualifier: '~', mechanism: 'all' },
    ]);
    expect(record.modifiers.get('exp')).toBe('x.example.com');
  });
});

describe('parseSpf rejects broken records with one reason each', () => {
  it.each([
    ['v=spf1 ip4:192.0.2.300 -all', 'not an IPv4 network'],
    ['v=spf1 ip4:192.0.2.0/33 -all', 'not an IPv4 network'],
    ['v=spf1 ip6:2001:db8:::1 -all', 'not an IPv6 network'],
    ['v=spf1 include -all', 'needs ":<domain>"'],
    ['v=spf1 include:example -all', 'not a valid domain-spec'],
    ['v=spf1 foo:bar -all', 'unknown mechanism'],
    ['v=spf1 all:example.com', '"all" takes no argument'],
    ['v=spf1 a:example.com/33 -all', 'CIDR length out of range'],
    ['v=spf1 redirect=a.example redirect=b.example', 'appears more than once'],
    ['v=spf1 exists:%{z}.example.com -all', 'not a valid domain-spec'],
    ['v=spf1 include:example.123 -all', 'not a valid domain-spec'],
    ['v=spf1 include:example.-x -all', 'not a valid domain-spec'],
    ['v=spf1 include:amazonses.com\t~all', 'printable ASCII'],
    ['v=spf2 -all', 'does not start with "v=spf1"'],
  ])('%j: %s', (text, reason) => {
    expect(parseSpf(text).errors.join('; ')).toContain(reason);
  });

  it('does not parse a huge record, and says why', () => {
    const huge = `v=spf1 ${'ip4:192.0.2.1 '.repeat(10_000)}-all`;
    const started = Date.now();
    const record = parseSpf(huge);
    expect(Date.now() - started).toBeLessThan(200);
    expect(record.errors).toEqual([
      `the record is ${huge.length} characters long; records over ${MAX_SPF_LENGTH} are not parsed`,
    ]);
  });

  it('never throws, whatever the text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (text) => {
        const record = parseSpf(`v=spf1 ${text}`);
        expect(Array.isArray(record.errors)).toBe(true);
      }),
    );
  });
});

describe('includesDirectly', () => {
  it('counts only a passing include before "all"', () => {
    expect(includesDirectly(parseSpf('v=spf1 include:amazonses.com ~all'), 'amazonses.com')).toBe(true);
    expect(includesDirectly(parseSpf('v=spf1 include:AmazonSES.com. ~all'), 'amazonses.com')).toBe(true);
    expect(includesDirectly(parseSpf('v=spf1 -all include:amazonses.com'), 'amazonses.com')).toBe(false);
    expect(includesDirectly(parseSpf('v=spf1 -include:amazonses.com ~all'), 'amazonses.com')).toBe(false);
    expect(includesDirectly(parseSpf('v=spf1 include:amazonses.com.evil.example ~all'), 'amazonses.com')).toBe(false);
  });
});

describe('evaluateSpf counts DNS lookups through include chains (RFC 7208 §4.6.4)', () => {
  it('counts include, a, mx, ptr, exists and redirect, recursively', async () => {
    const fetch = table({
      'amazonses.com': ['v=spf1 ip4:199.255.192.0/22 -all'],
      '_spf.example.com': ['v=spf1 a mx include:amazonses.com ~all'],
      'other.example.com': ['v=spf1 exists:%{i}.x.example.com redirect=_spf.example.com'],
    });
    const result = await evaluateSpf(
      parseSpf('v=spf1 include:_spf.example.com ptr include:other.example.com -all'),
      fetch,
    );
    // include(1) + a mx include(3) + ptr(1) + include(1) + exists redirect(2) + a mx include(3)
    expect(result).toMatchObject({ lookups: 11, exceeded: true });
  });

  it('stays within the limit for SES’s own record', async () => {
    const fetch = table({ 'amazonses.com': ['v=spf1 ip4:199.255.192.0/22 ip4:54.240.0.0/18 -all'] });
    const result = await evaluateSpf(parseSpf('v=spf1 include:amazonses.com ~all'), fetch);
    expect(result).toEqual({ lookups: 1, exceeded: false, authorizes: ['amazonses.com'], errors: [], unfollowed: [] });
  });

  it('finds SES authorized through a nested include and a redirect', async () => {
    const fetch = table({
      'spf.example.com': ['v=spf1 redirect=inner.example.com'],
      'inner.example.com': ['v=spf1 include:amazonses.com -all'],
      'amazonses.com': ['v=spf1 -all'],
    });
    const result = await evaluateSpf(parseSpf('v=spf1 include:spf.example.com -all'), fetch);
    expect(result.authorizes).toContain('amazonses.com');
    expect(result.lookups).toBe(3);
  });

  it('ignores redirect when the record has "all", and terms after "all"', async () => {
    const fetch = table({});
    const result = await evaluateSpf(parseSpf('v=spf1 -all include:a.example.com redirect=b.example.com'), fetch);
    expect(result.lookups).toBe(0);
    expect(fetch.asked).toEqual([]);
  });

  it('stops a chain that never ends after the limit, with at most limit + 1 fetches', async () => {
    const fetch: SpfFetch & { asked: string[] } = Object.assign(
      async (domain: string): Promise<SpfFetchResult> => {
        fetch.asked.push(domain);
        // Every record includes ten further fresh names.
        const next = Array.from({ length: 10 }, (_, i) => `include:n${fetch.asked.length}-${i}.example.com`);
        return { kind: 'found', records: [`v=spf1 ${next.join(' ')} -all`] };
      },
      { asked: [] as string[] },
    );
    const result = await evaluateSpf(parseSpf('v=spf1 include:start.example.com -all'), fetch);
    expect(result.exceeded).toBe(true);
    expect(result.lookups).toBe(SPF_LOOKUP_LIMIT + 1);
    expect(fetch.asked.length).toBeLessThanOrEqual(SPF_LOOKUP_LIMIT + 1);
  });

  it('reports an include loop as an error and does not go round', async () => {
    const fetch = table({
      'a.example.com': ['v=spf1 include:b.example.com -all'],
      'b.example.com': ['v=spf1 include:a.example.com -all'],
    });
    const result = await evaluateSpf(parseSpf('v=spf1 include:a.example.com -all'), fetch);
    expect(result.errors).toEqual([
      'include:a.example.com loops back to a record already on the chain (a.example.com → b.example.com → a.example.com)',
    ]);
    expect(fetch.asked).toEqual(['a.example.com', 'b.example.com']);
  });

  it('reports an include without SPF, and several SPF records, as errors', async () => {
    const fetch = table({
      'nospf.example.com': ['google-site-verification=abc'],
      'two.example.com': ['v=spf1 -all', 'v=spf1 ~all'],
    });
    const result = await evaluateSpf(
      parseSpf('v=spf1 include:gone.example.com include:nospf.example.com include:two.example.com -all'),
      fetch,
    );
    expect(result.errors).toEqual([
      'include:gone.example.com has no SPF record (NXDOMAIN)',
      'include:nospf.example.com has no SPF record (no v=spf1 TXT)',
      'include:two.example.com has 2 SPF records; receivers treat that as a permanent error',
    ]);
  });

  it('says the count is inconclusive when an include could not be read, never valid', async () => {
    const fetch = table({ 'slow.example.com': 'timeout' });
    const result = await evaluateSpf(parseSpf('v=spf1 include:slow.example.com -all'), fetch);
    expect(result.inconclusive).toBe('the SPF record of slow.example.com could not be read (no answer within 2000 ms)');
    expect(result.exceeded).toBe(false);
  });

  it('counts an include with macros but does not follow it', async () => {
    const fetch = table({});
    const result = await evaluateSpf(parseSpf('v=spf1 include:%{d}._spf.example.com -all'), fetch);
    expect(result).toMatchObject({ lookups: 1, unfollowed: ['%{d}._spf.example.com'] });
    expect(fetch.asked).toEqual([]);
  });
});
