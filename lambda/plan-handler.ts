import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { OrganizationsClient } from '@aws-sdk/client-organizations';
import type { Context } from 'aws-lambda';
import { OrganizationsAccounts } from './adapters/organizations-accounts';
import { readCentralConfig } from './central-config';
import { CentralMetricName, METRIC_NAMESPACE, ScannerEnv, SERVICE_NAME, type ShardPlan } from './contract';
import { isRegionName } from './domain/ses-identity';
import { planShards } from './plan-shards';
import { ScannerConfigError } from './scanner-config';

// The first task of a central run: which (account, region) shards to scan.
const logger = new Logger({ serviceName: SERVICE_NAME });
const metrics = new Metrics({ namespace: METRIC_NAMESPACE, serviceName: SERVICE_NAME });
const central = readCentralConfig(process.env);
const regions = (process.env[ScannerEnv.Regions] ?? '')
  .split(',')
  .map((r) => r.trim())
  .filter(Boolean);
if (regions.length === 0 || !regions.every(isRegionName))
  throw new ScannerConfigError(
    `${ScannerEnv.Regions} must be a comma-separated list of AWS regions, got "${process.env[ScannerEnv.Regions] ?? ''}"`,
  );
// Organizations is a global service served from us-east-1 in the commercial partition.
const organizations = central.organization ? new OrganizationsClient({ region: 'us-east-1' }) : undefined;

/** Returns the shard plan; throws (failing the execution, which alarms) when there is nothing it can plan. */
export async function handler(_event: unknown, context: Context): Promise<ShardPlan> {
  logger.addContext(context);
  const plan = await planShards(
    organizations && new OrganizationsAccounts(organizations),
    { ...central, regions },
    logger,
  );
  metrics.addMetric(CentralMetricName.ShardsPlanned, MetricUnit.Count, plan.shards.length);
  metrics.publishStoredMetrics();
  return plan;
}
