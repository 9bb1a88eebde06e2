/**
 * PresenceStore on DynamoDB: one item per user holding the string set of their live connection
 * ids. Connection ids are added and deleted atomically (ADD / DELETE), and each update reports
 * the state it replaced, so "came online" and "went offline" fire exactly once per transition
 * however connects and disconnects interleave, and removing a connection twice changes nothing.
 *
 * `onlineUntil` is the expiry of the newest connection: if a disconnect is ever lost, the ids it
 * left behind stop counting once every connection they could belong to has expired, and the
 * next connect starts a fresh set (and announces the user online again).
 */
import { BatchGetCommand, GetCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Role } from '#core/model';
import type { Presence, PresenceStore } from '#core/ports';
import { INDEXES } from '#config/tables';
import { isConditionalCheckFailed, queryAll, scanAll, ttlSeconds } from './support.ts';

const DAY_MS = 24 * 60 * 60 * 1000;
/** BatchGetItem takes at most 100 keys. */
const BATCH_GET_LIMIT = 100;

/** The item as stored. Times are epoch ms except `ttl` (epoch seconds). */
interface PresenceItem {
  userId: number;
  role: Role;
  providerId?: number;
  /** Live connection ids; DynamoDB drops the attribute when the last one is deleted. */
  connectionIds?: Set<string>;
  /** No connection in `connectionIds` outlives this. */
  onlineUntil?: number;
  lastSeen: number;
  ttl: number;
}

const NAMES = {
  '#connectionIds': 'connectionIds',
  '#onlineUntil': 'onlineUntil',
  '#lastSeen': 'lastSeen',
  '#ttl': 'ttl',
  '#role': 'role',
  '#providerId': 'providerId',
};

/** The filter that keeps online users at `:now` (ms) whose item has not expired at `:nowSeconds`. */
const ONLINE_FILTER = 'attribute_exists(#connectionIds) AND #onlineUntil > :now AND #ttl > :nowSeconds';
const ONLINE_FILTER_NAMES = { '#connectionIds': 'connectionIds', '#onlineUntil': 'onlineUntil', '#ttl': 'ttl' };

function isOnline(item: Partial<PresenceItem> | undefined, now: number): boolean {
  return (
    item !== undefined &&
    (item.connectionIds?.size ?? 0) > 0 &&
    (item.onlineUntil ?? 0) > now &&
    (item.ttl ?? 0) * 1000 > now
  );
}

function toPresence(item: PresenceItem, now: number): Presence {
  return {
    userId: item.userId,
    role: item.role,
    ...(item.providerId !== undefined ? { providerId: item.providerId } : {}),
    online: isOnline(item, now),
    lastSeen: item.lastSeen,
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface PresenceStoreOptions {
  doc: DynamoDBDocumentClient;
  tableName: string;
  /** How long a user's presence (and lastSeen) is kept after their last activity (CHAT_PRESENCE_TTL_DAYS). */
  ttlDays: number;
  /** First back-off before retrying keys a BatchGet left unprocessed (doubles each time). */
  batchRetryBaseMs?: number;
  /** Attempts before giving up on unprocessed keys. */
  batchMaxAttempts?: number;
}

export function makePresenceStore({
  doc,
  tableName,
  ttlDays,
  batchRetryBaseMs = 25,
  batchMaxAttempts = 8,
}: PresenceStoreOptions): PresenceStore {
  const ttlFor = (at: number, until = 0) => ttlSeconds(Math.max(at + ttlDays * DAY_MS, until));

  async function getItem(userId: number): Promise<PresenceItem | undefined> {
    const { Item } = await doc.send(new GetCommand({ TableName: tableName, Key: { userId }, ConsistentRead: true }));
    return Item as PresenceItem | undefined;
  }

  async function batchGet(userIds: number[]): Promise<PresenceItem[]> {
    const found: PresenceItem[] = [];
    for (let start = 0; start < userIds.length; start += BATCH_GET_LIMIT) {
      let keys: Record<string, unknown>[] = userIds.slice(start, start + BATCH_GET_LIMIT).map((userId) => ({ userId }));
      for (let attempt = 0; keys.length > 0; attempt++) {
        if (attempt >= batchMaxAttempts) {
          throw new Error(`Presence lookup left ${keys.length} keys unprocessed after ${batchMaxAttempts} attempts`);
        }
        if (attempt > 0) await sleep(Math.min(1000, batchRetryBaseMs * 2 ** (attempt - 1)));
        const result = await doc.send(new BatchGetCommand({ RequestItems: { [tableName]: { Keys: keys } } }));
        found.push(...((result.Responses?.[tableName] ?? []) as PresenceItem[]));
        keys = result.UnprocessedKeys?.[tableName]?.Keys ?? [];
      }
    }
    return found;
  }

  return {
    async connected({ userId, role, providerId, connectionId, at, expiresAt }) {
      const values = {
        ':connectionIds': new Set([connectionId]),
        ':role': role,
        ':at': at,
        ':until': expiresAt,
        ':ttl': ttlFor(at, expiresAt),
        ...(providerId !== undefined ? { ':providerId': providerId } : {}),
      };
      const setRest = [
        '#role = :role',
        '#lastSeen = :at',
        '#onlineUntil = :until',
        '#ttl = :ttl',
        ...(providerId !== undefined ? ['#providerId = :providerId'] : []),
      ].join(', ');
      const removeProvider = providerId === undefined ? ' REMOVE #providerId' : '';
      const presence: Presence = {
        userId,
        role,
        ...(providerId !== undefined ? { providerId } : {}),
        online: true,
        lastSeen: at,
      };

      // Each round tries to join the live set, then (when every id left in it has expired) to start
      // a new one. A round only fails when another connect or disconnect changed the item in between.
      for (let round = 0; round < 5; round++) {
        try {
          const { Attributes } = await doc.send(
            new UpdateCommand({
              TableName: tableName,
              Key: { userId },
              UpdateExpression: `ADD #connectionIds :connectionIds SET ${setRest}${removeProvider}`,
              ConditionExpression: 'attribute_not_exists(#connectionIds) OR #onlineUntil > :at',
              ExpressionAttributeNames: NAMES,
              ExpressionAttributeValues: values,
              ReturnValues: 'ALL_OLD',
            }),
          );
          const before = Attributes as Partial<PresenceItem> | undefined;
          return { presence, changed: (before?.connectionIds?.size ?? 0) === 0 };
        } catch (error) {
          if (!isConditionalCheckFailed(error)) throw error;
        }
        try {
          await doc.send(
            new UpdateCommand({
              TableName: tableName,
              Key: { userId },
              UpdateExpression: `SET #connectionIds = :connectionIds, ${setRest}${removeProvider}`,
              ConditionExpression: 'attribute_exists(#connectionIds) AND #onlineUntil <= :at',
              ExpressionAttributeNames: NAMES,
              ExpressionAttributeValues: values,
            }),
          );
          return { presence, changed: true };
        } catch (error) {
          if (!isConditionalCheckFailed(error)) throw error;
        }
      }
      throw new Error(`Presence of user ${userId} kept changing under a connect; giving up`);
    },

    async disconnected({ userId, connectionId, at, role, providerId }) {
      try {
        const { Attributes } = await doc.send(
          new UpdateCommand({
            TableName: tableName,
            Key: { userId },
            UpdateExpression: 'DELETE #connectionIds :connectionIds SET #lastSeen = :at, #ttl = :ttl',
            ConditionExpression: 'contains(#connectionIds, :connectionId)',
            ExpressionAttributeNames: { '#connectionIds': 'connectionIds', '#lastSeen': 'lastSeen', '#ttl': 'ttl' },
            ExpressionAttributeValues: {
              ':connectionIds': new Set([connectionId]),
              ':connectionId': connectionId,
              ':at': at,
              ':ttl': ttlFor(at),
            },
            ReturnValues: 'ALL_NEW',
          }),
        );
        const after = Attributes as PresenceItem;
        // The set held this connection, so the user was online unless every connection had expired.
        const wasOnline = (after.onlineUntil ?? 0) > at;
        const presence = toPresence(after, at);
        return { presence, changed: wasOnline && !presence.online };
      } catch (error) {
        if (!isConditionalCheckFailed(error)) throw error;
      }
      // Already removed (a repeated disconnect) or never added: nothing changes.
      const item = await getItem(userId);
      if (item) return { presence: toPresence(item, at), changed: false };
      return {
        presence: {
          userId,
          role: role ?? 'customer',
          ...(providerId !== undefined ? { providerId } : {}),
          online: false,
          lastSeen: at,
        },
        changed: false,
      };
    },

    async onlineAmong(parties, now) {
      const customerIds = [...new Set(parties.filter((p) => p.side === 'customer').map((p) => p.partyId))];
      const providerIds = [...new Set(parties.filter((p) => p.side === 'provider').map((p) => p.partyId))];
      const [customers, ...staff] = await Promise.all([
        batchGet(customerIds),
        ...providerIds.map((providerId) =>
          queryAll<PresenceItem>(doc, {
            TableName: tableName,
            IndexName: INDEXES.presenceByProvider,
            KeyConditionExpression: '#providerId = :providerId',
            FilterExpression: ONLINE_FILTER,
            ExpressionAttributeNames: { ...ONLINE_FILTER_NAMES, '#providerId': 'providerId' },
            ExpressionAttributeValues: { ':providerId': providerId, ':now': now, ':nowSeconds': Math.floor(now / 1000) },
          }),
        ),
      ]);
      const online = new Map<number, Presence>();
      for (const item of customers) {
        if (item.role === 'customer' && isOnline(item, now)) online.set(item.userId, toPresence(item, now));
      }
      for (const item of staff.flat()) {
        if (item.role === 'provider' && isOnline(item, now)) online.set(item.userId, toPresence(item, now));
      }
      return [...online.values()];
    },

    async allOnline(now) {
      const items = await scanAll<PresenceItem>(doc, {
        TableName: tableName,
        FilterExpression: ONLINE_FILTER,
        ExpressionAttributeNames: ONLINE_FILTER_NAMES,
        ExpressionAttributeValues: { ':now': now, ':nowSeconds': Math.floor(now / 1000) },
      });
      return items.filter((item) => isOnline(item, now)).map((item) => toPresence(item, now));
    },
  };
}
