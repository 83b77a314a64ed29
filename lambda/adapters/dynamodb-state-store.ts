import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  paginateScan,
} from '@aws-sdk/lib-dynamodb';
import { STATE_TABLE } from '../contract';
import type { IdentityState } from '../domain/lifecycle';
import { StaleStateError, type StateStore } from '../ports';

const isConditionFailure = (error: unknown) => (error as { name?: string }).name === 'ConditionalCheckFailedException';

/**
 * The state in a DynamoDB table (on-demand, TTL on `expiresAt` so identities that disappeared are
 * forgotten). Reads are strongly consistent: the conditional writes rely on them. Only identities with
 * something to remember are stored, so a healthy fleet leaves the table (nearly) empty.
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

  async list(): Promise<IdentityState[]> {
    const items: IdentityState[] = [];
    for await (const page of paginateScan(
      { client: this.client },
      { TableName: this.tableName, ConsistentRead: true },
    )) {
      items.push(...((page.Items ?? []) as IdentityState[]));
    }
    return items;
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
      if (isConditionFailure(error)) {
        throw new StaleStateError(
          `state of ${state.key} changed since it was read (expected version ${state.version - 1})`,
        );
      }
      throw error;
    }
  }

  async remove(key: string, version: number): Promise<void> {
    try {
      await this.client.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: { [STATE_TABLE.partitionKey]: key },
          ConditionExpression: '#version = :expected',
          ExpressionAttributeNames: { '#version': 'version' },
          ExpressionAttributeValues: { ':expected': version },
        }),
      );
    } catch (error) {
      if (isConditionFailure(error)) throw new StaleStateError(`state of ${key} changed since it was read`);
      throw error;
    }
  }
}
