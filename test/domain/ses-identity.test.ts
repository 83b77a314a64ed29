import { describe, expect, it } from 'vitest';
import { InvalidIdentityError, parseSesIdentity } from '../../lambda/domain/ses-identity';

const VALID = {
  IdentityType: 'DOMAIN',
  VerificationStatus: 'SUCCESS',
  DkimAttributes: {
    SigningEnabled: true,
    Status: 'SUCCESS',
    Tokens: ['a', 'b', 'c'],
    SigningAttributesOrigin: 'AWS_SES',
  },
};

describe('parseSesIdentity', () => {
  it('reads a GetEmailIdentity response, including Date timestamps from the SDK', () => {
    const identity = parseSesIdentity(
      {
        ...VALID,
        VerificationInfo: {
          LastSuccessTimestamp: new Date('2026-11-20T02:12:51Z'),
          SOARecord: { PrimaryNameServer: 'ns1.example.com', SerialNumber: 7 },
        },
      },
      'Example.com.',
      'eu-west-1',
      'item 1',
    );

    expect(identity).toMatchObject({
      name: 'example.com',
      type: 'DOMAIN',
      dkim: { signingEnabled: true, status: 'SUCCESS', tokens: ['a', 'b', 'c'] },
      verificationInfo: { lastSuccessTimestamp: '2026-11-20T02:12:51.000Z', soaRecord: { serialNumber: 7 } },
    });
  });

  it('treats an identity without DkimAttributes as having no DKIM', () => {
    const identity = parseSesIdentity({ IdentityType: 'EMAIL_ADDRESS' }, 'a@example.com', 'eu-west-1', 'item 1');

    expect(identity.dkim).toEqual({
      signingEnabled: false,
      status: undefined,
      tokens: [],
      origin: undefined,
      signingHostedZone: undefined,
    });
  });

  const bad: [string, unknown, unknown, string, string][] = [
    ['not an object', 'example.com', 'example.com', 'eu-west-1', 'item 1: expected an object, got "example.com"'],
    ['no name', VALID, undefined, 'eu-west-1', 'item 1: IdentityName must be a non-empty string, got nothing'],
    [
      'a name with a space',
      VALID,
      'exa mple.com',
      'eu-west-1',
      'IdentityName must be a domain name or an email address (internationalized names in xn-- form), got "exa mple.com"',
    ],
    ['an email with no domain', VALID, 'ops@', 'eu-west-1', 'IdentityName must be a domain name or an email address'],
    [
      'a bad region',
      VALID,
      'example.com',
      'Ireland',
      'Region must be an AWS region name like eu-west-1, got "Ireland"',
    ],
    [
      'a bad identity type',
      { ...VALID, IdentityType: 'DOMAINS' },
      'example.com',
      'eu-west-1',
      'IdentityType must be one of EMAIL_ADDRESS, DOMAIN, MANAGED_DOMAIN, got "DOMAINS"',
    ],
    [
      'a bad status',
      { ...VALID, DkimAttributes: { ...VALID.DkimAttributes, Status: 'OK' } },
      'example.com',
      'eu-west-1',
      'Status must be one of PENDING, SUCCESS, FAILED, TEMPORARY_FAILURE, NOT_STARTED, got "OK"',
    ],
    [
      'tokens not a list',
      { ...VALID, DkimAttributes: { ...VALID.DkimAttributes, Tokens: 'abc' } },
      'example.com',
      'eu-west-1',
      'DkimAttributes.Tokens must be a list of DNS labels',
    ],
    [
      'a token with a dot',
      { ...VALID, DkimAttributes: { ...VALID.DkimAttributes, Tokens: ['a.b'] } },
      'example.com',
      'eu-west-1',
      'got ["a.b"]',
    ],
    [
      'SigningEnabled as a string',
      { ...VALID, DkimAttributes: { ...VALID.DkimAttributes, SigningEnabled: 'yes' } },
      'example.com',
      'eu-west-1',
      'SigningEnabled must be true or false, got "yes"',
    ],
    [
      'an unknown origin',
      { ...VALID, DkimAttributes: { ...VALID.DkimAttributes, SigningAttributesOrigin: 'ROUTE53' } },
      'example.com',
      'eu-west-1',
      'SigningAttributesOrigin must be AWS_SES, EXTERNAL or AWS_SES_<REGION>, got "ROUTE53"',
    ],
  ];
  it.each(bad)('rejects %s with one line naming the value', (_label, raw, name, region, message) => {
    expect(() => parseSesIdentity(raw, name, region, 'item 1')).toThrow(InvalidIdentityError);
    expect(() => parseSesIdentity(raw, name, region, 'item 1')).toThrow(message);
  });
});
