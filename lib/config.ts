import { isIP } from 'node:net';

/** Every setting of the monitor, validated. Context keys and construct props share these names. */
export interface DkimSentinelSettings {
  /** How often the scan runs: `rate(N minutes)` or `rate(N hours)`, 15 minutes to 12 hours. */
  readonly schedule: string;
  /** The schedule in minutes (derived): the heartbeat alarm's period. */
  readonly scheduleMinutes: number;
  /** SES regions to monitor. */
  readonly regions: readonly string[];
  readonly alertEmails: readonly string[];
  /** Where the monitor's own alarms go (a separate ops topic); empty: they go to the alert topic. */
  readonly opsEmails: readonly string[];
  readonly slackWorkspaceId?: string;
  readonly slackChannelId?: string;
  readonly slackWebhookSecretName?: string;
  readonly resolvers: readonly string[];
  readonly graceDays: number;
  readonly reminderHours: readonly number[];
  /** Consecutive runs that must see the same problem before DETECTED (unless every server shows it). */
  readonly confirmRuns: number;
  /** Also confirm in one run when every authoritative server shows the problem. */
  readonly confirmOnEveryServer: boolean;
  /** Consecutive UNKNOWN runs before CANNOT_VERIFY. */
  readonly cannotVerifyRuns: number;
  /** This many notifications in one run or more go out as one digest. */
  readonly digestThreshold: number;
  readonly ignoreIdentities: readonly string[];
  readonly logLevel: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
  readonly identityMetrics: boolean;
  readonly encryptTopic: boolean;
  /** Compare the account's Route 53 hosted zones with the delegation (read-only). */
  readonly route53: boolean;
  /** UPSERT missing or wrong DKIM CNAMEs in the delegated Route 53 zone. */
  readonly autoRepair: boolean;
  /** Hosted zone IDs the repair may change; empty: any zone, still limited to UPSERTs of `_domainkey` CNAMEs. */
  readonly autoRepairZoneIds: readonly string[];
  /** SES API requests per second per region (SES documents 1 for the identity reads; raise with the quota). */
  readonly sesRequestsPerSecond: number;
  /** Cached SES v2 attributes refreshed per region and run: each is at most ceil(identities / this) runs old. */
  readonly sesAttributeRefreshPerRun: number;
  /** Check each custom MAIL FROM domain: SES's MAIL FROM status and its MX and SPF records. */
  readonly mailFromCheck: boolean;
  /** Check the DMARC record that applies to each identity's domain. */
  readonly dmarcCheck: boolean;
  /**
   * Central mode (`organization=true` or `accounts=...`): one deployment scans many accounts through a
   * read-only member role. @default - single-account mode (undefined)
   */
  readonly central?: CentralSettings;
}

/** The settings of central mode: one deployment, every (account, region) shard, fanned out by Step Functions. */
export interface CentralSettings {
  /** Scan every ACTIVE account of the AWS Organization (from `ListAccounts`). */
  readonly organization: boolean;
  /** Scan exactly these accounts (instead of `organization`). */
  readonly accounts: readonly string[];
  /** Accounts of the organization left out of the scan. */
  readonly ignoreAccounts: readonly string[];
  /** The read-only role the member-role stack creates in each member account. */
  readonly memberRoleName: string;
  /** The organization of the member accounts: the scanner may assume member roles in it only. */
  readonly organizationId?: string;
  /** Passed as `sts:ExternalId` when assuming member roles (for member roles that require one). */
  readonly externalId?: string;
  /** (account, region) shards scanned at once by the state machine. */
  readonly shardConcurrency: number;
}

/** The member role's name unless `memberRoleName` says otherwise: the same in the member-role stack. */
export const DEFAULT_MEMBER_ROLE_NAME = 'ses-dkim-sentinel-member';

/** The settings a user may give (context values or construct props); everything has a default. */
export type DkimSentinelOptions = {
  readonly [K in Exclude<keyof DkimSentinelSettings, 'scheduleMinutes' | 'central'> | keyof CentralSettings]?: unknown;
};

export const SETTING_KEYS = [
  'schedule',
  'regions',
  'alertEmails',
  'opsEmails',
  'slackWorkspaceId',
  'slackChannelId',
  'slackWebhookSecretName',
  'resolvers',
  'graceDays',
  'reminderHours',
  'confirmRuns',
  'confirmOnEveryServer',
  'cannotVerifyRuns',
  'digestThreshold',
  'ignoreIdentities',
  'logLevel',
  'identityMetrics',
  'encryptTopic',
  'route53',
  'autoRepair',
  'autoRepairZoneIds',
  'sesRequestsPerSecond',
  'sesAttributeRefreshPerRun',
  'mailFromCheck',
  'dmarcCheck',
  'organization',
  'accounts',
  'ignoreAccounts',
  'memberRoleName',
  'organizationId',
  'externalId',
  'shardConcurrency',
] as const;

/** A bad setting: one line naming the key, the value and what was expected. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

export const DEFAULT_RESOLVERS = ['1.1.1.1', '8.8.8.8', '9.9.9.9'];

function show(value: unknown): string {
  const text = typeof value === 'string' ? `"${value}"` : JSON.stringify(value);
  return text === undefined ? String(value) : text;
}

/** A list from a JSON array, a JSON array in a string (`-c k='["a"]'`) or a comma-separated string. */
function toList(key: string, value: unknown): string[] {
  if (value === undefined || value === null || value === '') return [];
  let items: unknown = value;
  if (typeof value === 'string' && value.trim().startsWith('[')) {
    try {
      items = JSON.parse(value);
    } catch {
      throw new ConfigError(`${key} must be a list (a JSON array or comma-separated), got ${show(value)}`);
    }
  } else if (typeof value === 'string') {
    items = value.split(',');
  }
  if (!Array.isArray(items))
    throw new ConfigError(`${key} must be a list (a JSON array or comma-separated), got ${show(value)}`);
  return items
    .map((item) => {
      if (typeof item !== 'string' && typeof item !== 'number')
        throw new ConfigError(`${key} must be a list of strings, got ${show(value)}`);
      return String(item).trim();
    })
    .filter(Boolean);
}

function toBoolean(key: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined || value === '') return fallback;
  if (value === true || value === 'true') return true;
  if (value === false || value === 'false') return false;
  throw new ConfigError(`${key} must be true or false, got ${show(value)}`);
}

function toInteger(key: string, value: unknown, fallback: number, min: number, max: number): number {
  if (value === undefined || value === '') return fallback;
  const n =
    typeof value === 'number'
      ? value
      : typeof value === 'string' && /^\d+$/.test(value.trim())
        ? Number(value)
        : Number.NaN;
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new ConfigError(`${key} must be a whole number from ${min} to ${max}, got ${show(value)}`);
  }
  return n;
}

function optionalString(key: string, value: unknown, pattern: RegExp, expected: string): string | undefined {
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string' || !pattern.test(value))
    throw new ConfigError(`${key} must be ${expected}, got ${show(value)}`);
  return value;
}

const REGION = /^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d+$/;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

function emailList(key: string, value: unknown): string[] {
  const emails = toList(key, value);
  for (const email of emails)
    if (!EMAIL.test(email)) throw new ConfigError(`${key}: ${show(email)} is not an email address`);
  return emails;
}

/** A key folded the way people mistype it: case, dashes and underscores ignored (`alert-emails`). */
const fold = (key: string) => key.toLowerCase().replace(/[-_]/g, '');

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(
        (previous[j] ?? 0) + 1,
        (current[j - 1] ?? 0) + 1,
        (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/** The setting a key was probably meant to be: same letters in another case or kebab-case, or one or two typos. */
export function probableSetting(key: string): (typeof SETTING_KEYS)[number] | undefined {
  const folded = fold(key);
  const same = SETTING_KEYS.find((setting) => fold(setting) === folded);
  if (same) return same;
  const [nearest] = SETTING_KEYS.map((setting) => ({ setting, distance: editDistance(fold(setting), folded) }))
    .filter(({ distance }) => distance <= 2)
    .sort((a, b) => a.distance - b.distance);
  return nearest?.setting;
}

function unknownSetting(key: string): ConfigError {
  const meant = probableSetting(key);
  return new ConfigError(
    meant
      ? `unknown setting ${show(key)}: did you mean ${show(meant)}?`
      : `unknown setting ${show(key)}: expected one of ${SETTING_KEYS.join(', ')}`,
  );
}

/**
 * Reject CDK context keys that look like a setting but are not spelled exactly like one (`AlertEmails`,
 * `alert-emails`, `alertEmail`): CDK would pass them on and nothing would read them. CDK's own keys
 * (`aws:cdk:...`, `@aws-cdk/...:...`, `cli-telemetry`) and other tools' keys are left alone.
 */
export function checkContextKeys(keys: readonly string[]): void {
  for (const key of keys) {
    if ((SETTING_KEYS as readonly string[]).includes(key)) continue;
    // A plain camelCase word is meant for us (the rule before the suggestions); anything else only when
    // it folds onto a setting.
    const looksLikeOurs = /^[a-z][a-zA-Z0-9]*$/.test(key) || SETTING_KEYS.some((s) => fold(s) === fold(key));
    if (looksLikeOurs) throw unknownSetting(key);
  }
}

/**
 * Each reminder threshold must be reachable: a run every P hours is guaranteed to land in a window only if
 * the window is at least P long. Reminder h is sent by the first run with hours left in (next smaller
 * threshold, h] (several crossed in one run send one reminder, for the nearest), and the last one by a
 * run in (0, h] (at 0 the incident expires instead). So every gap between thresholds, and the smallest
 * threshold itself, must be at least one schedule period, or that reminder is silently merged or skipped.
 */
function checkRemindersReachable(descending: readonly number[], schedule: string, periodHours: number): void {
  for (const [i, hours] of descending.entries()) {
    const next = descending[i + 1] ?? 0;
    if (hours - next < periodHours) {
      throw new ConfigError(
        `reminderHours: ${hours} cannot be reached with schedule ${schedule}: each reminder must be at least one schedule period (${periodHours} h) before the deadline and from the next reminder; got ${descending.join(',')}`,
      );
    }
  }
}

/** Validate every setting once; unknown keys are rejected so a typo is not silently ignored. */
export function resolveSettings(options: DkimSentinelOptions, defaults: { region: string }): DkimSentinelSettings {
  for (const key of Object.keys(options)) {
    if (!(SETTING_KEYS as readonly string[]).includes(key)) throw unknownSetting(key);
  }
  const schedule = options.schedule ?? 'rate(1 hour)';
  const match =
    typeof schedule === 'string' ? /^rate\((\d+) (minute|minutes|hour|hours)\)$/.exec(schedule.trim()) : null;
  const minutes = match ? Number(match[1]) * (match[2]?.startsWith('hour') ? 60 : 1) : Number.NaN;
  if (!match || !(minutes >= 15 && minutes <= 720) || (Number(match[1]) === 1) !== !match[2]?.endsWith('s')) {
    throw new ConfigError(
      `schedule must be rate(N minutes) or rate(N hours) from 15 minutes to 12 hours (e.g. "rate(1 hour)"), got ${show(schedule)}`,
    );
  }
  const regions = toList('regions', options.regions);
  for (const region of regions)
    if (!REGION.test(region))
      throw new ConfigError(`regions: ${show(region)} is not an AWS region name (expected e.g. eu-west-1)`);
  // Default: the region the stack is deployed to (a deploy-time token in an environment-agnostic stack).
  if (regions.length === 0) regions.push(defaults.region);
  const alertEmails = emailList('alertEmails', options.alertEmails);
  const opsEmails = emailList('opsEmails', options.opsEmails);
  const slackWorkspaceId = optionalString(
    'slackWorkspaceId',
    options.slackWorkspaceId,
    /^[A-Z0-9]{1,256}$/,
    'a Slack workspace ID like T0123ABCD',
  );
  const slackChannelId = optionalString(
    'slackChannelId',
    options.slackChannelId,
    /^[A-Z0-9]{1,256}$/,
    'a Slack channel ID like C0123ABCD',
  );
  if ((slackWorkspaceId === undefined) !== (slackChannelId === undefined)) {
    throw new ConfigError('slackWorkspaceId and slackChannelId go together: give both for AWS Chatbot, or neither');
  }
  const slackWebhookSecretName = optionalString(
    'slackWebhookSecretName',
    options.slackWebhookSecretName,
    /^[A-Za-z0-9/_+=.@-]{1,512}$/,
    'a Secrets Manager secret name',
  );
  const resolvers = toList('resolvers', options.resolvers);
  for (const resolver of resolvers)
    if (!isIP(resolver)) throw new ConfigError(`resolvers: ${show(resolver)} is not an IP address`);
  const reminderHours = toList('reminderHours', options.reminderHours ?? [72, 24, 6]).map((h) =>
    toInteger('reminderHours', h, 0, 1, 240),
  );
  const graceDays = toInteger('graceDays', options.graceDays, 5, 1, 30);
  for (const h of reminderHours) {
    if (h >= graceDays * 24)
      throw new ConfigError(
        `reminderHours: ${h} is not inside the grace period of ${graceDays} days (${graceDays * 24} hours)`,
      );
  }
  const remindersDescending = [...new Set(reminderHours)].sort((a, b) => b - a);
  checkRemindersReachable(remindersDescending, (schedule as string).trim(), minutes / 60);
  const logLevel = String(options.logLevel ?? 'INFO').toUpperCase();
  if (!['DEBUG', 'INFO', 'WARN', 'ERROR'].includes(logLevel)) {
    throw new ConfigError(`logLevel must be one of DEBUG, INFO, WARN, ERROR, got ${show(options.logLevel)}`);
  }
  const ignoreIdentities = toList('ignoreIdentities', options.ignoreIdentities);
  const route53 = toBoolean('route53', options.route53, true);
  const autoRepair = toBoolean('autoRepair', options.autoRepair, false);
  if (autoRepair && !route53)
    throw new ConfigError('autoRepair needs the Route 53 check: remove route53=false or autoRepair=true');
  const autoRepairZoneIds = toList('autoRepairZoneIds', options.autoRepairZoneIds);
  for (const id of autoRepairZoneIds) {
    if (!/^Z[A-Z0-9]{1,31}$/.test(id))
      throw new ConfigError(
        `autoRepairZoneIds: ${show(id)} is not a Route 53 hosted zone ID (expected e.g. Z0123456789ABCDEFGHIJ)`,
      );
  }
  if (autoRepairZoneIds.length > 0 && !autoRepair)
    throw new ConfigError(
      'autoRepairZoneIds is set but autoRepair is not: set autoRepair=true or remove autoRepairZoneIds',
    );
  const central = resolveCentralSettings(options);
  return {
    schedule: (schedule as string).trim(),
    scheduleMinutes: minutes,
    regions: [...new Set(regions)],
    alertEmails,
    opsEmails,
    slackWorkspaceId,
    slackChannelId,
    slackWebhookSecretName,
    resolvers: resolvers.length > 0 ? resolvers : DEFAULT_RESOLVERS,
    graceDays,
    reminderHours: remindersDescending,
    confirmRuns: toInteger('confirmRuns', options.confirmRuns, 2, 1, 10),
    confirmOnEveryServer: toBoolean('confirmOnEveryServer', options.confirmOnEveryServer, true),
    cannotVerifyRuns: toInteger('cannotVerifyRuns', options.cannotVerifyRuns, 3, 1, 100),
    digestThreshold: toInteger('digestThreshold', options.digestThreshold, 5, 2, 1000),
    ignoreIdentities,
    logLevel: logLevel as DkimSentinelSettings['logLevel'],
    identityMetrics: toBoolean('identityMetrics', options.identityMetrics, true),
    encryptTopic: toBoolean('encryptTopic', options.encryptTopic, false),
    route53,
    autoRepair,
    autoRepairZoneIds,
    sesRequestsPerSecond: toInteger('sesRequestsPerSecond', options.sesRequestsPerSecond, 1, 1, 50),
    sesAttributeRefreshPerRun: toInteger('sesAttributeRefreshPerRun', options.sesAttributeRefreshPerRun, 20, 0, 1000),
    mailFromCheck: toBoolean('mailFromCheck', options.mailFromCheck, true),
    dmarcCheck: toBoolean('dmarcCheck', options.dmarcCheck, true),
    central,
  };
}

const ACCOUNT_ID = /^\d{12}$/;

function accountList(key: string, value: unknown): string[] {
  const accounts = toList(key, value);
  for (const account of accounts)
    if (!ACCOUNT_ID.test(account))
      throw new ConfigError(`${key}: ${show(account)} is not an AWS account ID (expected 12 digits)`);
  return [...new Set(accounts)];
}

/** The organization-wide settings: each only makes sense in central mode, and a stray one is an error. */
function resolveCentralSettings(options: DkimSentinelOptions): CentralSettings | undefined {
  const organization = toBoolean('organization', options.organization, false);
  const accounts = accountList('accounts', options.accounts);
  if (organization && accounts.length > 0)
    throw new ConfigError(
      'organization=true and accounts go separately: scan the whole organization (with ignoreAccounts) or exactly the listed accounts',
    );
  const ignoreAccounts = accountList('ignoreAccounts', options.ignoreAccounts);
  if (ignoreAccounts.length > 0 && !organization)
    throw new ConfigError(
      'ignoreAccounts applies to organization=true only: with accounts, leave the account out of the list',
    );
  const central = organization || accounts.length > 0;
  const onlyCentral = ['memberRoleName', 'organizationId', 'externalId', 'shardConcurrency'] as const;
  for (const key of onlyCentral) {
    if (!central && options[key] !== undefined && options[key] !== '')
      throw new ConfigError(
        `${key} is only used to scan other accounts: set organization=true or accounts, or remove ${key}`,
      );
  }
  if (!central) return undefined;
  return {
    organization,
    accounts,
    ignoreAccounts,
    memberRoleName:
      optionalString(
        'memberRoleName',
        options.memberRoleName,
        /^[\w+=,.@-]{1,64}$/,
        'an IAM role name (up to 64 letters, digits and +=,.@_-)',
      ) ?? DEFAULT_MEMBER_ROLE_NAME,
    organizationId: optionalString(
      'organizationId',
      options.organizationId,
      /^o-[a-z0-9]{10,32}$/,
      'an AWS Organizations ID like o-a1b2c3d4e5',
    ),
    externalId: optionalString(
      'externalId',
      options.externalId,
      /^[\w+=,.@:/-]{2,1224}$/,
      'an external ID of 2 to 1224 letters, digits and +=,.@:/-_',
    ),
    shardConcurrency: toInteger('shardConcurrency', options.shardConcurrency, 10, 1, 100),
  };
}
