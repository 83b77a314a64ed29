import type { Health } from '../domain/assess-identity';

export { Dimension, METRIC_NAMESPACE, MetricName, SERVICE_NAME } from '../contract';

export const HEALTH_LEVEL: Readonly<Record<Health, number>> = {
  HEALTHY: 0,
  PENDING: 0,
  DISABLED: 0,
  UNKNOWN: 1,
  AT_RISK: 2,
  FAILING: 3,
  REVOKED: 4,
};
