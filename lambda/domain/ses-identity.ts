/**
 * The SES v2 `GetEmailIdentity` response, reduced to what DKIM monitoring needs, and validated. The same
 * parser serves the SES adapter and the CLI's `--identities` file, so both reject the same bad input with
 * the same words. Field names and enum strings: SES v2 API reference (see docs in README).
 */

export const IDENTITY_TYPES = ['EMAIL_ADDRESS', 'DOMAIN', 'MANAGED_DOMAIN'] as const;
export type IdentityType = (typeof IDENTITY_TYPES)[number];

export const DKIM_STATUSES = ['PENDING', 'SUCCESS', 'FAILED', 'TEMPORARY_FAILURE', 'NOT_STARTED'] as const;
export type DkimStatus = (typeof DKIM_STATUSES)[number];

export const MAIL_FROM_STATUSES = ['PENDING', 'SUCCESS', 'FAILED', 'TEMPORARY_FAILURE'] as const;
/** `MailFromAttributes.MailFromDomainStatus` (v2 spelling; v1's CamelCase is normalized to it). */
export type MailFromStatus = (typeof MAIL_FROM_STATUSES)[number];

export const MX_FAILURE_BEHAVIORS = ['USE_DEFAULT_VALUE', 'REJECT_MESSAGE'] as const;
/** `MailFromAttributes.BehaviorOnMxFailure`: what SES does while the MAIL FROM status is not SUCCESS. */
export type MxFailureBehavior = (typeof MX_FAILURE_BEHAVIORS)[number];

/** An identity's custom MAIL FROM domain as SES reports it. */
export interface SesMailFrom {
  readonly domain: string;
  readonly status: MailFromStatus;
  readonly behaviorOnMxFailure: MxFailureBehavior;
}

/** What SES last saw of the zone (VerificationInfo.SOARecord). */
export interface SesSoaRecord {
  readonly primaryNameServer?: string;
  readonly adminEmail?: string;
  readonly serialNumber?: number;
}

export interface SesVerificationInfo {
  readonly lastCheckedTimestamp?: string;
  readonly lastSuccessTimestamp?: string;
  readonly errorType?: string;
  readonly soaRecord?: SesSoaRecord;
}

/** One SES identity in one region, as the domain logic sees it. */
export interface SesIdentity {
  readonly name: string;
  readonly region: string;
  readonly type: IdentityType;
  readonly dkim: {
    readonly signingEnabled: boolean;
    /** Absent when SES returns no DKIM attributes (e.g. an email identity without DKIM of its own). */
    readonly status?: DkimStatus;
    readonly tokens: readonly string[];
    /** `AWS_SES` (Easy DKIM), `EXTERNAL` (BYODKIM) or `AWS_SES_<REGION>` (replica of a parent identity). */
    readonly origin?: string;
    readonly signingHostedZone?: string;
    /** LastKeyGenerationTimestamp: when the current keys (and so a restarted setup) were made. */
    readonly lastKeyGeneration?: string;
  };
  readonly verificationInfo?: SesVerificationInfo;
  /** The custom MAIL FROM domain; absent when the identity uses SES's own (the default). */
  readonly mailFrom?: SesMailFrom;
}

/** Thrown for input that is not a GetEmailIdentity-shaped object; the message is one line for the user. */
export class InvalidIdentityError extends Error {
  override readonly name = 'InvalidIdentityError';
}

import { isValidDomainName } from './dns-name';

const REGION = /^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d+$/;

/** Whether `region` looks like an AWS region name (`eu-west-1`, `us-gov-east-1`). */
export function isRegionName(region: string): boolean {
  return REGION.test(region);
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function optionalString(obj: Record<string, unknown>, key: string, where: string): string | undefined {
  const value = obj[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value;
  if (value instanceof Date) return value.toISOString();
  throw new InvalidIdentityError(`${where}: ${key} must be a string, got ${describe(value)}`);
}

function oneOf<T extends string>(
  obj: Record<string, unknown>,
  key: string,
  allowed: readonly T[],
  where: string,
): T | undefined {
  const value = obj[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
  throw new InvalidIdentityError(`${where}: ${key} must be one of ${allowed.join(', ')}, got ${describe(value)}`);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Validate one `GetEmailIdentity`-shaped object plus its name and region.
 * @param where how to name this object in an error message (e.g. `identities.json item 3`)
 */
export function parseSesIdentity(raw: unknown, name: unknown, region: string, where: string): SesIdentity {
  if (!isObject(raw)) throw new InvalidIdentityError(`${where}: expected an object, got ${describe(raw)}`);
  if (typeof name !== 'string' || name.trim() === '') {
    throw new InvalidIdentityError(`${where}: IdentityName must be a non-empty string, got ${describe(name)}`);
  }
  const at = `${where} (${name})`;
  const domain = name
    .slice(name.lastIndexOf('@') + 1)
    .trim()
    .replace(/\.$/, '')
    .toLowerCase();
  if (!isValidDomainName(domain)) {
    throw new InvalidIdentityError(
      `${where}: IdentityName must be a domain name or an email address (internationalized names in xn-- form), got ${describe(name)}`,
    );
  }
  if (!isRegionName(region)) {
    throw new InvalidIdentityError(`${at}: Region must be an AWS region name like eu-west-1, got ${describe(region)}`);
  }
  const type = oneOf(raw, 'IdentityType', IDENTITY_TYPES, at) ?? (name.includes('@') ? 'EMAIL_ADDRESS' : 'DOMAIN');
  const dkimRaw = raw.DkimAttributes;
  if (dkimRaw !== undefined && dkimRaw !== null && !isObject(dkimRaw)) {
    throw new InvalidIdentityError(`${at}: DkimAttributes must be an object, got ${describe(dkimRaw)}`);
  }
  const dkim = isObject(dkimRaw) ? dkimRaw : {};
  const tokensRaw = dkim.Tokens ?? [];
  if (!Array.isArray(tokensRaw) || !tokensRaw.every((t) => typeof t === 'string' && /^[A-Za-z0-9_-]{1,63}$/.test(t))) {
    throw new InvalidIdentityError(
      `${at}: DkimAttributes.Tokens must be a list of DNS labels (letters, digits, '-', '_'), got ${describe(tokensRaw)}`,
    );
  }
  const signing = dkim.SigningEnabled;
  if (signing !== undefined && typeof signing !== 'boolean') {
    throw new InvalidIdentityError(
      `${at}: DkimAttributes.SigningEnabled must be true or false, got ${describe(signing)}`,
    );
  }
  const status = oneOf(dkim, 'Status', DKIM_STATUSES, `${at}: DkimAttributes`);
  const origin = optionalString(dkim, 'SigningAttributesOrigin', `${at}: DkimAttributes`);
  if (origin !== undefined && !/^(AWS_SES|EXTERNAL|AWS_SES_[A-Z0-9_]+)$/.test(origin)) {
    throw new InvalidIdentityError(
      `${at}: DkimAttributes.SigningAttributesOrigin must be AWS_SES, EXTERNAL or AWS_SES_<REGION>, got ${describe(origin)}`,
    );
  }
  const signingHostedZone = optionalString(dkim, 'SigningHostedZone', `${at}: DkimAttributes`);
  const lastKeyGeneration = optionalString(dkim, 'LastKeyGenerationTimestamp', `${at}: DkimAttributes`);
  const infoRaw = raw.VerificationInfo;
  let verificationInfo: SesVerificationInfo | undefined;
  if (isObject(infoRaw)) {
    const soa = isObject(infoRaw.SOARecord) ? infoRaw.SOARecord : undefined;
    verificationInfo = {
      lastCheckedTimestamp: optionalString(infoRaw, 'LastCheckedTimestamp', `${at}: VerificationInfo`),
      lastSuccessTimestamp: optionalString(infoRaw, 'LastSuccessTimestamp', `${at}: VerificationInfo`),
      errorType: optionalString(infoRaw, 'ErrorType', `${at}: VerificationInfo`),
      soaRecord: soa && {
        primaryNameServer: optionalString(soa, 'PrimaryNameServer', `${at}: SOARecord`),
        adminEmail: optionalString(soa, 'AdminEmail', `${at}: SOARecord`),
        serialNumber: typeof soa.SerialNumber === 'number' ? soa.SerialNumber : undefined,
      },
    };
  }
  const mailFrom = parseMailFromAttributes(raw.MailFromAttributes, at);
  return {
    name: name.trim().toLowerCase().replace(/\.+$/, ''),
    region,
    type,
    dkim: {
      signingEnabled: signing ?? false,
      status,
      tokens: tokensRaw as string[],
      origin,
      signingHostedZone,
      ...(lastKeyGeneration ? { lastKeyGeneration } : {}),
    },
    verificationInfo,
    ...(mailFrom ? { mailFrom } : {}),
  };
}

/**
 * `MailFromAttributes` of GetEmailIdentity. No domain (absent, null or empty) means SES's own MAIL FROM;
 * a domain that is not a DNS name, or an unknown status, is bad input.
 */
function parseMailFromAttributes(raw: unknown, at: string): SesMailFrom | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (!isObject(raw))
    throw new InvalidIdentityError(`${at}: MailFromAttributes must be an object, got ${describe(raw)}`);
  const where = `${at}: MailFromAttributes`;
  const domain = optionalString(raw, 'MailFromDomain', where);
  if (domain === undefined || domain.trim() === '') return undefined;
  const normalized = domain.trim().replace(/\.$/, '').toLowerCase();
  if (!isValidDomainName(normalized)) {
    throw new InvalidIdentityError(`${where}.MailFromDomain must be a domain name, got ${describe(domain)}`);
  }
  const status = oneOf(raw, 'MailFromDomainStatus', MAIL_FROM_STATUSES, where);
  if (status === undefined) {
    throw new InvalidIdentityError(
      `${where}.MailFromDomainStatus must be one of ${MAIL_FROM_STATUSES.join(', ')}, got nothing`,
    );
  }
  // The API marks it required; SES's own default, USE_DEFAULT_VALUE, stands in when a file leaves it out.
  const behavior = oneOf(raw, 'BehaviorOnMxFailure', MX_FAILURE_BEHAVIORS, where) ?? 'USE_DEFAULT_VALUE';
  return { domain: normalized, status, behaviorOnMxFailure: behavior };
}

/** One entry of v1 `GetIdentityMailFromDomainAttributes`' `MailFromDomainAttributes` map. */
export interface SesV1MailFromAttributes {
  readonly MailFromDomain?: string;
  readonly MailFromDomainStatus?: string;
  readonly BehaviorOnMXFailure?: string;
}

const V1_MAIL_FROM_STATUS: Readonly<Record<string, MailFromStatus>> = {
  Pending: 'PENDING',
  Success: 'SUCCESS',
  Failed: 'FAILED',
  TemporaryFailure: 'TEMPORARY_FAILURE',
};
const V1_MX_FAILURE: Readonly<Record<string, MxFailureBehavior>> = {
  UseDefaultValue: 'USE_DEFAULT_VALUE',
  RejectMessage: 'REJECT_MESSAGE',
};

/**
 * Put the results of SES v1 `GetIdentityMailFromDomainAttributes` (up to 100 identities a call; CamelCase
 * enums `Pending | Success | Failed | TemporaryFailure` and `UseDefaultValue | RejectMessage`, field
 * `BehaviorOnMXFailure`) on the identities they describe, in the v2 spelling. Map keys match identity names
 * case-insensitively. An identity the map leaves out keeps what it had (unknown is never "no MAIL FROM");
 * one the map lists without a domain gets none. A value that is not a domain or not a known enum string is
 * bad input: an {@link InvalidIdentityError} naming the identity and the value.
 * @param region the region the map was read in: identities of other regions are left as they are.
 */
export function applyMailFromAttributes(
  identities: readonly SesIdentity[],
  attributes: Readonly<Record<string, SesV1MailFromAttributes | undefined>>,
  region: string,
): SesIdentity[] {
  const byName = new Map(Object.entries(attributes).map(([k, v]) => [k.trim().toLowerCase().replace(/\.+$/, ''), v]));
  return identities.map((identity) => {
    if (identity.region !== region || !byName.has(identity.name)) return identity;
    const entry = byName.get(identity.name);
    const at = `GetIdentityMailFromDomainAttributes (${identity.name}, ${region})`;
    if (!isObject(entry)) throw new InvalidIdentityError(`${at}: expected an object, got ${describe(entry)}`);
    const status = entry.MailFromDomainStatus;
    const behavior = entry.BehaviorOnMXFailure;
    const v2 = parseMailFromAttributes(
      {
        MailFromDomain: entry.MailFromDomain,
        MailFromDomainStatus: typeof status === 'string' ? (V1_MAIL_FROM_STATUS[status] ?? status) : status,
        BehaviorOnMxFailure: typeof behavior === 'string' ? (V1_MX_FAILURE[behavior] ?? behavior) : behavior,
      },
      at,
    );
    const { mailFrom: _dropped, ...rest } = identity;
    return v2 ? { ...rest, mailFrom: v2 } : rest;
  });
}
