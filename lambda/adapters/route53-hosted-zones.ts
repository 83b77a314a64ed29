import {
  ChangeResourceRecordSetsCommand,
  GetHostedZoneCommand,
  ListHostedZonesByNameCommand,
  ListResourceRecordSetsCommand,
  type Route53Client,
} from '@aws-sdk/client-route-53';
import type {
  HostedZoneRecord,
  HostedZoneView,
  Route53ChangeBatch,
  Route53Observation,
} from '../domain/diagnose-route53';
import { normalizeName, parentName } from '../domain/dns-name';
import type { HostedZoneSource } from '../ports';
import { describeAwsError, type RetryOptions, retryThrottled } from './aws-retry';

const MAX_PAGES = 20;
/** 100 zones a page: room for 50,000 hosted zones. */
const MAX_ZONE_PAGES = 500;

/** Route 53 writes `*` as `\052` and other unusual characters as octal escapes. */
function recordName(name: string): string {
  return normalizeName(
    name.replace(/\\(\d{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8))),
  );
}

const reversed = (name: string) => name.split('.').reverse().join('.');

/**
 * Reads hosted zones with `ListHostedZonesByName`, `GetHostedZone` and `ListResourceRecordSets` (read-only),
 * retrying Route 53's throttling (`Throttling`, `PriorRequestNotComplete`). Route 53 allows about five
 * requests a second per account, so the zone list is read once per run (every page) and matched locally,
 * and everything is cached for the run: make one instance per run.
 */
export class Route53HostedZones implements HostedZoneSource {
  private zoneList?: Promise<Map<string, { id: string; name: string }[]>>;
  private readonly nameServers = new Map<string, Promise<string[]>>();
  private readonly observations = new Map<string, Promise<Route53Observation>>();

  constructor(
    private readonly client: Route53Client,
    private readonly retry: RetryOptions = {},
  ) {}

  zonesFor(domain: string, apex: string): Promise<Route53Observation> {
    const key = `${domain}|${apex}`;
    let cached = this.observations.get(key);
    if (!cached) {
      cached = this.observe(domain, apex);
      this.observations.set(key, cached);
    }
    return cached;
  }

  private async observe(domain: string, apex: string): Promise<Route53Observation> {
    try {
      const byName = await this.publicZones();
      const zones: { id: string; name: string }[] = [];
      for (let name = domain; name !== ''; name = parentName(name)) {
        zones.push(...(byName.get(name) ?? []));
        if (name === apex) break;
      }
      const views = await Promise.all(
        zones.map(
          async (z): Promise<HostedZoneView> => ({
            id: z.id,
            name: z.name,
            nameServers: await this.nameServersOf(z.id),
            dkimRecords: await this.dkimRecords(z.id, domain),
          }),
        ),
      );
      return { zones: views };
    } catch (error) {
      return { zones: [], error: describeAwsError(error) };
    }
  }

  /** Every public hosted zone of the account by name (several zones may share a name). */
  private publicZones(): Promise<Map<string, { id: string; name: string }[]>> {
    this.zoneList ??= (async () => {
      const byName = new Map<string, { id: string; name: string }[]>();
      let dnsName: string | undefined;
      let hostedZoneId: string | undefined;
      for (let page = 0; page < MAX_ZONE_PAGES; page++) {
        const response = await retryThrottled(
          () =>
            this.client.send(
              new ListHostedZonesByNameCommand({ DNSName: dnsName, HostedZoneId: hostedZoneId, MaxItems: 100 }),
            ),
          this.retry,
        );
        for (const zone of response.HostedZones ?? []) {
          if (zone.Config?.PrivateZone) continue;
          const name = normalizeName(zone.Name ?? '');
          byName.set(name, [...(byName.get(name) ?? []), { id: (zone.Id ?? '').replace(/^\/hostedzone\//, ''), name }]);
        }
        if (!response.IsTruncated) break;
        dnsName = response.NextDNSName;
        hostedZoneId = response.NextHostedZoneId;
      }
      return byName;
    })();
    this.zoneList.catch(() => {
      this.zoneList = undefined; // a failed listing is retried by the next domain rather than cached
    });
    return this.zoneList;
  }

  private nameServersOf(id: string): Promise<string[]> {
    let cached = this.nameServers.get(id);
    if (!cached) {
      cached = retryThrottled(() => this.client.send(new GetHostedZoneCommand({ Id: id })), this.retry).then((r) =>
        (r.DelegationSet?.NameServers ?? []).map(normalizeName),
      );
      this.nameServers.set(id, cached);
    }
    return cached;
  }

  /** Every record set at or under `_domainkey.<domain>` (listing is in reversed-label order). */
  private async dkimRecords(id: string, domain: string): Promise<HostedZoneRecord[]> {
    const base = `_domainkey.${domain}`;
    const prefix = reversed(base);
    const records: HostedZoneRecord[] = [];
    let startName: string | undefined = base;
    let startType: string | undefined;
    let startIdentifier: string | undefined;
    for (let page = 0; page < MAX_PAGES && startName; page++) {
      const response = await retryThrottled(
        () =>
          this.client.send(
            new ListResourceRecordSetsCommand({
              HostedZoneId: id,
              StartRecordName: startName,
              StartRecordType: startType as never,
              StartRecordIdentifier: startIdentifier,
              MaxItems: 300,
            }),
          ),
        this.retry,
      );
      let past = false;
      for (const set of response.ResourceRecordSets ?? []) {
        const name = recordName(set.Name ?? '');
        // `-` sorts before `.`: names like `_domainkey-x.<domain>` can come first; skip them, stop past the prefix.
        if (!reversed(name).startsWith(prefix)) {
          past = true;
          break;
        }
        if (name !== base && !name.endsWith(`.${base}`)) continue;
        records.push({
          name,
          type: set.Type ?? 'UNKNOWN',
          ttl: set.TTL,
          values: set.AliasTarget
            ? [`ALIAS ${normalizeName(set.AliasTarget.DNSName ?? '')}`]
            : (set.ResourceRecords ?? []).map((r) => r.Value ?? ''),
        });
      }
      if (past || !response.IsTruncated) break;
      startName = response.NextRecordName;
      startType = response.NextRecordType;
      startIdentifier = response.NextRecordIdentifier;
    }
    return records;
  }

  async apply(batch: Route53ChangeBatch): Promise<string> {
    if (batch.changeBatch.Changes.some((c) => c.Action !== 'UPSERT'))
      throw new Error('only UPSERT changes are ever applied');
    const response = await retryThrottled(
      () =>
        this.client.send(
          new ChangeResourceRecordSetsCommand({
            HostedZoneId: batch.hostedZoneId,
            ChangeBatch: {
              Comment: batch.changeBatch.Comment,
              Changes: batch.changeBatch.Changes.map((c) => ({
                Action: c.Action,
                ResourceRecordSet: {
                  ...c.ResourceRecordSet,
                  ResourceRecords: c.ResourceRecordSet.ResourceRecords.map((r) => ({ ...r })),
                },
              })),
            },
          }),
        ),
      this.retry,
    );
    return (response.ChangeInfo?.Id ?? '').replace(/^\/change\//, '');
  }
}
