import { diagnoseDnssec } from './diagnose-dnssec';
import { assessMailAuth, type DmarcReport, type MailFromReport } from './diagnose-mail-auth';
import { classifyAnswer, diagnoseRecord, type Verdict } from './diagnose-record';
import { diagnoseRoute53, type Route53ChangeBatch, type Route53Observation } from './diagnose-route53';
import { diagnoseZone } from './diagnose-zone';
import type { DkimPlan, ExpectedRecord } from './expected-records';
import { digCommand, type Finding } from './findings';
import type { MailAuthObservation } from './mail-auth-observations';
import { isDefinitive, type RecordAnswer, serverLabel, type ZoneObservation } from './observations';
import { type RootCause, rootCauses } from './root-causes';
import type { DkimStatus, SesIdentity } from './ses-identity';
import { sesv2Command } from './shell-words';

/** One identity's DKIM health. Order matters for sorting: worst first. */
export const HEALTHS = ['REVOKED', 'FAILING', 'AT_RISK', 'UNKNOWN', 'PENDING', 'DISABLED', 'HEALTHY'] as const;
export type Health = (typeof HEALTHS)[number];

/** Healths that need nobody's attention (CLI exit code 0). */
export const QUIET_HEALTHS: ReadonlySet<Health> = new Set(['HEALTHY', 'PENDING', 'DISABLED']);

export interface AnswerReport {
  readonly server: string;
  readonly view: 'authoritative' | 'public';
  readonly rcode: string;
  readonly values: readonly string[];
  /** What this answer means for the record: OK, MISMATCH, MISSING, DOUBLED, INCONCLUSIVE, ... */
  readonly verdict: Verdict['kind'];
}

/** One authoritative server of the identity's zone, and which copy of the zone it serves. */
export interface NameserverReport {
  readonly server: string;
  /** Where it is listed: the parent's delegation (the registrar) and/or the zone's own NS records. */
  readonly listedBy: readonly ('parent' | 'zone')[];
  readonly serial?: number;
  readonly primary?: string;
}

export interface RecordReport {
  readonly name: string;
  readonly type: 'CNAME' | 'TXT';
  readonly expected: string;
  readonly findings: readonly Finding[];
  readonly answers: readonly AnswerReport[];
}

export interface IdentityReport {
  readonly identity: string;
  readonly region: string;
  readonly identityType: SesIdentity['type'];
  readonly health: Health;
  readonly sesStatus: DkimStatus | 'NONE';
  /** VerificationInfo.LastSuccessTimestamp: the revocation clock may have started right after it. */
  readonly sesLastSuccess?: string;
  /** VerificationInfo.LastCheckedTimestamp: when SES last looked at the records. */
  readonly sesLastChecked?: string;
  /** DkimAttributes.LastKeyGenerationTimestamp: when the current setup's keys were made. */
  readonly dkimSetupStartedAt?: string;
  readonly signingEnabled: boolean;
  /** DkimAttributes.SigningAttributesOrigin: AWS_SES (Easy DKIM), EXTERNAL (BYODKIM), AWS_SES_<REGION> (replica). */
  readonly signingOrigin?: string;
  readonly zone?: string;
  readonly inheritedFrom?: string;
  readonly records: readonly RecordReport[];
  /** Findings about the identity and its zone (SES status, delegation); record findings are per record. */
  readonly findings: readonly Finding[];
  /** Route 53 changes that would restore the records in the delegated hosted zone (a dry run). */
  readonly route53Changes?: readonly Route53ChangeBatch[];
  /** The zone's authoritative servers as probed (absent when the zone could not be found). */
  readonly nameservers?: readonly NameserverReport[];
  /** The findings grouped into root causes, worst first: what to fix, one change each. */
  readonly causes?: readonly RootCause[];
  /**
   * The custom MAIL FROM domain's MX and SPF records and SES's MAIL FROM status, with their own health
   * (never part of `health`, which is DKIM's). Absent when the identity has no custom MAIL FROM domain or
   * the check is off.
   */
  readonly mailFrom?: MailFromReport;
  /** The DMARC policy for mail From the identity's domain, with its own health. Absent when the check is off. */
  readonly dmarc?: DmarcReport;
}

/** The answers and zone view for one identity's records, as probed. */
export interface IdentityObservation {
  readonly zone: ZoneObservation;
  /** Answers per record name. */
  readonly answers: ReadonlyMap<string, readonly RecordAnswer[]>;
  /** The account's Route 53 hosted zones for the domain, when the Route 53 check runs. */
  readonly route53?: Route53Observation;
  /** What the probes saw of the MAIL FROM and DMARC records, when the plan has those checks. */
  readonly mailAuth?: MailAuthObservation;
}

function answerValues(answer: RecordAnswer): string[] {
  if (!isDefinitive(answer.outcome)) return answer.detail ? [answer.detail] : [];
  const values: string[] = [];
  if (answer.cname !== undefined) values.push(`CNAME ${answer.cname}`);
  for (const t of answer.txt ?? []) values.push(`TXT "${t}"`);
  values.push(...(answer.other ?? []));
  if (answer.doubled) values.push(...answer.doubled.values.map((v) => `${answer.doubled?.name}: ${v}`));
  if (answer.misnamed) values.push(...answer.misnamed.values.map((v) => `${answer.misnamed?.name}: ${v}`));
  return values;
}

/**
 * SES reports the SOA it last read (VerificationInfo.SOARecord). Compared with what each server serves now,
 * it shows which server SES was reading: the stale-provider incident in one sentence.
 */
function sesSoaEvidence(identity: SesIdentity, zone?: ZoneObservation): string {
  const saw = identity.verificationInfo?.soaRecord;
  if (!saw || !zone || saw.serialNumber === undefined) return '';
  const withSoa = zone.servers.filter((s) => s.soa);
  const same = withSoa.filter((s) => s.soa?.serial === saw.serialNumber);
  const different = withSoa.filter((s) => s.soa?.serial !== saw.serialNumber);
  const names = (list: typeof withSoa) => [...new Set(list.map((s) => serverLabel(s.server)))].join(', ');
  const sawText = `SES last read SOA serial ${saw.serialNumber}${saw.primaryNameServer ? ` (primary ${saw.primaryNameServer})` : ''}`;
  if (same.length > 0 && different.length > 0) {
    return ` ${sawText}: that is the zone ${names(same)} serves, while ${names(different)} serve${different.length === 1 ? 's' : ''} serial ${[...new Set(different.map((s) => s.soa?.serial))].join('/')}: SES is reading a server with different data.`;
  }
  if (same.length === 0 && different.length > 0) {
    return ` ${sawText}, which none of the servers now serving ${zone.zone} has (they serve ${[...new Set(different.map((s) => s.soa?.serial))].join('/')}): SES may be reading a server that is no longer listed, or has not rechecked since the last change.`;
  }
  return '';
}

function sesFindings(
  identity: SesIdentity,
  records: readonly ExpectedRecord[],
  zone: ZoneObservation | undefined,
  dnsVerified: boolean,
  dnssecBroken = false,
): Finding[] {
  const { dkim, region, name } = identity;
  // The first record listed is the one to look at: the caller puts a broken one first.
  const dig = records[0]
    ? digCommand(records[0].name, records[0].type)
    : sesv2Command('get-email-identity', name, region);
  const staleView = sesSoaEvidence(identity, zone);
  const error = identity.verificationInfo?.errorType ? ` SES error: ${identity.verificationInfo.errorType}.` : '';
  const lastSuccess = identity.verificationInfo?.lastSuccessTimestamp
    ? ` Last successful check: ${identity.verificationInfo.lastSuccessTimestamp}.`
    : '';
  const findings: Finding[] = [];
  if (!dkim.signingEnabled && dkim.status !== undefined && dkim.status !== 'NOT_STARTED') {
    findings.push({
      code: 'SIGNING_DISABLED',
      severity: 'info',
      message: `DKIM signing is turned off for ${name} in SES (${region}); mail goes out without your DKIM signature. To sign: ${sesv2Command('put-email-identity-dkim-attributes', name, region, ['--signing-enabled'])}`,
      servers: [],
      dig,
    });
  }
  switch (dkim.status) {
    case 'NOT_STARTED':
      findings.push({
        code: 'SIGNING_DISABLED',
        severity: 'info',
        message: `DKIM setup has not been started for ${name} in SES (${region}).`,
        servers: [],
        dig,
      });
      break;
    case 'PENDING':
      findings.push({
        code: 'SES_DKIM_PENDING',
        severity: 'info',
        message: `SES is still looking for the DKIM records of ${name} (${region}); it gives up after 72 hours and marks the setup FAILED. Publish every record listed here.${error}`,
        servers: [],
        dig,
      });
      break;
    case 'TEMPORARY_FAILURE':
      findings.push({
        code: 'SES_DKIM_TEMPORARY_FAILURE',
        severity: 'problem',
        message: `SES cannot find the DKIM records of ${name} (${region}) and has stopped signing; it revokes DKIM about 5 days after the failure began unless every record is back.${lastSuccess}${error}${staleView} ${
          dnsVerified
            ? 'Every record now checks out on every nameserver and resolver: SES should re-verify by itself within about 30 minutes; if it stays failed, look for a server SES may still be reading.'
            : dnssecBroken
              ? 'Fix the DNSSEC problem listed here: validating resolvers cannot read the records until it is fixed; SES rechecks by itself (about 30 minutes after a fix).'
              : 'Fix the records listed here; SES rechecks by itself (about 30 minutes after a fix).'
        }`,
        servers: [],
        dig,
      });
      break;
    case 'FAILED':
      findings.push({
        code: 'SES_DKIM_FAILED',
        severity: 'problem',
        message: `SES has revoked or failed the DKIM setup of ${name} (${region}): mail is not DKIM-signed and DMARC alignment fails.${error}${staleView} ${
          dnsVerified ? 'The records are correct now, so restart' : 'Publish every record listed here, then restart'
        } DKIM setup in SES (console: Authentication > Edit, or aws sesv2 put-email-identity-dkim-signing-attributes).`,
        servers: [],
        dig,
      });
      break;
    default:
      break;
  }
  if (records.length === 0 && dkim.status !== undefined && dkim.status !== 'NOT_STARTED') {
    findings.push({
      code: 'NO_DKIM_RECORDS',
      severity: 'inconclusive',
      message: `SES returned no DKIM tokens for ${name} and no parent domain identity in ${region} supplies them, so its records cannot be checked. Monitor the domain identity it signs with.`,
      servers: [],
      dig,
    });
  }
  return findings;
}

/** Health from SES's status and the severities of the findings. */
export function identityHealth(identity: SesIdentity, findings: readonly Finding[]): Health {
  const { status, signingEnabled } = identity.dkim;
  if (status === 'FAILED') return 'REVOKED';
  if (!signingEnabled || status === undefined || status === 'NOT_STARTED') return 'DISABLED';
  if (status === 'TEMPORARY_FAILURE') return 'FAILING';
  // PENDING with a definite DNS error is at risk too: SES fails the setup after 72 hours.
  if (findings.some((f) => f.severity === 'problem' && !f.code.startsWith('SES_'))) return 'AT_RISK';
  if (status === 'PENDING') return 'PENDING';
  if (findings.some((f) => f.severity === 'problem')) return 'AT_RISK';
  if (findings.some((f) => f.severity === 'inconclusive')) return 'UNKNOWN';
  return 'HEALTHY';
}

/**
 * Turn one identity's plan and what the probes saw into its report. Pure.
 * @param mailAuth what the MAIL FROM and DMARC probes saw, for an identity whose DKIM was not probed (no
 *   records, so no `observation`); otherwise `observation.mailAuth` is used.
 */
export function assessIdentity(
  plan: DkimPlan,
  observation: IdentityObservation | undefined,
  mailAuth: MailAuthObservation | undefined = observation?.mailAuth,
): IdentityReport {
  const { identity, records } = plan;
  const zone = observation?.zone;
  const serials = new Map<string, number>();
  const primaries = new Map<string, string>();
  for (const s of zone?.servers ?? []) {
    if (!s.soa) continue;
    serials.set(serverLabel(s.server), s.soa.serial);
    primaries.set(serverLabel(s.server), s.soa.mname);
  }
  const dnssec = zone?.zone && zone.dnssec ? diagnoseDnssec(zone.zone, zone.dnssec) : undefined;
  const recordReports: RecordReport[] = records.map((expected) => {
    const answers = observation?.answers.get(expected.name) ?? [];
    const siblings = new Map(records.filter((r) => r.name !== expected.name).map((r) => [r.value, r.name]));
    const explained = answers.filter(
      (a) =>
        a.server.view === 'public' &&
        a.outcome === 'SERVFAIL' &&
        dnssec?.explainsServfail(expected.name, serverLabel(a.server)),
    );
    return {
      name: expected.name,
      type: expected.type,
      expected: expected.value,
      // A resolver's SERVFAIL that a definite DNSSEC fault explains is that fault (reported for the zone),
      // not an inconclusive lookup: it must not keep the identity UNKNOWN.
      findings: diagnoseRecord(
        expected,
        answers.filter((a) => !explained.includes(a)),
        { zone: zone?.zone, serials, primaries, siblings },
      ),
      answers: answers.map((a) => ({
        server: serverLabel(a.server),
        view: a.server.view,
        rcode: a.rcode,
        values: answerValues(a),
        verdict: classifyAnswer(expected, a).kind,
      })),
    };
  });
  const broken = records.filter((_, i) => recordReports[i]?.findings.some((f) => f.severity === 'problem'));
  const route53 =
    zone && observation?.route53 && records[0]
      ? diagnoseRoute53(records[0].domain, records, zone, observation.route53)
      : { findings: [], changes: [] };
  const findings = [
    ...sesFindings(
      identity,
      [...broken, ...records.filter((r) => !broken.includes(r))],
      zone,
      records.length > 0 &&
        recordReports.every((r) => r.findings.length === 0) &&
        !dnssec?.findings.some((f) => f.severity === 'problem'),
      dnssec?.findings.some((f) => f.severity === 'problem'),
    ),
    ...(zone ? diagnoseZone(zone) : []),
    ...(dnssec?.findings ?? []),
    ...route53.findings,
  ];
  const all = [...findings, ...recordReports.flatMap((r) => r.findings)];
  const nameservers: NameserverReport[] | undefined = zone?.zone
    ? zone.servers.map((s) => ({
        server: serverLabel(s.server),
        listedBy: s.listedBy,
        ...(s.soa ? { serial: s.soa.serial, primary: s.soa.mname } : {}),
      }))
    : undefined;
  const health = identityHealth(identity, all);
  // After the DKIM health, and never part of it: DMARC's verdict reads it.
  const mailAuthReport = plan.mailAuth ? assessMailAuth(plan.mailAuth, identity, mailAuth, health) : {};
  const report: IdentityReport = {
    identity: identity.name,
    region: identity.region,
    identityType: identity.type,
    health,
    sesStatus: identity.dkim.status ?? 'NONE',
    sesLastSuccess: identity.verificationInfo?.lastSuccessTimestamp,
    sesLastChecked: identity.verificationInfo?.lastCheckedTimestamp,
    dkimSetupStartedAt: identity.dkim.lastKeyGeneration,
    signingEnabled: identity.dkim.signingEnabled,
    ...(identity.dkim.origin ? { signingOrigin: identity.dkim.origin } : {}),
    zone: zone?.zone,
    inheritedFrom: plan.inheritedFrom,
    records: recordReports,
    findings,
    ...(route53.changes.length > 0 ? { route53Changes: route53.changes } : {}),
    ...(nameservers ? { nameservers } : {}),
    ...mailAuthReport,
  };
  return { ...report, causes: rootCauses(report) };
}
