import { describe, expect, it } from 'vitest';
import { checkDkimKey } from '../../lambda/domain/dkim-key';

const P = Buffer.alloc(270, 3).toString('base64');

describe('checkDkimKey', () => {
  const cases: [string, string[], boolean, string?][] = [
    ['a complete RSA key', [`v=DKIM1; k=rsa; p=${P}`], true],
    ['a key with only p=', [`p=${P}`], true],
    ['a key with spaces inside p=', [`v=DKIM1; p=${P.slice(0, 100)} ${P.slice(100)}`], true],
    ['an ed25519 key', ['v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo='], true],
    ['no record', [], false, 'there is no TXT record'],
    ['an SPF record', ['v=spf1 include:amazonses.com ~all'], false, 'not a DKIM key'],
    ['a revoked key', ['v=DKIM1; k=rsa; p='], false, 'revoked'],
    ['two keys', [`p=${P}`, `p=${P}`], false, '2 DKIM key records'],
    ['a wrong version', [`v=DKIM2; p=${P}`], false, 'v=DKIM2'],
    ['a truncated key', [`v=DKIM1; p=${P.slice(0, -3)}`], false, 'base64'],
    ['a key with a stray character', [`v=DKIM1; p=${P.slice(0, 50)}!${P.slice(51)}`], false, 'base64'],
    ['a key too short for RSA', ['v=DKIM1; p=AAAA'], false, 'too short'],
    ['an unknown key type', [`v=DKIM1; k=dsa; p=${P}`], false, 'k=dsa'],
  ];
  it.each(cases)('%s', (_label, records, valid, reason) => {
    const result = checkDkimKey(records);
    expect(result.valid).toBe(valid);
    if (!result.valid) expect(result.reason).toContain(reason);
  });
});
