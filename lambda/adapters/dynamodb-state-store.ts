import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  paginateScan,
} from '@aws-sdk/lib-dynamodb';
import { STATE_ITEM_TYPES, STATE_TABLE } from '../contract';
import type { IdentityState } from '../domain/lifecycle';
import type { CachedMailFrom, CachedSesAttributes } from '../domain/ses-v1';
import {
  type AttributeCache,
  type MailFromCache,
  type RunLease,
  type ScanCursorStore,
  StaleStateError,
  type StateStore,
} from '../ports';

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
    // The table also holds the run lease, the cursors and the attribute cache: those carry an item type.
    for await (const page of paginateScan(
      { client: this.client },
      {
        TableName: this.tableName,
        ConsistentRead: true,
        FilterExpression: 'attribute_not_exists(#itemType)',
        ExpressionAttributeNames: { '#itemType': STATE_TABLE.itemType },
      },
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

const scoped = (scope: string | undefined) => (scope ? `${scope}#` : '');
/** A cached entry that is not refreshed for this long is forgotten (the identity is then read as new). */
const ATTRIBUTES_TTL_SECONDS = 45 * 86_400;

/** What the one scan of the cache items finds, per region and identity. */
interface CachedByRegion {
  readonly attributes: Map<string, Map<string, CachedSesAttributes>>;
  readonly mailFrom: Map<string, Map<string, CachedMailFrom>>;
}

/** Add a cached entry to its region's map. */
function addByRegion<T extends { readonly region: string; readonly name: string }>(
  byRegion: Map<string, Map<string, T>>,
  entry: T,
): void {
  let entries = byRegion.get(entry.region);
  if (!entries) {
    entries = new Map();
    byRegion.set(entry.region, entries);
  }
  entries.set(entry.name, entry);
}

/**
 * The scanner's bookkeeping in the state table, next to the identity states and told apart from them by an
 * item type: the run lease (conditional put with an expiry, so runs never overlap and a crashed run's lease
 * lapses), each region's cursor, and each identity's cached SES v2 attributes. Make one per run: the
 * attribute cache is read once per instance, for every region at once.
 */
export class DynamoDbScanLedger implements RunLease, ScanCursorStore, AttributeCache, MailFromCache {
  private readonly leaseKey: string;
  private readonly cursorKey: (region: string) => string;
  private readonly attributesKey: (region: string, name: string) => string;
  private readonly mailFromKey: (region: string, name: string) => string;

  /**
   * @param scope organization mode: the member account, so each (account, region) shard has its own lease,
   *   cursors and cache. @default - this account (single-account keys, unchanged)
   */
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly scope?: string,
  ) {
    this.leaseKey = `lease#scanner${scope ? `#${scope}` : ''}`;
    this.cursorKey = (region) => `cursor#${scoped(scope)}${region}`;
    this.attributesKey = (region, name) => `attributes#${scoped(scope)}${region}#${name}`;
    this.mailFromKey = (region, name) => `mailfrom#${scoped(scope)}${region}#${name}`;
  }

  async acquire(holder: string, now: number, until: number): Promise<boolean> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            [STATE_TABLE.partitionKey]: this.leaseKey,
            [STATE_TABLE.itemType]: STATE_ITEM_TYPES.lease,
            holder,
            until,
            [STATE_TABLE.timeToLive]: Math.ceil(until / 1000) + 86_400,
          },
          // Free, lapsed, or already ours (Lambda retries an invocation with the same request ID).
          ConditionExpression: 'attribute_not_exists(#key) OR #until < :now OR #holder = :holder',
          ExpressionAttributeNames: { '#key': STATE_TABLE.partitionKey, '#until': 'until', '#holder': 'holder' },
          ExpressionAttributeValues: { ':now': now, ':holder': holder },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  async release(holder: string): Promise<void> {
    try {
      await this.client.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: { [STATE_TABLE.partitionKey]: this.leaseKey },
          ConditionExpression: '#holder = :holder',
          ExpressionAttributeNames: { '#holder': 'holder' },
          ExpressionAttributeValues: { ':holder': holder },
        }),
      );
    } catch (error) {
      // Taken over after it lapsed: not ours to delete.
      if (!isConditionFailure(error)) throw error;
    }
  }

  async getCursor(region: string): Promise<string | undefined> {
    const result = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: { [STATE_TABLE.partitionKey]: this.cursorKey(region) } }),
    );
    const after = result.Item?.after;
    return typeof after === 'string' ? after : undefined;
  }

  async putCursor(region: string, cursor: string | undefined): Promise<void> {
    if (cursor === undefined) {
      await this.client.send(
        new DeleteCommand({ TableName: this.tableName, Key: { [STATE_TABLE.partitionKey]: this.cursorKey(region) } }),
      );
      return;
    }
    await this.client.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          [STATE_TABLE.partitionKey]: this.cursorKey(region),
          [STATE_TABLE.itemType]: STATE_ITEM_TYPES.cursor,
          region,
          after: cursor,
        },
      }),
    );
  }

  /**
   * Every region's cached attributes and MAIL FROM domains, read by one scan the first time any region asks
   * (one per instance).
   */
  private everyRegion?: Promise<CachedByRegion>;

  private loadAll(): Promise<CachedByRegion> {
    this.everyRegion ??= this.scanAttributes();
    const loaded = this.everyRegion;
    // A failed scan is not kept: the next caller tries again.
    loaded.catch(() => {
      if (this.everyRegion === loaded) this.everyRegion = undefined;
    });
    return loaded;
  }

  async load(region: string): Promise<Map<string, CachedSesAttributes>> {
    return new Map((await this.loadAll()).attributes.get(region));
  }

  async loadMailFrom(region: string): Promise<Map<string, CachedMailFrom>> {
    return new Map((await this.loadAll()).mailFrom.get(region));
  }

  saveMailFrom(entry: CachedMailFrom): Promise<void> {
    return this.putCached(entry, this.mailFromKey(entry.region, entry.name), STATE_ITEM_TYPES.mailFrom);
  }

  async removeMailFrom(region: string, name: string): Promise<void> {
    await this.client.send(
      new DeleteCommand({
        TableName: this.tableName,
        Key: { [STATE_TABLE.partitionKey]: this.mailFromKey(region, name) },
      }),
    );
  }

  private async scanAttributes(): Promise<CachedByRegion> {
    const byRegion = new Map<string, Map<string, CachedSesAttributes>>();
    const mailFromByRegion = new Map<string, Map<string, CachedMailFrom>>();
    // Eventually consistent is enough for a cache, and costs half.
    for await (const page of paginateScan(
      { client: this.client },
      {
        TableName: this.tableName,
        FilterExpression: this.scope
          ? '#itemType IN (:type, :mailFrom) AND #scope = :scope'
          : '#itemType IN (:type, :mailFrom) AND attribute_not_exists(#scope)',
        ExpressionAttributeNames: { '#itemType': STATE_TABLE.itemType, '#scope': 'scope' },
        ExpressionAttributeValues: {
          ':type': STATE_ITEM_TYPES.attributes,
          ':mailFrom': STATE_ITEM_TYPES.mailFrom,
          ...(this.scope ? { ':scope': this.scope } : {}),
        },
      },
    )) {
      for (const item of page.Items ?? []) {
        const {
          [STATE_TABLE.partitionKey]: _k,
          [STATE_TABLE.itemType]: _t,
          [STATE_TABLE.timeToLive]: _e,
          scope: _s,
          ...entry
        } = item;
        if (item[STATE_TABLE.itemType] === STATE_ITEM_TYPES.mailFrom)
          addByRegion(mailFromByRegion, entry as CachedMailFrom);
        else addByRegion(byRegion, entry as CachedSesAttributes);
      }
    }
    return { attributes: byRegion, mailFrom: mailFromByRegion };
  }

  save(entry: CachedSesAttributes): Promise<void> {
    return this.putCached(entry, this.attributesKey(entry.region, entry.name), STATE_ITEM_TYPES.attributes);
  }

  /** One cache item: this ledger's scope, its key and type, and a TTL from when it was read. */
  private async putCached(
    entry: { readonly readAt: string },
    key: string,
    itemType: (typeof STATE_ITEM_TYPES)[keyof typeof STATE_ITEM_TYPES],
  ): Promise<void> {
    await this.client.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          ...entry,
          ...(this.scope ? { scope: this.scope } : {}),
          [STATE_TABLE.partitionKey]: key,
          [STATE_TABLE.itemType]: itemType,
          [STATE_TABLE.timeToLive]: Math.ceil(Date.parse(entry.readAt) / 1000) + ATTRIBUTES_TTL_SECONDS,
        },
      }),
    );
  }
}
