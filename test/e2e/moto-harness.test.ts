/**
 * The moto harness itself: the proxy must give SES v1 and v2 clients the same, seeded view of the
 * identities (moto alone gets tokens, statuses and v2 listing wrong), or the end-to-end tests would test
 * the harness's gaps instead of the scanner.
 */
import {
  GetIdentityDkimAttributesCommand,
  GetIdentityVerificationAttributesCommand,
  ListIdentitiesCommand,
  SESClient,
} from '@aws-sdk/client-ses';
import { GetEmailIdentityCommand, ListEmailIdentitiesCommand, SESv2Client } from '@aws-sdk/client-sesv2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertMotoInstalled, FAKE_CREDENTIALS, MotoMissingError, MotoServer } from '../support/moto';

const TOKENS = ['a'.repeat(32), 'b'.repeat(32), 'c'.repeat(32)];
let moto: MotoServer;

beforeAll(async () => {
  moto = await MotoServer.start();
  await moto.seedIdentities([
    { name: 'one.example', region: 'eu-west-1', dkimStatus: 'SUCCESS', tokens: TOKENS },
    {
      name: 'two.example',
      region: 'eu-west-1',
      dkimStatus: 'TEMPORARY_FAILURE',
      tokens: TOKENS,
      verificationInfo: { lastSuccessTimestamp: '2026-01-02T03:04:05Z', errorType: 'TYPE_NOT_FOUND' },
    },
    { name: 'three.example', region: 'eu-west-1', dkimStatus: 'PENDING', tokens: TOKENS },
    { name: 'news@one.example', region: 'eu-west-1', dkimStatus: 'SUCCESS', tokens: [] },
    { name: 'elsewhere.example', region: 'us-east-1', dkimStatus: 'FAILED', tokens: TOKENS },
  ]);
});

afterAll(async () => {
  await moto?.stop();
});

const v1 = (region = 'eu-west-1') => new SESClient({ region, endpoint: moto.endpoint, credentials: FAKE_CREDENTIALS });
const v2 = (region = 'eu-west-1') =>
  new SESv2Client({ region, endpoint: moto.endpoint, credentials: FAKE_CREDENTIALS });

async function listV2(region: string, pageSize: number): Promise<string[][]> {
  const pages: string[][] = [];
  let NextToken: string | undefined;
  do {
    const page = await v2(region).send(new ListEmailIdentitiesCommand({ PageSize: pageSize, NextToken }));
    pages.push((page.EmailIdentities ?? []).map((i) => i.IdentityName ?? ''));
    NextToken = page.NextToken;
  } while (NextToken);
  return pages;
}

describe('the moto harness', () => {
  it('lists SES v2 identities page by page, per region (moto answers 404 or 500 by itself)', async () => {
    const pages = await listV2('eu-west-1', 2);
    expect(pages.map((p) => p.length)).toEqual([2, 2]);
    expect(pages.flat().sort()).toEqual(['news@one.example', 'one.example', 'three.example', 'two.example']);
    expect(await listV2('us-east-1', 1000)).toEqual([['elsewhere.example']]);
  });

  it('fills SES v2 GetEmailIdentity with the seeded tokens, status and verification details', async () => {
    const two = await v2().send(new GetEmailIdentityCommand({ EmailIdentity: 'two.example' }));
    expect(two.DkimAttributes).toMatchObject({
      SigningEnabled: true,
      Status: 'TEMPORARY_FAILURE',
      Tokens: TOKENS,
      SigningAttributesOrigin: 'AWS_SES',
    });
    expect(two.VerificationInfo?.LastSuccessTimestamp).toEqual(new Date('2026-01-02T03:04:05Z'));
    expect(two.VerificationInfo?.ErrorType).toBe('TYPE_NOT_FOUND');
    await expect(v2().send(new GetEmailIdentityCommand({ EmailIdentity: 'elsewhere.example' }))).rejects.toMatchObject({
      name: 'NotFoundException',
    });
  });

  it('gives SES v1 the same view: seeded tokens and statuses in v1 spelling', async () => {
    const pages: string[][] = [];
    let NextToken: string | undefined;
    do {
      const page = await v1().send(new ListIdentitiesCommand({ MaxItems: 3, NextToken }));
      pages.push(page.Identities ?? []);
      NextToken = page.NextToken;
    } while (NextToken);
    expect(pages.map((p) => p.length)).toEqual([3, 1]);
    expect(pages.flat().sort()).toEqual(['news@one.example', 'one.example', 'three.example', 'two.example']);
    const domains = await v1().send(new ListIdentitiesCommand({ IdentityType: 'Domain' }));
    expect(domains.Identities?.sort()).toEqual(['one.example', 'three.example', 'two.example']);
    const { DkimAttributes } = await v1().send(
      new GetIdentityDkimAttributesCommand({
        Identities: ['one.example', 'two.example', 'three.example', 'news@one.example'],
      }),
    );
    expect(DkimAttributes).toEqual({
      'one.example': { DkimEnabled: true, DkimVerificationStatus: 'Success', DkimTokens: TOKENS },
      'two.example': { DkimEnabled: true, DkimVerificationStatus: 'TemporaryFailure', DkimTokens: TOKENS },
      'three.example': { DkimEnabled: true, DkimVerificationStatus: 'Pending', DkimTokens: TOKENS },
      'news@one.example': { DkimEnabled: true, DkimVerificationStatus: 'Success' },
    });
    const { VerificationAttributes } = await v1().send(
      new GetIdentityVerificationAttributesCommand({ Identities: ['three.example'] }),
    );
    expect(VerificationAttributes?.['three.example']?.VerificationStatus).toBe('Pending');
  });

  it('follows a changed status in both APIs, and a deleted identity disappears from both lists', async () => {
    await moto.seedIdentities([{ name: 'fixed.example', region: 'eu-west-1', dkimStatus: 'FAILED', tokens: TOKENS }]);
    moto.updateIdentity('eu-west-1', 'fixed.example', { dkimStatus: 'SUCCESS' });
    const viaV2 = await v2().send(new GetEmailIdentityCommand({ EmailIdentity: 'fixed.example' }));
    expect(viaV2.DkimAttributes?.Status).toBe('SUCCESS');
    const viaV1 = await v1().send(new GetIdentityDkimAttributesCommand({ Identities: ['fixed.example'] }));
    expect(viaV1.DkimAttributes?.['fixed.example']?.DkimVerificationStatus).toBe('Success');

    await moto.deleteIdentity('eu-west-1', 'fixed.example');
    expect((await listV2('eu-west-1', 1000)).flat()).not.toContain('fixed.example');
    expect((await v1().send(new ListIdentitiesCommand({}))).Identities).not.toContain('fixed.example');
  });

  it('fails loudly, naming what to install, when moto cannot be run', () => {
    expect(() => assertMotoInstalled('/nonexistent/python3')).toThrow(MotoMissingError);
    expect(() => assertMotoInstalled('/nonexistent/python3')).toThrow(
      /python3 -m pip install 'moto\[server\]==5\.2\.1'/,
    );
  });
});
