import { Metrics } from '@aws-lambda-powertools/metrics';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { PowertoolsRunMetrics } from '../../lambda/adapters/run-metrics';
import { ShardRunMetrics } from '../../lambda/adapters/shard-run-metrics';
import { METRIC_NAMESPACE, SERVICE_NAME } from '../../lambda/contract';
import { reportFor } from '../support/reports';

const ACCOUNT = '111111111111';

describe('a shard run metrics', () => {
  let stdout: string[];
  beforeEach(() => {
    stdout = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      stdout.push(String(chunk));
      return true;
    });
  });
  afterEach(() => vi.restoreAllMocks());

  it('gives run metrics Account and Region, per-identity metrics the account, sends discovery errors fleet-wide, and logs the overview lines', () => {
    // Prepare
    const shardMetrics = new Metrics({
      namespace: METRIC_NAMESPACE,
      serviceName: SERVICE_NAME,
      defaultDimensions: { Account: ACCOUNT },
    });
    const fleetMetrics = new Metrics({ namespace: METRIC_NAMESPACE, serviceName: SERVICE_NAME });
    const lines: { message: string; extra: Record<string, unknown> }[] = [];
    const metrics = new ShardRunMetrics(
      { account: ACCOUNT, region: 'eu-west-1' },
      new PowertoolsRunMetrics(shardMetrics, true),
      shardMetrics,
      fleetMetrics,
      { info: (message, extra) => lines.push({ message, extra }) },
    );
    const failing = reportFor('broken.example', { ses: 'TEMPORARY_FAILURE', dns: 'missing' });
    const healthy = reportFor('fine.example', { ses: 'SUCCESS', dns: 'ok' });

    // Act
    metrics.record({
      identities: [failing],
      healthCounts: { [failing.health]: 1, [healthy.health]: 1 },
      notReached: 0,
      staleAttributes: 0,
      sesCalls: 3,
      sesThrottled: 0,
      hoursLeft: new Map([['eu-west-1#broken.example', 42]]),
      discoveryErrors: 2,
      dnsQueries: 10,
      alertsSent: 1,
      durationMs: 1234,
    });

    // Assess
    const emf = stdout
      .flatMap((chunk) => chunk.split('\n'))
      .filter((line) => line.includes('"_aws"'))
      .map((line) => JSON.parse(line));
    const run = emf.find((e) => e.IdentitiesChecked !== undefined);
    expect(run._aws.CloudWatchMetrics[0].Dimensions).toEqual([['service', 'Account', 'Region']]);
    expect(run).toMatchObject({ Account: ACCOUNT, Region: 'eu-west-1', IdentitiesChecked: 2, IdentitiesFailing: 1 });
    const perIdentity = emf.filter((e) => e.Identity === 'broken.example');
    expect(
      perIdentity
        .map((e) => Object.keys(e).find((k) => ['HealthLevel', 'FailingRecords', 'HoursLeft'].includes(k)))
        .sort(),
    ).toEqual(['FailingRecords', 'HealthLevel', 'HoursLeft']);
    for (const e of perIdentity)
      expect(e._aws.CloudWatchMetrics[0].Dimensions[0]).toEqual(
        expect.arrayContaining(['Account', 'Identity', 'IdentityRegion']),
      );
    const fleet = emf.filter((e) => e.DiscoveryErrors !== undefined && e.Account === undefined);
    expect(fleet).toHaveLength(1);
    expect(fleet[0]).toMatchObject({ DiscoveryErrors: 2, service: SERVICE_NAME });
    expect(fleet[0]._aws.CloudWatchMetrics[0].Dimensions).toEqual([['service']]);
    expect(lines).toEqual([
      {
        message: 'shard identity',
        extra: { account: ACCOUNT, region: 'eu-west-1', identity: 'broken.example', health: 'FAILING', hoursLeft: 42 },
      },
      {
        message: 'shard summary',
        extra: {
          account: ACCOUNT,
          region: 'eu-west-1',
          identities: 2,
          discoveryErrors: 2,
          notReached: 0,
          health_FAILING: 1,
          health_HEALTHY: 1,
        },
      },
    ]);
  });
});
