import type { DkimDnsProbe } from './adapters/dns/dkim-dns-prober';
import type { RunMetrics } from './adapters/run-metrics';
import type { AlertChannel } from './adapters/sns-alert-channel';
import { type CheckReport, checkDkim, type IdentitySource } from './check-dkim';
import { QUIET_HEALTHS } from './domain/assess-identity';
import { type AlertContext, renderIdentityAlert } from './domain/render-alert';

/** The narrow logger the use case needs (Powertools' Logger fits). */
export interface RunLogger {
  info(message: string, extra: Record<string, unknown>): void;
  warn(message: string, extra: Record<string, unknown>): void;
  error(message: string, extra: Record<string, unknown>): void;
}

export interface ScanDependencies {
  readonly source: IdentitySource;
  readonly probe: DkimDnsProbe;
  readonly channels: readonly AlertChannel[];
  readonly metrics: RunMetrics;
  readonly logger: RunLogger;
  readonly dnsQueries: () => number;
  readonly now: () => number;
}

export interface ScanOptions {
  readonly ignore?: readonly string[];
  readonly context?: AlertContext;
}

/** Thrown after a run in which some alerts could not be delivered, so the function's Errors alarm fires. */
export class AlertDeliveryError extends Error {
  override readonly name = 'AlertDeliveryError';
}

/**
 * One scheduled run: check every identity, record metrics, alert on every identity that needs attention.
 * (The countdown, reminders and de-duplication of alerts replace the last step in a later version.)
 */
export async function runScan(deps: ScanDependencies, options: ScanOptions = {}): Promise<CheckReport> {
  const started = deps.now();
  const report = await checkDkim(deps.source, deps.probe, { ignore: options.ignore });
  for (const error of report.errors) deps.logger.warn('SES discovery error', { ...error });
  const attention = report.identities.filter((r) => !QUIET_HEALTHS.has(r.health));
  let sent = 0;
  const failures: string[] = [];
  for (const identity of attention) {
    deps.logger.info('identity needs attention', {
      identity: identity.identity,
      region: identity.region,
      health: identity.health,
      report: identity,
    });
    const alert = renderIdentityAlert(identity, options.context);
    for (const channel of deps.channels) {
      try {
        await channel.send(alert);
        sent++;
      } catch (error) {
        failures.push(`${channel.name}: ${(error as Error).message}`);
        deps.logger.error('alert not delivered', {
          channel: channel.name,
          identity: identity.identity,
          error: (error as Error).message,
        });
      }
    }
  }
  deps.metrics.record({
    identities: report.identities,
    discoveryErrors: report.errors.length,
    dnsQueries: deps.dnsQueries(),
    alertsSent: sent,
    durationMs: deps.now() - started,
  });
  deps.logger.info('run complete', {
    identities: report.identities.length,
    needingAttention: attention.length,
    discoveryErrors: report.errors.length,
    alertsSent: sent,
  });
  if (failures.length > 0)
    throw new AlertDeliveryError(`${failures.length} alert(s) not delivered: ${[...new Set(failures)].join('; ')}`);
  return report;
}
