import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { Route53Client } from '@aws-sdk/client-route-53';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SESClient } from '@aws-sdk/client-ses';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { SNSClient } from '@aws-sdk/client-sns';
import { STSClient } from '@aws-sdk/client-sts';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Context } from 'aws-lambda';
import { MemberRoleCredentials, MemberRoleDirectory } from './adapters/assumed-role-clients';
import { DnsProber } from './adapters/dns/dkim-dns-prober';
import { DnsTransport } from './adapters/dns/dns-transport';
import { DynamoDbScanLedger, DynamoDbStateStore } from './adapters/dynamodb-state-store';
import { Route53HostedZones } from './adapters/route53-hosted-zones';
import { PowertoolsRunMetrics } from './adapters/run-metrics';
import { SesRegionDirectory } from './adapters/ses-directory';
import { ShardRunMetrics } from './adapters/shard-run-metrics';
import { SlackWebhookChannel } from './adapters/slack-webhook-channel';
import { SnsAlertChannel } from './adapters/sns-alert-channel';
import { readCentralConfig } from './central-config';
import { CentralDimension, METRIC_NAMESPACE, SERVICE_NAME } from './contract';
import type { AlertChannel } from './ports';
import { RenewingProbe } from './renewing-probe';
import { parseShard, ShardEventError, type ShardResult, scanShard } from './scan-shard';
import { readScannerConfig } from './scanner-config';
import { sendTestAlert, type TestAlertResult } from './send-test-alert';
import { type SweepResult, sweepUnplanned } from './sweep-unplanned';

// Central mode's scanner: the state machine invokes it once per (account, region) shard. One Logger, one
// set of clients and one credential cache per process; configuration read once at cold start.
const logger = new Logger({ serviceName: SERVICE_NAME });
const fleetMetrics = new Metrics({ namespace: METRIC_NAMESPACE, serviceName: SERVICE_NAME });
const config = readScannerConfig(process.env);
const central = readCentralConfig(process.env);
const sns = new SNSClient({});
const secrets = config.slackWebhookSecretArn ? new SecretsManagerClient({}) : undefined;
const documents = DynamoDBDocumentClient.from(new DynamoDBClient({}), {
  marshallOptions: { removeUndefinedValues: true },
});
const store = new DynamoDbStateStore(documents, config.stateTable);
let memberRoles: MemberRoleCredentials | undefined;

function isTestEvent(event: unknown): boolean {
  return typeof event === 'object' && event !== null && (event as { test?: unknown }).test === true;
}

/** `{"sweep": true, "shards": [...]}`: the state machine's last step, with this run's plan. */
function sweepShards(event: unknown): unknown[] | undefined {
  if (typeof event !== 'object' || event === null || (event as { sweep?: unknown }).sweep !== true) return undefined;
  const { shards } = event as { shards?: unknown };
  if (!Array.isArray(shards))
    throw new ShardEventError(`a sweep event needs the plan's shards, got ${JSON.stringify(event).slice(0, 200)}`);
  return shards;
}

/**
 * `{"account", "region"}`: scan one shard: assume the member role of `account`, read SES in `region` with it, and run the same
 * lifecycle as single-account mode against the central table and topic. Throws (so the state machine
 * retries, then reports the shard) on unexpected errors and undelivered alerts; `{"test": true}` sends a
 * TEST notification instead; `{"sweep": true, "shards"}` closes the incidents of accounts and regions the plan
 * no longer has.
 */
export async function handler(
  event: unknown,
  context: Context,
): Promise<ShardResult | SweepResult | { test: true; allDelivered: boolean; channels: TestAlertResult[] }> {
  logger.addContext(context);
  const channels: AlertChannel[] = [new SnsAlertChannel(sns, config.alertTopicArn)];
  if (secrets && config.slackWebhookSecretArn)
    channels.push(new SlackWebhookChannel(secrets, config.slackWebhookSecretArn));
  if (isTestEvent(event)) {
    const alertContext = { account: context.invokedFunctionArn?.split(':')[4], graceDays: config.lifecycle.graceDays };
    const results = await sendTestAlert(channels, alertContext, Date.now(), logger);
    return { test: true, allDelivered: results.every((r) => r.delivered), channels: results };
  }
  const planned = sweepShards(event);
  if (planned) {
    const result = await sweepUnplanned(
      planned.map((item) => parseShard(item, config.regions)),
      store,
      config.lifecycle,
      { graceDays: config.lifecycle.graceDays },
      { channels, now: () => Date.now(), invocationId: context.awsRequestId, logger },
    );
    logger.info('sweep complete', { noticesDelivered: result.noticesDelivered });
    if (result.failures.length > 0)
      throw new Error(`${result.failures.length} notice delivery or state failure(s): ${result.failures.join('; ')}`);
    return result;
  }
  const shard = parseShard(event, config.regions);
  memberRoles ??= new MemberRoleCredentials({
    sts: new STSClient({}),
    memberRoleName: central.memberRoleName,
    externalId: central.externalId,
    partition: context.invokedFunctionArn?.split(':')[1] || 'aws',
  });
  const roles = memberRoles;
  const transport = new DnsTransport({ timeoutMs: config.dnsTimeoutMs });
  const shardMetrics = new Metrics({
    namespace: METRIC_NAMESPACE,
    serviceName: SERVICE_NAME,
    defaultDimensions: { [CentralDimension.Account]: shard.account },
  });
  logger.appendKeys({ account: shard.account, shardRegion: shard.region });
  try {
    // The member account's SES in this region, read as its member role: a missing role fails the first
    // SES call with a MemberRoleError naming the fix, reported as this shard's discovery error.
    const credentials = roles.providerFor(shard.account);
    const directory = new MemberRoleDirectory(
      new SesRegionDirectory({
        region: shard.region,
        v1: new SESClient({ region: shard.region, credentials, maxAttempts: 1 }),
        v2: new SESv2Client({ region: shard.region, credentials, maxAttempts: 1 }),
        requestsPerSecond: config.sesRequestsPerSecond,
      }),
      credentials,
    );
    // This shard's own lease, cursor and attribute cache, next to the others in the central table.
    const ledger = new DynamoDbScanLedger(documents, config.stateTable, shard.account);
    return await scanShard(
      shard,
      {
        directories: [directory],
        // Caches renewed every few hundred identities: a 10,000-identity shard stays within the memory.
        probe: new RenewingProbe(() => new DnsProber(transport, { resolvers: config.resolvers })),
        store,
        cache: ledger,
        mailFromCache: ledger,
        cursors: ledger,
        lease: ledger,
        channels,
        metrics: new ShardRunMetrics(
          shard,
          new PowertoolsRunMetrics(shardMetrics, config.identityMetrics),
          shardMetrics,
          fleetMetrics,
          logger,
        ),
        logger,
        dnsQueries: () => transport.stats.queries,
        now: () => Date.now(),
        remainingMs: () => context.getRemainingTimeInMillis?.() ?? 15 * 60_000,
        invocationId: context.awsRequestId,
      },
      {
        lifecycle: config.lifecycle,
        regions: [shard.region],
        // The member account's own hosted zones, read (and, where its role allows, repaired) as that account.
        route53: config.route53
          ? new Route53HostedZones(new Route53Client({ region: 'us-east-1', credentials }))
          : undefined,
        autoRepair: config.autoRepair,
        ignore: config.ignoreIdentities,
        context: { graceDays: config.lifecycle.graceDays },
        refreshPerRun: config.sesAttributeRefreshPerRun,
        checkMailFrom: config.checkMailFrom,
        checkDmarc: config.checkDmarc,
      },
    );
  } finally {
    transport.close();
    logger.removeKeys(['account', 'shardRegion']);
  }
}
