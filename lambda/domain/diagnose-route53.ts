import { isAtOrBelow, normalizeName } from './dns-name';
import type { ExpectedRecord } from './expected-records';
import { digCommand, type Finding, listInWords } from './findings';
import { nameForMessage, visibleText } from './markup-escape';
import type { ZoneObservation } from './observations';
import { digCommandLine, isCommandDnsName, shellCommand } from './shell-words';

/** A DKIM record set held by a Route 53 hosted zone. */
export interface HostedZoneRecord {
  readonly name: string;
  readonly type: string;
  readonly values: readonly string[];
  readonly ttl?: number;
}

/** A public Route 53 hosted zone of the monitoring account, as far as DKIM is concerned. */
export interface HostedZoneView {
  /** `Z0123456789ABC` (without `/hostedzone/`). */
  readonly id: string;
  readonly name: string;
  readonly nameServers: readonly string[];
  /** Every record set at or under `_domainkey.<domain>`. */
  readonly dkimRecords: readonly HostedZoneRecord[];
}

/** What Route 53 holds for one domain, or why it could not be read. */
export interface Route53Observation {
  readonly zones: readonly HostedZoneView[];
  readonly error?: string;
}

/** A ChangeResourceRecordSets batch for one hosted zone. */
export interface Route53ChangeBatch {
  readonly hostedZoneId: string;
  readonly zoneName: string;
  readonly changeBatch: {
    readonly Comment: string;
    readonly Changes: readonly {
      readonly Action: 'UPSERT';
      readonly ResourceRecordSet: {
        readonly Name: string;
        readonly Type: 'CNAME';
        readonly TTL: number;
        readonly ResourceRecords: readonly { readonly Value: string }[];
      };
    }[];
  };
}

/** The TTL the SES console uses for Easy DKIM records. */
export const DKIM_RECORD_TTL = 1800;

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  const sa = new Set(a);
  return sa.size === new Set(b).size && b.every((x) => sa.has(x));
}

function describeRecords(records: readonly HostedZoneRecord[]): string {
  if (records.length === 0) return 'no DKIM records';
  const shown = records
    .slice(0, 6)
    .map((r) => `${nameForMessage(r.name)} ${visibleText(r.type)} ${r.values.map(visibleText).join(' ')}`);
  return `DKIM records ${shown.join('; ')}${records.length > 6 ? ` and ${records.length - 6} more` : ''}`;
}

/** The one-line command that applies a change batch (the batch as one single-quoted JSON word). */
export function changeCommand(batch: Route53ChangeBatch): string {
  return shellCommand([
    'aws',
    'route53',
    'change-resource-record-sets',
    '--hosted-zone-id',
    batch.hostedZoneId,
    '--change-batch',
    JSON.stringify(batch.changeBatch),
  ]);
}

/**
 * Compare the account's Route 53 hosted zones for a domain with the delegation the world follows: a zone
 * that is not delegated is stale (edits there change nothing; if its servers are still listed somewhere,
 * they serve stale answers), and the delegated zone must hold every DKIM record. Pure.
 */
export function diagnoseRoute53(
  domain: string,
  records: readonly ExpectedRecord[],
  zone: ZoneObservation,
  route53: Route53Observation,
): { findings: Finding[]; changes: Route53ChangeBatch[] } {
  const findings: Finding[] = [];
  const changes: Route53ChangeBatch[] = [];
  const firstRecord = records[0];
  const fallbackDig = firstRecord ? digCommand(firstRecord.name, firstRecord.type) : digCommand(domain, 'NS');
  if (route53.error) {
    findings.push({
      code: 'ROUTE53_CHECK_FAILED',
      severity: 'warning',
      message: `The Route 53 check of ${domain} could not complete (${visibleText(route53.error)}); the DNS findings stand on their own.`,
      servers: [],
      dig: fallbackDig,
    });
    return { findings, changes };
  }
  const apex = zone.zone;
  if (!apex) return { findings, changes };
  const relevant = route53.zones.filter((z) => isAtOrBelow(domain, z.name) && isAtOrBelow(z.name, apex));
  if (relevant.length === 0) return { findings, changes };
  if (zone.parentNs === undefined) {
    findings.push({
      code: 'ROUTE53_CHECK_FAILED',
      severity: 'warning',
      message: `Route 53 holds ${relevant.map((z) => `${z.id} (${z.name})`).join(', ')} for ${domain}, but the parent's delegation of ${apex} could not be read, so which one is live is unknown.`,
      servers: [],
      dig: digCommand(apex, 'NS'),
    });
    return { findings, changes };
  }
  const parentNs = zone.parentNs;
  const listed = new Set([
    ...parentNs,
    ...(zone.resolverNs ?? []),
    ...zone.servers.flatMap((s) => [s.server.name, ...(s.apexNs ?? [])]),
  ]);
  for (const hosted of relevant) {
    const live = hosted.name === apex && sameSet(hosted.nameServers, parentNs);
    if (!live) {
      const stillListed = hosted.nameServers.filter((ns) => listed.has(ns));
      const why =
        hosted.name === apex
          ? `the parent delegates ${apex} to ${listInWords([...parentNs].sort())}, not to this zone's ${listInWords([...hosted.nameServers].sort())}`
          : `${apex} does not delegate ${hosted.name}`;
      const served = stillListed.length > 0;
      const firstDkim = hosted.dkimRecords[0];
      findings.push({
        code: 'STALE_HOSTED_ZONE',
        severity: served ? 'problem' : 'warning',
        message: `Route 53 hosted zone ${hosted.id} (${hosted.name}) is not the zone the world uses: ${why}, so edits there change nothing anyone sees. It holds ${describeRecords(hosted.dkimRecords)}. ${
          served
            ? `Its servers ${listInWords(stillListed)} are still listed for ${apex}, so resolvers get its stale answers (the stale-provider incident). Fix: remove them from the registrar's delegation and the zone's NS records, then delete hosted zone ${hosted.id}.`
            : `Fix: delete hosted zone ${hosted.id} once nothing else uses it, so nobody edits it by mistake.`
        }`,
        servers: [...hosted.nameServers],
        dig: firstDkim
          ? digCommandLine(firstDkim.name, firstDkim.type, {
              server: hosted.nameServers[0] ?? 'ns',
              options: ['+norecurse', '+noall', '+answer'],
            })
          : digCommandLine(hosted.name, 'SOA', {
              server: hosted.nameServers[0] ?? 'ns',
              options: ['+norecurse', '+noall', '+answer', '+authority'],
            }),
      });
      continue;
    }
    const upserts: Route53ChangeBatch['changeBatch']['Changes'][number][] = [];
    for (const expected of records) {
      const atName = hosted.dkimRecords.filter((r) => r.name === expected.name);
      const dig = digCommand(expected.name, expected.type);
      if (expected.kind === 'BYODKIM') {
        if (atName.length === 0) {
          findings.push({
            code: 'ZONE_RECORD_MISSING',
            severity: 'problem',
            message: `Route 53 hosted zone ${hosted.id} (${hosted.name}) has no record ${expected.name}. Fix: create ${expected.name} TXT "v=DKIM1; k=rsa; p=<your public key>" there (the key cannot be derived from SES).`,
            servers: [],
            dig,
          });
        }
        continue;
      }
      const upsert = {
        Action: 'UPSERT' as const,
        ResourceRecordSet: {
          Name: expected.name,
          Type: 'CNAME' as const,
          TTL: DKIM_RECORD_TTL,
          ResourceRecords: [{ Value: expected.value }],
        },
      };
      const cname = atName.find((r) => r.type === 'CNAME');
      const other = atName.filter((r) => r.type !== 'CNAME');
      if (cname?.values.length === 1 && normalizeName(cname.values[0] ?? '') === expected.value) continue;
      if (!isCommandDnsName(expected.name) || !isCommandDnsName(expected.value)) {
        // Never put a name that is not a DNS name into a change (or a command that would make one).
        findings.push({
          code: cname ? 'ZONE_RECORD_MISMATCH' : 'ZONE_RECORD_MISSING',
          severity: 'problem',
          message: `Route 53 hosted zone ${hosted.id} (${hosted.name}) does not hold ${nameForMessage(expected.name)} CNAME ${nameForMessage(expected.value)}, and no change is suggested: SES's DKIM settings for ${domain} name something that is not a valid DNS name. Check the identity's DKIM settings in SES.`,
          servers: [],
          dig,
        });
        continue;
      }
      if (other.length > 0) {
        // A CNAME cannot sit beside other records, and the monitor never deletes: a person must.
        findings.push({
          code: 'ZONE_RECORD_MISMATCH',
          severity: 'problem',
          message: `Route 53 hosted zone ${hosted.id} (${hosted.name}) has ${other.map((r) => `${visibleText(r.type)} ${r.values.map(visibleText).join(' ')}`).join(', ')} at ${expected.name}, where CNAME ${expected.value} must be. Fix: delete ${other.map((r) => visibleText(r.type)).join(' and ')} record there, then create the CNAME (not repaired automatically: that needs a delete).`,
          servers: [],
          dig,
        });
        continue;
      }
      const batch: Route53ChangeBatch = {
        hostedZoneId: hosted.id,
        zoneName: hosted.name,
        changeBatch: { Comment: `ses-dkim-sentinel: DKIM record of ${domain}`, Changes: [upsert] },
      };
      findings.push({
        code: cname ? 'ZONE_RECORD_MISMATCH' : 'ZONE_RECORD_MISSING',
        severity: 'problem',
        message: `${
          cname
            ? `Route 53 hosted zone ${hosted.id} (${hosted.name}) has ${expected.name} CNAME ${cname.values.map((v) => nameForMessage(v)).join(' ')}, expected ${expected.value}.`
            : `Route 53 hosted zone ${hosted.id} (${hosted.name}) has no ${expected.name} CNAME ${expected.value}.`
        } Fix: ${changeCommand(batch)}`,
        servers: [],
        dig,
        route53Change: batch,
      });
      upserts.push(upsert);
    }
    if (upserts.length > 0) {
      changes.push({
        hostedZoneId: hosted.id,
        zoneName: hosted.name,
        changeBatch: { Comment: `ses-dkim-sentinel: restore the DKIM records of ${domain}`, Changes: upserts },
      });
    }
  }
  return { findings, changes };
}
