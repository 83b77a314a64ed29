import {
  type DnskeyRecord,
  dsMatchesKey,
  isUsableDs,
  keyTag,
  type RrsetVerdict,
  verifyRrset,
  ZONE_KEY_FLAG,
} from './dnssec';
import type { Finding, FindingCode } from './findings';
import { listInWords } from './findings';
import { nameForMessage, visibleText } from './markup-escape';
import { type DnssecObservation, type ServerRef, serverLabel } from './observations';
import { digCommandLine } from './shell-words';

/**
 * How far ahead an unrefreshed signature's expiry is announced: 48 hours, two daily scans at least, no setting.
 * Long enough to act before validators fail, short enough that signers which refresh a few days ahead
 * (knot, BIND, PowerDNS defaults) never trigger it.
 */
export const SIGNATURE_EXPIRY_WARNING_SECONDS = 48 * 3600;

/** What the DNSSEC evidence of one zone says. */
export interface DnssecDiagnosis {
  readonly findings: readonly Finding[];
  /**
   * Whether a definite DNSSEC fault explains `resolver`'s SERVFAIL for `recordName`: the fault touches that
   * record and the resolver answered the same question with the CD bit set (the data is there; only
   * validation failed).
   */
  explainsServfail(recordName: string, resolverLabel: string): boolean;
}

/** A server's DNSKEY set against the parent's DS set. */
type KeyStatus =
  | { readonly kind: 'SECURE'; readonly zoneKeys: readonly DnskeyRecord[]; readonly verdict: RrsetVerdict }
  | { readonly kind: 'UNSIGNED' }
  | { readonly kind: 'NO_MATCH'; readonly tags: readonly number[] }
  | { readonly kind: 'FAULT'; readonly verdict: RrsetVerdict }
  | { readonly kind: 'UNKNOWN' };

function dig(name: string, type: string, server?: ServerRef, cd = false): string {
  const recursion = server?.view === 'authoritative' ? ['+norecurse'] : cd ? ['+cd'] : [];
  return digCommandLine(name, type, {
    server: server?.address,
    port: server?.port,
    options: ['+dnssec', ...recursion, '+noall', '+answer', '+comments'],
  });
}

const iso = (seconds: number) => new Date(seconds * 1000).toISOString().replace('.000Z', 'Z');

function hoursFrom(now: number, at: number): string {
  const hours = Math.round(Math.abs(at - now) / 360) / 10;
  return `${hours} hour${hours === 1 ? '' : 's'}`;
}

function keyStatus(
  zone: string,
  usable: DnssecObservation['ds'],
  answer: DnssecObservation['keys'][number],
  now: number,
): KeyStatus {
  if (answer.inconclusive !== undefined || usable.kind !== 'found') return { kind: 'UNKNOWN' };
  if (!answer.rrset) return { kind: 'UNSIGNED' };
  const keys = answer.rrset.data as DnskeyRecord[];
  const entry = keys.filter((k) => usable.records.some((ds) => dsMatchesKey(zone, ds, k)));
  if (entry.length === 0) return { kind: 'NO_MATCH', tags: [...new Set(keys.map(keyTag))].sort((a, b) => a - b) };
  const verdict = verifyRrset(answer.rrset, entry, zone, now);
  if (verdict.kind === 'UNSUPPORTED') return { kind: 'UNKNOWN' };
  if (verdict.kind !== 'SECURE') return { kind: 'FAULT', verdict };
  return { kind: 'SECURE', zoneKeys: keys.filter((k) => (k.flags & ZONE_KEY_FLAG) !== 0), verdict };
}

/** A fault seen on one or more servers, grouped by what it is. */
interface Fault {
  readonly code: FindingCode;
  /** The DNS name to dig for the evidence. */
  readonly name: string;
  readonly subject: string;
  readonly type: string;
  readonly what: string;
  readonly servers: ServerRef[];
}

/**
 * Judge one zone's DNSSEC as validating resolvers do: the parent's DS must designate a key every server
 * publishes, that key must sign the DNSKEY set, and the zone keys must sign the DKIM records, within their
 * validity windows. Every fault is definite (validators fail on it) and named with its fix; a lookup that
 * failed is no evidence and produces nothing here. Pure: `observation.checkedAt` is the time judged against.
 */
export function diagnoseDnssec(zone: string, observation: DnssecObservation): DnssecDiagnosis {
  const none: DnssecDiagnosis = { findings: [], explainsServfail: () => false };
  const { ds, checkedAt: now } = observation;
  if (ds.kind !== 'found') return none;
  const usable = { kind: 'found' as const, records: ds.records.filter(isUsableDs) };
  // A DS set of algorithms or digests nobody validates makes the zone insecure, not broken (RFC 4035 §5.2).
  if (usable.records.length === 0) return none;
  const findings: Finding[] = [];
  const faultyNames = new Set<string>();
  const statuses = observation.keys.map((k) => ({ server: k.server, status: keyStatus(zone, usable, k, now) }));
  const ofKind = <K extends KeyStatus['kind']>(kind: K) =>
    statuses.filter((s): s is { server: ServerRef; status: Extract<KeyStatus, { kind: K }> } => s.status.kind === kind);
  const labels = (servers: readonly ServerRef[]) => servers.map(serverLabel);
  const dsWords = listInWords(
    usable.records.map((d) => `key ${d.keyTag} (algorithm ${d.algorithm})`).filter((v, i, a) => a.indexOf(v) === i),
  );
  const parent = observation.parentServer;
  const withMatchingKey = statuses.filter((s) => s.status.kind === 'SECURE' || s.status.kind === 'FAULT');
  const noMatch = ofKind('NO_MATCH');
  const unsigned = ofKind('UNSIGNED');
  const keyWords = (s: (typeof statuses)[number]) =>
    s.status.kind === 'NO_MATCH'
      ? `${serverLabel(s.server)} publishes key${s.status.tags.length === 1 ? '' : 's'} ${s.status.tags.join(', ')}`
      : `${serverLabel(s.server)} publishes no DNSKEY at all`;

  if (withMatchingKey.length === 0 && noMatch.length + unsigned.length > 0) {
    // The registrar's DS points at keys no server has: every validating resolver fails for the whole zone.
    faultyNames.add('*');
    const all = [...noMatch, ...unsigned];
    findings.push({
      code: 'DNSSEC_DS_MISMATCH',
      severity: 'problem',
      message: `The DS record${usable.records.length === 1 ? '' : 's'} for ${zone} at the parent zone${parent ? ` (${serverLabel(parent)})` : ''} designate${usable.records.length === 1 ? 's' : ''} ${dsWords}, but no server of the zone publishes ${usable.records.length === 1 ? 'that key' : 'those keys'}: ${all.map(keyWords).join('; ')}. Every validating resolver answers SERVFAIL for every name in ${zone}, the DKIM records included, so SES cannot find them. This is typical after a move to another DNS provider with DNSSEC on. Fix: at the registrar, remove the DS record (turns DNSSEC off for the zone), or replace it with the DS of the key the current provider publishes${unsigned.length === all.length ? ' (after turning DNSSEC signing on there)' : ''}.`,
      servers: [...(parent ? [serverLabel(parent)] : []), ...labels(all.map((s) => s.server))],
      dig: dig(zone, 'DS', parent),
    });
  } else {
    if (unsigned.length > 0) {
      faultyNames.add('*');
      findings.push({
        code: 'DNSSEC_UNSIGNED_SERVER',
        severity: 'problem',
        message: `${listInWords(labels(unsigned.map((s) => s.server)))} ${unsigned.length === 1 ? 'serves' : 'serve'} ${zone} without DNSSEC (no DNSKEY, no signatures), while the parent's DS says the zone is signed and ${listInWords(labels(withMatchingKey.map((s) => s.server)))} ${withMatchingKey.length === 1 ? 'serves' : 'serve'} it signed. Validating resolvers that ask ${unsigned.length === 1 ? 'it' : 'them'} answer SERVFAIL. Typically a former provider still listed. Fix: remove ${unsigned.length === 1 ? 'it' : 'them'} from the registrar's delegation and the zone's NS records, or serve the signed zone there too.`,
        servers: labels(unsigned.map((s) => s.server)),
        dig: dig(zone, 'DNSKEY', unsigned[0]?.server),
      });
    }
    for (const s of noMatch) {
      faultyNames.add('*');
      findings.push({
        code: 'DNSSEC_BOGUS',
        severity: 'problem',
        message: `${keyWords(s)} for ${zone}, but the parent's DS designates ${dsWords}, which ${listInWords(labels(withMatchingKey.map((w) => w.server)))} publish${withMatchingKey.length === 1 ? 'es' : ''}: validating resolvers that ask ${serverLabel(s.server)} answer SERVFAIL. Fix: serve the same signed zone (same keys) on every server, or remove ${serverLabel(s.server)} from the delegation and NS records if it belongs to a former provider.`,
        servers: [serverLabel(s.server)],
        dig: dig(zone, 'DNSKEY', s.server),
      });
    }
  }

  const faults = new Map<string, Fault>();
  const fault = (code: FindingCode, name: string, subject: string, type: string, what: string, server: ServerRef) => {
    const key = `${code}|${subject}|${what}`;
    const found = faults.get(key) ?? { code, name, subject, type, what, servers: [] };
    found.servers.push(server);
    faults.set(key, found);
  };
  const judge = (verdict: RrsetVerdict, name: string, subject: string, type: string, server: ServerRef) => {
    switch (verdict.kind) {
      case 'EXPIRED':
        fault(
          'DNSSEC_SIGNATURE_EXPIRED',
          name,
          subject,
          type,
          `expired at ${iso(verdict.expiredAt)} (${hoursFrom(now, verdict.expiredAt)} ago)`,
          server,
        );
        break;
      case 'NOT_YET_VALID':
        fault(
          'DNSSEC_BOGUS',
          name,
          subject,
          type,
          `its signatures are valid only from ${iso(verdict.validFrom)} (the signer's clock is ahead)`,
          server,
        );
        break;
      case 'UNSIGNED':
        fault('DNSSEC_BOGUS', name, subject, type, 'is served without any signature (RRSIG)', server);
        break;
      case 'BAD_SIGNATURE':
        fault(
          'DNSSEC_BOGUS',
          name,
          subject,
          type,
          `has a signature that does not validate: ${visibleText(verdict.why)}`,
          server,
        );
        break;
      default:
        break;
    }
  };
  for (const s of ofKind('FAULT')) judge(s.status.verdict, zone, `the DNSKEY set of ${zone}`, 'DNSKEY', s.server);

  const expiring: { name: string; type: string; subject: string; server: ServerRef; expiresAt: number }[] = [];
  const watch = (verdict: RrsetVerdict, name: string, type: string, subject: string, server: ServerRef) => {
    if (verdict.kind !== 'SECURE') return;
    const left = verdict.expiresAt - now;
    // A signer that keeps its signatures fresh never lets one age past half its lifetime: one that has is not re-signing.
    const aged = now - verdict.signedAt > (verdict.expiresAt - verdict.signedAt) / 2;
    if (left < SIGNATURE_EXPIRY_WARNING_SECONDS && aged)
      expiring.push({ name, type, subject, server, expiresAt: verdict.expiresAt });
  };
  for (const s of ofKind('SECURE')) watch(s.status.verdict, zone, 'DNSKEY', `the DNSKEY set of ${zone}`, s.server);
  const secureKeys = new Map(ofKind('SECURE').map((s) => [serverLabel(s.server), s.status.zoneKeys]));
  for (const record of observation.records) {
    const zoneKeys = secureKeys.get(serverLabel(record.server));
    // Servers without a validated key set are named above; a failed lookup or an absent record proves nothing here.
    if (!zoneKeys || record.inconclusive !== undefined || !record.rrset) continue;
    const verdict = verifyRrset(record.rrset, zoneKeys, zone, now);
    const subject = `${nameForMessage(record.name)} (${record.rrset.type})`;
    judge(verdict, record.name, subject, record.rrset.type, record.server);
    watch(verdict, record.name, record.rrset.type, subject, record.server);
    if (verdict.kind !== 'SECURE' && verdict.kind !== 'UNSUPPORTED') faultyNames.add(record.name);
  }
  if (ofKind('FAULT').length > 0) faultyNames.add('*');

  for (const f of faults.values()) {
    const on = listInWords(labels(f.servers));
    findings.push(
      f.code === 'DNSSEC_SIGNATURE_EXPIRED'
        ? {
            code: f.code,
            severity: 'problem',
            message: `The DNSSEC signatures over ${f.subject} on ${on} ${f.what}: validating resolvers answer SERVFAIL for it, and SES cannot read it. The zone is no longer being re-signed. Fix: have the DNS provider re-sign the zone (or turn automatic signing back on); if the zone is signed by hand, sign it again and reload it.`,
            servers: labels(f.servers),
            dig: dig(f.name, f.type, f.servers[0]),
          }
        : {
            code: f.code,
            severity: 'problem',
            message: `${f.subject.charAt(0).toUpperCase()}${f.subject.slice(1)} on ${on} ${f.what}: validating resolvers answer SERVFAIL for it. Fix: have the DNS provider re-sign the zone with the keys it publishes, and make every server serve the same signed zone.`,
            servers: labels(f.servers),
            dig: dig(f.name, f.type, f.servers[0]),
          },
    );
  }

  if (expiring.length > 0) {
    const first = expiring.reduce((a, b) => (a.expiresAt <= b.expiresAt ? a : b));
    const subjects = [...new Set(expiring.map((e) => e.subject))];
    findings.push({
      code: 'DNSSEC_SIGNATURE_EXPIRING',
      severity: 'warning',
      message: `The DNSSEC signatures over ${listInWords(subjects)} expire soon: the first at ${iso(first.expiresAt)} (in ${hoursFrom(now, first.expiresAt)}) on ${serverLabel(first.server)}, and they have not been refreshed for more than half their lifetime. When they expire, validating resolvers answer SERVFAIL and SES loses the DKIM records. Fix: check that the zone is still being re-signed (automatic signing on at the provider; a zone signed by hand must be signed again and reloaded). Announced ${SIGNATURE_EXPIRY_WARNING_SECONDS / 3600} hours ahead.`,
      servers: [...new Set(expiring.map((e) => serverLabel(e.server)))],
      dig: dig(first.name, first.type, first.server),
    });
  }

  const answeredWithCd = new Set(
    observation.resolverChecks.filter((c) => c.answersWithCd).map((c) => `${c.name}|${serverLabel(c.resolver)}`),
  );
  return {
    findings,
    explainsServfail: (recordName, resolverLabel) =>
      (faultyNames.has('*') || faultyNames.has(recordName)) && answeredWithCd.has(`${recordName}|${resolverLabel}`),
  };
}
