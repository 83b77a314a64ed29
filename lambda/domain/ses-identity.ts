/**
 * The SES v2 `GetEmailIdentity` response, reduced to what DKIM monitoring needs, and validated. The same
 * parser serves the SES adapter and the CLI's `--identities` file, so both reject the same bad input with
 * the same words. Field names and enum strings: SES v2 API reference (see docs in README).
 */

export const IDENTITY_TYPES = ['EMAIL_ADDRESS', 'DOMAIN', 'MANAGED_DOMAIN'] as const;
export type IdentityType = (typeof IDENTITY_TYPES)[number];

export const DKIM_STATUSES = ['PENDING', 'SUCCESS', 'FAILED', 'TEMPORARY_FAILURE', 'NOT_STARTED'] as const;
export type DkimStatus = (typeof DKIM_STATUSES)[number];

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
  };
}
