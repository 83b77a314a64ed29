import type { IdentityObservation } from './domain/assess-identity';
import type { ExpectedRecord, MailAuthPlan } from './domain/expected-records';
import type { MailAuthObservation } from './domain/mail-auth-observations';
import type { IdentityProbe } from './ports';

/**
 * A DNS probe whose caches are renewed every so many identities. The prober keeps every zone and answer
 * it has seen for as long as it lives (about 11 KiB per identity): over 10,000 identities that is more
 * than 100 MiB. Identities are scanned in zone order, so those sharing a zone are almost always probed by
 * the same generation and still share its work.
 */
export class RenewingProbe implements IdentityProbe {
  private current: IdentityProbe;
  private observed = 0;
  /** Probes created so far. */
  generations = 1;

  /**
   * @param create a fresh probe (its caches empty)
   * @param identitiesPerProbe identities one probe serves before the next takes over @default 500
   */
  constructor(
    private readonly create: () => IdentityProbe,
    private readonly identitiesPerProbe = 500,
  ) {
    this.current = create();
  }

  observe(domain: string, records: readonly ExpectedRecord[]): Promise<IdentityObservation> {
    if (this.observed >= this.identitiesPerProbe) {
      // Observations still in flight finish on the old probe; it is collected after them.
      this.current = this.create();
      this.generations++;
      this.observed = 0;
    }
    this.observed++;
    return this.current.observe(domain, records);
  }

  /** On the current probe, without counting: it goes with the identity `observe` just counted. */
  observeMailAuth(plan: MailAuthPlan): Promise<MailAuthObservation> {
    return this.current.observeMailAuth(plan);
  }
}
