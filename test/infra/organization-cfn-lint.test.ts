import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DkimSentinelOptions } from '../../lib/config';
import { DkimSentinel } from '../../lib/dkim-sentinel';
import { DkimSentinelStack } from '../../lib/dkim-sentinel-stack';
import { DkimMemberRoleStack } from '../../lib/member-role-stack';
import { cfnLint } from './cfn-lint';

/**
 * cfn-lint on central mode's templates and the member-role stack, the way test/infra/cfn-lint.test.ts does
 * for single-account mode (same ignored check: W3005, CDK's explicit DependsOn on a role's policy).
 */

const variants: [string, DkimSentinelOptions][] = [
  ['organization', { organization: true, organizationId: 'o-abcdefghij', regions: 'eu-west-1,us-east-1' }],
  [
    'accounts, every option',
    {
      accounts: '111111111111,222222222222',
      externalId: 'ext-1',
      memberRoleName: 'dkim-reader',
      shardConcurrency: 40,
      alertEmails: 'a@example.com',
      opsEmails: 'ops@example.com',
      encryptTopic: true,
      autoRepair: true,
      schedule: 'rate(15 minutes)',
    },
  ],
];

const outdir = mkdtempSync(join(tmpdir(), 'cdk-cfn-lint-org-'));
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

describe('cfn-lint, central mode and the member role', () => {
  const templates: string[] = [];
  const saved = process.env.CDK_VALIDATION;

  beforeAll(() => {
    process.env.CDK_VALIDATION = 'true';
    try {
      const app = new App({ outdir, context: { 'aws:cdk:bundling-stacks': [] } });
      const stacks: Stack[] = variants.map(
        ([label, settings], i) =>
          new DkimSentinelStack(app, `Central${i}`, {
            env: { account: '123456789012', region: 'eu-west-1' },
            description: `ses-dkim-sentinel (${label})`,
            settings,
          }),
      );
      const agnostic = new Stack(app, 'CentralAgnostic');
      new DkimSentinel(agnostic, 'Sentinel', { organization: true });
      stacks.push(agnostic, new DkimMemberRoleStack(app, 'Member'));
      const assembly = app.synth();
      for (const stack of stacks) templates.push(assembly.getStackByName(stack.stackName).templateFullPath);
    } finally {
      if (saved === undefined) delete process.env.CDK_VALIDATION;
      else process.env.CDK_VALIDATION = saved;
    }
  }, 60_000);

  it('finds nothing in the central templates nor in the member-role template', () => {
    expect(templates).toHaveLength(variants.length + 2);

    const { status, findings } = cfnLint(templates);

    expect(findings).toEqual([]);
    expect(status).toBe(0);
  }, 60_000);
});
