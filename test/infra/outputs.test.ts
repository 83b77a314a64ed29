import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { DkimSentinelStack } from '../../lib/dkim-sentinel-stack';
import { synthTemplate, testApp } from './synth';
import { type CfnTemplate, TemplateResolver } from './template-access';

type Outputs = Record<string, { Value: unknown; Description?: string }>;

function outputsOf(template: { toJSON(): unknown }) {
  const json = template.toJSON() as CfnTemplate & { Outputs: Outputs };
  const t = new TemplateResolver(json);
  const value = (name: string) => t.resolveString(json.Outputs[name]?.Value);
  return { json, t, value };
}

describe('stack outputs', () => {
  it('give a one-line command that sends a test alert through the scanner', () => {
    const { t, value } = outputsOf(synthTemplate().template);
    const [functionId] = t.ofType('AWS::Lambda::Function')[0] ?? [];
    const command = value('TestAlertCommand');

    expect(command).toBe(
      `aws lambda invoke --function-name ${functionId} --cli-binary-format raw-in-base64-out --payload '{"test":true}' --region eu-west-1 /dev/stdout`,
    );
    const payload = /--payload '([^']*)'/.exec(command)?.[1];
    expect(JSON.parse(payload ?? 'null')).toEqual({ test: true });
    expect(command).not.toContain('\n');
  });

  it('give the dashboard URL, with the region of an environment-agnostic stack filled in at deploy time', () => {
    const fixed = outputsOf(synthTemplate().template);
    const [dashboardId] = fixed.t.ofType('AWS::CloudWatch::Dashboard')[0] ?? [];
    expect(fixed.value('DashboardUrl')).toBe(
      `https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#dashboards/dashboard/${dashboardId}`,
    );

    const agnostic = outputsOf(
      Template.fromStack(new DkimSentinelStack(testApp(), 'Agnostic', { settings: { regions: 'eu-west-1' } })),
    );
    expect(JSON.stringify(agnostic.json.Outputs.DashboardUrl?.Value)).toContain('{"Ref":"AWS::Region"}');
    expect(agnostic.value('DashboardUrl')).toMatch(
      /^https:\/\/eu-west-1\.console\.aws\.amazon\.com\/cloudwatch\/home\?region=eu-west-1#dashboards\/dashboard\/\w+$/,
    );
  });

  it('name the ops topic only when there is one', () => {
    expect(Object.keys(outputsOf(synthTemplate().template).json.Outputs)).not.toContain('OpsTopicArn');
    const ops = outputsOf(synthTemplate({ opsEmails: 'ops@example.com' }).template);
    expect(ops.value('OpsTopicArn')).toMatch(/^arn:aws:sns:eu-west-1:123456789012:.*OpsTopic/);
  });
});

describe('synth-time warnings', () => {
  const noDestination =
    /No alert destination is configured.*alertEmails.*slackWorkspaceId and slackChannelId.*slackWebhookSecretName/;

  it('warns when alerts would go to a topic nobody subscribes to, naming the settings to set', () => {
    Annotations.fromStack(synthTemplate().stack).hasWarning('*', Match.stringLikeRegexp(noDestination.source));
    // opsEmails receive the monitor's alarms, not the DKIM alerts.
    Annotations.fromStack(synthTemplate({ opsEmails: 'ops@example.com' }).stack).hasWarning(
      '*',
      Match.stringLikeRegexp(noDestination.source),
    );
  });

  it.each([
    ['alertEmails', { alertEmails: 'a@example.com' }],
    ['AWS Chatbot', { slackWorkspaceId: 'T0', slackChannelId: 'C0' }],
    ['a Slack webhook', { slackWebhookSecretName: 'hook' }],
  ])('does not warn with %s', (_label, settings) => {
    Annotations.fromStack(synthTemplate(settings).stack).hasNoWarning(
      '*',
      Match.stringLikeRegexp('No alert destination'),
    );
  });
});
