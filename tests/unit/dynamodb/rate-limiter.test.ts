import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  ProvisionedThroughputExceededException,
} from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { makeRateLimiter } from '#adapters/dynamodb/rate-limiter';

const doc = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }));
const ddb = mockClient(doc);
const limiter = makeRateLimiter({ doc, tableName: 'limits' });

beforeEach(() => ddb.reset());

describe('DynamoDB RateLimiter (error paths)', () => {
  it('refuses a request once the window is full', async () => {
    ddb.on(UpdateCommand).rejects(new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} }));
    expect(await limiter.consume('user:1', 5, 10_000, 123_456)).toEqual({ allowed: false, remaining: 0, resetAt: 130_000 });
  });

  it('reports a throttled table as an error instead of refusing the user', async () => {
    const throttled = new ProvisionedThroughputExceededException({ message: 'Rate exceeded', $metadata: {} });
    ddb.on(UpdateCommand).rejects(throttled);
    await expect(limiter.consume('user:1', 5, 10_000, 123_456)).rejects.toBe(throttled);
  });

  it('counts the request in the window that contains it and expires the counter when the window ends', async () => {
    ddb.on(UpdateCommand).resolves({ Attributes: { count: 2 } });
    expect(await limiter.consume('user:1', 5, 10_000, 123_456)).toEqual({ allowed: true, remaining: 3, resetAt: 130_000 });
    const [call] = ddb.commandCalls(UpdateCommand);
    expect(call?.args[0].input).toMatchObject({
      TableName: 'limits',
      Key: { key: 'user:1#120000' },
      ConditionExpression: 'attribute_not_exists(#count) OR #count < :limit',
      ExpressionAttributeValues: { ':one': 1, ':limit': 5, ':ttl': 130 },
    });
  });

  it('refuses everything when the limit is zero, without touching the table', async () => {
    expect((await limiter.consume('user:1', 0, 10_000, 0)).allowed).toBe(false);
    expect(ddb.calls()).toHaveLength(0);
  });
});
