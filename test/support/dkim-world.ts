/**
 * A small DNS world on loopback with real servers: a `test.` parent zone with delegations, child zones on
 * knotd instances that reproduce each real misconfiguration, an `amazonses.test` zone holding the DKIM keys,
 * and unbound as the public resolver. Each suite passes its own 127.0.N subnet so suites can run in parallel.
 */
import type { SesIdentity } from '../../lambda/domain/ses-identity';
import { type RunningServer, startKnot, startSilentServer, startUnbound, zoneText } from './dns-servers';

export const SIGNING_ZONE = 'dkim.amazonses.test';

/** A syntactically valid RSA public key (base64 of deterministic bytes). */
export function fakeKey(bytes = 270, fill = 7): string {
  return Buffer.alloc(bytes, fill).toString('base64');
}

/** Split a TXT value into quoted character-strings of at most 255 bytes, as zone files require. */
export function txtStrings(value: string): string {
  const parts: string[] = [];
  for (let i = 0; i < value.length; i += 255) parts.push(`"${value.slice(i, i + 255)}"`);
  return parts.join(' ');
}

const cname = (token: string, domain: string, target = token) =>
  `${token}._domainkey.${domain}. CNAME ${target}.${SIGNING_ZONE}.`;

/** Easy DKIM tokens of each domain of the world. */
export const TOKENS = {
  good: ['goodtok1', 'goodtok2', 'goodtok3'],
  typo: ['typotok1', 'typotok2', 'typotok3'],
  stale: ['staletok1', 'staletok2', 'staletok3'],
  apexonly: ['apextok1', 'apextok2', 'apextok3'],
  slow: ['slowtok1', 'slowtok2', 'slowtok3'],
  broken: ['brokentok1', 'brokentok2', 'brokentok3'],
  proxied: ['proxtok1', 'proxtok2', 'proxtok3'],
  doubled: ['dbltok1', 'dbltok2', 'dbltok3'],
  wrongtype: ['wttok1', 'wttok2', 'wttok3'],
  nokey: ['nokeytok1', 'nokeytok2', 'nokeytok3'],
  missing: ['misstok1', 'misstok2', 'misstok3'],
} as const;

export interface DkimWorld {
  readonly resolver: { address: string; port: number };
  readonly port: number;
  /** Address of a nameserver by role, for assertions. */
  readonly address: (host: number) => string;
  stop(): Promise<void>;
}

/** An Easy DKIM domain identity as SES v2 returns it, pointing at the test signing zone. */
export function easyDkimIdentity(
  name: string,
  tokens: readonly string[],
  overrides: Partial<SesIdentity['dkim']> = {},
): SesIdentity {
  return {
    name,
    region: 'eu-west-1',
    type: 'DOMAIN',
    dkim: {
      signingEnabled: true,
      status: 'SUCCESS',
      tokens,
      origin: 'AWS_SES',
      signingHostedZone: SIGNING_ZONE,
      ...overrides,
    },
  };
}

export function byoDkimIdentity(name: string, selector: string): SesIdentity {
  return {
    name,
    region: 'eu-west-1',
    type: 'DOMAIN',
    dkim: { signingEnabled: true, status: 'SUCCESS', tokens: [selector], origin: 'EXTERNAL' },
  };
}

export async function startDkimWorld(subnet: string, port: number): Promise<DkimWorld> {
  const a = (host: number) => `${subnet}.${host}`;
  const key = `v=DKIM1; k=rsa; p=${fakeKey()}`;
  const bigKey = `v=DKIM1; k=rsa; p=${fakeKey(1200, 9)}`; // > 1232 bytes: forces TCP
  const servers: RunningServer[] = [];
  const start = async (p: Promise<RunningServer>) => {
    servers.push(await p);
  };
  const stop = async () => {
    await Promise.all(servers.map((s) => s.stop()));
  };
  try {
    const parent = zoneText('test', [
      `@ NS ns.test.`,
      `ns A ${a(1)}`,
      `amazonses NS ns.amazonses`,
      `ns.amazonses A ${a(2)}`,
      ...['good', 'typo', 'proxied', 'doubled', 'wrongtype', 'nokey', 'missing', 'byo', 'byobad'].flatMap((d) => [
        `${d} NS ns1.${d}`,
        `${d} NS ns2.${d}`,
        `ns1.${d} A ${a(11)}`,
        `ns2.${d} A ${a(12)}`,
      ]),
      `stale NS ns1.stale`,
      `stale NS ns-old.stale`,
      `ns1.stale A ${a(21)}`,
      `ns-old.stale A ${a(22)}`,
      `apexonly NS ns1.apexonly`,
      `ns1.apexonly A ${a(31)}`,
      `slow NS ns1.slow`,
      `slow NS ns2.slow`,
      `ns1.slow A ${a(41)}`,
      `ns2.slow A ${a(42)}`,
      `broken NS ns1.broken`,
      `broken NS ns2.broken`,
      `ns1.broken A ${a(51)}`,
      `ns2.broken A ${a(52)}`,
    ]);
    const keys = zoneText('amazonses.test', [
      `@ NS ns`,
      `ns A ${a(2)}`,
      ...Object.entries(TOKENS)
        .flatMap(([, tokens]) => tokens)
        .filter((t) => !t.startsWith('nokey'))
        .map((t) => `${t}.dkim TXT "${key}"`),
    ]);
    const twoServers = (d: string, lines: string[]) =>
      zoneText(`${d}.test`, [`@ NS ns1`, `@ NS ns2`, `ns1 A ${a(11)}`, `ns2 A ${a(12)}`, ...lines]);
    const threeGood = (d: keyof typeof TOKENS, domain = `${d}.test`) => TOKENS[d].map((t) => cname(t, domain));
    const [t1, t2, t3] = TOKENS.typo;
    const shared = {
      'good.test': twoServers('good', threeGood('good')),
      // Incident 1: one of three values mistyped.
      'typo.test': twoServers('typo', [
        cname(t1, 'typo.test'),
        cname(t2, 'typo.test'),
        cname(t3, 'typo.test', `${t3.slice(0, -1)}x`),
      ]),
      'proxied.test': twoServers('proxied', [
        ...threeGood('proxied').slice(1),
        `${TOKENS.proxied[0]}._domainkey A 104.16.0.1`,
      ]),
      'doubled.test': twoServers('doubled', [
        ...threeGood('doubled').slice(1),
        `${TOKENS.doubled[0]}._domainkey.doubled.test CNAME ${TOKENS.doubled[0]}.${SIGNING_ZONE}.`,
      ]),
      'wrongtype.test': twoServers('wrongtype', [
        ...threeGood('wrongtype').slice(1),
        `${TOKENS.wrongtype[0]}._domainkey TXT "${key}"`,
      ]),
      'nokey.test': twoServers('nokey', threeGood('nokey')),
      // misstok1: NXDOMAIN. misstok2: an empty non-terminal (NOERROR, no data). misstok3: present.
      'missing.test': twoServers('missing', [
        `x.${TOKENS.missing[1]}._domainkey TXT "not a key"`,
        cname(TOKENS.missing[2], 'missing.test'),
      ]),
      'byo.test': twoServers('byo', [`big._domainkey TXT ${txtStrings(bigKey)}`]),
      'byobad.test': twoServers('byobad', [`sel._domainkey TXT "v=DKIM1; k=rsa; p="`]),
    };
    // The old provider's copy has its own primary in the SOA (it is another provider's zone, not a secondary).
    const stale = (serial: number, lines: string[], mname = 'ns1.stale.test') =>
      zoneText(
        'stale.test',
        [`@ NS ns1`, `@ NS ns-old`, `ns1 A ${a(21)}`, `ns-old A ${a(22)}`, ...lines],
        serial,
        mname,
      );
    const apexonly = (serial: number, lines: string[], mname = 'ns1.apexonly.test') =>
      zoneText(
        'apexonly.test',
        [`@ NS ns1`, `@ NS ns-old`, `ns1 A ${a(31)}`, `ns-old A ${a(32)}`, ...lines],
        serial,
        mname,
      );
    const twoOf = (first: number) => [`@ NS ns1`, `@ NS ns2`, `ns1 A ${a(first)}`, `ns2 A ${a(first + 1)}`];
    await Promise.all([
      start(startKnot([a(1)], port, { test: parent })),
      start(startKnot([a(2)], port, { 'amazonses.test': keys })),
      start(startKnot([a(11), a(12)], port, shared)),
      // Incident 2: a DNS move; the old provider still answers with old records.
      start(startKnot([a(21)], port, { 'stale.test': stale(5, threeGood('stale')) })),
      start(
        startKnot([a(22)], port, {
          'stale.test': stale(1, ['oldsel1._domainkey CNAME oldsel1.dkim.amazonses.test.'], 'ns.old-provider.test'),
        }),
      ),
      start(startKnot([a(31)], port, { 'apexonly.test': apexonly(5, threeGood('apexonly')) })),
      start(
        startKnot([a(32)], port, {
          'apexonly.test': apexonly(
            1,
            ['oldsel1._domainkey CNAME oldsel1.dkim.amazonses.test.'],
            'ns.old-provider.test',
          ),
        }),
      ),
      start(startKnot([a(41)], port, { 'slow.test': zoneText('slow.test', [...twoOf(41), ...threeGood('slow')]) })),
      start(startSilentServer(a(42), port)),
      start(
        startKnot([a(51)], port, {
          'broken.test': zoneText('broken.test', [...twoOf(51), ...threeGood('broken')]),
        }),
      ),
      start(startKnot([a(52)], port, { 'broken.test': null })),
    ]);
    const stubs: Record<string, string[]> = {
      test: [a(1)],
      'amazonses.test': [a(2)],
      'stale.test': [a(21)],
      'apexonly.test': [a(31)],
      'slow.test': [a(41)],
      'broken.test': [a(51)],
    };
    for (const zone of Object.keys(shared)) stubs[zone] = [a(11)];
    await start(startUnbound(a(53), port, stubs));
    return { resolver: { address: a(53), port }, port, address: a, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
