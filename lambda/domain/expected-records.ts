import { organizationalDomain } from './dmarc';
import { emailDomain, isAtOrBelow, normalizeName, parentName } from './dns-name';
import type { MailFromStatus, MxFailureBehavior, SesIdentity } from './ses-identity';

/** One DNS record that must exist for SES to keep signing. */
export interface ExpectedRecord {
  /** `<token>._domainkey.<domain>`, normalized. */
  readonly name: string;
  readonly type: 'CNAME' | 'TXT';
  /** Easy DKIM: the CNAME target. BYODKIM: a description of the TXT value (a DKIM key with a non-empty p=). */
  readonly value: string;
  readonly kind: 'EASY_DKIM' | 'BYODKIM';
  /** The domain whose DKIM the record serves. */
  readonly domain: string;
}

/**
 * Regions whose Easy DKIM CNAMEs point at `dkim.<region>.amazonses.com` instead of `dkim.amazonses.com`.
 * Used only when SES does not return `SigningHostedZone` (older SDKs and responses).
 * https://docs.aws.amazon.com/general/latest/gr/ses.html (Easy DKIM domains)
 */
export const REGIONAL_SIGNING_ZONE_REGIONS: ReadonlySet<string> = new Set([
  'af-south-1',
  'ap-northeast-3',
  'ap-south-2',
  'ap-southeast-3',
  'ap-southeast-5',
  'ca-west-1',
  'eu-central-2',
  'eu-south-1',
  'il-central-1',
  'me-central-1',
  'us-gov-east-1',
]);

/** The region whose keys sign for the identity: a DEED replica (`AWS_SES_EU_WEST_1`) uses its parent's. */
export function signingRegion(identity: SesIdentity): string {
  const origin = identity.dkim.origin;
  if (origin?.startsWith('AWS_SES_')) return origin.slice('AWS_SES_'.length).toLowerCase().replace(/_/g, '-');
  return identity.region;
}

/** The zone the Easy DKIM CNAMEs must point into. */
export function signingHostedZone(identity: SesIdentity): string {
  if (identity.dkim.signingHostedZone) return normalizeName(identity.dkim.signingHostedZone);
  const region = signingRegion(identity);
  return REGIONAL_SIGNING_ZONE_REGIONS.has(region) ? `dkim.${region}.amazonses.com` : 'dkim.amazonses.com';
}

/** The domain an identity's DKIM records live under. */
export function dkimDomain(identity: SesIdentity): string {
  return identity.type === 'EMAIL_ADDRESS' ? emailDomain(identity.name) : normalizeName(identity.name);
}

/** A BYODKIM identity publishes its own key; SES only knows the selector. */
export function isByoDkim(identity: SesIdentity): boolean {
  return identity.dkim.origin === 'EXTERNAL';
}

/** The records this identity's own SES DKIM settings require (none when it has no tokens). */
export function expectedDkimRecords(identity: SesIdentity): ExpectedRecord[] {
  const domain = dkimDomain(identity);
  if (isByoDkim(identity)) {
    return identity.dkim.tokens.map((selector) => ({
      name: `${selector.toLowerCase()}._domainkey.${domain}`,
      type: 'TXT',
      value: 'v=DKIM1; k=rsa; p=<your public key>',
      kind: 'BYODKIM',
      domain,
    }));
  }
  const zone = signingHostedZone(identity);
  return identity.dkim.tokens.map((token) => ({
    name: `${token.toLowerCase()}._domainkey.${domain}`,
    type: 'CNAME',
    value: `${token.toLowerCase()}.${zone}`,
    kind: 'EASY_DKIM',
    domain,
  }));
}

/** What one identity's DKIM depends on: its own records, or those of the domain it inherits DKIM from. */
export interface DkimPlan {
  readonly identity: SesIdentity;
  readonly records: readonly ExpectedRecord[];
  /** Set when the records belong to another identity (an email address or subdomain inheriting DKIM). */
  readonly inheritedFrom?: string;
  /** The MAIL FROM and DMARC lookups, when those checks run ({@link withMailAuthPlans}). */
  readonly mailAuth?: MailAuthPlan;
}

/**
 * Pair every identity with the records its DKIM depends on. Email addresses and subdomains without DKIM
 * tokens of their own inherit from the nearest parent domain identity in the same region (SES: "the
 * setting of the most specific identity wins").
 */
export function planDkimChecks(identities: readonly SesIdentity[]): DkimPlan[] {
  const withTokens = new Map<string, SesIdentity>();
  for (const identity of identities) {
    if (identity.type !== 'EMAIL_ADDRESS' && identity.dkim.tokens.length > 0) {
      withTokens.set(`${identity.region}|${normalizeName(identity.name)}`, identity);
    }
  }
  return identities.map((identity) => {
    if (identity.dkim.tokens.length > 0) return { identity, records: expectedDkimRecords(identity) };
    let domain = identity.type === 'EMAIL_ADDRESS' ? dkimDomain(identity) : parentName(dkimDomain(identity));
    while (domain.includes('.')) {
      const parent = withTokens.get(`${identity.region}|${domain}`);
      if (parent && isAtOrBelow(dkimDomain(identity), domain)) {
        return { identity, records: expectedDkimRecords(parent), inheritedFrom: parent.name };
      }
      domain = parentName(domain);
    }
    return { identity, records: [] };
  });
}

/** The MAIL FROM and DMARC checks are each optional (both on by default). */
export interface MailAuthCheckOptions {
  /** Check the custom MAIL FROM domain's MX and SPF records. @default true */
  readonly checkMailFrom?: boolean;
  /** Check the DMARC record that applies to the identity's domain. @default true */
  readonly checkDmarc?: boolean;
}

/** One lookup of the MAIL FROM and DMARC checks. */
export interface MailAuthLookup {
  readonly name: string;
  readonly type: 'MX' | 'TXT';
}

/** A custom MAIL FROM domain and the two records SES and receivers need at it. */
export interface MailFromPlan {
  readonly domain: string;
  readonly status: MailFromStatus;
  readonly behaviorOnMxFailure: MxFailureBehavior;
  /** `feedback-smtp.<region>.amazonses.com`: the one MX host SES expects, priority 10. */
  readonly mxHost: string;
  readonly lookups: readonly [MailAuthLookup, MailAuthLookup];
}

/** The DMARC records that decide the policy for mail From the identity's domain. */
export interface DmarcPlan {
  /** The RFC5322.From domain the identity sends as (an address identity: its domain). */
  readonly domain: string;
  readonly organizationalDomain: string;
  /** `_dmarc.<domain>`, then `_dmarc.<organizational domain>` when they differ (RFC 7489 §6.6.3). */
  readonly lookups: readonly MailAuthLookup[];
}

/** What one identity's MAIL FROM and DMARC checks look up; each part absent when not checked. */
export interface MailAuthPlan {
  readonly mailFrom?: MailFromPlan;
  readonly dmarc?: DmarcPlan;
}

/** The MX host SES expects at a custom MAIL FROM domain of an identity in `region`. */
export function mailFromMxHost(region: string): string {
  return `feedback-smtp.${region}.amazonses.com`;
}

/**
 * The MAIL FROM and DMARC lookups one identity needs. MAIL FROM is planned only for an identity with a
 * custom MAIL FROM domain (SES's own needs nothing from the user); DMARC for every identity, at the From
 * domain and at its Organizational Domain.
 */
export function planMailAuthChecks(identity: SesIdentity, options: MailAuthCheckOptions = {}): MailAuthPlan {
  const { checkMailFrom = true, checkDmarc = true } = options;
  const mailFrom = identity.mailFrom;
  const domain = dkimDomain(identity);
  const orgDomain = organizationalDomain(domain);
  return {
    ...(checkMailFrom && mailFrom
      ? {
          mailFrom: {
            domain: mailFrom.domain,
            status: mailFrom.status,
            behaviorOnMxFailure: mailFrom.behaviorOnMxFailure,
            mxHost: mailFromMxHost(identity.region),
            lookups: [
              { name: mailFrom.domain, type: 'MX' },
              { name: mailFrom.domain, type: 'TXT' },
            ],
          },
        }
      : {}),
    ...(checkDmarc
      ? {
          dmarc: {
            domain,
            organizationalDomain: orgDomain,
            lookups: [...new Set([domain, orgDomain])].map((d) => ({ name: `_dmarc.${d}`, type: 'TXT' as const })),
          },
        }
      : {}),
  };
}

/**
 * Add each identity's MAIL FROM and DMARC lookups to its DKIM plan (`planDkimChecks(...)` then this). With
 * both checks off the plans come back as they were.
 */
export function withMailAuthPlans(plans: readonly DkimPlan[], options: MailAuthCheckOptions = {}): DkimPlan[] {
  return plans.map((plan) => {
    const mailAuth = planMailAuthChecks(plan.identity, options);
    return mailAuth.mailFrom || mailAuth.dmarc ? { ...plan, mailAuth } : plan;
  });
}
