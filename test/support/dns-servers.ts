/**
 * Real DNS servers for the tests: knotd (authoritative) and unbound (recursive), from Debian's packages,
 * started on loopback addresses by the tests themselves and stopped afterwards. A missing binary fails the
 * suite loudly: these tests never skip.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DnsTransport } from '../../lambda/adapters/dns/dns-transport';

function findBinary(name: string, debianPackage: string): string {
  for (const dir of [
    '/usr/sbin',
    '/usr/bin',
    '/usr/local/sbin',
    '/usr/local/bin',
    ...(process.env.PATH ?? '').split(':'),
  ]) {
    const candidate = join(dir, name);
    if (existsSync(candidate)) return candidate;
  }
  throw new Error(
    `${name} is not installed: these tests need real DNS servers. Install the Debian package "${debianPackage}" (apt-get install ${debianPackage}; .ci/run does this).`,
  );
}

/** A zone file: `$ORIGIN`, `$TTL`, an SOA and the given lines. */
export function zoneText(origin: string, lines: readonly string[], serial = 1, mname = `ns1.${origin}`): string {
  return [
    `$ORIGIN ${origin}.`,
    '$TTL 300',
    `@ IN SOA ${mname}. hostmaster.${origin}. ${serial} 3600 600 86400 60`,
    ...lines,
    '',
  ].join('\n');
}

export interface RunningServer {
  readonly addresses: readonly string[];
  readonly port: number;
  stop(): Promise<void>;
}

async function waitUntilAnswering(address: string, port: number, name: string, child: ChildProcess, log: () => string) {
  const transport = new DnsTransport({ timeoutMs: 100, attempts: 1 });
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}: ${log()}`);
    const result = await transport.query({ address, port }, { name, type: 'SOA', recursionDesired: false });
    if (result.ok) return;
    await new Promise((r) => setTimeout(r, 30));
  }
  throw new Error(`server on ${address}:${port} did not start: ${log()}`);
}

async function spawnServer(
  binary: string,
  args: string[],
  dir: string,
  addresses: readonly string[],
  port: number,
  probeName: string,
) {
  const child = spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk) => {
    stderr += chunk;
  });
  const stop = async () => {
    if (child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 2000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    for (const address of addresses) await waitUntilAnswering(address, port, probeName, child, () => stderr);
  } catch (error) {
    await stop();
    throw error;
  }
  return { addresses, port, stop };
}

/**
 * Start one knotd serving `zones` (name → zone text; `null` configures the zone with a missing file, so it
 * answers SERVFAIL) on every address.
 */
export async function startKnot(
  addresses: readonly string[],
  port: number,
  zones: Record<string, string | null>,
): Promise<RunningServer> {
  const knotd = findBinary('knotd', 'knot');
  const dir = await mkdtemp(join(tmpdir(), 'knot-'));
  await mkdir(join(dir, 'db'));
  const zoneLines: string[] = [];
  for (const [name, text] of Object.entries(zones)) {
    const file = join(dir, `${name}.zone`);
    if (text !== null) await writeFile(file, text);
    zoneLines.push(`  - domain: ${name}`, `    file: "${file}"`, '    journal-content: none', '    zonefile-sync: -1');
  }
  const config = [
    'server:',
    `  rundir: "${dir}"`,
    `  listen: [ ${addresses.map((a) => `${a}@${port}`).join(', ')} ]`,
    'database:',
    `  storage: "${join(dir, 'db')}"`,
    'log:',
    '  - target: stderr',
    '    any: error',
    'zone:',
    ...zoneLines,
    '',
  ].join('\n');
  await writeFile(join(dir, 'knot.conf'), config);
  const probe = Object.keys(zones)[0] ?? '.';
  return spawnServer(knotd, ['-c', join(dir, 'knot.conf')], dir, addresses, port, probe);
}

/**
 * Start unbound as a caching recursive resolver that reaches only the given stub zones (nothing leaves the
 * machine: every other name is refused).
 */
export async function startUnbound(
  address: string,
  port: number,
  stubs: Record<string, readonly string[]>,
): Promise<RunningServer> {
  const unbound = findBinary('unbound', 'unbound');
  const dir = await mkdtemp(join(tmpdir(), 'unbound-'));
  const topLevels = [...new Set(Object.keys(stubs).map((z) => z.split('.').pop() as string))];
  const config = [
    'server:',
    `  interface: ${address}@${port}`,
    `  port: ${port}`,
    '  do-ip6: no',
    '  do-not-query-localhost: no',
    '  module-config: "iterator"',
    '  username: ""',
    '  chroot: ""',
    `  directory: "${dir}"`,
    `  pidfile: "${join(dir, 'unbound.pid')}"`,
    '  use-syslog: no',
    '  logfile: ""',
    '  verbosity: 0',
    '  num-threads: 1',
    '  qname-minimisation: no',
    ...topLevels.map((tld) => `  local-zone: "${tld}." transparent`),
    '  local-zone: "." refuse',
    ...Object.entries(stubs).flatMap(([zone, servers]) => [
      'stub-zone:',
      `  name: "${zone}."`,
      ...servers.map((s) => `  stub-addr: ${s}@${port}`),
    ]),
    '',
  ].join('\n');
  await writeFile(join(dir, 'unbound.conf'), config);
  return spawnServer(unbound, ['-d', '-c', join(dir, 'unbound.conf')], dir, [address], port, '.');
}

/** A UDP socket that reads queries and never answers: a server that times out. */
export async function startSilentServer(address: string, port: number): Promise<RunningServer> {
  const socket = dgram.createSocket('udp4');
  socket.on('message', () => {});
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(port, address, () => resolve());
  });
  return { addresses: [address], port, stop: () => new Promise((resolve) => socket.close(() => resolve())) };
}
