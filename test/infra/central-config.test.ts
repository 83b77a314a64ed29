import { describe, expect, it } from 'vitest';
import { ConfigError, checkContextKeys, type DkimSentinelOptions, resolveSettings } from '../../lib/config';

const resolve = (options: DkimSentinelOptions) => resolveSettings(options, { region: 'eu-west-1' });

describe('central-mode settings', () => {
  it('stays in single-account mode unless organization or accounts is set', () => {
    expect(resolve({}).central).toBeUndefined();
    expect(resolve({ organization: 'false' }).central).toBeUndefined();
  });

  it('reads the organization mode with its defaults', () => {
    expect(resolve({ organization: 'true', ignoreAccounts: '111111111111, 222222222222' }).central).toEqual({
      organization: true,
      accounts: [],
      ignoreAccounts: ['111111111111', '222222222222'],
      memberRoleName: 'ses-dkim-sentinel-member',
      organizationId: undefined,
      externalId: undefined,
      shardConcurrency: 10,
    });
  });

  it('reads listed accounts (deduplicated) with every option, from context strings or typed values', () => {
    const fromStrings = resolve({
      accounts: '111111111111,222222222222,111111111111',
      memberRoleName: 'dkim-reader',
      organizationId: 'o-abcdefghij',
      externalId: 'sentinel:ext-1',
      shardConcurrency: '40',
    });
    const typed = resolve({
      accounts: ['111111111111', '222222222222'],
      memberRoleName: 'dkim-reader',
      organizationId: 'o-abcdefghij',
      externalId: 'sentinel:ext-1',
      shardConcurrency: 40,
    });

    expect(fromStrings).toEqual(typed);
    expect(typed.central).toMatchObject({ organization: false, accounts: ['111111111111', '222222222222'] });
  });

  it.each([
    [{ organization: true, accounts: '111111111111' }, /^organization=true and accounts go separately/],
    [{ accounts: '11111111111' }, 'accounts: "11111111111" is not an AWS account ID (expected 12 digits)'],
    [
      { organization: true, ignoreAccounts: 'abc' },
      'ignoreAccounts: "abc" is not an AWS account ID (expected 12 digits)',
    ],
    [{ accounts: '111111111111', ignoreAccounts: '222222222222' }, /^ignoreAccounts applies to organization=true only/],
    [{ memberRoleName: 'x' }, /^memberRoleName is only used to scan other accounts: set organization=true or accounts/],
    [{ shardConcurrency: 5 }, /^shardConcurrency is only used to scan other accounts/],
    [
      { organization: true, organizationId: 'org-1' },
      'organizationId must be an AWS Organizations ID like o-a1b2c3d4e5, got "org-1"',
    ],
    [{ organization: true, memberRoleName: 'has space' }, /^memberRoleName must be an IAM role name/],
    [{ organization: true, externalId: 'x' }, /^externalId must be an external ID of 2 to 1224/],
    [{ organization: true, shardConcurrency: 0 }, 'shardConcurrency must be a whole number from 1 to 100, got 0'],
    [{ organization: 'yes' }, 'organization must be true or false, got "yes"'],
  ])('rejects %j in one line', (options, expected) => {
    expect(() => resolve(options as DkimSentinelOptions)).toThrow(ConfigError);
    expect(() => resolve(options as DkimSentinelOptions)).toThrow(expected);
  });

  it('knows the new keys in context and points at them when mistyped', () => {
    expect(() => checkContextKeys(['organization', 'accounts', 'ignoreAccounts', 'shardConcurrency'])).not.toThrow();
    expect(() => checkContextKeys(['ignore-accounts'])).toThrow(
      'unknown setting "ignore-accounts": did you mean "ignoreAccounts"?',
    );
    expect(() => checkContextKeys(['organisation'])).toThrow('did you mean "organization"?');
  });
});
