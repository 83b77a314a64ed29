import { execFileSync } from 'node:child_process';

/**
 * Run `script` in bash and return the argument lists it recorded: inside the script, `dig` and `aws` are
 * shell functions that write their argument count and arguments (NUL-separated) instead of running anything;
 * `record ARGS...` records any argument list. Lets a test see exactly what a suggested command would pass to the real tool.
 */
export function recordedCalls(script: string): string[][] {
  const prelude = [
    'record() { printf "%s\\0" "$#" "$@"; }',
    'dig() { record dig "$@"; }',
    'aws() { record aws "$@"; }',
  ].join('\n');
  const out = execFileSync('bash', ['--norc', '--noprofile', '-c', `${prelude}\n${script}`], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C' },
    maxBuffer: 64 * 1024 * 1024,
  }).toString('utf8');
  const tokens = out.split('\0').slice(0, -1);
  const calls: string[][] = [];
  for (let i = 0; i < tokens.length; ) {
    const count = Number(tokens[i]);
    calls.push(tokens.slice(i + 1, i + 1 + count));
    i += 1 + count;
  }
  return calls;
}

/** Whether bash parses `script` without error (`bash -n`: nothing is run). */
export function bashParses(script: string): boolean {
  try {
    execFileSync('bash', ['-n', '-c', script], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
}
