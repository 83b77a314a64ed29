import { CentralEnv } from './contract';
import { ScannerConfigError } from './scanner-config';

/** Central mode's settings, read from the environment once at cold start. */
export interface CentralConfig {
  readonly memberRoleName: string;
  readonly externalId?: string;
  readonly organization: boolean;
  readonly accounts: readonly string[];
  readonly ignoreAccounts: readonly string[];
}

const list = (value: string | undefined) =>
  (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

function accountList(name: string, env: NodeJS.ProcessEnv): string[] {
  const accounts = list(env[name]);
  const bad = accounts.find((a) => !/^\d{12}$/.test(a));
  if (bad !== undefined)
    throw new ScannerConfigError(`${name}: "${bad}" is not an AWS account ID (expected 12 digits)`);
  return accounts;
}

export function readCentralConfig(env: NodeJS.ProcessEnv): CentralConfig {
  const memberRoleName = env[CentralEnv.MemberRoleName] ?? '';
  if (!/^[\w+=,.@-]{1,64}$/.test(memberRoleName))
    throw new ScannerConfigError(`${CentralEnv.MemberRoleName} must be an IAM role name, got "${memberRoleName}"`);
  const organization = env[CentralEnv.Organization] === 'true';
  const accounts = accountList(CentralEnv.Accounts, env);
  if (!organization && accounts.length === 0)
    throw new ScannerConfigError(
      `central mode needs ${CentralEnv.Organization}=true or ${CentralEnv.Accounts}=<account IDs>`,
    );
  return {
    memberRoleName,
    externalId: env[CentralEnv.ExternalId] || undefined,
    organization,
    accounts,
    ignoreAccounts: accountList(CentralEnv.IgnoreAccounts, env),
  };
}
