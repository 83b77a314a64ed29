/**
 * A DNS world on loopback for the MAIL FROM and DMARC checks: a `test.` parent, one zone per way the MX,
 * SPF and DMARC records go wrong (served by two knotd addresses), a lagging old provider, a server that
 * never answers, SES's own `amazonses.com` SPF record, and unbound as the public resolver. Its own 127.0.N
 * subnet, so it runs beside the other suites.
 */
import type { SesIdentity, SesMailFrom } from '../../lambda/domain/ses-identity';
import { type RunningServer, startKnot, startSilentServer, startUnbound, zoneText } from './dns-servers';

export const MAIL_AUTH_REGION = 'eu-west-1';
export const SES_MX = `feedback-smtp.${MAIL_AUTH_REGION}.amazonses.com`;
const GOOD_MX = `mail MX 10 ${SES_MX}.`;
const GOOD_SPF = 'mail TXT "v=spf1 include:amazonses.com ~all"';

/** Zones served by both ns1 and ns2 of the shared pair, each a way the records can be. */
const SHARED_ZONES: Record<string, readonly string[]> = {
  // Everything right.
  good: [GOOD_MX, GOOD_SPF, '_dmarc TXT "v=DMARC1; p=reject; rua=mailto:dmarc@good.test"'],
  // No MX; p=none.
  nomx: [GOOD_SPF, '_dmarc TXT "v=DMARC1; p=none; rua=mailto:dmarc@nomx.test"'],
  // Two MX (SES setup fails with more than one); two DMARC records.
  twomx: [
    GOOD_MX,
    'mail MX 20 mx.other.test.',
    GOOD_SPF,
    '_dmarc TXT "v=DMARC1; p=reject"',
    '_dmarc TXT "v=DMARC1; p=none"',
  ],
  // The MX of another region; no SPF record (another TXT only); no DMARC record at all.
  wrongmx: ['mail MX 10 feedback-smtp.us-east-1.amazonses.com.', 'mail TXT "google-site-verification=abc"'],
  // An SPF syntax error; an unusable DMARC policy.
  badspf: [GOOD_MX, 'mail TXT "v=spf1 include:amazonses.com ip4:192.0.2.300 ~all"', '_dmarc TXT "v=DMARC1; p=block"'],
  // Two SPF records; a DMARC record using the deprecated pct.
  twospf: [
    GOOD_MX,
    GOOD_SPF,
    'mail TXT "v=spf1 mx -all"',
    '_dmarc TXT "v=DMARC1; p=quarantine; pct=50; rua=mailto:d@twospf.test"',
  ],
  // An include chain needing more than 10 DNS lookups.
  longspf: [
    GOOD_MX,
    'mail TXT "v=spf1 include:amazonses.com include:l1.longspf.test ~all"',
    'l1 TXT "v=spf1 a mx ptr include:l2.longspf.test -all"',
    'l2 TXT "v=spf1 a mx exists:x.longspf.test include:l3.longspf.test -all"',
    'l3 TXT "v=spf1 a mx -all"',
  ],
  // An include loop.
  loopspf: [
    GOOD_MX,
    'mail TXT "v=spf1 include:amazonses.com include:l1.loopspf.test ~all"',
    'l1 TXT "v=spf1 include:l2.loopspf.test -all"',
    'l2 TXT "v=spf1 include:l1.loopspf.test -all"',
  ],
  // A valid SPF record that does not authorize SES.
  noses: [GOOD_MX, 'mail TXT "v=spf1 mx -all"', '_dmarc TXT "v=DMARC1; p=reject"'],
  // The organizational domain's record covers the subdomain identity sub.org.test with sp=reject;
  // `_dmarc` of cname.org.test points at a DMARC provider's record.
  org: [
    'sub A 192.0.2.1',
    '_dmarc TXT "v=DMARC1; p=none; sp=reject; rua=mailto:d@org.test"',
    '_dmarc.cname CNAME org-policy.provider.test.',
  ],
  provider: ['org-policy TXT "v=DMARC1; p=quarantine"'],
};

export interface MailAuthWorld {
  readonly resolver: { address: string; port: number };
  readonly port: number;
  readonly address: (host: number) => string;
  stop(): Promise<void>;
}

/** A domain identity with a custom MAIL FROM domain (`mail.<name>`), DKIM as SES reports it healthy. */
export function mailFromIdentity(name: string, mailFrom: Partial<SesMailFrom> = {}): SesIdentity {
  return {
    name,
    region: MAIL_AUTH_REGION,
    type: 'DOMAIN',
    dkim: { signingEnabled: true, status: 'SUCCESS', tokens: ['tok1', 'tok2', 'tok3'], origin: 'AWS_SES' },
    mailFrom: { domain: `mail.${name}`, status: 'SUCCESS', behaviorOnMxFailure: 'USE_DEFAULT_VALUE', ...mailFrom },
  };
}

export async function startMailAuthWorld(subnet: string, port: number): Promise<MailAuthWorld> {
  const a = (host: number) => `${subnet}.${host}`;
  const servers: RunningServer[] = [];
  const start = async (p: Promise<RunningServer>) => {
    servers.push(await p);
  };
  const stop = async () => {
    await Promise.all(servers.map((s) => s.stop()));
  };
  try {
    const pairs = Object.keys(SHARED_ZONES);
    const parent = zoneText('test', [
      '@ NS ns.test.',
      `ns A ${a(1)}`,
      ...pairs.flatMap((d) => [`${d} NS ns1.${d}`, `${d} NS ns2.${d}`, `ns1.${d} A ${a(11)}`, `ns2.${d} A ${a(12)}`]),
      'stale NS ns1.stale',
      'stale NS ns-old.stale',
      `ns1.stale A ${a(21)}`,
      `ns-old.stale A ${a(22)}`,
      'slow NS ns1.slow',
      'slow NS ns2.slow',
      `ns1.slow A ${a(41)}`,
      `ns2.slow A ${a(42)}`,
    ]);
    const shared = Object.fromEntries(
      Object.entries(SHARED_ZONES).map(([d, lines]) => [
        `${d}.test`,
        zoneText(`${d}.test`, ['@ NS ns1', '@ NS ns2', `ns1 A ${a(11)}`, `ns2 A ${a(12)}`, ...lines]),
      ]),
    );
    const stale = (serial: number, lines: string[]) =>
      zoneText('stale.test', ['@ NS ns1', '@ NS ns-old', `ns1 A ${a(21)}`, `ns-old A ${a(22)}`, ...lines], serial);
    const slow = zoneText('slow.test', ['@ NS ns1', '@ NS ns2', `ns1 A ${a(41)}`, `ns2 A ${a(42)}`, GOOD_MX, GOOD_SPF]);
    await Promise.all([
      start(startKnot([a(1)], port, { test: parent })),
      start(
        startKnot([a(2)], port, {
          'amazonses.com': zoneText('amazonses.com', [
            '@ NS ns',
            `ns A ${a(2)}`,
            '@ TXT "v=spf1 ip4:199.255.192.0/22 ip4:199.127.232.0/22 ip4:54.240.0.0/18 -all"',
          ]),
        }),
      ),
      start(startKnot([a(11), a(12)], port, shared)),
      // A DNS move: the new provider has the records, the old one (still listed) lost the MX and has p=none.
      start(
        startKnot([a(21)], port, {
          'stale.test': stale(5, [GOOD_MX, GOOD_SPF, '_dmarc TXT "v=DMARC1; p=reject"']),
        }),
      ),
      start(startKnot([a(22)], port, { 'stale.test': stale(1, [GOOD_SPF, '_dmarc TXT "v=DMARC1; p=none"']) })),
      start(startKnot([a(41)], port, { 'slow.test': slow })),
      start(startSilentServer(a(42), port)),
    ]);
    const stubs: Record<string, string[]> = {
      test: [a(1)],
      'amazonses.com': [a(2)],
      'stale.test': [a(21)],
      'slow.test': [a(41)],
    };
    for (const zone of Object.keys(shared)) stubs[zone] = [a(11)];
    await start(startUnbound(a(53), port, stubs));
    return { resolver: { address: a(53), port }, port, address: a, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
