import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { NotFoundError } from '#core/errors';
import { makeConnectionStore } from '#adapters/dynamodb/connection-store';

const T0 = Date.UTC(2030, 0, 1);
const doc = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }));
const ddb = mockClient(doc);
const store = makeConnectionStore({ doc, tableName: 'connections', clock: { now: () => new Date(T0) } });
const identity = { userId: 2, role: 'customer' as const };

const item = (connectionId: string, connectedAt: number) => ({
  connectionId,
  connectedAt,
  expiresAt: T0 + 60_000,
  ttl: 0,
  userId: 2,
  role: 'customer',
  partyKey: 'customer#2',
});

beforeEach(() => {
  ddb.reset();
  ddb.on(UpdateCommand).resolves({ Attributes: { ...item('me', T0 - 10), tokenExpiresAt: T0 + 1 } });
});

describe('DynamoDB ConnectionStore (eviction and error paths)', () => {
  it('closes the oldest other connections first, whatever order the index answers in', async () => {
    ddb
      .on(QueryCommand)
      .resolvesOnce({ Items: [item('c', T0 - 100), item('me', T0 - 10)], LastEvaluatedKey: { connectionId: 'c' } })
      .resolvesOnce({ Items: [item('b', T0 - 200), item('a2', T0 - 300), item('a1', T0 - 300)] });
    const { evicted } = await store.authenticate('me', identity, T0 + 1, 2);
    // Four others plus this one, two allowed: the three oldest go; equal ages are ordered by id.
    expect(evicted).toEqual(['a1', 'a2', 'b']);
    expect(ddb.commandCalls(QueryCommand)).toHaveLength(2);
  });

  it('closes nothing while the user is within the maximum', async () => {
    ddb.on(QueryCommand).resolves({ Items: [item('a', T0 - 100), item('me', T0 - 10)] });
    expect((await store.authenticate('me', identity, T0 + 1, 2)).evicted).toEqual([]);
  });

  it('asks only for live connections of that user, so expired ones never count', async () => {
    ddb.on(QueryCommand).resolves({ Items: [] });
    await store.authenticate('me', identity, T0 + 1, 3);
    expect(ddb.commandCalls(QueryCommand)[0]?.args[0].input).toMatchObject({
      IndexName: 'byUser',
      FilterExpression: '#expiresAt > :now AND (attribute_not_exists(#tokenExpiresAt) OR #tokenExpiresAt > :now)',
      ExpressionAttributeValues: { ':key': 2, ':now': T0 },
    });
  });

  it('reports a connection that closed before it could sign in as not found', async () => {
    ddb.on(UpdateCommand).rejects(new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} }));
    await expect(store.authenticate('gone', identity, T0 + 1, 3)).rejects.toBeInstanceOf(NotFoundError);
    expect(ddb.commandCalls(QueryCommand)).toHaveLength(0);
  });

  it('lets other DynamoDB failures through unchanged', async () => {
    const failure = new Error('socket hang up');
    ddb.on(UpdateCommand).rejects(failure);
    await expect(store.authenticate('me', identity, T0 + 1, 3)).rejects.toBe(failure);
  });
});
