import type { Health } from '../domain/assess-identity';

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
} as const;

export const Dimension = { Service: 'service', Identity: 'Identity', IdentityRegion: 'IdentityRegion' } as const;

export const HEALTH_LEVEL: Readonly<Record<Health, number>> = {
  HEALTHY: 0,
  PENDING: 0,
  DISABLED: 0,
  UNKNOWN: 1,
  AT_RISK: 2,
  FAILING: 3,
  REVOKED: 4,
};
