import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterAll } from 'vitest';
import type { DkimSentinelOptions } from '../../lib/config';
import { DkimSentinelStack } from '../../lib/dkim-sentinel-stack';

const outdirs: string[] = [];
afterAll(() => {
  for (const dir of outdirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A fresh App with its own output folder, removed after the suite. */
export function testApp(options: { bundle?: boolean; context?: Record<string, unknown> } = {}): App {
  const outdir = mkdtempSync(join(tmpdir(), 'cdk-test-'));
  outdirs.push(outdir);
  return new App({
    outdir,
    context: { ...(options.bundle ? {} : { 'aws:cdk:bundling-stacks': [] }), ...options.context },
  });
}

/** Synthesize the stack with these settings (no bundling unless asked) and return its template. */
export function synthTemplate(
  settings: DkimSentinelOptions = {},
  options: { nag?: boolean; context?: Record<string, unknown> } = {},
) {
  const app = testApp({ context: options.context });
  const stack = new DkimSentinelStack(app, 'Test', { env: { account: '123456789012', region: 'eu-west-1' }, settings });
  if (options.nag) Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  if (options.nag) app.synth();
  return { app, stack, template: Template.fromStack(stack) };
}
