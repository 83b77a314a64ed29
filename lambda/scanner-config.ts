import { isIP } from 'node:net';
import type { AlertLifecycleSettings } from './alert-lifecycle';
import { ScannerEnv } from './contract';
import { isRegionName } from './domain/ses-identity';

/** The scanner's settings, read from its environment once at cold start. */
export interface ScannerConfig {
  readonly regions: readonly string[];
  readonly resolvers: readonly { readonly address: string; readonly port: number }[];
  readonly alertTopicArn: string;
  readonly slackWebhookSecretArn?: string;
  readonly ignoreIdentities: readonly string[];
  readonly dnsTimeoutMs: number;
  readonly identityMetrics: boolean;
  readonly stateTable: string;
  readonly route53: boolean;
  readonly autoRepair: boolean;
  readonly lifecycle: AlertLifecycleSettings;
  /** SES API requests per second and region (SES documents 1; raised quotas allow more). */
  readonly sesRequestsPerSecond: number;
  /** SES v2 reads per region and run that refresh cached attributes (the rolling slice). */
  readonly sesAttributeRefreshPerRun: number;
  /** Check custom MAIL FROM domains (SES status, MX and SPF). */
  readonly checkMailFrom: boolean;
  /** Check the DMARC record of each identity's domain. */
  readonly checkDmarc: boolean;
}

/** A deployment mistake: the message names the variable, the value and what was expected. */
export class ScannerConfigError extends Error {
  override readonly name = 'ScannerConfigError';
}

export { ScannerEnv } from './contract';

const list = (value: string | undefined) =>
  (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

export function readScannerConfig(env: NodeJS.ProcessEnv): ScannerConfig {
  const whole = (name: string, fallback: number, min: number, max: number) => {
    const raw = env[name] ?? String(fallback);
    const n = Number(raw);
    if (!/^\d+$/.test(raw) || n < min || n > max) {
      throw new ScannerConfigError(`${name} must be a whole number from ${min} to ${max}, got "${raw}"`);
    }
    return n;
  };
  const regions = list(env[ScannerEnv.Regions]);
  if (regions.length === 0 || !regions.every(isRegionName)) {
    throw new ScannerConfigError(
      `${ScannerEnv.Regions} must be a comma-separated list of AWS regions, got "${env[ScannerEnv.Regions] ?? ''}"`,
    );
  }
  const resolvers = list(env[ScannerEnv.Resolvers]).map((entry) => {
    // `address` or `IPv4:port`; IPv6 addresses contain colons and always use port 53.
    const [address, port] = isIP(entry) ? [entry, '53'] : entry.split(':');
    if (!address || !isIP(address) || !/^\d+$/.test(port ?? '') || Number(port) < 1 || Number(port) > 65_535) {
      throw new ScannerConfigError(`${ScannerEnv.Resolvers}: "${entry}" is not an IP address (with an optional :port)`);
    }
    return { address, port: Number(port) };
  });
  if (resolvers.length === 0)
    throw new ScannerConfigError(`${ScannerEnv.Resolvers} must list at least one resolver IP address`);
  const topic = env[ScannerEnv.AlertTopicArn] ?? '';
  if (!/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[\w-]+$/.test(topic)) {
    throw new ScannerConfigError(`${ScannerEnv.AlertTopicArn} must be an SNS topic ARN, got "${topic}"`);
  }
  const stateTable = env[ScannerEnv.StateTable] ?? '';
  if (!/^[A-Za-z0-9_.-]{3,255}$/.test(stateTable)) {
    throw new ScannerConfigError(`${ScannerEnv.StateTable} must be a DynamoDB table name, got "${stateTable}"`);
  }
  const reminderHours = list(env[ScannerEnv.ReminderHours] ?? '72,24,6').map((h) => {
    if (!/^\d+$/.test(h)) {
      throw new ScannerConfigError(
        `${ScannerEnv.ReminderHours} must list whole numbers of hours, got "${env[ScannerEnv.ReminderHours]}"`,
      );
    }
    return Number(h);
  });
  return {
    regions,
    resolvers,
    alertTopicArn: topic,
    slackWebhookSecretArn: env[ScannerEnv.SlackWebhookSecretArn] || undefined,
    ignoreIdentities: list(env[ScannerEnv.IgnoreIdentities]),
    dnsTimeoutMs: whole(ScannerEnv.DnsTimeoutMs, 2000, 100, 10_000),
    identityMetrics: env[ScannerEnv.IdentityMetrics] !== 'false',
    stateTable,
    route53: env[ScannerEnv.Route53] !== 'false',
    autoRepair: env[ScannerEnv.AutoRepair] === 'true',
    sesRequestsPerSecond: whole(ScannerEnv.SesRequestsPerSecond, 1, 1, 50),
    sesAttributeRefreshPerRun: whole(ScannerEnv.SesAttributeRefreshPerRun, 20, 0, 1000),
    checkMailFrom: env[ScannerEnv.CheckMailFrom] !== 'false',
    checkDmarc: env[ScannerEnv.CheckDmarc] !== 'false',
    lifecycle: {
      graceDays: whole(ScannerEnv.GraceDays, 5, 1, 30),
      reminderHours: [...reminderHours].sort((a, b) => b - a),
      confirmRuns: whole(ScannerEnv.ConfirmRuns, 2, 1, 10),
      confirmOnEveryServer: env[ScannerEnv.ConfirmOnEveryServer] !== 'false',
      cannotVerifyRuns: whole(ScannerEnv.CannotVerifyRuns, 3, 1, 100),
      forgetAfterDays: 30,
      setupWindowHours: 72,
      digestThreshold: whole(ScannerEnv.DigestThreshold, 5, 2, 1000),
      // A claim outlives the longest possible invocation (15 minutes) before another run takes it over.
      claimLeaseMs: 20 * 60_000,
    },
  };
}
