import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { RenderedAlert } from '../domain/render-alert';
import type { AlertChannel } from '../ports';

/** The webhook secret is unusable; the message never contains the secret's value. */
export class SlackWebhookSecretError extends Error {
  override readonly name = 'SlackWebhookSecretError';
}

type Post = (
  url: string,
  init: { method: 'POST'; headers: Record<string, string>; body: string },
) => Promise<{ ok: boolean; status: number }>;

/**
 * Posts Block Kit messages to a Slack incoming webhook whose URL lives in Secrets Manager (for teams
 * without AWS Chatbot). The secret is read at run time, once per run, and never logged.
 */
export class SlackWebhookChannel implements AlertChannel {
  readonly name = 'slack-webhook';
  private url?: Promise<string>;

  constructor(
    private readonly secrets: SecretsManagerClient,
    private readonly secretId: string,
    private readonly post: Post = (url, init) => fetch(url, init),
  ) {}

  private webhookUrl(): Promise<string> {
    this.url ??= (async () => {
      const secret = await this.secrets.send(new GetSecretValueCommand({ SecretId: this.secretId }));
      let value = (secret.SecretString ?? '').trim();
      if (value.startsWith('{')) {
        try {
          const parsed = JSON.parse(value) as Record<string, unknown>;
          value = String(parsed.url ?? parsed.webhookUrl ?? parsed.webhook_url ?? '');
        } catch {
          throw new SlackWebhookSecretError(`secret ${this.secretId} looks like JSON but does not parse`);
        }
      }
      if (!/^https:\/\/hooks\.slack(-gov)?\.com\/\S+$/.test(value)) {
        throw new SlackWebhookSecretError(
          `secret ${this.secretId} must hold a Slack incoming-webhook URL (https://hooks.slack.com/...), as plain text or {"url": "..."}`,
        );
      }
      return value;
    })();
    return this.url;
  }

  async send(alert: RenderedAlert): Promise<void> {
    const response = await this.post(await this.webhookUrl(), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ text: alert.slack.text, blocks: alert.slack.blocks }),
    });
    if (!response.ok) throw new Error(`Slack webhook answered HTTP ${response.status}`);
  }
}
