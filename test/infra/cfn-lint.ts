import { spawnSync } from 'node:child_process';

/** Checks cfn-lint may skip, each for a reason: W3005, CDK's explicit DependsOn on a role's policy. */
export const IGNORED_CFN_LINT_CHECKS = ['W3005'];

/** cfn-lint's parseable output for these templates, or a loud failure when cfn-lint is not installed. */
export function cfnLint(templates: readonly string[]): { status: number | null; findings: string[] } {
  const result = spawnSync(
    'cfn-lint',
    ['--format', 'parseable', '--ignore-checks', ...IGNORED_CFN_LINT_CHECKS, '--', ...templates],
    { encoding: 'utf8' },
  );
  if (result.error) {
    throw new Error(
      `cfn-lint could not be run (${result.error.message}): it is preinstalled with the machine's Python (python3 -m pip list | grep cfn-lint); install it with pip install cfn-lint`,
    );
  }
  if (result.status !== 0 && result.stdout.trim() === '')
    throw new Error(`cfn-lint failed without findings: ${result.stderr}`);
  return { status: result.status, findings: result.stdout.trim().split('\n').filter(Boolean) };
}
