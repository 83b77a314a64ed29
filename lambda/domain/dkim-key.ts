/**
 * Checks a DKIM key record (RFC 6376 §3.6.1) the way a receiver would read it.
 */

export type DkimKeyCheck = { readonly valid: true } | { readonly valid: false; readonly reason: string };

/** Parse `tag=value; tag=value` into a map (tags lower-cased, whitespace removed from values). */
export function parseDkimTags(text: string): Map<string, string> {
  const tags = new Map<string, string>();
  for (const part of text.split(';')) {
    const eq = part.indexOf('=');
    if (eq === -1) continue;
    const tag = part.slice(0, eq).trim().toLowerCase();
    if (tag && !tags.has(tag)) tags.set(tag, part.slice(eq + 1).replace(/\s+/g, ''));
  }
  return tags;
}

/**
 * Whether the TXT records at a DKIM name hold exactly one usable key.
 * @param records TXT records at the name, each with its character-strings already joined
 */
export function checkDkimKey(records: readonly string[]): DkimKeyCheck {
  const keys = records.filter((r) => /(^|;)\s*(v\s*=\s*DKIM1|p\s*=)/i.test(r));
  if (keys.length === 0) {
    return records.length === 0
      ? { valid: false, reason: 'there is no TXT record' }
      : { valid: false, reason: 'the TXT record is not a DKIM key (no p= tag)' };
  }
  if (keys.length > 1) return { valid: false, reason: `${keys.length} DKIM key records: receivers cannot choose` };
  const tags = parseDkimTags(keys[0] ?? '');
  const version = tags.get('v');
  if (version !== undefined && version !== 'DKIM1') return { valid: false, reason: `v=${version} is not DKIM1` };
  const keyType = tags.get('k') ?? 'rsa';
  if (keyType !== 'rsa' && keyType !== 'ed25519') return { valid: false, reason: `k=${keyType} is not rsa or ed25519` };
  const p = tags.get('p');
  if (p === undefined) return { valid: false, reason: 'the key has no p= tag' };
  if (p === '') return { valid: false, reason: 'p= is empty: the key is revoked' };
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(p) || p.length % 4 !== 0) {
    return { valid: false, reason: 'p= is not valid base64 (a character was lost or added when pasting?)' };
  }
  // An RSA public key under 1024 bits is under ~160 base64 characters; SES BYODKIM needs at least 1024.
  if (keyType === 'rsa' && p.length < 160)
    return { valid: false, reason: `p= is too short for an RSA key (${p.length} characters)` };
  return { valid: true };
}
