import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { Route53Client } from '@aws-sdk/client-route-53';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { SNSClient } from '@aws-sdk/client-sns';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Context } from 'aws-lambda';
import { DnsProber } from './adapters/dns/dkim-dns-prober';
import { DnsTransport } from './adapters/dns/dns-transport';
import { DynamoDbStateStore } from './adapters/dynamodb-state-store';
import { Route53HostedZones } from './adapters/route53-hosted-zones';
import { PowertoolsRunMetrics } from './adapters/run-metrics';
import { SesIdentitySource } from './adapters/ses-identity-source';
import { SlackWebhookChannel } from './adapters/slack-webhook-channel';
import { type AlertChannel, SnsAlertChannel } from './adapters/sns-alert-channel';
import { METRIC_NAMESPACE, SERVICE_NAME } from './metrics/metric-names';
import { runScan } from './run-scan';
import { readScannerConfig } from './scanner-config';

// One Logger, one Metrics, one set of clients per process; the configuration is read once at cold start
// and a bad value fails every invocation with one clear line (and the Errors alarm).
const logger = new Logger({ serviceName: SERVICE_NAME });
const metrics = new Metrics({ namespace: METRIC_NAMESPACE, serviceName: SERVICE_NAME });
const config = readScannerConfig(process.env);
const sesClients = new Map(config.regions.map((region) => [region, new SESv2Client({ region })]));
const sns = new SNSClient({});
const route53Client = config.route53 ? new Route53Client({ region: 'us-east-1' }) : undefined;
const secrets = config.slackWebhookSecretArn ? new SecretsManagerClient({}) : undefined;
const store = new DynamoDbStateStore(
  DynamoDBDocumentClient.from(new DynamoDBClient({}), { marshallOptions: { removeUndefinedValues: true } }),
  config.stateTable,
);

/** The scheduled scan. Throws (and so alarms) on unexpected errors and undelivered alerts. */
export async function handler(
  _event: unknown,
  context: Context,
): Promise<{ identities: number; needingAttention: number }> {
  logger.addContext(context);
  const transport = new DnsTransport({ timeoutMs: config.dnsTimeoutMs });
  const channels: AlertChannel[] = [new SnsAlertChannel(sns, config.alertTopicArn)];
  if (secrets && config.slackWebhookSecretArn)
    channels.push(new SlackWebhookChannel(secrets, config.slackWebhookSecretArn));
  const report = await runScan(
    {
      source: new SesIdentitySource({
        regions: config.regions,
        clientFor: (region) => sesClients.get(region) as SESv2Client,
      }),
      probe: new DnsProber(transport, { resolvers: config.resolvers }),
      store,
      channels,
      metrics: new PowertoolsRunMetrics(metrics, config.identityMetrics),
      logger,
      dnsQueries: () => transport.stats.queries,
      now: () => Date.now(),
      invocationId: context.awsRequestId,
    },
    {
      lifecycle: config.lifecycle,
      // A fresh adapter per run: its caches must not outlive the run.
      route53: route53Client && new Route53HostedZones(route53Client),
      autoRepair: config.autoRepair,
      ignore: config.ignoreIdentities,
      context: { account: context.invokedFunctionArn?.split(':')[4], graceDays: config.lifecycle.graceDays },
    },
  );
  return {
    identities: report.identities.length,
    needingAttention: report.identities.filter((r) => !['HEALTHY', 'PENDING', 'DISABLED'].includes(r.health)).length,
  };
}
