import { printable } from './dns-name';
import { digCommand, type Finding, listInWords } from './findings';
import { serverLabel, type ZoneObservation } from './observations';

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  const sa = new Set(a);
  return sa.size === new Set(b).size && b.every((x) => sa.has(x));
}

/**
 * Findings about the zone itself: the parent's delegation against the zone's own NS records, and lookups
 * that could not be completed. Pure.
 */
export function diagnoseZone(zone: ZoneObservation): Finding[] {
  const findings: Finding[] = zone.problems.map((p) => ({
    code: 'LOOKUP_FAILED',
    severity: 'inconclusive',
    message: p.message,
    servers: p.servers,
    dig: p.dig,
  }));
  if (zone.notDelegated) {
    const { domain, suffix, resolver } = zone.notDelegated;
    findings.push({
      code: 'DOMAIN_NOT_DELEGATED',
      severity: 'problem',
      message: `${domain} is not delegated: the closest zone that exists is the top-level domain ${suffix}, so nothing under ${domain} resolves (an expired registration, or the NS records removed at the registrar). Fix: restore the domain's registration and delegation, then publish the DKIM records.`,
      servers: resolver ? [serverLabel(resolver)] : [],
      dig: digCommand(domain, 'SOA', resolver),
    });
  }
  if (!zone.zone) return findings;
  for (const ns of zone.ipLiteralNs ?? []) {
    // Not queried: a resolver never would (it looks the "name" up and finds nothing), so the probe must not
    // either, or a zone could point our packets at any address it likes.
    findings.push({
      code: 'NAMESERVER_IP_LITERAL',
      severity: 'warning',
      message: `The NS record ${printable(ns)} for ${zone.zone} is an IP address written as a host name: resolvers look it up as a name, find nothing, and cannot use it (it was not queried). Fix: replace it with the host name of that nameserver (one that has an A/AAAA record), or remove it from the NS records and the registrar's delegation.`,
      servers: [ns],
      dig: digCommand(zone.zone, 'NS'),
    });
  }
  for (const d of zone.disagreements ?? []) {
    const said = d.claims.map((c) => `${c.source} says ${printable(c.says)}`).join('; ');
    findings.push({
      code: 'ZONE_SOURCES_DISAGREE',
      severity: d.allChecked ? 'warning' : 'inconclusive',
      message: d.allChecked
        ? `Sources disagree about ${d.subject}: ${said}. Every server named by any of them was checked. If this persists beyond the records' TTL, one source is stale or lying: compare them with dig.`
        : `Sources disagree about ${d.subject}: ${said}. Only the first view was checked, so the result is inconclusive: a resolver is stale or lying. Compare them with dig.`,
      servers: d.claims.map((c) => c.source),
      dig: d.dig,
    });
  }
  for (const ns of zone.unresolvedNs) {
    // Definitive (the name has no address), but resolvers fall back to the other servers: a warning.
    findings.push({
      code: 'NAMESERVER_UNRESOLVABLE',
      severity: 'warning',
      message: `Nameserver ${ns} is listed for ${zone.zone} but has no address, so its answers could not be checked. Fix: remove it from the NS records and the registrar's delegation, or give it an address.`,
      servers: [ns],
      dig: digCommand(ns, 'A'),
    });
  }
  const parentNs = zone.parentNs;
  const ownSets = zone.servers.filter((s) => s.apexNs !== undefined);
  if (parentNs === undefined || ownSets.length === 0) return findings;
  const own = [...new Set(ownSets.flatMap((s) => s.apexNs ?? []))].sort();
  const disagreeing = ownSets.filter((s) => !sameSet(s.apexNs ?? [], ownSets[0]?.apexNs ?? []));
  if (sameSet(parentNs, own) && disagreeing.length === 0) return findings;
  const onlyParent = parentNs.filter((n) => !own.includes(n));
  const onlyZone = own.filter((n) => !parentNs.includes(n));
  const parts = [
    `the parent zone ${zone.parentZone || '(root)'} delegates ${zone.zone} to ${listInWords([...parentNs].sort())}`,
  ];
  if (ownSets.length > 1 && disagreeing.length > 0) {
    parts.push(
      `the zone's own NS records differ between servers: ${ownSets.map((s) => `${serverLabel(s.server)} lists ${listInWords([...(s.apexNs ?? [])].sort())}`).join('; ')}`,
    );
  } else {
    parts.push(`the zone's own NS records list ${listInWords(own)}`);
  }
  const fixes: string[] = [];
  if (onlyParent.length > 0)
    fixes.push(`${listInWords(onlyParent)} only at the registrar (remove it there if it is a former provider)`);
  if (onlyZone.length > 0)
    fixes.push(`${listInWords(onlyZone)} only in the zone (remove the NS record if it is a former provider)`);
  findings.push({
    code: 'DELEGATION_MISMATCH',
    severity: 'warning',
    message: `${parts.join('; ')}. Resolvers may use either set. Fix: make both lists the same${fixes.length > 0 ? `: ${fixes.join('; ')}` : ''}.`,
    servers: [...new Set([...parentNs, ...own])],
    dig: zone.parentServer
      ? `${digCommand(zone.zone, 'NS', zone.parentServer).replace('+noall +answer', '+noall +authority')}`
      : digCommand(zone.zone, 'NS'),
  });
  return findings;
}
