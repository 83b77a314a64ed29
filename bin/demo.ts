#!/usr/bin/env node
/**
 * `npm run demo`: the real `check` code path against simulated DNS on loopback, with a bundled identities
 * file. Needs no AWS account and no internet.
 */
import { join } from 'node:path';
import { runCheckCommand } from './cli/check-command';
import { DEMO_SUBNET, startDemoWorld } from './demo/demo-world';

async function startOnFreePort() {
  for (let attempt = 0; ; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 40_000);
    try {
      return await startDemoWorld(port);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt >= 10) throw error;
    }
  }
}

async function main(): Promise<number> {
  const world = await startOnFreePort();
  const identities = join(__dirname, 'demo', 'identities.json');
  const out = (text: string) => process.stdout.write(`${text}\n`);
  out('ses-dkim-sentinel demo: 9 SES identities (from bin/demo/identities.json) checked against simulated DNS');
  out(`servers on ${DEMO_SUBNET}.x:${world.port} (a root, a registry, two DNS providers, a stale old provider and`);
  out('two public resolvers). Nothing leaves this machine; the code path is the same as `npm run check`.');
  out('');
  const argv = [
    '--identities',
    identities,
    '--resolvers',
    world.resolvers.map((r) => `${r.address}:${r.port}`).join(','),
    '--authoritative-port',
    String(world.port),
    '--timeout-ms',
    '500',
    ...process.argv.slice(2),
  ];
  out(`$ npm run check -- ${argv.map((a) => (a === identities ? 'bin/demo/identities.json' : a)).join(' ')}`);
  out('');
  try {
    const code = await runCheckCommand(argv, process.env, {
      out,
      err: (text) => process.stderr.write(`${text}\n`),
      colour: process.stdout.isTTY === true && !process.env.NO_COLOR,
    });
    out('');
    out(`check exited with ${code} (0: all healthy; 1: something needs attention; 2: could not run).`);
    out('Against your own account: npm run check -- --region eu-west-1');
    return code === 2 ? 2 : 0;
  } finally {
    await world.stop();
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`demo: ${(error as Error)?.stack ?? String(error)}\n`);
    process.exitCode = 2;
  },
);
