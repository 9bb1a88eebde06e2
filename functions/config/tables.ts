/**
 * Every DynamoDB table the product uses, defined once as plain data: keys, indexes, the TTL
 * attribute. The CDK stack builds the real tables from these definitions and the local runtime
 * (and the tests) create them with {@link ensureTables}, so the two can never disagree.
 *
 * All of this is short-lived state that the live system rebuilds by itself (clients reconnect,
 * re-join rooms and type again), which is why no table needs point-in-time recovery.
 */
import {
  CreateTableCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  ResourceInUseException,
  ResourceNotFoundException,
  UpdateTimeToLiveCommand,
  waitUntilTableExists,
  type AttributeDefinition,
  type CreateTableCommandInput,
  type DynamoDBClient,
  type GlobalSecondaryIndex,
  type KeySchemaElement,
  type Projection,
} from '@aws-sdk/client-dynamodb';
import type { Settings } from './settings.ts';

export interface KeyAttribute {
  name: string;
  /** DynamoDB's scalar type: S (string) or N (number). */
  type: 'S' | 'N';
}

export type IndexProjection =
  | { type: 'ALL' }
  | { type: 'KEYS_ONLY' }
  | { type: 'INCLUDE'; attributes: readonly string[] };

export interface IndexDefinition {
  name: string;
  partitionKey: KeyAttribute;
  sortKey?: KeyAttribute;
  projection: IndexProjection;
}

export interface TableDefinition {
  /** The settings key whose value is the table's physical name. */
  settingsKey: 'CONNECTIONS_TABLE' | 'SUBSCRIPTIONS_TABLE' | 'PRESENCE_TABLE' | 'TYPING_TABLE' | 'RATE_LIMITS_TABLE';
  partitionKey: KeyAttribute;
  sortKey?: KeyAttribute;
  globalSecondaryIndexes: readonly IndexDefinition[];
  /** Holds the item's expiry in epoch SECONDS, as DynamoDB's TTL requires. */
  ttlAttribute: string;
  /** Whether losing the table's content would lose anything that cannot be rebuilt. */
  pointInTimeRecovery: boolean;
}

/** The attribute every item carries so that DynamoDB deletes abandoned state (epoch seconds). */
export const TTL_ATTRIBUTE = 'ttl';

/** Index names, for the stores that query them. */
export const INDEXES = {
  /** connections by user, oldest first: eviction past the per-user maximum, a user's sockets. */
  connectionsByUser: 'byUser',
  /** connections by party ("customer#2", "provider#1"): fan-out to every staff user of a provider. */
  connectionsByParty: 'byParty',
  /** bare connections by authentication deadline, for closing the ones that never authenticated. */
  connectionsAwaitingAuth: 'byAuthDeadline',
  /** a connection's room subscriptions, to leave them all on disconnect. */
  subscriptionsByConnection: 'byConnection',
  /** presence of provider staff, by the provider they act for. */
  presenceByProvider: 'byProvider',
} as const;

export const TABLES = {
  /**
   * One item per WebSocket connection. Bare (unauthenticated) connections carry no userId or
   * partyKey, so they stay out of both indexes (sparse indexes).
   */
  connections: {
    settingsKey: 'CONNECTIONS_TABLE',
    partitionKey: { name: 'connectionId', type: 'S' },
    globalSecondaryIndexes: [
      {
        name: INDEXES.connectionsByUser,
        partitionKey: { name: 'userId', type: 'N' },
        sortKey: { name: 'connectedAt', type: 'N' },
        projection: { type: 'ALL' },
      },
      {
        name: INDEXES.connectionsByParty,
        partitionKey: { name: 'partyKey', type: 'S' },
        sortKey: { name: 'connectionId', type: 'S' },
        projection: { type: 'ALL' },
      },
      {
        // Only bare connections carry `awaitingAuth`, so the index holds just those: few and short-lived.
        name: INDEXES.connectionsAwaitingAuth,
        partitionKey: { name: 'awaitingAuth', type: 'S' },
        sortKey: { name: 'authDeadline', type: 'N' },
        projection: { type: 'KEYS_ONLY' },
      },
    ],
    ttlAttribute: TTL_ATTRIBUTE,
    pointInTimeRecovery: false,
  },
  /** Room membership: which connections joined which conversation. */
  subscriptions: {
    settingsKey: 'SUBSCRIPTIONS_TABLE',
    partitionKey: { name: 'conversationId', type: 'S' },
    sortKey: { name: 'connectionId', type: 'S' },
    globalSecondaryIndexes: [
      {
        name: INDEXES.subscriptionsByConnection,
        partitionKey: { name: 'connectionId', type: 'S' },
        projection: { type: 'KEYS_ONLY' },
      },
    ],
    ttlAttribute: TTL_ATTRIBUTE,
    pointInTimeRecovery: false,
  },
  /**
   * One item per user: the set of their live connection ids and when they were last seen.
   * Only provider staff carry providerId, so only they appear in the byProvider index.
   */
  presence: {
    settingsKey: 'PRESENCE_TABLE',
    partitionKey: { name: 'userId', type: 'N' },
    globalSecondaryIndexes: [
      {
        name: INDEXES.presenceByProvider,
        partitionKey: { name: 'providerId', type: 'N' },
        sortKey: { name: 'userId', type: 'N' },
        projection: { type: 'ALL' },
      },
    ],
    ttlAttribute: TTL_ATTRIBUTE,
    pointInTimeRecovery: false,
  },
  /** Who is typing in a conversation; each state lives CHAT_TYPING_TIMEOUT ms. */
  typing: {
    settingsKey: 'TYPING_TABLE',
    partitionKey: { name: 'conversationId', type: 'S' },
    sortKey: { name: 'userId', type: 'N' },
    globalSecondaryIndexes: [],
    ttlAttribute: TTL_ATTRIBUTE,
    pointInTimeRecovery: false,
  },
  /** Fixed-window counters, one item per key and window. */
  rateLimits: {
    settingsKey: 'RATE_LIMITS_TABLE',
    partitionKey: { name: 'key', type: 'S' },
    globalSecondaryIndexes: [],
    ttlAttribute: TTL_ATTRIBUTE,
    pointInTimeRecovery: false,
  },
} as const satisfies Record<string, TableDefinition>;

/** A table's logical name: connections, subscriptions, presence, typing or rateLimits. */
export type TableKey = keyof typeof TABLES;

/** Physical table names by logical name. */
export type TableNames = Record<TableKey, string>;

export const TABLE_KEYS = Object.keys(TABLES) as TableKey[];

/** The physical table names from settings (the stack sets them; locally the defaults apply). */
export function tableNamesFrom(settings: Pick<Settings, TableDefinition['settingsKey']>): TableNames {
  return Object.fromEntries(TABLE_KEYS.map((key) => [key, settings[TABLES[key].settingsKey]])) as TableNames;
}

function keySchema(partitionKey: KeyAttribute, sortKey?: KeyAttribute): KeySchemaElement[] {
  const schema: KeySchemaElement[] = [{ AttributeName: partitionKey.name, KeyType: 'HASH' }];
  if (sortKey) schema.push({ AttributeName: sortKey.name, KeyType: 'RANGE' });
  return schema;
}

function projectionOf(projection: IndexProjection): Projection {
  if (projection.type === 'INCLUDE') {
    return { ProjectionType: 'INCLUDE', NonKeyAttributes: [...projection.attributes] };
  }
  return { ProjectionType: projection.type };
}

/** Every key attribute a table and its indexes use, once each. */
function attributeDefinitions(table: TableDefinition): AttributeDefinition[] {
  const all = [
    table.partitionKey,
    table.sortKey,
    ...table.globalSecondaryIndexes.flatMap((index) => [index.partitionKey, index.sortKey]),
  ].filter((attribute): attribute is KeyAttribute => attribute !== undefined);
  const byName = new Map<string, KeyAttribute>();
  for (const attribute of all) {
    const seen = byName.get(attribute.name);
    if (seen && seen.type !== attribute.type) {
      throw new Error(`Attribute ${attribute.name} is declared both ${seen.type} and ${attribute.type}`);
    }
    byName.set(attribute.name, attribute);
  }
  return [...byName.values()].map((attribute) => ({ AttributeName: attribute.name, AttributeType: attribute.type }));
}

/** CreateTable requests (on-demand capacity) for every table, under the given physical names. */
export function createTableInputs(names: TableNames): CreateTableCommandInput[] {
  return TABLE_KEYS.map((key) => {
    const table: TableDefinition = TABLES[key];
    const indexes: GlobalSecondaryIndex[] = table.globalSecondaryIndexes.map((index) => ({
      IndexName: index.name,
      KeySchema: keySchema(index.partitionKey, index.sortKey),
      Projection: projectionOf(index.projection),
    }));
    return {
      TableName: names[key],
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: attributeDefinitions(table),
      KeySchema: keySchema(table.partitionKey, table.sortKey),
      ...(indexes.length > 0 ? { GlobalSecondaryIndexes: indexes } : {}),
    };
  });
}

async function tableExists(client: DynamoDBClient, tableName: string): Promise<boolean> {
  try {
    await client.send(new DescribeTableCommand({ TableName: tableName }));
    return true;
  } catch (error) {
    if (error instanceof ResourceNotFoundException) return false;
    throw error;
  }
}

async function enableTtl(client: DynamoDBClient, tableName: string, attribute: string): Promise<void> {
  const described = await client.send(new DescribeTimeToLiveCommand({ TableName: tableName }));
  const status = described.TimeToLiveDescription?.TimeToLiveStatus;
  if (status === 'ENABLED' || status === 'ENABLING') return;
  try {
    await client.send(
      new UpdateTimeToLiveCommand({
        TableName: tableName,
        TimeToLiveSpecification: { Enabled: true, AttributeName: attribute },
      }),
    );
  } catch (error) {
    // Another process may have enabled it between our describe and update.
    const again = await client.send(new DescribeTimeToLiveCommand({ TableName: tableName }));
    const now = again.TimeToLiveDescription?.TimeToLiveStatus;
    if (now !== 'ENABLED' && now !== 'ENABLING') throw error;
  }
}

/**
 * Creates the tables that do not exist yet, waits until every one is ACTIVE and enables TTL on
 * each. Safe to run again and from several processes at once. For the local runtime and tests;
 * in AWS the stack owns the tables.
 */
export async function ensureTables(
  client: DynamoDBClient,
  names: TableNames,
  options: { maxWaitSeconds?: number } = {},
): Promise<void> {
  const inputs = createTableInputs(names);
  await Promise.all(
    TABLE_KEYS.map(async (key, i) => {
      const tableName = names[key];
      if (!(await tableExists(client, tableName))) {
        try {
          await client.send(new CreateTableCommand(inputs[i]!));
        } catch (error) {
          if (!(error instanceof ResourceInUseException)) throw error;
        }
      }
      await waitUntilTableExists(
        { client, maxWaitTime: options.maxWaitSeconds ?? 60, minDelay: 1, maxDelay: 2 },
        { TableName: tableName },
      );
      await enableTtl(client, tableName, TABLES[key].ttlAttribute);
    }),
  );
}
