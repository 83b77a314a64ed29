import { Annotations, ArnFormat, Stack } from 'aws-cdk-lib';
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
  /**
   * Every alarm of the monitor is named with this prefix; only alarms so named (in this account and
   * region) may publish to the topics. Derive it from the stack name: alarm names are unique per account
   * and region.
   */
  readonly alarmNamePrefix: string;
}

/**
 * Where alerts go: one SNS topic (TLS only) with the email subscriptions, AWS Chatbot for Slack when its
 * IDs are given, and the webhook secret for teams without Chatbot; with `opsEmails`, a second topic for
 * the monitor's own alarms.
 */
export class DkimAlerting extends Construct {
  /** The DKIM alerts: the scanner publishes here. */
  readonly topic: sns.Topic;
  /** Where the monitor's own alarms go: the ops topic when `opsEmails` is set, else {@link topic}. */
  readonly alarmTopic: sns.Topic;
  /** The ops topic, when `opsEmails` is set. */
  readonly opsTopic?: sns.Topic;
  readonly topicKey?: kms.Key;
  readonly slackWebhookSecret?: secretsmanager.ISecret;
  readonly slackChannel?: chatbot.SlackChannelConfiguration;

  constructor(scope: Construct, id: string, props: DkimAlertingProps) {
    super(scope, id);
    const { settings } = props;
    const stack = Stack.of(this);
    // A topic policy replaces SNS's default one, so CloudWatch may publish only if a statement says so.
    // The conditions stop another account's alarms (confused deputy) and any alarm not named like the
    // monitor's from using it.
    const fromTheMonitorsAlarms = {
      StringEquals: { 'aws:SourceAccount': stack.account },
      ArnLike: {
        'aws:SourceArn': stack.formatArn({
          service: 'cloudwatch',
          resource: 'alarm',
          resourceName: `${props.alarmNamePrefix}*`,
          arnFormat: ArnFormat.COLON_RESOURCE_NAME,
        }),
      },
    };
    if (settings.encryptTopic) {
      this.topicKey = new kms.Key(this, 'TopicKey', {
        enableKeyRotation: true,
        description: 'Encrypts SES DKIM sentinel alerts',
      });
      // SNS uses the key on behalf of the publisher: without this the alarms publish into nothing.
      // https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services
      this.topicKey.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: 'CloudWatchAlarmsOfTheMonitor',
          principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
          actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
          resources: ['*'],
          conditions: fromTheMonitorsAlarms,
        }),
      );
    }
    const notificationTopic = (topicId: string, displayName: string, emails: readonly string[]) => {
      const topic = new sns.Topic(this, topicId, { displayName, enforceSSL: true, masterKey: this.topicKey });
      topic.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: 'CloudWatchAlarmsOfTheMonitor',
          principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
          actions: ['sns:Publish'],
          resources: [topic.topicArn],
          conditions: fromTheMonitorsAlarms,
        }),
      );
      for (const email of emails) topic.addSubscription(new subscriptions.EmailSubscription(email));
      return topic;
    };
    this.topic = notificationTopic('Topic', 'SES DKIM sentinel', settings.alertEmails);
    if (settings.opsEmails.length > 0) {
      this.opsTopic = notificationTopic('OpsTopic', 'SES DKIM sentinel (monitor health)', settings.opsEmails);
    }
    this.alarmTopic = this.opsTopic ?? this.topic;

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
    if (settings.alertEmails.length === 0 && !this.slackChannel && !settings.slackWebhookSecretName) {
      // Deploying is still allowed (subscribers can be added to the topic later), but not silently.
      Annotations.of(this).addWarningV2(
        'ses-dkim-sentinel:noAlertDestination',
        'No alert destination is configured: DKIM alerts would go to an SNS topic nobody subscribes to. Set alertEmails (-c alertEmails=you@example.com), or slackWorkspaceId and slackChannelId (AWS Chatbot), or slackWebhookSecretName; or subscribe to the AlertTopicArn output yourself.',
      );
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
