/**
 * ConnectionStore on DynamoDB: one item per WebSocket connection, keyed by connectionId.
 * Authenticated connections also carry `userId` (byUser index, oldest first) and `partyKey`
 * (byParty index: "customer#2", "provider#1"); bare ones carry neither and stay out of both.
 *
 * The per-user cap is kept with one more item per user in the same table, the **roster**
 * (`connectionId` = "user#<userId>", never an API Gateway id, which has no `#`): a counter
 * `rosterSeq` and one attribute `m:<connectionId>` per signed-in connection holding the counter's
 * value when it signed in. Signing in is one UpdateItem that takes the next value and writes it
 * under the connection's own name in the same expression (both read the item as it was), and
 * returns the whole item: a consistent, totally ordered view of the user's connections in which
 * the one signing in is always the newest. Everything but the newest `maxPerUser` is evicted;
 * each eviction is claimed with a conditional REMOVE of that member (`m:<id> = <its value>`), so
 * exactly one sign-in closes each evicted connection. The roster carries none of the indexes'
 * keys, so it stays out of all three. See docs/protocol.md, "Connections per user".
 */
import {
  BatchGetCommand,
  DeleteCommand,
  ExecuteStatementCommand,
  GetCommand,
  PutCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import { NotFoundError } from '#core/errors';
import { partyOf, type Party, type Role } from '#core/model';
import { systemClock, type AuthenticatedConnection, type Clock, type Connection, type ConnectionStore } from '#core/ports';
import { INDEXES } from '#config/tables';
import { isConditionalCheckFailed, nowMs, queryAll, ttlSeconds } from './support.ts';

/** The item as stored. Times are epoch ms except `ttl` (epoch seconds, for DynamoDB's TTL). */
interface ConnectionItem {
  connectionId: string;
  connectedAt: number;
  expiresAt: number;
  ttl: number;
  authDeadline?: number;
  /** "yes" on bare connections only: the byAuthDeadline index's partition. */
  awaitingAuth?: typeof AWAITING_AUTH;
  tokenExpiresAt?: number;
  userId?: number;
  role?: Role;
  providerId?: number;
  /** A service's client id (Identity.serviceId). */
  serviceId?: string;
  partyKey?: string;
}

const AWAITING_AUTH = 'yes';

/** The roster item of a user (see the module comment). */
export function rosterKeyOf(userId: number): string {
  return `user#${userId}`;
}
const ROSTER_SEQ = 'rosterSeq';
const MEMBER_PREFIX = 'm:';
const memberName = (connectionId: string) => `${MEMBER_PREFIX}${connectionId}`;
/** Partition keys DynamoDB accepts in one PartiQL `IN`. */
const PARTIQL_IN_LIMIT = 50;
/** BatchGetItem's limit per request. */
const BATCH_GET_LIMIT = 100;

/** The byParty index key of a party: "customer#<userId>" or "provider#<providerId>". */
export function partyKeyOf(party: Party): string {
  return `${party.side}#${party.partyId}`;
}

function toItem(connection: Connection): ConnectionItem {
  const { identity } = connection;
  const party = identity ? partyOf(identity) : null;
  return {
    connectionId: connection.connectionId,
    connectedAt: connection.connectedAt,
    expiresAt: connection.expiresAt,
    ttl: ttlSeconds(connection.expiresAt),
    authDeadline: connection.authDeadline,
    awaitingAuth: identity ? undefined : AWAITING_AUTH,
    tokenExpiresAt: connection.tokenExpiresAt,
    userId: identity?.userId,
    role: identity?.role,
    providerId: identity?.providerId,
    serviceId: identity?.serviceId,
    partyKey: party ? partyKeyOf(party) : undefined,
  };
}

function toConnection(item: Record<string, unknown>): Connection {
  const row = item as unknown as ConnectionItem;
  const connection: Connection = {
    connectionId: row.connectionId,
    connectedAt: row.connectedAt,
    expiresAt: row.expiresAt,
    identity:
      row.userId !== undefined && row.role !== undefined
        ? {
            userId: row.userId,
            role: row.role,
            ...(row.providerId !== undefined ? { providerId: row.providerId } : {}),
            ...(row.serviceId !== undefined ? { serviceId: row.serviceId } : {}),
          }
        : null,
  };
  if (row.authDeadline !== undefined) connection.authDeadline = row.authDeadline;
  if (row.tokenExpiresAt !== undefined) connection.tokenExpiresAt = row.tokenExpiresAt;
  return connection;
}

function isAuthenticated(connection: Connection): connection is AuthenticatedConnection {
  return connection.identity !== null;
}

export interface ConnectionStoreOptions {
  doc: DynamoDBDocumentClient;
  tableName: string;
  clock?: Clock;
}

export function makeConnectionStore({ doc, tableName, clock = systemClock }: ConnectionStoreOptions): ConnectionStore {
  /**
   * Live authenticated connections in one partition of an index (index reads are eventually
   * consistent). A connection whose token has expired is not live: it receives nothing more and
   * is closed on its next frame.
   */
  async function liveIn(index: string, keyName: string, keyValue: string | number): Promise<AuthenticatedConnection[]> {
    const items = await queryAll(doc, {
      TableName: tableName,
      IndexName: index,
      KeyConditionExpression: '#key = :key',
      FilterExpression: '#expiresAt > :now AND (attribute_not_exists(#tokenExpiresAt) OR #tokenExpiresAt > :now)',
      ExpressionAttributeNames: { '#key': keyName, '#expiresAt': 'expiresAt', '#tokenExpiresAt': 'tokenExpiresAt' },
      ExpressionAttributeValues: { ':key': keyValue, ':now': nowMs(clock) },
    });
    return items.map(toConnection).filter(isAuthenticated);
  }

  /**
   * Live authenticated connections of several parties in ONE request: a PartiQL SELECT on the
   * byParty index with `partyKey IN [...]`, which DynamoDB runs as one query per key (the same
   * items and read units as separate Queries) but answers in one round trip. Same filter as
   * {@link liveIn}; index reads are eventually consistent either way.
   */
  async function liveInParties(keys: string[]): Promise<AuthenticatedConnection[]> {
    const found: AuthenticatedConnection[] = [];
    const now = nowMs(clock);
    // DynamoDB accepts at most 50 partition keys in one IN; a conversation has two parties.
    for (let start = 0; start < keys.length; start += PARTIQL_IN_LIMIT) {
      const chunk = keys.slice(start, start + PARTIQL_IN_LIMIT);
      let nextToken: string | undefined;
      do {
        const result = await doc.send(
          new ExecuteStatementCommand({
            Statement:
              `SELECT * FROM "${tableName}"."${INDEXES.connectionsByParty}" ` +
              `WHERE "partyKey" IN [${chunk.map(() => '?').join(', ')}] ` +
              'AND "expiresAt" > ? AND ("tokenExpiresAt" IS MISSING OR "tokenExpiresAt" > ?)',
            Parameters: [...chunk, now, now],
            NextToken: nextToken,
          }),
        );
        for (const item of result.Items ?? []) {
          const connection = toConnection(item);
          if (isAuthenticated(connection)) found.push(connection);
        }
        nextToken = result.NextToken;
      } while (nextToken);
    }
    return found;
  }

  const forUser = (userId: number) => liveIn(INDEXES.connectionsByUser, 'userId', userId);

  /** Takes a member out of a roster: only while it still has `seq` when given (a claim), else any. */
  async function leaveRoster(userId: number, connectionId: string, seq?: number): Promise<boolean> {
    try {
      await doc.send(
        new UpdateCommand({
          TableName: tableName,
          Key: { connectionId: rosterKeyOf(userId) },
          UpdateExpression: 'REMOVE #member',
          ConditionExpression: seq === undefined ? 'attribute_exists(#member)' : '#member = :seq',
          ExpressionAttributeNames: { '#member': memberName(connectionId) },
          ...(seq === undefined ? {} : { ExpressionAttributeValues: { ':seq': seq } }),
        }),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }

  /** Connection records by id, read consistently (BatchGetItem, unprocessed keys asked again). */
  async function recordsOf(ids: string[]): Promise<Map<string, Connection>> {
    const found = new Map<string, Connection>();
    for (let start = 0; start < ids.length; start += BATCH_GET_LIMIT) {
      let keys: Record<string, unknown>[] = ids.slice(start, start + BATCH_GET_LIMIT).map((connectionId) => ({ connectionId }));
      for (let attempt = 0; keys.length > 0; attempt++) {
        if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, Math.min(1000, 25 * 2 ** attempt)));
        const result = await doc.send(
          new BatchGetCommand({ RequestItems: { [tableName]: { Keys: keys, ConsistentRead: true } } }),
        );
        for (const item of result.Responses?.[tableName] ?? []) found.set(String(item.connectionId), toConnection(item));
        keys = (result.UnprocessedKeys?.[tableName]?.Keys ?? []) as Record<string, unknown>[];
      }
    }
    return found;
  }

  /**
   * Registers a signed-in connection in its user's roster and claims the evictions of every
   * member but the newest `maxPerUser` that are still open. Members whose record is gone,
   * expired or signed in as someone else are dropped from the roster without being counted.
   */
  async function enforceCap(connection: AuthenticatedConnection, userId: number, maxPerUser: number): Promise<string[]> {
    const now = nowMs(clock);
    const { Attributes } = await doc.send(
      new UpdateCommand({
        TableName: tableName,
        Key: { connectionId: rosterKeyOf(userId) },
        UpdateExpression: 'SET #seq = if_not_exists(#seq, :zero) + :one, #member = if_not_exists(#seq, :zero) + :one, #ttl = :ttl',
        ExpressionAttributeNames: { '#seq': ROSTER_SEQ, '#member': memberName(connection.connectionId), '#ttl': 'ttl' },
        // Every member signed in at or before now, so none outlives now + a connection's lifetime.
        ExpressionAttributeValues: { ':zero': 0, ':one': 1, ':ttl': ttlSeconds(now + (connection.expiresAt - connection.connectedAt)) },
        ReturnValues: 'ALL_NEW',
      }),
    );
    const members = Object.entries(Attributes ?? {})
      .filter(([name, value]) => name.startsWith(MEMBER_PREFIX) && typeof value === 'number')
      .map(([name, value]) => ({ connectionId: name.slice(MEMBER_PREFIX.length), seq: value as number }))
      .filter((member) => member.connectionId !== connection.connectionId)
      // Newest first; this connection holds the highest value of all, so it always stays.
      .sort((a, b) => b.seq - a.seq);
    const room = Math.max(1, maxPerUser) - 1;
    if (members.length <= room) return [];

    const records = await recordsOf(members.map((member) => member.connectionId));
    const live = [];
    const dead = [];
    for (const member of members) {
      const record = records.get(member.connectionId);
      if (record && record.expiresAt > now && record.identity?.userId === userId) live.push(member);
      else dead.push(member);
    }
    const excess = live.slice(room);
    const [claimed] = await Promise.all([
      Promise.all(excess.map((member) => leaveRoster(userId, member.connectionId, member.seq))),
      Promise.all(dead.map((member) => leaveRoster(userId, member.connectionId, member.seq))),
    ]);
    // A member another sign-in claimed first (or that signed in again, with a new value) is theirs.
    return excess.filter((_, i) => claimed[i]).map((member) => member.connectionId);
  }

  return {
    async put(connection) {
      await doc.send(new PutCommand({ TableName: tableName, Item: toItem(connection) }));
    },

    async authenticate(connectionId, identity, tokenExpiresAt, maxPerUser) {
      const party = partyOf(identity);
      const set = ['#userId = :userId', '#role = :role', '#tokenExpiresAt = :tokenExpiresAt'];
      const remove = ['#authDeadline', '#awaitingAuth'];
      const names: Record<string, string> = {
        '#connectionId': 'connectionId',
        '#expiresAt': 'expiresAt',
        '#userId': 'userId',
        '#role': 'role',
        '#tokenExpiresAt': 'tokenExpiresAt',
        '#authDeadline': 'authDeadline',
        '#awaitingAuth': 'awaitingAuth',
        '#providerId': 'providerId',
        '#serviceId': 'serviceId',
        '#partyKey': 'partyKey',
      };
      const values: Record<string, unknown> = {
        ':userId': identity.userId,
        ':role': identity.role,
        ':tokenExpiresAt': tokenExpiresAt,
        ':now': nowMs(clock),
      };
      // A connection may authenticate again (a refreshed token, or another user): replace all of it.
      if (identity.providerId !== undefined) {
        set.push('#providerId = :providerId');
        values[':providerId'] = identity.providerId;
      } else {
        remove.push('#providerId');
      }
      if (identity.serviceId !== undefined) {
        set.push('#serviceId = :serviceId');
        values[':serviceId'] = identity.serviceId;
      } else {
        remove.push('#serviceId');
      }
      if (party) {
        set.push('#partyKey = :partyKey');
        values[':partyKey'] = partyKeyOf(party);
      } else {
        remove.push('#partyKey');
      }

      let updated: Record<string, unknown> | undefined;
      try {
        const result = await doc.send(
          new UpdateCommand({
            TableName: tableName,
            Key: { connectionId },
            UpdateExpression: `SET ${set.join(', ')} REMOVE ${remove.join(', ')}`,
            ConditionExpression: 'attribute_exists(#connectionId) AND #expiresAt > :now',
            ExpressionAttributeNames: names,
            ExpressionAttributeValues: values,
            ReturnValues: 'ALL_NEW',
          }),
        );
        updated = result.Attributes;
      } catch (error) {
        if (isConditionalCheckFailed(error)) throw new NotFoundError('The connection is closed');
        throw error;
      }
      const connection = toConnection(updated ?? {}) as AuthenticatedConnection;
      const evicted = await enforceCap(connection, identity.userId, maxPerUser);
      return { connection, evicted };
    },

    async get(connectionId) {
      const { Item } = await doc.send(new GetCommand({ TableName: tableName, Key: { connectionId }, ConsistentRead: true }));
      if (!Item) return null;
      const connection = toConnection(Item);
      return connection.expiresAt > nowMs(clock) ? connection : null;
    },

    async remove(connectionId) {
      const { Attributes } = await doc.send(
        new DeleteCommand({ TableName: tableName, Key: { connectionId }, ReturnValues: 'ALL_OLD' }),
      );
      if (!Attributes) return null;
      // Returned even when expired: the caller still cleans up after it.
      const removed = toConnection(Attributes);
      if (removed.identity) await leaveRoster(removed.identity.userId, connectionId);
      return removed;
    },

    async forParties(parties) {
      const keys = [...new Set(parties.map(partyKeyOf))];
      if (keys.length === 0) return [];
      if (keys.length === 1) return liveIn(INDEXES.connectionsByParty, 'partyKey', keys[0]!);
      return liveInParties(keys);
    },

    forUser,

    async awaitingAuthSince(deadline) {
      const items = await queryAll<{ connectionId: string }>(doc, {
        TableName: tableName,
        IndexName: INDEXES.connectionsAwaitingAuth,
        KeyConditionExpression: '#awaiting = :yes AND #authDeadline <= :deadline',
        ExpressionAttributeNames: { '#awaiting': 'awaitingAuth', '#authDeadline': 'authDeadline' },
        ExpressionAttributeValues: { ':yes': AWAITING_AUTH, ':deadline': deadline },
      });
      return items.map((item) => item.connectionId);
    },
  };
}
