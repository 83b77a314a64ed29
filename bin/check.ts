#!/usr/bin/env node
import { runCheckCommand } from './cli/check-command';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

runCheckCommand(process.argv.slice(2), process.env, {
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
  colour: process.stdout.isTTY === true && !process.env.NO_COLOR,
  width: process.stdout.isTTY ? process.stdout.columns : undefined,
}).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    // Not a user mistake: a bug or an unexpected AWS/network failure. Keep the stack for a bug report.
    process.stderr.write(`check: unexpected error: ${(error as Error)?.stack ?? String(error)}\n`);
    process.exitCode = 2;
  },
);
