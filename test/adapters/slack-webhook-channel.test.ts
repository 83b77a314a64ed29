import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { SlackWebhookChannel, SlackWebhookSecretError } from '../../lambda/adapters/slack-webhook-channel';
import type { RenderedAlert } from '../../lambda/domain/render-alert';

const URL = 'https://hooks.slack.com/services/T000/B000/XXXXSECRETXXXX';
const alert = {
  slack: { text: 'DKIM AT_RISK: example.com (eu-west-1)', blocks: [{ type: 'header' }] },
} as unknown as RenderedAlert;

describe('SlackWebhookChannel', () => {
  const secrets = mockClient(SecretsManagerClient);
  let posts: { url: string; body: unknown }[];
  const post = async (url: string, init: { body: string }) => {
    posts.push({ url, body: JSON.parse(init.body) });
    return { ok: true, status: 200 };
  };
  beforeEach(() => {
    secrets.reset();
    posts = [];
  });

  it('reads the webhook URL once per run and posts Block Kit messages to it', async () => {
    secrets.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({ url: URL }) });
    const channel = new SlackWebhookChannel(new SecretsManagerClient({}), 'dkim/slack', post);

    await channel.send(alert);
    await channel.send(alert);

    expect(secrets).toReceiveCommandTimes(GetSecretValueCommand, 1);
    expect(secrets).toReceiveCommandWith(GetSecretValueCommand, { SecretId: 'dkim/slack' });
    expect(posts).toEqual([
      { url: URL, body: { text: 'DKIM AT_RISK: example.com (eu-west-1)', blocks: [{ type: 'header' }] } },
      { url: URL, body: { text: 'DKIM AT_RISK: example.com (eu-west-1)', blocks: [{ type: 'header' }] } },
    ]);
  });

  it('rejects a secret that is not a Slack webhook URL without repeating its value', async () => {
    secrets.on(GetSecretValueCommand).resolves({ SecretString: 'https://evil.example/collect?token=hunter2' });
    const channel = new SlackWebhookChannel(new SecretsManagerClient({}), 'dkim/slack', post);

    const error = await channel.send(alert).catch((e: Error) => e);

    expect(error).toBeInstanceOf(SlackWebhookSecretError);
    expect((error as Error).message).toContain('secret dkim/slack must hold a Slack incoming-webhook URL');
    expect((error as Error).message).not.toContain('hunter2');
    expect(posts).toEqual([]);
  });

  it('fails when Slack refuses the message', async () => {
    secrets.on(GetSecretValueCommand).resolves({ SecretString: URL });
    const channel = new SlackWebhookChannel(new SecretsManagerClient({}), 'dkim/slack', async () => ({
      ok: false,
      status: 404,
    }));

    await expect(channel.send(alert)).rejects.toThrow('Slack webhook answered HTTP 404');
  });
});
