/**
 * The contract between the infrastructure (`lib/`) and the scanner (`lambda/`): environment variable names,
 * the state table's schema and the metric names. The only module both sides import.
 */

/** Environment variable names, set by the CDK construct, read by the scanner. */
export const ScannerEnv = {
  Regions: 'DKIM_REGIONS',
  Resolvers: 'DKIM_RESOLVERS',
  AlertTopicArn: 'DKIM_ALERT_TOPIC_ARN',
  SlackWebhookSecretArn: 'DKIM_SLACK_WEBHOOK_SECRET_ARN',
  IgnoreIdentities: 'DKIM_IGNORE_IDENTITIES',
  DnsTimeoutMs: 'DKIM_DNS_TIMEOUT_MS',
  IdentityMetrics: 'DKIM_IDENTITY_METRICS',
  GraceDays: 'DKIM_GRACE_DAYS',
  ReminderHours: 'DKIM_REMINDER_HOURS',
  ConfirmRuns: 'DKIM_CONFIRM_RUNS',
  ConfirmOnEveryServer: 'DKIM_CONFIRM_ON_EVERY_SERVER',
  CannotVerifyRuns: 'DKIM_CANNOT_VERIFY_RUNS',
  DigestThreshold: 'DKIM_DIGEST_THRESHOLD',
  StateTable: 'DKIM_STATE_TABLE',
  Route53: 'DKIM_ROUTE53',
  AutoRepair: 'DKIM_AUTO_REPAIR',
  SesRequestsPerSecond: 'DKIM_SES_REQUESTS_PER_SECOND',
  SesAttributeRefreshPerRun: 'DKIM_SES_ATTRIBUTE_REFRESH_PER_RUN',
  /** `false` turns the custom MAIL FROM check (SES status, MX and SPF records) off. */
  CheckMailFrom: 'DKIM_CHECK_MAIL_FROM',
  /** `false` turns the DMARC check off. */
  CheckDmarc: 'DKIM_CHECK_DMARC',
} as const;

/**
 * The state table's key and TTL attributes. Identity states are keyed `<region>#<identity>` and have no
 * item type; the scanner's own items (lease, cursors, attribute cache) carry `itemType`.
 */
export const STATE_TABLE = { partitionKey: 'key', timeToLive: 'expiresAt', itemType: 'itemType' } as const;

/** The `itemType` values of the state table's non-identity items. */
export const STATE_ITEM_TYPES = {
  lease: 'lease',
  cursor: 'cursor',
  attributes: 'attributes',
  /** An identity's custom MAIL FROM domain as last read (only identities that have one). */
  mailFrom: 'mailfrom',
} as const;

/**
 * One source of truth for metric names and dimensions: the Lambda emits them (EMF via Powertools) and the
 * CDK dashboard and alarms read them.
 */
export const METRIC_NAMESPACE = 'SesDkimSentinel';
/** Powertools adds `service` as a default dimension to every metric. */
export const SERVICE_NAME = 'ses-dkim-sentinel';

export const MetricName = {
  /** Per identity: 0 healthy/pending/disabled, 1 unknown, 2 at risk, 3 failing, 4 revoked. */
  HealthLevel: 'HealthLevel',
  /** Per identity: records with a definitive problem. */
  FailingRecords: 'FailingRecords',
  /** Per identity in an open incident: hours before SES may revoke DKIM. */
  HoursLeft: 'HoursLeft',
  IdentitiesChecked: 'IdentitiesChecked',
  /** AT_RISK, FAILING or REVOKED identities in a run. */
  IdentitiesFailing: 'IdentitiesFailing',
  IdentitiesUnknown: 'IdentitiesUnknown',
  DiscoveryErrors: 'DiscoveryErrors',
  DnsQueries: 'DnsQueries',
  AlertsSent: 'AlertsSent',
  RunDuration: 'RunDuration',
  /** 1 per run that finished: the heartbeat alarm fires when it stops arriving. */
  RunCompleted: 'RunCompleted',
  /** Identities checked, one metric per health (dimension Health): the fleet's shape at a fixed cost. */
  IdentitiesByHealth: 'IdentitiesByHealth',
  /** Identities with a custom MAIL FROM domain, by the health of its check (dimension Health). */
  MailFromByHealth: 'MailFromByHealth',
  /** Identities whose DMARC record was checked, by the health of that check (dimension Health). */
  DmarcByHealth: 'DmarcByHealth',
  /** Listed identities a run did not reach before its deadline (the next run starts with them). */
  IdentitiesNotReached: 'IdentitiesNotReached',
  /** Identities checked with cached SES v2 attributes instead of a read this run. */
  StaleAttributes: 'StaleAttributes',
  /** SES API calls (every attempt) and those SES throttled. */
  SesCalls: 'SesCalls',
  SesThrottled: 'SesThrottled',
  /** 1 per invocation that exited because another run held the lease. */
  RunSkipped: 'RunSkipped',
} as const;

export const Dimension = {
  Service: 'service',
  Identity: 'Identity',
  IdentityRegion: 'IdentityRegion',
  Health: 'Health',
} as const;

/** Environment of central mode (one deployment scanning many accounts), set by the CDK construct. */
export const CentralEnv = {
  /** The read-only role in each member account. */
  MemberRoleName: 'DKIM_MEMBER_ROLE_NAME',
  /** Passed as `sts:ExternalId` when assuming it (optional). */
  ExternalId: 'DKIM_EXTERNAL_ID',
  /** `true`: the accounts come from AWS Organizations `ListAccounts`. */
  Organization: 'DKIM_ORGANIZATION',
  /** The accounts to scan when not the whole organization. */
  Accounts: 'DKIM_ACCOUNTS',
  IgnoreAccounts: 'DKIM_IGNORE_ACCOUNTS',
} as const;

/** One unit of central-mode work: one region of one member account (a Map item of the state machine). */
export interface ShardRef {
  readonly account: string;
  readonly region: string;
}

/** What the planning task returns: the state machine's Map iterates over `shards`. */
export interface ShardPlan {
  readonly shards: readonly ShardRef[];
  /** Accounts scanned (after leaving out inactive and ignored ones). */
  readonly accounts: number;
}

/** The field of {@link ShardPlan} the Map reads its items from. */
export const SHARD_PLAN_ITEMS = 'shards';

/** Central-mode metric dimensions: run metrics per shard carry both. */
export const CentralDimension = { Account: 'Account', Region: 'Region' } as const;

export const CentralMetricName = {
  /** 1 per shard whose scan failed after retries (emitted by the state machine's Catch). */
  ShardFailed: 'ShardFailed',
  /** Shards in the plan of one execution. */
  ShardsPlanned: 'ShardsPlanned',
} as const;
