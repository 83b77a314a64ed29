import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DkimSentinelOptions } from '../../lib/config';
import { DkimSentinel } from '../../lib/dkim-sentinel';
import { DkimSentinelStack } from '../../lib/dkim-sentinel-stack';
import { cfnLint } from './cfn-lint';

/**
 * What `cdk synth` does not check: cfn-lint (preinstalled with the machine's Python) knows each
 * resource type's schema and CloudFormation's own rules. Ignored, with the reason:
 * - W3005 (a DependsOn also implied by a GetAtt): CDK adds an explicit DependsOn from the function to its
 *   role and default policy so the policy exists before the first invocation; harmless.
 */

const variants: [string, DkimSentinelOptions][] = [
  ['default', {}],
  [
    'every option',
    {
      alertEmails: 'a@example.com',
      opsEmails: 'ops@example.com',
      slackWorkspaceId: 'T0',
      slackChannelId: 'C0',
      slackWebhookSecretName: 'dkim/hook',
      encryptTopic: true,
      autoRepair: true,
      autoRepairZoneIds: 'Z0123456789ABC',
      regions: 'eu-west-1,us-east-1',
      schedule: 'rate(15 minutes)',
    },
  ],
  ['opsEmails', { alertEmails: 'a@example.com', opsEmails: 'ops@example.com' }],
  ['no Route 53', { route53: false, schedule: 'rate(6 hours)' }],
];

const outdir = mkdtempSync(join(tmpdir(), 'cdk-cfn-lint-'));
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

describe('cfn-lint', () => {
  const templates: string[] = [];
  const saved = process.env.CDK_VALIDATION;

  beforeAll(() => {
    // CDK's own CloudFormation validation too (the vitest config turns it off for the quick tests).
    process.env.CDK_VALIDATION = 'true';
    try {
      const app = new App({ outdir, context: { 'aws:cdk:bundling-stacks': [] } });
      const stacks = variants.map(
        ([label, settings], i) =>
          new DkimSentinelStack(app, `Variant${i}`, {
            env: { account: '123456789012', region: 'eu-west-1' },
            description: `ses-dkim-sentinel (${label})`,
            settings,
          }),
      );
      // An environment-agnostic stack, the way bin/app.ts synthesizes without credentials.
      const agnostic = new Stack(app, 'Agnostic');
      new DkimSentinel(agnostic, 'Sentinel', { alertEmails: 'a@example.com' });
      const assembly = app.synth();
      for (const stack of [...stacks, agnostic])
        templates.push(assembly.getStackByName(stack.stackName).templateFullPath);
    } finally {
      if (saved === undefined) delete process.env.CDK_VALIDATION;
      else process.env.CDK_VALIDATION = saved;
    }
  }, 60_000);

  it('finds nothing in the synthesized templates of every variant', () => {
    expect(templates).toHaveLength(variants.length + 1);

    const { status, findings } = cfnLint(templates);

    expect(findings).toEqual([]);
    expect(status).toBe(0);
  }, 60_000);

  it('is really checking: a broken alarm and an unknown runtime are reported', () => {
    const broken = join(outdir, 'broken.template.json');
    writeFileSync(
      broken,
      JSON.stringify({
        Resources: {
          Alarm: {
            Type: 'AWS::CloudWatch::Alarm',
            Properties: {
              ComparisonOperator: 'Bigger',
              EvaluationPeriods: 1,
              Threshold: 1,
              MetricName: 'X',
              Namespace: 'Y',
              Period: 60,
              Statistic: 'Sum',
            },
          },
          Fn: {
            Type: 'AWS::Lambda::Function',
            Properties: {
              Runtime: 'nodejs1.x',
              Handler: 'index.handler',
              Role: 'arn:aws:iam::123456789012:role/x',
              Code: { ZipFile: 'x' },
            },
          },
        },
      }),
    );

    const { status, findings } = cfnLint([broken]);

    expect(status).not.toBe(0);
    expect(findings.join('\n')).toMatch(/Bigger/);
    expect(findings.join('\n')).toMatch(/nodejs1\.x/);
  });
});
