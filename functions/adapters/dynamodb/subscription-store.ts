/**
 * SubscriptionStore on DynamoDB: who joined which conversation's room. Keyed by
 * (conversationId, connectionId); the byConnection index finds a connection's rooms on disconnect.
 */
import { DeleteCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { systemClock, type Clock, type Subscription, type SubscriptionStore } from '#core/ports';
import { INDEXES } from '#config/tables';
import { nowMs, queryAll, ttlSeconds } from './support.ts';

export interface SubscriptionStoreOptions {
  doc: DynamoDBDocumentClient;
  tableName: string;
  clock?: Clock;
}

function toSubscription(item: Record<string, unknown>): Subscription {
  return {
    conversationId: item.conversationId as string,
    connectionId: item.connectionId as string,
    userId: item.userId as number,
    expiresAt: item.expiresAt as number,
  };
}

export function makeSubscriptionStore({ doc, tableName, clock = systemClock }: SubscriptionStoreOptions): SubscriptionStore {
  return {
    async subscribe(subscription) {
      await doc.send(
        new PutCommand({
          TableName: tableName,
          Item: { ...subscription, ttl: ttlSeconds(subscription.expiresAt) },
        }),
      );
    },

    async unsubscribe(conversationId, connectionId) {
      await doc.send(new DeleteCommand({ TableName: tableName, Key: { conversationId, connectionId } }));
    },

    async connectionsIn(conversationId) {
      const items = await queryAll(doc, {
        TableName: tableName,
        KeyConditionExpression: '#conversationId = :conversationId',
        FilterExpression: '#expiresAt > :now',
        ExpressionAttributeNames: { '#conversationId': 'conversationId', '#expiresAt': 'expiresAt' },
        ExpressionAttributeValues: { ':conversationId': conversationId, ':now': nowMs(clock) },
        ConsistentRead: true,
      });
      return items.map(toSubscription);
    },

    async removeConnection(connectionId) {
      const keys = await queryAll(doc, {
        TableName: tableName,
        IndexName: INDEXES.subscriptionsByConnection,
        KeyConditionExpression: '#connectionId = :connectionId',
        ExpressionAttributeNames: { '#connectionId': 'connectionId' },
        ExpressionAttributeValues: { ':connectionId': connectionId },
      });
      const now = nowMs(clock);
      // Each delete reports what it removed, so two concurrent calls never both report a room,
      // and an already-expired subscription is removed without being reported as left.
      const removed = await Promise.all(
        keys.map(async (key) => {
          const { Attributes } = await doc.send(
            new DeleteCommand({
              TableName: tableName,
              Key: { conversationId: key.conversationId, connectionId },
              ReturnValues: 'ALL_OLD',
            }),
          );
          return Attributes && (Attributes.expiresAt as number) > now ? (Attributes.conversationId as string) : null;
        }),
      );
      return removed.filter((conversationId): conversationId is string => conversationId !== null);
    },
  };
}
