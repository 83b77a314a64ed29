#!/usr/bin/env node
/**
 * The deployable app: `npx cdk deploy -c alertEmails=you@example.com`. With `-c memberRole=true` it
 * synthesizes the member-role stack instead (for CloudFormation StackSets; `-c memberRoleName=...` when the
 * central stack uses another role name).
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ConfigError } from '../lib/config';
import { DkimSentinelStack } from '../lib/dkim-sentinel-stack';
import { DkimMemberRoleStack } from '../lib/member-role-stack';

const app = new App();
try {
  const memberRole = app.node.tryGetContext('memberRole');
  if (memberRole === true || memberRole === 'true') {
    const roleName = app.node.tryGetContext('memberRoleName');
    if (roleName !== undefined && !(typeof roleName === 'string' && /^[\w+=,.@-]{1,64}$/.test(roleName)))
      throw new ConfigError(`memberRoleName must be an IAM role name, got ${JSON.stringify(roleName)}`);
    new DkimMemberRoleStack(app, 'SesDkimSentinelMemberRole', { roleName });
  } else {
    new DkimSentinelStack(app, 'SesDkimSentinel', {
      env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
    });
  }
} catch (error) {
  if (error instanceof ConfigError) {
    // A user's mistake in cdk.json or -c: one line, no stack trace.
    process.stderr.write(`ses-dkim-sentinel: ${error.message}\n`);
    process.exit(1);
  }
  throw error;
}
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
