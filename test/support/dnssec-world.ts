/**
 * A DNSSEC world on loopback with real servers: a `test.` parent signed by knotd (automatic signing) holding
 * the children's DS records, child zones that reproduce each way a chain of trust breaks, and two validating
 * unbound resolvers with the parent's DS as trust anchor. Subnet 127.0.88.x (no other suite uses it).
 *
 * - signed.test: knot signs it, the parent has its DS: healthy.
 * - moved.test: knot signs it, but the parent still has the DS of the old provider's key.
 * - expired.test: a zone signed here with node:crypto, served as is (signing off): the DNSKEY set is
 *   validly signed, the DKIM CNAMEs' signatures expired two hours ago.
 * - split.test: ns1 signs it (the parent has its DS), ns2 (a former provider) serves it unsigned; the
 *   resolvers are pointed at ns2.
 * - flaky.test: signed and healthy; the second resolver reaches only a server that never answers, so it
 *   answers SERVFAIL with or without the CD bit: a transient failure no DNSSEC fault explains.
 * - plain.test: not signed, no DS: DNSSEC costs it one query.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  dnskeyText,
  dsRecord,
  dsText,
  generateSigningKey,
  KSK_FLAGS,
  rrsigText,
  signRrset,
  ZSK_FLAGS,
} from '../../bin/demo/dnssec-signer';
import { DnsTransport } from '../../lambda/adapters/dns/dns-transport';
import { SIGNING_ZONE } from './dkim-world';
import { type RunningServer, startSilentServer, zoneText } from './dns-servers';

export const DNSSEC_SUBNET = '127.0.88';

/** Easy DKIM tokens of each zone of the world. */
export const DNSSEC_TOKENS = {
  signed: ['sigtok1', 'sigtok2', 'sigtok3'],
  moved: ['movtok1', 'movtok2', 'movtok3'],
  expired: ['exptok1', 'exptok2', 'exptok3'],
  split: ['spltok1', 'spltok2', 'spltok3'],
  flaky: ['flktok1', 'flktok2', 'flktok3'],
  plain: ['plntok1', 'plntok2', 'plntok3'],
} as const;

export interface DnssecWorld {
  /** The validating resolvers: the first reaches every zone, the second not flaky.test's server. */
  readonly resolvers: readonly { address: string; port: number }[];
  readonly port: number;
  readonly address: (host: number) => string;
  /** When expired.test's DKIM signatures expired (seconds since the epoch). */
  readonly expiredAt: number;
  stop(): Promise<void>;
}

function findBinary(name: string): string {
  for (const dir of ['/usr/sbin', '/usr/bin', ...(process.env.PATH ?? '').split(':')]) {
    if (existsSync(join(dir, name))) return join(dir, name);
  }
  throw new Error(`${name} is not installed: apt-get install knot unbound (.ci/run does this)`);
}

async function launch(binary: string, args: string[], dir: string, address: string, port: number, probe: string) {
  const child: ChildProcess = spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk) => {
    stderr += chunk;
  });
  const server: RunningServer = {
    addresses: [address],
    port,
    stop: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 2000))]);
        if (child.exitCode === null) child.kill('SIGKILL');
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
  const transport = new DnsTransport({ timeoutMs: 200, attempts: 1 });
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) break;
    const result = await transport.query({ address, port }, { name: probe, type: 'SOA', recursionDesired: false });
    if (result.ok) return server;
    await new Promise((r) => setTimeout(r, 50));
  }
  await server.stop();
  throw new Error(`${binary} on ${address}:${port} did not start: ${stderr}`);
}

/** A knotd serving one zone; `signed` turns on automatic signing (keys made on start). */
async function startZoneServer(
  address: string,
  port: number,
  zone: string,
  text: string,
  signed: boolean,
): Promise<RunningServer & { ds(): Promise<string[]> }> {
  const dir = await mkdtemp(join(tmpdir(), 'knot-dnssec-'));
  await mkdir(join(dir, 'db'));
  await mkdir(join(dir, 'run'));
  const file = join(dir, `${zone}.zone`);
  await writeFile(file, text);
  const config = join(dir, 'knot.conf');
  await writeFile(
    config,
    [
      'server:',
      `  rundir: "${join(dir, 'run')}"`,
      `  listen: [ ${address}@${port} ]`,
      'database:',
      `  storage: "${join(dir, 'db')}"`,
      'log:',
      '  - target: stderr',
      '    any: error',
      'policy:',
      '  - id: auto',
      '    algorithm: ecdsap256sha256',
      'zone:',
      `  - domain: ${zone}`,
      `    file: "${file}"`,
      '    journal-content: none',
      '    zonefile-sync: -1',
      ...(signed ? ['    dnssec-signing: on', '    dnssec-policy: auto'] : []),
      '',
    ].join('\n'),
  );
  const server = await launch(findBinary('knotd'), ['-c', config], dir, address, port, zone);
  return {
    ...server,
    // keymgr prints `zone. DS tag alg type digest` lines for the zone's KSKs.
    ds: async () => {
      const { stdout } = await promisify(execFile)(findBinary('keymgr'), ['-c', config, `${zone}.`, 'ds']);
      return stdout
        .split('\n')
        .filter((l) => / DS \d+ \d+ 2 /.test(l))
        .map((l) => l.slice(l.indexOf(' DS ') + 4).trim());
    },
  };
}

/** A validating unbound: `trustAnchor` is the `test.` DS; `stubs` maps each zone to the addresses serving it. */
async function startValidatingResolver(
  address: string,
  port: number,
  trustAnchor: string,
  stubs: Record<string, readonly string[]>,
): Promise<RunningServer> {
  const dir = await mkdtemp(join(tmpdir(), 'unbound-dnssec-'));
  const config = join(dir, 'unbound.conf');
  await writeFile(
    config,
    [
      'server:',
      `  interface: ${address}@${port}`,
      `  port: ${port}`,
      '  do-ip6: no',
      '  do-not-query-localhost: no',
      '  module-config: "validator iterator"',
      `  trust-anchor: "test. DS ${trustAnchor}"`,
      '  username: ""',
      '  chroot: ""',
      `  directory: "${dir}"`,
      `  pidfile: "${join(dir, 'unbound.pid')}"`,
      '  use-syslog: no',
      '  logfile: ""',
      '  verbosity: 0',
      '  num-threads: 1',
      '  qname-minimisation: no',
      '  local-zone: "test." transparent',
      '  local-zone: "." refuse',
      ...Object.entries(stubs).flatMap(([zone, servers]) => [
        'stub-zone:',
        `  name: "${zone}."`,
        ...servers.map((s) => `  stub-addr: ${s}@${port}`),
      ]),
      '',
    ].join('\n'),
  );
  return launch(findBinary('unbound'), ['-d', '-c', config], dir, address, port, '.');
}

const cname = (token: string) => `${token}._domainkey CNAME ${token}.${SIGNING_ZONE}.`;

export async function startDnssecWorld(port: number): Promise<DnssecWorld> {
  const a = (host: number) => `${DNSSEC_SUBNET}.${host}`;
  const servers: RunningServer[] = [];
  const keep = <T extends RunningServer>(server: T) => {
    servers.push(server);
    return server;
  };
  const stop = async () => {
    await Promise.all(servers.map((s) => s.stop()));
  };
  const child = (name: keyof typeof DNSSEC_TOKENS, first: number, second?: number) =>
    zoneText(`${name}.test`, [
      '@ NS ns1',
      `ns1 A ${a(first)}`,
      ...(second ? ['@ NS ns2', `ns2 A ${a(second)}`] : []),
      ...DNSSEC_TOKENS[name].map(cname),
    ]);
  try {
    // expired.test, signed here: the DNSKEY set fresh, the DKIM records' signatures expired.
    const now = Math.floor(Date.now() / 1000);
    const expiredAt = now - 2 * 3600;
    const ksk = generateSigningKey(13, KSK_FLAGS);
    const zsk = generateSigningKey(13, ZSK_FLAGS);
    const keySet = { name: 'expired.test', type: 'DNSKEY', data: [ksk.dnskey, zsk.dnskey] };
    const keySig = signRrset(keySet, 'expired.test', ksk, { inception: now - 3600, expiration: now + 14 * 86400 });
    // knot adds RRSIGs to answers only in a zone whose SOA is signed.
    const soa = {
      name: 'expired.test',
      type: 'SOA',
      data: [
        {
          mname: 'ns1.expired.test',
          rname: 'hostmaster.expired.test',
          serial: 1,
          refresh: 3600,
          retry: 600,
          expire: 86400,
          minimum: 60,
        },
      ],
    };
    const soaSig = signRrset(soa, 'expired.test', zsk, { inception: now - 3600, expiration: now + 14 * 86400 });
    const expiredLines = DNSSEC_TOKENS.expired.map((t) => {
      const rrset = { name: `${t}._domainkey.expired.test`, type: 'CNAME', data: [`${t}.${SIGNING_ZONE}`] };
      const sig = signRrset(rrset, 'expired.test', zsk, { inception: now - 30 * 86400, expiration: expiredAt });
      return `${t}._domainkey RRSIG ${rrsigText(sig)}`;
    });
    const expiredZone = zoneText('expired.test', [
      '@ NS ns1',
      `ns1 A ${a(31)}`,
      `@ DNSKEY ${dnskeyText(ksk.dnskey)}`,
      `@ DNSKEY ${dnskeyText(zsk.dnskey)}`,
      `@ RRSIG ${rrsigText(keySig)}`,
      `@ RRSIG ${rrsigText(soaSig)}`,
      ...DNSSEC_TOKENS.expired.map(cname),
      ...expiredLines,
    ]);
    const oldProviderKey = generateSigningKey(13, KSK_FLAGS);
    const [signed, , split] = await Promise.all([
      startZoneServer(a(11), port, 'signed.test', child('signed', 11), true).then(keep),
      startZoneServer(a(21), port, 'moved.test', child('moved', 21), true).then(keep),
      startZoneServer(a(41), port, 'split.test', child('split', 41, 42), true).then(keep),
      startZoneServer(a(42), port, 'split.test', child('split', 41, 42), false).then(keep),
      startZoneServer(a(31), port, 'expired.test', expiredZone, false).then(keep),
      startZoneServer(a(2), port, 'amazonses.test', amazonses(a(2)), false).then(keep),
      startSilentServer(a(52), port).then(keep),
      startZoneServer(a(61), port, 'plain.test', child('plain', 61), false).then(keep),
    ]);
    const flaky = keep(await startZoneServer(a(51), port, 'flaky.test', child('flaky', 51), true));
    const ds = async (zone: string, server: { ds(): Promise<string[]> }) =>
      (await server.ds()).map((d) => `${zone} DS ${d}`);
    const parent = zoneText('test', [
      '@ NS ns',
      `ns A ${a(1)}`,
      'amazonses NS ns.amazonses',
      `ns.amazonses A ${a(2)}`,
      ...(
        [
          ['signed', 11],
          ['moved', 21],
          ['expired', 31],
          ['flaky', 51],
          ['plain', 61],
        ] as const
      ).flatMap(([name, host]) => [`${name} NS ns1.${name}`, `ns1.${name} A ${a(host)}`]),
      'split NS ns1.split',
      'split NS ns2.split',
      `ns1.split A ${a(41)}`,
      `ns2.split A ${a(42)}`,
      ...(await ds('signed', signed)),
      ...(await ds('split', split)),
      ...(await ds('flaky', flaky)),
      `moved DS ${dsText(dsRecord('moved.test', oldProviderKey.dnskey))}`,
      `expired DS ${dsText(dsRecord('expired.test', ksk.dnskey))}`,
    ]);
    const root = keep(await startZoneServer(a(1), port, 'test', parent, true));
    const [anchor] = await root.ds();
    if (!anchor) throw new Error('knot made no DS for test.');
    const stubs = {
      test: [a(1)],
      'amazonses.test': [a(2)],
      'signed.test': [a(11)],
      'moved.test': [a(21)],
      'expired.test': [a(31)],
      'split.test': [a(42)],
      'plain.test': [a(61)],
    };
    await Promise.all([
      startValidatingResolver(a(53), port, anchor, { ...stubs, 'flaky.test': [a(51)] }).then(keep),
      startValidatingResolver(a(54), port, anchor, { ...stubs, 'flaky.test': [a(52)] }).then(keep),
    ]);
    return {
      resolvers: [
        { address: a(53), port },
        { address: a(54), port },
      ],
      port,
      address: a,
      expiredAt,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

function amazonses(address: string): string {
  const key = `v=DKIM1; k=rsa; p=${Buffer.alloc(270, 7).toString('base64')}`;
  return zoneText('amazonses.test', [
    '@ NS ns',
    `ns A ${address}`,
    ...Object.values(DNSSEC_TOKENS)
      .flat()
      .map((t) => `${t}.dkim TXT "${key}"`),
  ]);
}
