import { readFile } from 'node:fs/promises';
import { isRegionName, parseSesIdentity, type SesIdentity } from '../domain/ses-identity';
import type { DiscoveryError, IdentitySource } from '../ports';

/** The identities file could not be used; the message is one line naming the file, the item and the value. */
export class IdentitiesFileError extends Error {
  override readonly name = 'IdentitiesFileError';
}

/**
 * Parse an identities file: a JSON array of objects shaped like `aws sesv2 get-email-identity` output,
 * each with `IdentityName` and optionally `Region` (else `defaultRegion`).
 */
export function parseIdentitiesFile(text: string, file: string, defaultRegion: string | undefined): SesIdentity[] {
  let parsed: unknown;
  try {
    // Editors on Windows save UTF-8 with a byte order mark; JSON.parse would reject it as an invisible character.
    parsed = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (error) {
    throw new IdentitiesFileError(`${file}: not valid JSON (${(error as Error).message})`);
  }
  if (!Array.isArray(parsed)) {
    throw new IdentitiesFileError(`${file}: expected a JSON array of GetEmailIdentity objects, got ${typeof parsed}`);
  }
  const seen = new Set<string>();
  return parsed.map((item: unknown, index) => {
    const where = `${file} item ${index + 1}`;
    // The item itself first: a null or a string is wrong whatever the region says.
    if (typeof item !== 'object' || item === null || Array.isArray(item)) {
      throw new IdentitiesFileError(
        `${where}: expected a GetEmailIdentity object with IdentityName, got ${item === null ? 'null' : Array.isArray(item) ? 'an array' : JSON.stringify(item)}`,
      );
    }
    const record = item as Record<string, unknown>;
    const region = record.Region ?? defaultRegion;
    if (region === undefined) {
      throw new IdentitiesFileError(`${where}: no Region, and neither --region nor AWS_REGION is set`);
    }
    if (typeof region !== 'string' || !isRegionName(region)) {
      throw new IdentitiesFileError(
        `${where}: Region must be an AWS region name like eu-west-1, got ${JSON.stringify(region)}`,
      );
    }
    const identity = parseSesIdentity(item, record.IdentityName, region, where);
    const key = `${identity.region}|${identity.name}`;
    if (seen.has(key))
      throw new IdentitiesFileError(`${where}: ${identity.name} in ${identity.region} is listed twice`);
    seen.add(key);
    return identity;
  });
}

/** Identities from a file instead of SES (offline checks, the demo, other accounts' exports). */
export class IdentitiesFileSource implements IdentitySource {
  constructor(
    private readonly file: string,
    private readonly defaultRegion: string | undefined,
  ) {}

  async listIdentities(): Promise<{ identities: SesIdentity[]; errors: DiscoveryError[] }> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (error) {
      throw new IdentitiesFileError(
        `${this.file}: cannot read the identities file (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
      );
    }
    return { identities: parseIdentitiesFile(text, this.file, this.defaultRegion), errors: [] };
  }
}
