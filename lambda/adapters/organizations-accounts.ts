import { ListAccountsCommand, type OrganizationsClient } from '@aws-sdk/client-organizations';
import { type AccountDirectory, AccountDirectoryError, type MemberAccount } from '../ports';
import { describeAwsError, errorName, type RetryOptions, retryThrottled } from './aws-retry';

/** 20 accounts a page (the API's maximum): room for 200,000 accounts, far above Organizations' quotas. */
const MAX_PAGES = 10_000;

/**
 * The organization's accounts from `organizations:ListAccounts` (every page: a page may be empty while
 * `NextToken` is set). Only the management account or a delegated administrator may call it; the client
 * must be in us-east-1 (Organizations' endpoint in the commercial partition).
 */
export class OrganizationsAccounts implements AccountDirectory {
  constructor(
    private readonly client: OrganizationsClient,
    private readonly retry: RetryOptions = {},
  ) {}

  async listAccounts(): Promise<MemberAccount[]> {
    const accounts: MemberAccount[] = [];
    let nextToken: string | undefined;
    let pages = 0;
    try {
      do {
        if (++pages > MAX_PAGES) throw new AccountDirectoryError(`ListAccounts returned more than ${MAX_PAGES} pages`);
        const page = await retryThrottled(
          () => this.client.send(new ListAccountsCommand({ MaxResults: 20, NextToken: nextToken })),
          this.retry,
        );
        for (const account of page.Accounts ?? []) {
          // `Status` is retired on 2026-09-09 in favour of `State`; read the new one first.
          const state = account.State ?? account.Status;
          if (account.Id && state) accounts.push({ id: account.Id, state });
        }
        nextToken = page.NextToken || undefined;
      } while (nextToken);
    } catch (error) {
      if (error instanceof AccountDirectoryError) throw error;
      throw new AccountDirectoryError(explain(error));
    }
    return accounts;
  }
}

function explain(error: unknown): string {
  const cause = describeAwsError(error);
  switch (errorName(error)) {
    case 'AccessDeniedException':
      return `cannot list the organization's accounts (${cause}): organization=true must be deployed in the management account or in a delegated administrator account of the organization, with organizations:ListAccounts allowed; or list the accounts with accounts=111111111111,222222222222`;
    case 'AWSOrganizationsNotInUseException':
      return `this account is not in an AWS Organization (${cause}): use accounts=111111111111,222222222222 instead of organization=true`;
    default:
      return `cannot list the organization's accounts: ${cause}`;
  }
}
