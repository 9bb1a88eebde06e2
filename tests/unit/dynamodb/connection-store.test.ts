import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, DynamoDBDocumentClient, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
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
  const roster = (members: Record<string, number>) => ({
    connectionId: 'user#2',
    rosterSeq: Math.max(...Object.values(members)),
    ...Object.fromEntries(Object.entries(members).map(([id, seq]) => [`m:${id}`, seq])),
  });

  it('evicts all but the newest sign-ins of the roster, whatever order the attributes come in', async () => {
    ddb
      .on(UpdateCommand, { Key: { connectionId: 'me' } })
      .resolves({ Attributes: { ...item('me', T0 - 10), tokenExpiresAt: T0 + 1 } })
      .on(UpdateCommand, { Key: { connectionId: 'user#2' }, ReturnValues: 'ALL_NEW' })
      .resolves({ Attributes: roster({ a1: 3, b: 1, me: 6, c: 5, a2: 2 }) })
      .on(UpdateCommand, { Key: { connectionId: 'user#2' }, UpdateExpression: 'REMOVE #member' })
      .resolves({});
    ddb.on(BatchGetCommand).resolves({ Responses: { connections: ['a1', 'b', 'c', 'a2'].map((id) => item(id, T0 - 100)) } });
    const { evicted } = await store.authenticate('me', identity, T0 + 1, 2);
    // Four others plus this one, two allowed: this one and the newest other (c) stay.
    expect(evicted).toEqual(['a1', 'a2', 'b']);
    expect(ddb.commandCalls(QueryCommand)).toHaveLength(0);
    const removals = ddb.commandCalls(UpdateCommand).filter((call) => call.args[0].input.UpdateExpression === 'REMOVE #member');
    expect(removals.map((call) => call.args[0].input.ConditionExpression)).toEqual(['#member = :seq', '#member = :seq', '#member = :seq']);
  });

  it('reads nothing more while the user is within the maximum', async () => {
    ddb
      .on(UpdateCommand, { Key: { connectionId: 'user#2' } })
      .resolves({ Attributes: roster({ a: 1, me: 2 }) });
    expect((await store.authenticate('me', identity, T0 + 1, 2)).evicted).toEqual([]);
    expect(ddb.commandCalls(BatchGetCommand)).toHaveLength(0);
  });

  it('leaves out an eviction another sign-in claimed first', async () => {
    ddb
      .on(UpdateCommand, { Key: { connectionId: 'user#2' }, UpdateExpression: 'REMOVE #member', ExpressionAttributeNames: { '#member': 'm:a' } })
      .rejects(new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} }))
      .on(UpdateCommand, { Key: { connectionId: 'user#2' }, ExpressionAttributeNames: { '#member': 'm:me' } }, false)
      .resolves({ Attributes: roster({ a: 1, b: 2, me: 3 }) });
    ddb.on(BatchGetCommand).resolves({ Responses: { connections: [item('a', T0 - 100), item('b', T0 - 100)] } });
    ddb.on(UpdateCommand, { Key: { connectionId: 'user#2' }, UpdateExpression: 'REMOVE #member', ExpressionAttributeNames: { '#member': 'm:b' } }).resolves({});
    expect((await store.authenticate('me', identity, T0 + 1, 1)).evicted).toEqual(['b']);
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
