import { describe, expect, it } from 'vitest';
import { RenewingProbe } from '../../lambda/renewing-probe';
import { FakeProbe } from '../support/fake-probe';

describe('RenewingProbe', () => {
  it('hands each probe the given number of identities, then starts a fresh one', async () => {
    const probes: FakeProbe[] = [];
    const renewing = new RenewingProbe(() => {
      const probe = new FakeProbe();
      probes.push(probe);
      return probe;
    }, 3);

    for (const domain of ['a', 'b', 'c', 'd', 'e', 'f', 'g']) await renewing.observe(`${domain}.test`, []);

    expect(probes.map((p) => p.observed)).toEqual([
      ['a.test', 'b.test', 'c.test'],
      ['d.test', 'e.test', 'f.test'],
      ['g.test'],
    ]);
    expect(renewing.generations).toBe(3);
  });

  it("probes an identity's MAIL FROM and DMARC records on the probe that took its DKIM records, without counting them", async () => {
    const probes: FakeProbe[] = [];
    const renewing = new RenewingProbe(() => {
      const probe = new FakeProbe();
      probes.push(probe);
      return probe;
    }, 2);
    const dmarcOf = (domain: string) => ({
      dmarc: { domain, organizationalDomain: domain, lookups: [{ name: `_dmarc.${domain}`, type: 'TXT' as const }] },
    });

    for (const domain of ['a.test', 'b.test', 'c.test']) {
      await Promise.all([renewing.observe(domain, []), renewing.observeMailAuth(dmarcOf(domain))]);
    }

    expect(probes.map((p) => p.observedMailAuth.map((plan) => plan.dmarc?.domain))).toEqual([
      ['a.test', 'b.test'],
      ['c.test'],
    ]);
  });
});
