import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import { type RenderedAlert, snsPublishInput } from '../domain/render-alert';

/** Somewhere an alert can be delivered. */
export interface AlertChannel {
  readonly name: string;
  send(alert: RenderedAlert): Promise<void>;
}

/** Publishes alerts to the SNS topic that email and AWS Chatbot subscribe to. */
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
