import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  ProvisionedThroughputExceededException,
} from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { makePresenceStore } from '#adapters/dynamodb/presence-store';

const T0 = Date.UTC(2030, 0, 1);
const doc = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }));
const ddb = mockClient(doc);
const store = makePresenceStore({ doc, tableName: 'presence', ttlDays: 30, batchRetryBaseMs: 1, batchMaxAttempts: 4 });

const conditionFailed = () => new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} });
const onlineItem = (userId: number) => ({
  userId,
  role: 'customer',
  connectionIds: new Set(['c']),
  onlineUntil: T0 + 60_000,
  lastSeen: T0,
  ttl: Math.ceil(T0 / 1000) + 86_400,
});
const keysOf = (input: unknown) =>
  ((input as { RequestItems: Record<string, { Keys: { userId: number }[] }> }).RequestItems.presence?.Keys ?? []).map(
    (key) => key.userId,
  );

beforeEach(() => ddb.reset());

describe('DynamoDB PresenceStore (error paths)', () => {
  it('retries the users a BatchGet left unprocessed until all are answered', async () => {
    ddb
      .on(BatchGetCommand)
      .resolvesOnce({
        Responses: { presence: [onlineItem(1)] },
        UnprocessedKeys: { presence: { Keys: [{ userId: 2 }, { userId: 3 }] } },
      })
      .resolvesOnce({ Responses: { presence: [onlineItem(2)] }, UnprocessedKeys: { presence: { Keys: [{ userId: 3 }] } } })
      .resolvesOnce({ Responses: { presence: [onlineItem(3)] }, UnprocessedKeys: {} });

    const online = await store.onlineAmong(
      [1, 2, 3].map((partyId) => ({ side: 'customer' as const, partyId })),
      T0,
    );
    expect(online.map((p) => p.userId)).toEqual([1, 2, 3]);
    expect(ddb.commandCalls(BatchGetCommand).map((call) => keysOf(call.args[0].input))).toEqual([[1, 2, 3], [2, 3], [3]]);
  });

  it('fails instead of silently reporting users offline when keys stay unprocessed', async () => {
    ddb.on(BatchGetCommand).resolves({ Responses: { presence: [] }, UnprocessedKeys: { presence: { Keys: [{ userId: 1 }] } } });
    await expect(store.onlineAmong([{ side: 'customer', partyId: 1 }], T0)).rejects.toThrow(/unprocessed/);
    expect(ddb.commandCalls(BatchGetCommand)).toHaveLength(4);
  });

  it('asks for at most 100 users per BatchGet', async () => {
    ddb.on(BatchGetCommand).resolves({ Responses: { presence: [] } });
    await store.onlineAmong(
      Array.from({ length: 250 }, (_, i) => ({ side: 'customer' as const, partyId: i + 1 })),
      T0,
    );
    expect(ddb.commandCalls(BatchGetCommand).map((call) => keysOf(call.args[0].input).length)).toEqual([100, 100, 50]);
  });

  it('announces a user online again when the only connections left on record had all expired', async () => {
    ddb.on(UpdateCommand).rejectsOnce(conditionFailed()).resolvesOnce({});
    const result = await store.connected({ userId: 1, role: 'customer', connectionId: 'new', at: T0, expiresAt: T0 + 1000 });
    expect(result.changed).toBe(true);
    const [, reset] = ddb.commandCalls(UpdateCommand);
    expect(reset?.args[0].input.UpdateExpression).toMatch(/^SET #connectionIds = :connectionIds/);
  });

  it('joins the existing set when another device revived it first, without announcing the user twice', async () => {
    ddb
      .on(UpdateCommand)
      .rejectsOnce(conditionFailed()) // the set looked stale…
      .rejectsOnce(conditionFailed()) // …but another connect reset it first
      .resolvesOnce({ Attributes: { userId: 1, connectionIds: new Set(['other']), onlineUntil: T0 + 1000 } });
    const result = await store.connected({ userId: 1, role: 'customer', connectionId: 'new', at: T0, expiresAt: T0 + 1000 });
    expect(result.changed).toBe(false);
    expect(ddb.commandCalls(UpdateCommand)).toHaveLength(3);
  });

  it('does not announce anything when a connection that is not on record disconnects', async () => {
    ddb.on(UpdateCommand).rejects(conditionFailed());
    ddb.on(GetCommand).resolves({ Item: { ...onlineItem(1), connectionIds: undefined, lastSeen: T0 - 5 } });
    expect(await store.disconnected({ userId: 1, connectionId: 'gone', at: T0 })).toEqual({
      presence: { userId: 1, role: 'customer', online: false, lastSeen: T0 - 5 },
      changed: false,
    });
  });

  it('lets throttling on a connect surface as an error', async () => {
    const throttled = new ProvisionedThroughputExceededException({ message: 'Rate exceeded', $metadata: {} });
    ddb.on(UpdateCommand).rejects(throttled);
    await expect(
      store.connected({ userId: 1, role: 'customer', connectionId: 'c', at: T0, expiresAt: T0 + 1000 }),
    ).rejects.toBe(throttled);
    await expect(store.disconnected({ userId: 1, connectionId: 'c', at: T0 })).rejects.toBe(throttled);
  });
});
