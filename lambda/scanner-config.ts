import { isIP } from 'node:net';
import type { DnsEndpoint } from './adapters/dns/dns-transport';
import { isRegionName } from './domain/ses-identity';

/** The scanner's settings, read from its environment once at cold start. */
export interface ScannerConfig {
  readonly regions: readonly string[];
  readonly resolvers: readonly DnsEndpoint[];
  readonly alertTopicArn: string;
  readonly slackWebhookSecretArn?: string;
  readonly ignoreIdentities: readonly string[];
  readonly dnsTimeoutMs: number;
  readonly identityMetrics: boolean;
  readonly graceDays: number;
}

/** A deployment mistake: the message names the variable, the value and what was expected. */
export class ScannerConfigError extends Error {
  override readonly name = 'ScannerConfigError';
}

/** Environment variable names, shared with the CDK construct that sets them. */
export const ScannerEnv = {
  Regions: 'DKIM_REGIONS',
  Resolvers: 'DKIM_RESOLVERS',
  AlertTopicArn: 'DKIM_ALERT_TOPIC_ARN',
  SlackWebhookSecretArn: 'DKIM_SLACK_WEBHOOK_SECRET_ARN',
  IgnoreIdentities: 'DKIM_IGNORE_IDENTITIES',
  DnsTimeoutMs: 'DKIM_DNS_TIMEOUT_MS',
  IdentityMetrics: 'DKIM_IDENTITY_METRICS',
  GraceDays: 'DKIM_GRACE_DAYS',
} as const;

const list = (value: string | undefined) =>
  (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

export function readScannerConfig(env: NodeJS.ProcessEnv): ScannerConfig {
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
  const timeout = Number(env[ScannerEnv.DnsTimeoutMs] ?? '2000');
  if (!Number.isInteger(timeout) || timeout < 100 || timeout > 10_000) {
    throw new ScannerConfigError(
      `${ScannerEnv.DnsTimeoutMs} must be a whole number of milliseconds from 100 to 10000, got "${env[ScannerEnv.DnsTimeoutMs]}"`,
    );
  }
  const graceDays = Number(env[ScannerEnv.GraceDays] ?? '5');
  if (!Number.isInteger(graceDays) || graceDays < 1 || graceDays > 30) {
    throw new ScannerConfigError(
      `${ScannerEnv.GraceDays} must be a whole number of days from 1 to 30, got "${env[ScannerEnv.GraceDays]}"`,
    );
  }
  return {
    regions,
    resolvers,
    alertTopicArn: topic,
    slackWebhookSecretArn: env[ScannerEnv.SlackWebhookSecretArn] || undefined,
    ignoreIdentities: list(env[ScannerEnv.IgnoreIdentities]),
    dnsTimeoutMs: timeout,
    identityMetrics: env[ScannerEnv.IdentityMetrics] !== 'false',
    graceDays,
  };
}
