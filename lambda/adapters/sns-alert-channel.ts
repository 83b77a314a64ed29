import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import { type RenderedAlert, snsPublishInput } from '../domain/render-alert';
import type { AlertChannel } from '../ports';

/**
 * Publishes alerts to the SNS topic that email and AWS Chatbot subscribe to, with message attributes
 * (identity, region, account, stage, health, incident, severity) for subscription filter policies.
 */
export class SnsAlertChannel implements AlertChannel {
  readonly name = 'sns';

  constructor(
    private readonly client: SNSClient,
    private readonly topicArn: string,
  ) {}

  async send(alert: RenderedAlert): Promise<void> {
    await this.client.send(new PublishCommand({ TopicArn: this.topicArn, ...snsPublishInput(alert) }));
  }
}
