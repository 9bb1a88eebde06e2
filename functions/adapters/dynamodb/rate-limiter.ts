/**
 * RateLimiter on DynamoDB: a fixed-window counter per key, one item per window
 * (`${key}#${windowStart}`), counted with a single conditional UpdateItem so concurrent requests
 * can never together exceed the limit. Throttling and other SDK errors propagate (the client has
 * already retried them): a refusal is only ever a failed condition.
 */
import { UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { RateLimiter } from '#core/ports';
import { isConditionalCheckFailed, ttlSeconds } from './support.ts';

export interface RateLimiterOptions {
  doc: DynamoDBDocumentClient;
  tableName: string;
}

export function makeRateLimiter({ doc, tableName }: RateLimiterOptions): RateLimiter {
  return {
    async consume(key, limit, windowMs, now) {
      if (!(windowMs > 0)) throw new RangeError(`Rate limit window must be positive, got ${windowMs}`);
      const windowStart = Math.floor(now / windowMs) * windowMs;
      const resetAt = windowStart + windowMs;
      if (limit < 1) return { allowed: false, remaining: 0, resetAt };
      try {
        const { Attributes } = await doc.send(
          new UpdateCommand({
            TableName: tableName,
            Key: { key: `${key}#${windowStart}` },
            UpdateExpression: 'ADD #count :one SET #ttl = :ttl',
            ConditionExpression: 'attribute_not_exists(#count) OR #count < :limit',
            ExpressionAttributeNames: { '#count': 'count', '#ttl': 'ttl' },
            ExpressionAttributeValues: { ':one': 1, ':limit': limit, ':ttl': ttlSeconds(resetAt) },
            ReturnValues: 'UPDATED_NEW',
          }),
        );
        const count = (Attributes?.count as number | undefined) ?? limit;
        return { allowed: true, remaining: Math.max(0, limit - count), resetAt };
      } catch (error) {
        if (isConditionalCheckFailed(error)) return { allowed: false, remaining: 0, resetAt };
        throw error;
      }
    },
  };
}
