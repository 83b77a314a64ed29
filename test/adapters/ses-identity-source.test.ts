import {
  GetEmailIdentityCommand,
  ListEmailIdentitiesCommand,
  NotFoundException,
  SESv2Client,
  SESv2ServiceException,
  TooManyRequestsException,
} from '@aws-sdk/client-sesv2';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { FakeSesRegion, SimulatedClock } from '../../bin/bench/fake-ses';
import { SesIdentitySource } from '../../lambda/adapters/ses-identity-source';

// Responses shaped like the real SES v2 API (field names and enum strings from the API reference).
const easyDkim = (tokens: string[], extra: Record<string, unknown> = {}) => ({
  IdentityType: 'DOMAIN' as const,
  FeedbackForwardingStatus: true,
  VerifiedForSendingStatus: true,
  VerificationStatus: 'SUCCESS' as const,
  DkimAttributes: {
    SigningEnabled: true,
    Status: 'SUCCESS' as const,
    Tokens: tokens,
    SigningAttributesOrigin: 'AWS_SES' as const,
    SigningHostedZone: 'dkim.amazonses.com.',
    CurrentSigningKeyLength: 'RSA_2048_BIT' as const,
    NextSigningKeyLength: 'RSA_2048_BIT' as const,
    LastKeyGenerationTimestamp: new Date('2025-02-11T09:14:07Z'),
    ...extra,
  },
  MailFromAttributes: {
    MailFromDomain: undefined,
    MailFromDomainStatus: undefined,
    BehaviorOnMxFailure: 'USE_DEFAULT_VALUE' as const,
  },
  Policies: {},
  Tags: [],
  VerificationInfo: {
    LastCheckedTimestamp: new Date('2026-11-23T06:00:00Z'),
    LastSuccessTimestamp: new Date('2026-11-23T06:00:00Z'),
  },
  $metadata: { httpStatusCode: 200 },
});
const throttled = () =>
  new TooManyRequestsException({ message: 'Too many requests', $metadata: { httpStatusCode: 429 } });

describe('SesIdentitySource', () => {
  const euClient = new SESv2Client({ region: 'eu-west-1' });
  const usClient = new SESv2Client({ region: 'us-east-1' });
  const eu = mockClient(euClient);
  const us = mockClient(usClient);
  let delays: number[];
  const source = (regions: string[], extra: Partial<ConstructorParameters<typeof SesIdentitySource>[0]> = {}) =>
    new SesIdentitySource({
      regions,
      clientFor: (region) => (region === 'eu-west-1' ? euClient : usClient),
      sleep: async (ms) => {
        delays.push(ms);
      },
      ...extra,
    });

  beforeEach(() => {
    eu.reset();
    us.reset();
    delays = [];
  });

  it('reads every page of identities and the DKIM attributes of each, of every kind', async () => {
    // Prepare
    eu.on(ListEmailIdentitiesCommand, { NextToken: undefined }).resolves({
      EmailIdentities: [
        { IdentityType: 'DOMAIN', IdentityName: 'example.com', SendingEnabled: true, VerificationStatus: 'SUCCESS' },
        {
          IdentityType: 'EMAIL_ADDRESS',
          IdentityName: 'news@example.com',
          SendingEnabled: true,
          VerificationStatus: 'SUCCESS',
        },
      ],
      NextToken: 'page-2',
    });
    eu.on(ListEmailIdentitiesCommand, { NextToken: 'page-2' }).resolves({
      EmailIdentities: [
        {
          IdentityType: 'DOMAIN',
          IdentityName: 'byo.example.com',
          SendingEnabled: true,
          VerificationStatus: 'SUCCESS',
        },
        {
          IdentityType: 'DOMAIN',
          IdentityName: 'old-sdk.example.com',
          SendingEnabled: true,
          VerificationStatus: 'SUCCESS',
        },
      ],
    });
    eu.on(GetEmailIdentityCommand, { EmailIdentity: 'example.com' }).resolves(easyDkim(['a', 'b', 'c']));
    eu.on(GetEmailIdentityCommand, { EmailIdentity: 'news@example.com' }).resolves({
      ...easyDkim([]),
      IdentityType: 'EMAIL_ADDRESS',
      DkimAttributes: { SigningEnabled: true, Status: 'SUCCESS' },
    });
    eu.on(GetEmailIdentityCommand, { EmailIdentity: 'byo.example.com' }).resolves(
      easyDkim(['sel2026'], { SigningAttributesOrigin: 'EXTERNAL', SigningHostedZone: undefined }),
    );
    eu.on(GetEmailIdentityCommand, { EmailIdentity: 'old-sdk.example.com' }).resolves(
      easyDkim(['x', 'y', 'z'], { SigningHostedZone: undefined }),
    );
    us.on(ListEmailIdentitiesCommand).resolves({
      EmailIdentities: [
        { IdentityType: 'DOMAIN', IdentityName: 'example.com', SendingEnabled: true, VerificationStatus: 'SUCCESS' },
      ],
    });
    us.on(GetEmailIdentityCommand).resolves(
      easyDkim(['a', 'b', 'c'], { SigningAttributesOrigin: 'AWS_SES_EU_WEST_1' }),
    );

    // Act
    const { identities, errors } = await source(['eu-west-1', 'us-east-1']).listIdentities();

    // Assess
    expect(errors).toEqual([]);
    expect(identities.map((i) => [i.region, i.name, i.type, i.dkim.origin, i.dkim.tokens.length])).toEqual([
      ['eu-west-1', 'byo.example.com', 'DOMAIN', 'EXTERNAL', 1],
      ['eu-west-1', 'example.com', 'DOMAIN', 'AWS_SES', 3],
      ['eu-west-1', 'news@example.com', 'EMAIL_ADDRESS', undefined, 0],
      ['eu-west-1', 'old-sdk.example.com', 'DOMAIN', 'AWS_SES', 3],
      ['us-east-1', 'example.com', 'DOMAIN', 'AWS_SES_EU_WEST_1', 3],
    ]);
    expect(identities[3]?.dkim.signingHostedZone).toBeUndefined();
    expect(identities[1]?.verificationInfo?.lastSuccessTimestamp).toBe('2026-11-23T06:00:00.000Z');
    expect(eu).toReceiveCommandTimes(ListEmailIdentitiesCommand, 2);
    expect(eu).toReceiveCommandWith(ListEmailIdentitiesCommand, { PageSize: 1000, NextToken: 'page-2' });
    expect(eu).toReceiveCommandTimes(GetEmailIdentityCommand, 4);
  });

  it('paces its calls at one a second and retries throttling with growing backoff until SES answers', async () => {
    // Prepare: a clock that only the source's sleeps move.
    let clock = 0;
    const calls: number[] = [];
    eu.on(ListEmailIdentitiesCommand)
      .rejectsOnce(throttled())
      .resolves({
        EmailIdentities: [
          { IdentityType: 'DOMAIN', IdentityName: 'example.com', SendingEnabled: true, VerificationStatus: 'SUCCESS' },
        ],
      });
    eu.on(GetEmailIdentityCommand).callsFake(() => {
      calls.push(clock);
      if (calls.length <= 2) throw throttled();
      return easyDkim(['a', 'b', 'c']);
    });

    // Act
    const { identities, errors } = await source(['eu-west-1'], {
      baseDelayMs: 100,
      now: () => clock,
      sleep: async (ms) => {
        delays.push(ms);
        clock += ms;
      },
    }).listIdentities();

    // Assess
    expect(errors).toEqual([]);
    expect(identities).toHaveLength(1);
    expect(eu).toReceiveCommandTimes(GetEmailIdentityCommand, 3);
    const gaps = calls.slice(1).map((t, i) => t - (calls[i] ?? 0));
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(1000);
  });

  it('reports one identity it could not read after every retry, and keeps the others', async () => {
    eu.on(ListEmailIdentitiesCommand).resolves({
      EmailIdentities: [
        {
          IdentityType: 'DOMAIN',
          IdentityName: 'busy.example.com',
          SendingEnabled: true,
          VerificationStatus: 'SUCCESS',
        },
        { IdentityType: 'DOMAIN', IdentityName: 'ok.example.com', SendingEnabled: true, VerificationStatus: 'SUCCESS' },
      ],
    });
    eu.on(GetEmailIdentityCommand, { EmailIdentity: 'busy.example.com' }).rejects(throttled());
    eu.on(GetEmailIdentityCommand, { EmailIdentity: 'ok.example.com' }).resolves(easyDkim(['a']));

    const { identities, errors } = await source(['eu-west-1'], { maxAttempts: 3 }).listIdentities();

    expect(identities.map((i) => i.name)).toEqual(['ok.example.com']);
    expect(errors).toEqual([
      {
        region: 'eu-west-1',
        identity: 'busy.example.com',
        message: 'could not read busy.example.com: TooManyRequestsException: Too many requests',
      },
    ]);
  });

  it('skips an identity deleted between the list and the read', async () => {
    eu.on(ListEmailIdentitiesCommand).resolves({
      EmailIdentities: [
        {
          IdentityType: 'DOMAIN',
          IdentityName: 'gone.example.com',
          SendingEnabled: true,
          VerificationStatus: 'SUCCESS',
        },
      ],
    });
    eu.on(GetEmailIdentityCommand).rejects(
      new NotFoundException({ message: 'Email identity gone.example.com does not exist.', $metadata: {} }),
    );

    expect(await source(['eu-west-1']).listIdentities()).toEqual({ identities: [], errors: [] });
  });

  it('reports a region it cannot list while the other regions complete', async () => {
    eu.on(ListEmailIdentitiesCommand).rejects(
      // SES v2 models no AccessDeniedException class: the SDK raises its base exception with that name.
      new SESv2ServiceException({
        name: 'AccessDeniedException',
        $fault: 'client',
        message: 'User is not authorized to perform: ses:ListEmailIdentities',
        $metadata: { httpStatusCode: 403 },
      }),
    );
    us.on(ListEmailIdentitiesCommand).resolves({
      EmailIdentities: [
        { IdentityType: 'DOMAIN', IdentityName: 'example.com', SendingEnabled: true, VerificationStatus: 'SUCCESS' },
      ],
    });
    us.on(GetEmailIdentityCommand).resolves(easyDkim(['a', 'b', 'c']));

    const { identities, errors } = await source(['eu-west-1', 'us-east-1']).listIdentities();

    expect(identities.map((i) => `${i.region} ${i.name}`)).toEqual(['us-east-1 example.com']);
    expect(errors).toEqual([
      {
        region: 'eu-west-1',
        message:
          'could not list SES identities: AccessDeniedException: User is not authorized to perform: ses:ListEmailIdentities',
      },
    ]);
  });

  it('with a v1 client, reads 100 identities a call and v2 only where v1 cannot answer (the CLI path)', async () => {
    // Prepare: 250 Easy DKIM domains and one BYODKIM domain behind SES's 1 request/s.
    const clock = new SimulatedClock();
    const fleet = [
      ...Array.from({ length: 250 }, (_, i) => ({ name: `d${i}.example`, kind: 'easy' as const })),
      { name: 'byo.example', kind: 'byodkim' as const },
    ];
    const region = new FakeSesRegion('eu-west-1', fleet, clock);

    // Act
    const { identities, errors } = await new SesIdentitySource({
      regions: ['eu-west-1'],
      clientFor: () => region.v2,
      v1ClientFor: () => region.v1,
      now: clock.now,
      sleep: clock.sleep,
    }).listIdentities();

    // Assess
    expect(errors).toEqual([]);
    expect(identities).toHaveLength(251);
    expect(region.calls).toEqual({ list: 1, dkim: 3, get: 1, throttled: 0 });
    expect(identities.find((i) => i.name === 'byo.example')?.dkim).toMatchObject({
      origin: 'EXTERNAL',
      tokens: ['sel1'],
    });
  });
});
