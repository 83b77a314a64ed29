import type { AddressInfo } from 'node:net';
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
// dynalite ships no types.
// @ts-expect-error
import dynalite from 'dynalite';
import { STATE_TABLE } from '../../lambda/contract';

/** DynamoDB's API in-process (dynalite) with the state table created, on a random loopback port. */
export async function startDynalite(tableName = 'dkim-state') {
  const server = dynalite({ createTableMs: 0 });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as AddressInfo).port;
  const client = new DynamoDBClient({
    endpoint: `http://127.0.0.1:${port}`,
    region: 'eu-west-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  const createTable = async (name: string) => {
    await client.send(
      new CreateTableCommand({
        TableName: name,
        AttributeDefinitions: [{ AttributeName: STATE_TABLE.partitionKey, AttributeType: 'S' }],
        KeySchema: [{ AttributeName: STATE_TABLE.partitionKey, KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    // Even with createTableMs 0, dynalite activates a table asynchronously: wait for ACTIVE under load.
    for (let i = 0; i < 200; i++) {
      const { Table } = await client.send(new DescribeTableCommand({ TableName: name }));
      if (Table?.TableStatus === 'ACTIVE') return name;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`dynalite table ${name} did not become ACTIVE`);
  };
  await createTable(tableName);
  const doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  return {
    doc,
    tableName,
    /** Another empty state table on the same server (a fresh world for one test). */
    createTable,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
