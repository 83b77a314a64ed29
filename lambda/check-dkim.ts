import { describeAwsError } from './describe-error';
import { assessIdentity, HEALTHS, type IdentityReport } from './domain/assess-identity';
import { changeCommand } from './domain/diagnose-route53';
import { type DkimPlan, type MailAuthCheckOptions, planDkimChecks, withMailAuthPlans } from './domain/expected-records';
import { digCommand, type Finding } from './domain/findings';
import { visibleText } from './domain/markup-escape';
import { Limiter } from './limiter';

import type { DiscoveryError, HostedZoneSource, IdentityProbe, IdentitySource } from './ports';

export type { DiscoveryError, IdentitySource } from './ports';

export interface CheckReport {
  readonly identities: readonly IdentityReport[];
  readonly errors: readonly DiscoveryError[];
}

export interface CheckDkimOptions extends MailAuthCheckOptions {
  /** Identity names (exact, case-insensitive) to leave out. */
  readonly ignore?: readonly string[];
  /** Identities probed at once; DNS concurrency is limited separately by the transport. @default 32 */
  readonly concurrency?: number;
  /** Compare the account's Route 53 hosted zones with the delegation. @default - no Route 53 check */
  readonly route53?: HostedZoneSource;
  /** UPSERT missing or wrong DKIM CNAMEs in the delegated Route 53 zone (never deletes). @default false */
  readonly autoRepair?: boolean;
}

/** The use case: discover → expect → probe → diagnose. Per-identity problems are data, never exceptions. */
export async function checkDkim(
  source: IdentitySource,
  probe: IdentityProbe,
  options: CheckDkimOptions = {},
): Promise<CheckReport> {
  const { identities, errors } = await source.listIdentities();
  const ignored = new Set((options.ignore ?? []).map((n) => n.toLowerCase()));
  const plans = withMailAuthPlans(
    planDkimChecks(identities.filter((i) => !ignored.has(i.name.toLowerCase()))),
    options,
  );
  const limiter = new Limiter(options.concurrency ?? 32);
  const reports = await Promise.all(plans.map((plan) => limiter.run(() => checkPlan(plan, probe, options.route53))));
  const repairer = options.autoRepair && options.route53 ? new Route53Repair(options.route53) : undefined;
  const repaired = repairer ? await Promise.all(reports.map((r) => repairer.apply(r))) : reports;
  return { identities: inReportOrder(repaired), errors };
}

/** Reports worst first, then by name and region. */
export function inReportOrder(reports: readonly IdentityReport[]): IdentityReport[] {
  const rank = (r: IdentityReport) => HEALTHS.indexOf(r.health);
  return [...reports].sort(
    (a, b) => rank(a) - rank(b) || a.identity.localeCompare(b.identity) || a.region.localeCompare(b.region),
  );
}

/**
 * Probe one identity's records (and its Route 53 zones, when asked) and assess it. The MAIL FROM and DMARC
 * lookups of the plan are probed beside the DKIM records, whatever DKIM's health: a healthy DKIM setup says
 * nothing about them.
 */
export async function checkPlan(
  plan: DkimPlan,
  probe: IdentityProbe,
  route53?: HostedZoneSource,
): Promise<IdentityReport> {
  const domain = plan.records[0]?.domain;
  const [observation, mailAuth] = await Promise.all([
    domain ? probe.observe(domain, plan.records) : undefined,
    plan.mailAuth ? probe.observeMailAuth(plan.mailAuth) : undefined,
  ]);
  const apex = observation?.zone.zone;
  const zones = domain && apex && route53 ? await route53.zonesFor(domain, apex) : undefined;
  return assessIdentity(plan, observation && { ...observation, route53: zones }, mailAuth);
}

/**
 * Apply each identity's Route 53 changes (UPSERTs in the delegated zone only; diagnoseRoute53 never plans a
 * change for a stale zone or a delete), once per zone and record however many identities share them, and
 * say what was done in each identity's findings. One instance per run, so reports can stream through it.
 */
export class Route53Repair {
  private readonly applied = new Map<string, Promise<{ changeId?: string; error?: string }>>();

  constructor(private readonly route53: HostedZoneSource) {}

  async apply(report: IdentityReport): Promise<IdentityReport> {
    const { applied, route53 } = this;
    const extra: Finding[] = [];
    for (const batch of report.route53Changes ?? []) {
      const key = JSON.stringify(batch);
      let result = applied.get(key);
      if (!result) {
        result = route53.apply(batch).then(
          (changeId) => ({ changeId }),
          (error: unknown) => ({ error: describeAwsError(error) }),
        );
        applied.set(key, result);
      }
      const { changeId, error } = await result;
      const names = batch.changeBatch.Changes.map(
        (c) => `${c.ResourceRecordSet.Name} CNAME ${c.ResourceRecordSet.ResourceRecords[0]?.Value}`,
      );
      extra.push(
        error
          ? {
              code: 'ROUTE53_CHECK_FAILED',
              severity: 'warning',
              message: `The automatic repair in Route 53 hosted zone ${batch.hostedZoneId} (${batch.zoneName}) failed (${visibleText(error)}); make the change by hand (${names.join('; ')}): ${changeCommand(batch)}`,
              servers: [],
              dig: digCommand(batch.changeBatch.Changes[0]?.ResourceRecordSet.Name ?? report.identity, 'CNAME'),
            }
          : {
              code: 'ZONE_RECORD_REPAIRED',
              severity: 'info',
              message: `Repaired: UPSERTed ${names.join('; ')} in Route 53 hosted zone ${batch.hostedZoneId} (${batch.zoneName}), change ${changeId}. The DNS findings show the state before the change; SES rechecks by itself.`,
              servers: [],
              dig: digCommand(batch.changeBatch.Changes[0]?.ResourceRecordSet.Name ?? report.identity, 'CNAME'),
            },
      );
    }
    return extra.length > 0 ? { ...report, findings: [...report.findings, ...extra] } : report;
  }
}
