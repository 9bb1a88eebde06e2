/**
 * ConnectionStore on DynamoDB: one item per WebSocket connection, keyed by connectionId.
 * Authenticated connections also carry `userId` (byUser index, oldest first) and `partyKey`
 * (byParty index: "customer#2", "provider#1"); bare ones carry neither and stay out of both.
 */
import { DeleteCommand, GetCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
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
  partyKey?: string;
}

const AWAITING_AUTH = 'yes';

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
        ? { userId: row.userId, role: row.role, ...(row.providerId !== undefined ? { providerId: row.providerId } : {}) }
        : null,
  };
  if (row.authDeadline !== undefined) connection.authDeadline = row.authDeadline;
  if (row.tokenExpiresAt !== undefined) connection.tokenExpiresAt = row.tokenExpiresAt;
  return connection;
}

function isAuthenticated(connection: Connection): connection is AuthenticatedConnection {
  return connection.identity !== null;
}

/** Oldest first; connectionId breaks ties so the choice is stable. */
function byAge(a: Connection, b: Connection): number {
  return a.connectedAt - b.connectedAt || a.connectionId.localeCompare(b.connectionId);
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

  const forUser = (userId: number) => liveIn(INDEXES.connectionsByUser, 'userId', userId);

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

      // The index may not show this connection yet, so it is counted here and never evicted.
      const others = (await forUser(identity.userId))
        .filter((other) => other.connectionId !== connectionId)
        .sort(byAge);
      const excess = Math.max(0, others.length + 1 - Math.max(1, maxPerUser));
      return { connection, evicted: others.slice(0, excess).map((other) => other.connectionId) };
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
      // Returned even when expired: the caller still cleans up after it.
      return Attributes ? toConnection(Attributes) : null;
    },

    async forParties(parties) {
      const keys = [...new Set(parties.map(partyKeyOf))];
      const perParty = await Promise.all(keys.map((key) => liveIn(INDEXES.connectionsByParty, 'partyKey', key)));
      return perParty.flat();
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
