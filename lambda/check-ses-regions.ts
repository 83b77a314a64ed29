import { type CheckReport, inReportOrder } from './check-dkim';
import type { IdentityReport } from './domain/assess-identity';
import type { MailAuthCheckOptions } from './domain/expected-records';
import type { HostedZoneSource, IdentityProbe, SesDirectory } from './ports';
import { scanRegion } from './scan-region';

export interface CheckSesRegionsOptions extends MailAuthCheckOptions {
  /** Identity names (exact, case-insensitive) to leave out. */
  readonly ignore?: readonly string[];
  /** Compare the account's Route 53 hosted zones with the delegation. @default - no Route 53 check */
  readonly route53?: HostedZoneSource;
  readonly now?: () => number;
}

/**
 * One look at every identity of the given SES regions, as the scanner reads them (v1 batches of 100,
 * v2 only where v1 cannot answer), without a deadline, a cache or a cursor: for the command line. Regions
 * are read in parallel, each at its own SES rate.
 */
export async function checkSesRegions(
  directories: readonly SesDirectory[],
  probe: IdentityProbe,
  options: CheckSesRegionsOptions = {},
): Promise<CheckReport> {
  const reports: IdentityReport[] = [];
  const results = await Promise.all(
    directories.map((directory) =>
      scanRegion(
        {
          directory,
          probe,
          route53: options.route53,
          now: options.now ?? Date.now,
          remainingMs: () => Number.POSITIVE_INFINITY,
        },
        {
          ignore: options.ignore,
          refreshPerRun: 0,
          stopMarginMs: 0,
          checkMailFrom: options.checkMailFrom,
          checkDmarc: options.checkDmarc,
        },
        (report) => {
          reports.push(report);
        },
      ),
    ),
  );
  return { identities: inReportOrder(reports), errors: results.flatMap((r) => r.errors) };
}
