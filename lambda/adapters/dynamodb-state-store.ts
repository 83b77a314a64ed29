import { type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { IdentityState } from '../domain/lifecycle';

/** Another invocation wrote this identity's state first: re-read and decide again. */
export class StaleStateError extends Error {
  override readonly name = 'StaleStateError';
}

/** Per-identity lifecycle state. Writes are conditional on the version, so concurrent runs cannot clobber. */
export interface StateStore {
  get(key: string): Promise<IdentityState | undefined>;
  /** Write `state` if the stored version is still `state.version - 1` (absent for version 1). */
  put(state: IdentityState): Promise<void>;
}

/** Attribute names shared with the CDK table definition. */
export const STATE_TABLE = { partitionKey: 'key', timeToLive: 'expiresAt' } as const;

/**
 * The state in a DynamoDB table (on-demand, TTL on `expiresAt` so identities that disappeared are
 * forgotten). Reads are strongly consistent: the conditional write relies on them.
 */
export class DynamoDbStateStore implements StateStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async get(key: string): Promise<IdentityState | undefined> {
    const result = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: { [STATE_TABLE.partitionKey]: key }, ConsistentRead: true }),
    );
    return result.Item as IdentityState | undefined;
  }

  async put(state: IdentityState): Promise<void> {
    const first = state.version === 1;
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: state,
          ConditionExpression: first ? 'attribute_not_exists(#key)' : '#version = :expected',
          ExpressionAttributeNames: first ? { '#key': STATE_TABLE.partitionKey } : { '#version': 'version' },
          ...(first ? {} : { ExpressionAttributeValues: { ':expected': state.version - 1 } }),
        }),
      );
    } catch (error) {
      if ((error as { name?: string }).name === 'ConditionalCheckFailedException') {
        throw new StaleStateError(
          `state of ${state.key} changed since it was read (expected version ${state.version - 1})`,
        );
      }
      throw error;
    }
  }
}
