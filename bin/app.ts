#!/usr/bin/env node
/** The deployable app: `npx cdk deploy -c alertEmails=you@example.com`. */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ConfigError } from '../lib/config';
import { DkimSentinelStack } from '../lib/dkim-sentinel-stack';

const app = new App();
try {
  new DkimSentinelStack(app, 'SesDkimSentinel', {
    env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  });
} catch (error) {
  if (error instanceof ConfigError) {
    // A user's mistake in cdk.json or -c: one line, no stack trace.
    process.stderr.write(`ses-dkim-sentinel: ${error.message}\n`);
    process.exit(1);
  }
  throw error;
}
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
