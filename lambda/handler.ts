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
import { SnsAlertChannel } from './adapters/sns-alert-channel';
import { METRIC_NAMESPACE, SERVICE_NAME } from './contract';
import type { AlertChannel } from './ports';
import { runScan } from './run-scan';
import { readScannerConfig } from './scanner-config';
import { sendTestAlert, type TestAlertResult } from './send-test-alert';

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

/** `{"test": true}`: send a TEST notification through every channel instead of scanning. */
function isTestEvent(event: unknown): boolean {
  return typeof event === 'object' && event !== null && (event as { test?: unknown }).test === true;
}

/**
 * The scheduled scan. Throws (and so alarms) on unexpected errors and undelivered alerts. Invoked with
 * `{"test": true}`, it sends one TEST notification through every channel and returns each channel's result.
 */
export async function handler(
  event: unknown,
  context: Context,
): Promise<
  { identities: number; needingAttention: number } | { test: true; allDelivered: boolean; channels: TestAlertResult[] }
> {
  logger.addContext(context);
  const channels: AlertChannel[] = [new SnsAlertChannel(sns, config.alertTopicArn)];
  if (secrets && config.slackWebhookSecretArn)
    channels.push(new SlackWebhookChannel(secrets, config.slackWebhookSecretArn));
  const alertContext = { account: context.invokedFunctionArn?.split(':')[4], graceDays: config.lifecycle.graceDays };
  if (isTestEvent(event)) {
    const results = await sendTestAlert(channels, alertContext, Date.now(), logger);
    return { test: true, allDelivered: results.every((r) => r.delivered), channels: results };
  }
  const transport = new DnsTransport({ timeoutMs: config.dnsTimeoutMs });
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
      regions: config.regions,
      // A fresh adapter per run: its caches must not outlive the run.
      route53: route53Client && new Route53HostedZones(route53Client),
      autoRepair: config.autoRepair,
      ignore: config.ignoreIdentities,
      context: alertContext,
    },
  );
  return {
    identities: report.identities.length,
    needingAttention: report.identities.filter((r) => !['HEALTHY', 'PENDING', 'DISABLED'].includes(r.health)).length,
  };
}
