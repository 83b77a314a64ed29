import type { DkimDnsProbe } from './adapters/dns/dkim-dns-prober';
import { Limiter } from './adapters/dns/limiter';
import { assessIdentity, HEALTHS, type IdentityReport } from './domain/assess-identity';
import { planDkimChecks } from './domain/expected-records';
import type { SesIdentity } from './domain/ses-identity';

/** A region (or one identity in it) that SES could not describe. */
export interface DiscoveryError {
  readonly region: string;
  readonly identity?: string;
  readonly message: string;
}

/** Where identities come from: SES itself, or a file shaped like its answers. */
export interface IdentitySource {
  listIdentities(): Promise<{ identities: SesIdentity[]; errors: DiscoveryError[] }>;
}

export interface CheckReport {
  readonly identities: readonly IdentityReport[];
  readonly errors: readonly DiscoveryError[];
}

export interface CheckDkimOptions {
  /** Identity names (exact, case-insensitive) to leave out. */
  readonly ignore?: readonly string[];
  /** Identities probed at once; DNS concurrency is limited separately by the transport. @default 32 */
  readonly concurrency?: number;
}

/** The use case: discover → expect → probe → diagnose. Per-identity problems are data, never exceptions. */
export async function checkDkim(
  source: IdentitySource,
  probe: DkimDnsProbe,
  options: CheckDkimOptions = {},
): Promise<CheckReport> {
  const { identities, errors } = await source.listIdentities();
  const ignored = new Set((options.ignore ?? []).map((n) => n.toLowerCase()));
  const plans = planDkimChecks(identities.filter((i) => !ignored.has(i.name.toLowerCase())));
  const limiter = new Limiter(options.concurrency ?? 32);
  const reports = await Promise.all(
    plans.map((plan) =>
      limiter.run(async () => {
        const domain = plan.records[0]?.domain;
        const observation = domain ? await probe.observe(domain, plan.records) : undefined;
        return assessIdentity(plan, observation);
      }),
    ),
  );
  const rank = (r: IdentityReport) => HEALTHS.indexOf(r.health);
  reports.sort((a, b) => rank(a) - rank(b) || a.identity.localeCompare(b.identity) || a.region.localeCompare(b.region));
  return { identities: reports, errors };
}
