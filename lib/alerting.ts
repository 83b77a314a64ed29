import * as chatbot from 'aws-cdk-lib/aws-chatbot';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import type { DkimSentinelSettings } from './config';

export interface DkimAlertingProps {
  readonly settings: DkimSentinelSettings;
}

/**
 * Where alerts go: one SNS topic (TLS only) with the email subscriptions, AWS Chatbot for Slack when its
 * IDs are given, and the webhook secret for teams without Chatbot.
 */
export class DkimAlerting extends Construct {
  readonly topic: sns.Topic;
  readonly topicKey?: kms.Key;
  readonly slackWebhookSecret?: secretsmanager.ISecret;
  readonly slackChannel?: chatbot.SlackChannelConfiguration;

  constructor(scope: Construct, id: string, props: DkimAlertingProps) {
    super(scope, id);
    const { settings } = props;
    let masterKey: kms.Key | undefined;
    if (settings.encryptTopic) {
      masterKey = new kms.Key(this, 'TopicKey', {
        enableKeyRotation: true,
        description: 'Encrypts SES DKIM sentinel alerts',
      });
      // CloudWatch alarms publish to the topic and must be able to use its key.
      masterKey.grant(new iam.ServicePrincipal('cloudwatch.amazonaws.com'), 'kms:Decrypt', 'kms:GenerateDataKey');
      this.topicKey = masterKey;
    }
    this.topic = new sns.Topic(this, 'Topic', {
      displayName: 'SES DKIM sentinel',
      enforceSSL: true,
      masterKey,
    });
    for (const email of settings.alertEmails) this.topic.addSubscription(new subscriptions.EmailSubscription(email));

    if (settings.slackWorkspaceId && settings.slackChannelId) {
      this.slackChannel = new chatbot.SlackChannelConfiguration(this, 'Slack', {
        slackChannelConfigurationName: `ses-dkim-sentinel-${settings.slackChannelId}`.slice(0, 128),
        slackWorkspaceId: settings.slackWorkspaceId,
        slackChannelId: settings.slackChannelId,
        notificationTopics: [this.topic],
        loggingLevel: chatbot.LoggingLevel.ERROR,
        // The default guardrail is AdministratorAccess; people in the channel only need to look.
        guardrailPolicies: [
          iam.ManagedPolicy.fromAwsManagedPolicyName('CloudWatchReadOnlyAccess'),
          iam.ManagedPolicy.fromAwsManagedPolicyName('AmazonSESReadOnlyAccess'),
        ],
      });
    }
    if (settings.slackWebhookSecretName) {
      this.slackWebhookSecret = secretsmanager.Secret.fromSecretNameV2(
        this,
        'SlackWebhook',
        settings.slackWebhookSecretName,
      );
    }
  }
}
