import { describe, expect, it } from 'vitest';
import { expectedDkimRecords, planDkimChecks, signingHostedZone } from '../../lambda/domain/expected-records';
import type { SesIdentity } from '../../lambda/domain/ses-identity';

function identity(name: string, dkim: Partial<SesIdentity['dkim']> = {}, region = 'eu-west-1'): SesIdentity {
  return {
    name,
    region,
    type: name.includes('@') ? 'EMAIL_ADDRESS' : 'DOMAIN',
    dkim: { signingEnabled: true, status: 'SUCCESS', tokens: ['tok1', 'tok2', 'tok3'], origin: 'AWS_SES', ...dkim },
  };
}

describe('signingHostedZone', () => {
  const cases: [string, Partial<SesIdentity['dkim']>, string, string][] = [
    [
      'SigningHostedZone with a trailing dot',
      { signingHostedZone: 'dkim.amazonses.com.' },
      'eu-west-1',
      'dkim.amazonses.com',
    ],
    [
      'SigningHostedZone in capitals',
      { signingHostedZone: 'DKIM.EU-SOUTH-1.AmazonSES.com' },
      'eu-south-1',
      'dkim.eu-south-1.amazonses.com',
    ],
    ['no SigningHostedZone in a classic region', {}, 'us-east-1', 'dkim.amazonses.com'],
    ['no SigningHostedZone in a newer region', {}, 'af-south-1', 'dkim.af-south-1.amazonses.com'],
    ['no SigningHostedZone in GovCloud East', {}, 'us-gov-east-1', 'dkim.us-gov-east-1.amazonses.com'],
    [
      'a DEED replica of a newer region',
      { origin: 'AWS_SES_AP_SOUTH_2' },
      'us-east-1',
      'dkim.ap-south-2.amazonses.com',
    ],
    ['a DEED replica of a classic region', { origin: 'AWS_SES_EU_WEST_1' }, 'ap-south-2', 'dkim.amazonses.com'],
  ];
  it.each(cases)('%s', (_label, dkim, region, zone) => {
    expect(signingHostedZone(identity('example.com', dkim, region))).toBe(zone);
  });
});

describe('expectedDkimRecords', () => {
  it('derives three CNAMEs for Easy DKIM, lower-cased', () => {
    const records = expectedDkimRecords(identity('Example.COM', { tokens: ['AbC', 'def', 'ghi'] }));

    expect(records.map((r) => `${r.name} ${r.type} ${r.value}`)).toEqual([
      'abc._domainkey.example.com CNAME abc.dkim.amazonses.com',
      'def._domainkey.example.com CNAME def.dkim.amazonses.com',
      'ghi._domainkey.example.com CNAME ghi.dkim.amazonses.com',
    ]);
  });

  it('derives one TXT at the selector for BYODKIM', () => {
    const records = expectedDkimRecords(identity('example.com', { origin: 'EXTERNAL', tokens: ['mail2026'] }));

    expect(records).toEqual([
      expect.objectContaining({ name: 'mail2026._domainkey.example.com', type: 'TXT', kind: 'BYODKIM' }),
    ]);
  });

  it("puts an email address identity's own records under its domain", () => {
    expect(expectedDkimRecords(identity('Ops@Mail.Example.com'))[0]?.name).toBe('tok1._domainkey.mail.example.com');
  });
});

describe('planDkimChecks', () => {
  it('lets an email address without tokens inherit from its domain in the same region only', () => {
    const plans = planDkimChecks([
      identity('example.com'),
      identity('news@example.com', { tokens: [] }),
      identity('news@example.com', { tokens: [] }, 'us-east-1'),
    ]);

    expect(plans[1]?.inheritedFrom).toBe('example.com');
    expect(plans[1]?.records.map((r) => r.name)).toEqual(plans[0]?.records.map((r) => r.name));
    expect(plans[2]?.records).toEqual([]);
  });

  it('lets a subdomain without tokens inherit from the nearest parent domain identity', () => {
    const plans = planDkimChecks([
      identity('example.com', { tokens: ['root1'] }),
      identity('mail.example.com', { tokens: ['mail1'] }),
      identity('a@eu.mail.example.com', { tokens: [] }),
    ]);

    expect(plans[2]?.inheritedFrom).toBe('mail.example.com');
    expect(plans[2]?.records[0]?.name).toBe('mail1._domainkey.mail.example.com');
  });

  it('does not let a domain inherit from a domain that merely ends with the same letters', () => {
    const plans = planDkimChecks([identity('ample.com'), identity('a@example.com', { tokens: [] })]);

    expect(plans[1]?.records).toEqual([]);
  });
});
