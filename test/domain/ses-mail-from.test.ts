import { describe, expect, it } from 'vitest';
import {
  applyMailFromAttributes,
  InvalidIdentityError,
  parseSesIdentity,
  type SesIdentity,
} from '../../lambda/domain/ses-identity';

const DKIM = { SigningEnabled: true, Status: 'SUCCESS', Tokens: ['a', 'b', 'c'], SigningAttributesOrigin: 'AWS_SES' };

function parse(mailFrom: unknown) {
  return parseSesIdentity(
    { IdentityType: 'DOMAIN', DkimAttributes: DKIM, MailFromAttributes: mailFrom },
    'example.com',
    'eu-west-1',
    'item 1',
  );
}

describe('parseSesIdentity: MailFromAttributes', () => {
  it('reads the custom MAIL FROM domain, its status and BehaviorOnMxFailure', () => {
    expect(
      parse({
        MailFromDomain: 'Mail.Example.com.',
        MailFromDomainStatus: 'TEMPORARY_FAILURE',
        BehaviorOnMxFailure: 'REJECT_MESSAGE',
      }).mailFrom,
    ).toEqual({ domain: 'mail.example.com', status: 'TEMPORARY_FAILURE', behaviorOnMxFailure: 'REJECT_MESSAGE' });
  });

  it('has no custom MAIL FROM when the attributes or the domain are absent or empty', () => {
    expect(parse(undefined).mailFrom).toBeUndefined();
    expect(parse({ MailFromDomain: '', MailFromDomainStatus: 'SUCCESS' }).mailFrom).toBeUndefined();
    expect(parse({ BehaviorOnMxFailure: 'USE_DEFAULT_VALUE' }).mailFrom).toBeUndefined();
  });

  it('takes SES’s default behaviour when a file leaves BehaviorOnMxFailure out', () => {
    expect(parse({ MailFromDomain: 'mail.example.com', MailFromDomainStatus: 'SUCCESS' }).mailFrom).toEqual({
      domain: 'mail.example.com',
      status: 'SUCCESS',
      behaviorOnMxFailure: 'USE_DEFAULT_VALUE',
    });
  });

  it.each([
    [
      { MailFromDomain: 'mail.example.com', MailFromDomainStatus: 'Success' },
      'item 1 (example.com): MailFromAttributes: MailFromDomainStatus must be one of PENDING, SUCCESS, FAILED, TEMPORARY_FAILURE, got "Success"',
    ],
    [
      { MailFromDomain: 'mail.example.com', MailFromDomainStatus: 'SUCCESS', BehaviorOnMxFailure: 'BOUNCE' },
      'item 1 (example.com): MailFromAttributes: BehaviorOnMxFailure must be one of USE_DEFAULT_VALUE, REJECT_MESSAGE, got "BOUNCE"',
    ],
    [
      { MailFromDomain: '$(touch /tmp/x).example.com', MailFromDomainStatus: 'SUCCESS' },
      'item 1 (example.com): MailFromAttributes.MailFromDomain must be a domain name, got "$(touch /tmp/x).example.com"',
    ],
    [
      { MailFromDomain: 'mail.example.com' },
      'item 1 (example.com): MailFromAttributes.MailFromDomainStatus must be one of PENDING, SUCCESS, FAILED, TEMPORARY_FAILURE, got nothing',
    ],
    ['mail.example.com', 'item 1 (example.com): MailFromAttributes must be an object, got "mail.example.com"'],
  ])('rejects %j with one line naming the value', (mailFrom, message) => {
    expect(() => parse(mailFrom)).toThrow(new InvalidIdentityError(message));
  });
});

const identity = (name: string, region = 'eu-west-1', mailFrom?: SesIdentity['mailFrom']): SesIdentity => ({
  name,
  region,
  type: 'DOMAIN',
  dkim: { signingEnabled: true, status: 'SUCCESS', tokens: ['a'] },
  ...(mailFrom ? { mailFrom } : {}),
});

describe('applyMailFromAttributes (SES v1 GetIdentityMailFromDomainAttributes)', () => {
  it('normalizes the v1 CamelCase enums to the v2 spelling', () => {
    const [first, second] = applyMailFromAttributes(
      [identity('example.com'), identity('other.example')],
      {
        'Example.com': {
          MailFromDomain: 'bounce.example.com',
          MailFromDomainStatus: 'TemporaryFailure',
          BehaviorOnMXFailure: 'RejectMessage',
        },
        'other.example': {
          MailFromDomain: 'mail.other.example',
          MailFromDomainStatus: 'Success',
          BehaviorOnMXFailure: 'UseDefaultValue',
        },
      },
      'eu-west-1',
    );
    expect(first?.mailFrom).toEqual({
      domain: 'bounce.example.com',
      status: 'TEMPORARY_FAILURE',
      behaviorOnMxFailure: 'REJECT_MESSAGE',
    });
    expect(second?.mailFrom).toEqual({
      domain: 'mail.other.example',
      status: 'SUCCESS',
      behaviorOnMxFailure: 'USE_DEFAULT_VALUE',
    });
  });

  it.each(['Pending', 'Failed'] as const)('maps %s', (status) => {
    const [updated] = applyMailFromAttributes(
      [identity('example.com')],
      {
        'example.com': {
          MailFromDomain: 'm.example.com',
          MailFromDomainStatus: status,
          BehaviorOnMXFailure: 'UseDefaultValue',
        },
      },
      'eu-west-1',
    );
    expect(updated?.mailFrom?.status).toBe(status.toUpperCase());
  });

  it('clears the MAIL FROM of an identity listed without a domain, and keeps identities the map leaves out', () => {
    const before = { domain: 'm.example.com', status: 'SUCCESS', behaviorOnMxFailure: 'USE_DEFAULT_VALUE' } as const;
    const [listed, left, elsewhere] = applyMailFromAttributes(
      [
        identity('example.com', 'eu-west-1', before),
        identity('kept.example', 'eu-west-1', before),
        identity('example.com', 'us-east-1', before),
      ],
      {
        'example.com': { MailFromDomain: '', MailFromDomainStatus: 'Success', BehaviorOnMXFailure: 'UseDefaultValue' },
      },
      'eu-west-1',
    );
    expect(listed?.mailFrom).toBeUndefined();
    expect(left?.mailFrom).toEqual(before);
    expect(elsewhere?.mailFrom).toEqual(before);
  });

  it('rejects an unknown enum string with one line naming the identity and the value', () => {
    expect(() =>
      applyMailFromAttributes(
        [identity('example.com')],
        {
          'example.com': {
            MailFromDomain: 'm.example.com',
            MailFromDomainStatus: 'Verified',
            BehaviorOnMXFailure: 'UseDefaultValue',
          },
        },
        'eu-west-1',
      ),
    ).toThrow(
      'GetIdentityMailFromDomainAttributes (example.com, eu-west-1): MailFromAttributes: MailFromDomainStatus must be one of PENDING, SUCCESS, FAILED, TEMPORARY_FAILURE, got "Verified"',
    );
  });
});
