/**
 * TypingStore on DynamoDB: one item per (conversationId, userId). `expiresAt` (ms) decides what
 * reads return; `ttl` (seconds) only lets DynamoDB delete the item later, whenever it gets to it.
 */
import { DeleteCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { TypingState, TypingStore } from '#core/ports';
import { queryAll, ttlSeconds } from './support.ts';

export interface TypingStoreOptions {
  doc: DynamoDBDocumentClient;
  tableName: string;
}

export function makeTypingStore({ doc, tableName }: TypingStoreOptions): TypingStore {
  return {
    async set(state) {
      await doc.send(new PutCommand({ TableName: tableName, Item: { ...state, ttl: ttlSeconds(state.expiresAt) } }));
    },

    async clear(conversationId, userId) {
      await doc.send(new DeleteCommand({ TableName: tableName, Key: { conversationId, userId } }));
    },

    async list(conversationId, now) {
      const items = await queryAll(doc, {
        TableName: tableName,
        KeyConditionExpression: '#conversationId = :conversationId',
        FilterExpression: '#expiresAt > :now',
        ExpressionAttributeNames: { '#conversationId': 'conversationId', '#expiresAt': 'expiresAt' },
        ExpressionAttributeValues: { ':conversationId': conversationId, ':now': now },
        ConsistentRead: true,
      });
      return items.map(
        (item): TypingState => ({
          conversationId: item.conversationId as string,
          userId: item.userId as number,
          role: item.role as TypingState['role'],
          since: item.since as number,
          expiresAt: item.expiresAt as number,
        }),
      );
    },
  };
}
