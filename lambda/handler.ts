import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { Route53Client } from '@aws-sdk/client-route-53';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SESClient } from '@aws-sdk/client-ses';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { SNSClient } from '@aws-sdk/client-sns';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Context } from 'aws-lambda';
import { DnsProber } from './adapters/dns/dkim-dns-prober';
import { DnsTransport } from './adapters/dns/dns-transport';
import { DynamoDbScanLedger, DynamoDbStateStore } from './adapters/dynamodb-state-store';
import { Route53HostedZones } from './adapters/route53-hosted-zones';
import { PowertoolsRunMetrics } from './adapters/run-metrics';
import { SesRegionDirectory } from './adapters/ses-directory';
import { SlackWebhookChannel } from './adapters/slack-webhook-channel';
import { SnsAlertChannel } from './adapters/sns-alert-channel';
import { METRIC_NAMESPACE, SERVICE_NAME } from './contract';
import type { AlertChannel } from './ports';
import { RenewingProbe } from './renewing-probe';
import { runScan } from './run-scan';
import { readScannerConfig } from './scanner-config';
import { sendTestAlert, type TestAlertResult } from './send-test-alert';

// One Logger, one Metrics, one set of clients per process; the configuration is read once at cold start
// and a bad value fails every invocation with one clear line (and the Errors alarm).
const logger = new Logger({ serviceName: SERVICE_NAME });
const metrics = new Metrics({ namespace: METRIC_NAMESPACE, serviceName: SERVICE_NAME });
const config = readScannerConfig(process.env);
// The pacing is ours (a token bucket per region): the SDK's own retries would add unpaced calls.
const sesClients = new Map(
  config.regions.map((region) => [
    region,
    { v1: new SESClient({ region, maxAttempts: 1 }), v2: new SESv2Client({ region, maxAttempts: 1 }) },
  ]),
);
const sns = new SNSClient({});
const route53Client = config.route53 ? new Route53Client({ region: 'us-east-1' }) : undefined;
const secrets = config.slackWebhookSecretArn ? new SecretsManagerClient({}) : undefined;
const documents = DynamoDBDocumentClient.from(new DynamoDBClient({}), {
  marshallOptions: { removeUndefinedValues: true },
});
const store = new DynamoDbStateStore(documents, config.stateTable);

/** `{"test": true}`: send a TEST notification through every channel instead of scanning. */
function isTestEvent(event: unknown): boolean {
  return typeof event === 'object' && event !== null && (event as { test?: unknown }).test === true;
}

/** What a scheduled run returns (and Lambda logs). */
export interface ScanResult {
  readonly identities: number;
  readonly needingAttention: number;
  /** Listed identities left for the next run by the deadline. */
  readonly notReached: number;
  /** True when another run held the lease. */
  readonly skipped: boolean;
}

/**
 * The scheduled scan. Throws (and so alarms) on unexpected errors and undelivered alerts. Invoked with
 * `{"test": true}`, it sends one TEST notification through every channel and returns each channel's result.
 */
export async function handler(
  event: unknown,
  context: Context,
): Promise<ScanResult | { test: true; allDelivered: boolean; channels: TestAlertResult[] }> {
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
  // Per run: it reads the attribute cache once, for every region.
  const ledger = new DynamoDbScanLedger(documents, config.stateTable);
  try {
    const outcome = await runScan(
      {
        // A fresh directory per run and region: each region has its own SES rate budget.
        directories: config.regions.map((region) => {
          const clients = sesClients.get(region) as { v1: SESClient; v2: SESv2Client };
          return new SesRegionDirectory({ region, ...clients, requestsPerSecond: config.sesRequestsPerSecond });
        }),
        // Fresh probers per run (renewed every 1,000 identities to bound memory): zones, nameservers and
        // answers shared by identities of one zone are looked up once.
        probe: new RenewingProbe(() => new DnsProber(transport, { resolvers: config.resolvers })),
        store,
        cache: ledger,
        mailFromCache: ledger,
        cursors: ledger,
        lease: ledger,
        channels,
        metrics: new PowertoolsRunMetrics(metrics, config.identityMetrics),
        logger,
        dnsQueries: () => transport.stats.queries,
        now: () => Date.now(),
        remainingMs: () => context.getRemainingTimeInMillis?.() ?? 15 * 60_000,
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
        refreshPerRun: config.sesAttributeRefreshPerRun,
        checkMailFrom: config.checkMailFrom,
        checkDmarc: config.checkDmarc,
      },
    );
    return {
      identities: outcome.checked,
      needingAttention: outcome.needingAttention,
      notReached: outcome.notReached,
      skipped: outcome.skipped,
    };
  } finally {
    transport.close();
  }
}
