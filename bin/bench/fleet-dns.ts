/**
 * The benchmark's DNS, in its own process so that the engine's figures are its own: a root, a `bench.`
 * registry, one provider with two nameservers hosting every domain, the signing-key zone and three
 * iterative resolvers (127.0.54.100-102, as many as the product's default). BYODKIM domains publish their
 * selector's key too; with `broken`, one domain in 20 misses a CNAME on both servers.
 * Prints `ready` when listening. Usage: tsx bin/bench/fleet-dns.ts PORT DOMAINS [broken]
 */
import { authoritativeServer, iterativeResolver, zone } from '../demo/in-process-dns';
import { BYODKIM_SELECTOR, fleetDomain, fleetTokens, isBrokenDomain, isByoDkimDomain } from './fleet';

const port = Number(process.argv[2]);
const domains = Number(process.argv[3]);
const broken = process.argv[4] === 'broken';
const at = (host: number) => `127.0.54.${host}`;

async function main() {
  const root = zone('', [
    ['bench', 'NS', 'a.nic.bench'],
    ['a.nic.bench', 'A', at(2)],
    ['amazonses.com', 'NS', 'ns.amazonses.com'],
    ['ns.amazonses.com', 'A', at(3)],
  ]);
  const registry = zone('bench', [
    ['@', 'NS', 'a.nic'],
    ['a.nic', 'A', at(2)],
    ['ns1.provider', 'A', at(10)],
    ['ns2.provider', 'A', at(11)],
  ]);
  const providerZones = [];
  const keys: [string, 'TXT', string][] = [];
  const key = `v=DKIM1; k=rsa; p=${Buffer.alloc(270, 5).toString('base64')}`;
  for (let i = 0; i < domains; i++) {
    const domain = fleetDomain(i);
    (registry.records as unknown[]).push(
      { name: domain, type: 'NS', data: 'ns1.provider.bench' },
      { name: domain, type: 'NS', data: 'ns2.provider.bench' },
    );
    const tokens = fleetTokens(i);
    const published = broken && isBrokenDomain(i) ? tokens.slice(1) : tokens;
    providerZones.push(
      zone(domain, [
        ['@', 'NS', 'ns1.provider.bench.'],
        ['@', 'NS', 'ns2.provider.bench.'],
        ...published.map((t): [string, 'CNAME', string] => [`${t}._domainkey`, 'CNAME', `${t}.dkim.amazonses.com.`]),
        ...(isByoDkimDomain(i) ? [[`${BYODKIM_SELECTOR}._domainkey`, 'TXT', key] as [string, 'TXT', string]] : []),
      ]),
    );
    for (const t of tokens) keys.push([`${t}.dkim`, 'TXT', key]);
  }
  const servers = [
    authoritativeServer(at(1), port, [root]),
    authoritativeServer(at(2), port, [registry]),
    authoritativeServer(at(3), port, [zone('amazonses.com', [['@', 'NS', 'ns'], ['ns', 'A', at(3)], ...keys])]),
    authoritativeServer(at(10), port, providerZones),
    authoritativeServer(at(11), port, providerZones),
    iterativeResolver(at(100), port, { address: at(1), port }),
    iterativeResolver(at(101), port, { address: at(1), port }),
    iterativeResolver(at(102), port, { address: at(1), port }),
  ];
  for (const server of servers) await server.start();
  process.stdout.write('ready\n');
  process.on('SIGTERM', () => process.exit(0));
}

main().catch((error) => {
  process.stderr.write(`fleet-dns: ${(error as Error).message}\n`);
  process.exit(1);
});
