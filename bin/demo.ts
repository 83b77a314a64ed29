#!/usr/bin/env node
/**
 * `npm run demo`: the real `check` code path against simulated DNS on loopback, with a bundled identities
 * file. Needs no AWS account and no internet.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCheckCommand } from './cli/check-command';
import { DEMO_NOW, DEMO_SUBNET, startDemoWorld } from './demo/demo-world';

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
  const count = (JSON.parse(readFileSync(identities, 'utf8')) as unknown[]).length;
  const out = (text: string) => process.stdout.write(`${text}\n`);
  // With --json, stdout carries the JSON alone: the banner and closing words go to stderr.
  const json = process.argv.slice(2).includes('--json');
  const say = json ? (text: string) => process.stderr.write(`${text}\n`) : out;
  say(`ses-dkim-sentinel demo: ${count} SES identities (from bin/demo/identities.json) checked against simulated`);
  say(`DNS servers on ${DEMO_SUBNET}.x:${world.port} (a root, a registry, two DNS providers, a stale old provider`);
  say('and two public resolvers). Nothing leaves this machine; the code path is the same as `npm run check`.');
  say(`The clock is fixed at ${DEMO_NOW}, when the identities were exported, so the hours left never change.`);
  say('');
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
  say(`$ npm run check -- ${argv.map((a) => (a === identities ? 'bin/demo/identities.json' : a)).join(' ')}`);
  say('');
  try {
    const code = await runCheckCommand(argv, process.env, {
      out,
      err: (text) => process.stderr.write(`${text}\n`),
      colour: process.stdout.isTTY === true && !process.env.NO_COLOR,
      width: process.stdout.isTTY ? process.stdout.columns : undefined,
      now: () => Date.parse(DEMO_NOW),
    });
    say('');
    say(`check exited with ${code} (0: all healthy; 1: something needs attention; 2: could not run).`);
    say('Against your own account: npm run check -- --region eu-west-1');
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
