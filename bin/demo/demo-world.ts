/**
 * The demo's simulated DNS: a root, an `example.` registry, a signing-key zone standing in for
 * dkim.amazonses.com, two DNS providers, and the domains of the bundled identities, each reproducing a
 * real misconfiguration, with DMARC records (and, for two identities, a custom MAIL FROM domain). Addresses are 127.0.53.x; nothing leaves the machine. The public resolvers
 * validate DNSSEC wherever a parent holds a DS, as real public resolvers do.
 */
import type { DnsEndpoint } from '../../lambda/adapters/dns/dns-transport';
import { dsRecord, seededSigningKey } from './dnssec-signer';
import {
  authoritativeServer,
  type InProcessDnsServer,
  iterativeResolver,
  signZone,
  type Zone,
  zone,
} from './in-process-dns';

/**
 * The demo's clock: the moment its identities were exported from SES. A fixed clock keeps the hours left
 * the same on every run (with the real clock the bundled incidents would expire a few days after release).
 */
export const DEMO_NOW = '2026-11-23T09:00:00.000Z';

export const DEMO_SUBNET = '127.0.53';
const at = (host: number) => `${DEMO_SUBNET}.${host}`;

/** SES Easy DKIM tokens of the demo identities (shaped like real ones: 32 base32 characters). */
export const DEMO_TOKENS = {
  healthy: ['k3v7q2m5x9r4t8w6y1z0a2b4c6d8e0f1', 'p9o8i7u6y5t4r3e2w1q0a9s8d7f6g5h4', 'z1x2c3v4b5n6m7l8k9j0h1g2f3d4s5a6'],
  typo: ['g7h8j9k0l1m2n3b4v5c6x7z8a9s0d1f2', 'q1w2e3r4t5y6u7i8o9p0a1s2d3f4g5h6', 'm4n5b6v7c8x9z0l1k2j3h4g5f6d7s8a9'],
  moved: ['r2d2c3p0b8b8k2s0o1l2o3h4a5n6s7o8', 'y7u8i9o0p1a2s3d4f5g6h7j8k9l0z1x2', 'c3v4b5n6m7q8w9e0r1t2y3u4i5o6p7a8'],
  oldMoved: ['o1d2s3e4l5e6c7t8o9r0a1b2c3d4e5f6', 'o9l8d7s6e5l4e3c2t1o0r9q8w7e6r5t4'],
  proxied: ['x0c9v8b7n6m5a4s3d2f1g0h9j8k7l6q5', 'w4e5r6t7y8u9i0o1p2a3s4d5f6g7h8j9', 'b1n2m3q4w5e6r7t8y9u0i1o2p3a4s5d6'],
  doubled: ['d0u1b2l3e4d5a6b7c8d9e0f1g2h3i4j5', 'k6l7m8n9o0p1q2r3s4t5u6v7w8x9y0z1', 'a2b3c4d5e6f7g8h9i0j1k2l3m4n5o6p7'],
  underscore: [
    'u5n4d3e2r1s0c9o8r7e6m5i4s3s2i1n0',
    'v1w2x3y4z5a6b7c8d9e0f1g2h3i4j5k6',
    'l7m8n9o0p1q2r3s4t5u6v7w8x9y0z1a2',
  ],
  appended: [
    'a9p8p7e6n5d4e3d2t1a0r9g8e7t6z5o4',
    'b3c4d5e6f7g8h9i0j1k2l3m4n5o6p7q8',
    'r9s8t7u6v5w4x3y2z1a0b9c8d7e6f5g4',
  ],
  swapped: ['s1w2a3p4p5e6d7f8i9r0s1t2t3o4k5e6', 's9e8c7o6n5d4t3o2k4e3n2s1w0a9p8p7', 't6h5i4r3d2t1o0k9e8n7s6t5a4y3s2p1'],
  migrated: [
    's1g2n3e4d5z6o7n8e9m0i1g2r3a4t5e6',
    'd7s8r9e0c1o2r3d4l5e6f7t8b9e0h1i2',
    'n3d4k5e6y7s8n9o0w0m1a2t3c4h5e6s7',
  ],
  newsletter: [
    'n1e2w3s4l5e6t7t8e9r0m1x2l3o4s5t6',
    'f7e8e9d0b1a2c3k4s5m6t7p8q9r0s1t2',
    'u3v4w5x6y7z8a9b0c1d2e3f4g5h6i7j8',
  ],
  shop: ['s2h3o4p5b6o7u8n9c0e1m2a3i4l5f6r7', 'o8m9d0o1m2a3i4n5k6e7y8s9o0k1a2b3', 'c4d5e6f7g8h9i0j1k2l3m4n5o6p7q8r9'],
};

/** The MX SES expects at a custom MAIL FROM domain of an identity in eu-west-1. */
const SES_FEEDBACK_MX = { preference: 10, exchange: 'feedback-smtp.eu-west-1.amazonses.com' };
const SES_SPF = 'v=spf1 include:amazonses.com ~all';
const dmarc = (policy: 'reject' | 'quarantine' | 'none', domain: string): [string, 'TXT', string] => [
  '_dmarc',
  'TXT',
  `v=DMARC1; p=${policy}; rua=mailto:dmarc-reports@${domain}`,
];

const KEY = (seed: number) => `v=DKIM1; k=rsa; p=${Buffer.alloc(294, seed).toString('base64')}`;

function apexNsOf(servers: string[]): [string, 'NS', string][] {
  return servers.map((s) => ['@', 'NS', `${s}.`]);
}

function easyDkim(tokens: readonly string[], signingZone = 'dkim.amazonses.com.'): [string, 'CNAME', string][] {
  return tokens.map((t) => [`${t}._domainkey`, 'CNAME', `${t}.${signingZone}`]);
}

export interface DemoWorld {
  readonly resolvers: DnsEndpoint[];
  readonly port: number;
  stop(): Promise<void>;
}

export async function startDemoWorld(port: number): Promise<DemoWorld> {
  const root = zone('', [
    ['@', 'NS', 'a.root-servers.example'],
    ['a.root-servers.example', 'A', at(1)],
    ['example', 'NS', 'a.registry.example'],
    ['a.registry.example', 'A', at(2)],
    ['amazonses.com', 'NS', 'ns.amazonses.com'],
    ['ns.amazonses.com', 'A', at(3)],
  ]);
  const providerA = ['ns1.provider-a.example', 'ns2.provider-a.example'];
  const oldProviderKey = seededSigningKey('old provider');
  const now = Math.floor(Date.now() / 1000);
  const migrated = signZone(
    zone('migrated.example', [
      ...apexNsOf(providerA),
      ...easyDkim(DEMO_TOKENS.migrated),
      dmarc('reject', 'migrated.example'),
    ]),
    seededSigningKey('provider A'),
    { inception: now - 3600, expiration: now + 14 * 86_400 },
  );
  const delegate = (domain: string, servers: string[]): [string, 'NS', string][] =>
    servers.map((s) => [domain, 'NS', `${s}.`]);
  const registry = zone('example', [
    ['@', 'NS', 'a.registry'],
    ['a.registry', 'A', at(2)],
    ['ns1.provider-a', 'A', at(10)],
    ['ns2.provider-a', 'A', at(11)],
    ['ns1.provider-b', 'A', at(20)],
    ['ns-old.legacy-dns', 'A', at(21)],
    ...[
      'healthy',
      'typo',
      'proxied',
      'doubled',
      'byodkim',
      'underscore',
      'appended',
      'swapped',
      'newsletter',
      'shop',
    ].flatMap((d) => delegate(d, providerA)),
    // Incident 2: the domain moved to provider B, but the registrar still lists the old provider too.
    ...delegate('moved', ['ns1.provider-b.example', 'ns-old.legacy-dns.example']),
    // A move with DNSSEC on: provider A signs with its own key, the registrar still has the old provider's DS.
    ...delegate('migrated', providerA),
    ['migrated', 'DS', dsRecord('migrated.example', oldProviderKey.dnskey)],
  ]);
  const allTokens = Object.values(DEMO_TOKENS).flat();
  const keys = zone('amazonses.com', [
    ['@', 'NS', 'ns'],
    ['ns', 'A', at(3)],
    // What `include:amazonses.com` in a MAIL FROM domain's SPF record reaches (SES's own, shortened).
    ['@', 'TXT', 'v=spf1 ip4:199.255.192.0/22 ip4:199.127.232.0/22 ip4:54.240.0.0/18 -all'],
    ...allTokens.map((t, i): [string, 'TXT', string] => [`${t}.dkim`, 'TXT', KEY(i + 1)]),
  ]);
  const apexNs = (servers: string[]): [string, 'NS', string][] => servers.map((s) => ['@', 'NS', `${s}.`]);
  const [t1, t2, t3] = DEMO_TOKENS.typo as [string, string, string];
  const [p1, ...pRest] = DEMO_TOKENS.proxied as [string, string, string];
  const [d1, ...dRest] = DEMO_TOKENS.doubled as [string, string, string];
  const [u1, ...uRest] = DEMO_TOKENS.underscore as [string, string, string];
  const [a1, ...aRest] = DEMO_TOKENS.appended as [string, string, string];
  const [s1, s2, s3] = DEMO_TOKENS.swapped as [string, string, string];
  const providerAZones: Zone[] = [
    zone('healthy.example', [
      ...apexNs(providerA),
      ...easyDkim(DEMO_TOKENS.healthy),
      dmarc('reject', 'healthy.example'),
    ]),
    // Incident 1: one of three values mistyped by hand (two characters swapped).
    zone('typo.example', [
      ...apexNs(providerA),
      ...easyDkim([t1, t2]),
      [`${t3}._domainkey`, 'CNAME', `${t3.slice(0, 10)}${t3[11]}${t3[10]}${t3.slice(12)}.dkim.amazonses.com.`],
      // SES has stopped signing: with p=reject and SES's own MAIL FROM, receivers reject its mail.
      dmarc('reject', 'typo.example'),
    ]),
    // A CDN proxy in front of the record: the name answers addresses instead of the CNAME.
    zone('proxied.example', [
      ...apexNs(providerA),
      ...easyDkim(pRest),
      [`${p1}._domainkey`, 'A', '104.16.132.229'],
      [`${p1}._domainkey`, 'A', '104.16.133.229'],
      dmarc('quarantine', 'proxied.example'),
    ]),
    // The console appended the domain to a name that already had it.
    zone('doubled.example', [
      ...apexNs(providerA),
      ...easyDkim(dRest),
      [`${d1}._domainkey.doubled.example.doubled.example.`, 'CNAME', `${d1}.dkim.amazonses.com.`],
      dmarc('quarantine', 'doubled.example'),
    ]),
    // Still only watching: p=none (noted, never an alarm).
    zone('byodkim.example', [
      ...apexNs(providerA),
      ['mail2026._domainkey', 'TXT', KEY(99)],
      dmarc('none', 'byodkim.example'),
    ]),
    // Near misses of a name: the underscore of _domainkey left out; a value entered without its final dot
    // (the zone appended to the target); two records' tokens swapped between names.
    zone('underscore.example', [
      ...apexNs(providerA),
      ...easyDkim(uRest),
      [`${u1}.domainkey`, 'CNAME', `${u1}.dkim.amazonses.com.`],
      dmarc('reject', 'underscore.example'),
    ]),
    zone('appended.example', [
      ...apexNs(providerA),
      ...easyDkim(aRest),
      [`${a1}._domainkey`, 'CNAME', `${a1}.dkim.amazonses.com.appended.example.`],
      dmarc('quarantine', 'appended.example'),
    ]),
    zone('swapped.example', [
      ...apexNs(providerA),
      [`${s1}._domainkey`, 'CNAME', `${s2}.dkim.amazonses.com.`],
      [`${s2}._domainkey`, 'CNAME', `${s1}.dkim.amazonses.com.`],
      ...easyDkim([s3]),
      dmarc('reject', 'swapped.example'),
    ]),
    migrated,
    // A custom MAIL FROM domain whose MX was deleted in a DNS clean-up: DKIM is fine, but SES has marked the
    // MAIL FROM setup TEMPORARY_FAILURE and sends from its own domain (SPF no longer aligned).
    zone('newsletter.example', [
      ...apexNs(providerA),
      ...easyDkim(DEMO_TOKENS.newsletter),
      ['mail', 'TXT', SES_SPF],
      dmarc('quarantine', 'newsletter.example'),
    ]),
    // A custom MAIL FROM domain set up right: one MX to SES's feedback host and SES's SPF include.
    zone('shop.example', [
      ...apexNs(providerA),
      ...easyDkim(DEMO_TOKENS.shop),
      ['bounce', 'MX', SES_FEEDBACK_MX],
      ['bounce', 'TXT', SES_SPF],
      dmarc('reject', 'shop.example'),
    ]),
  ];
  const movedNew = zone(
    'moved.example',
    [
      ...apexNs(['ns1.provider-b.example', 'ns-old.legacy-dns.example']),
      ...easyDkim(DEMO_TOKENS.moved),
      dmarc('reject', 'moved.example'),
    ],
    2026112301,
    'ns1.provider-b.example',
  );
  const movedOld = zone(
    'moved.example',
    [...apexNs(['ns-old.legacy-dns.example']), ...easyDkim(DEMO_TOKENS.oldMoved), dmarc('reject', 'moved.example')],
    2024031502,
    'ns-old.legacy-dns.example',
  );

  const servers: InProcessDnsServer[] = [
    authoritativeServer(at(1), port, [root]),
    authoritativeServer(at(2), port, [registry]),
    authoritativeServer(at(3), port, [keys]),
    authoritativeServer(at(10), port, providerAZones),
    authoritativeServer(at(11), port, providerAZones),
    authoritativeServer(at(20), port, [movedNew]),
    authoritativeServer(at(21), port, [movedOld]),
    // Two public resolvers that, like real ones, pick different servers of a delegation.
    iterativeResolver(at(100), port, { address: at(1), port }, undefined, true),
    iterativeResolver(at(101), port, { address: at(1), port }, (s) => [...s].reverse(), true),
  ];
  const started: InProcessDnsServer[] = [];
  try {
    for (const server of servers) {
      await server.start();
      started.push(server);
    }
  } catch (error) {
    await Promise.all(started.map((s) => s.stop()));
    throw error;
  }
  return {
    resolvers: [
      { address: at(100), port },
      { address: at(101), port },
    ],
    port,
    stop: async () => {
      await Promise.all(started.map((s) => s.stop()));
    },
  };
}
