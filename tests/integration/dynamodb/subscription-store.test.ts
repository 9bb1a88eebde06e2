import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SubscriptionStore } from '#core/ports';
import { makeSubscriptionStore } from '#adapters/dynamodb/subscription-store';
import { createTestTables, type TestTables } from '#tests/support/dynamodb';

const T0 = Date.UTC(2030, 0, 1);
const LATER = T0 + 2 * 60 * 60 * 1000;

let tables: TestTables;
let store: SubscriptionStore;
const now = T0;

beforeAll(async () => {
  tables = await createTestTables();
  store = makeSubscriptionStore({ doc: tables.doc, tableName: tables.names.subscriptions, clock: { now: () => new Date(now) } });
});
afterAll(() => tables.drop());

const ids = (subscriptions: { connectionId: string }[]) => subscriptions.map((s) => s.connectionId).sort();

describe('DynamoDB SubscriptionStore', () => {
  it('lists the connections that joined a conversation, and stops listing one that left', async () => {
    await store.subscribe({ conversationId: 'conv-a', connectionId: 'c1', userId: 1, expiresAt: LATER });
    await store.subscribe({ conversationId: 'conv-a', connectionId: 'c2', userId: 2, expiresAt: LATER });
    await store.subscribe({ conversationId: 'conv-b', connectionId: 'c1', userId: 1, expiresAt: LATER });

    expect(await store.connectionsIn('conv-a')).toEqual(
      expect.arrayContaining([
        { conversationId: 'conv-a', connectionId: 'c1', userId: 1, expiresAt: LATER },
        { conversationId: 'conv-a', connectionId: 'c2', userId: 2, expiresAt: LATER },
      ]),
    );
    await store.unsubscribe('conv-a', 'c2');
    expect(ids(await store.connectionsIn('conv-a'))).toEqual(['c1']);
    expect(ids(await store.connectionsIn('conv-b'))).toEqual(['c1']);
  });

  it('joining the same conversation twice keeps one membership', async () => {
    await store.subscribe({ conversationId: 'conv-twice', connectionId: 'c1', userId: 1, expiresAt: LATER });
    await store.subscribe({ conversationId: 'conv-twice', connectionId: 'c1', userId: 1, expiresAt: LATER + 1 });
    expect(await store.connectionsIn('conv-twice')).toEqual([
      { conversationId: 'conv-twice', connectionId: 'c1', userId: 1, expiresAt: LATER + 1 },
    ]);
  });

  it('leaves every room when a connection closes, reporting each room once', async () => {
    const rooms = ['room-1', 'room-2', 'room-3'];
    for (const conversationId of rooms) {
      await store.subscribe({ conversationId, connectionId: 'closing', userId: 5, expiresAt: LATER });
      await store.subscribe({ conversationId, connectionId: 'staying', userId: 6, expiresAt: LATER });
    }
    expect((await store.removeConnection('closing')).sort()).toEqual(rooms);
    expect(await store.removeConnection('closing')).toEqual([]);
    for (const conversationId of rooms) expect(ids(await store.connectionsIn(conversationId))).toEqual(['staying']);
  });

  it('ignores memberships past their expiry, even before DynamoDB deletes them', async () => {
    await store.subscribe({ conversationId: 'conv-old', connectionId: 'ghost', userId: 7, expiresAt: T0 - 1 });
    await store.subscribe({ conversationId: 'conv-old', connectionId: 'alive', userId: 8, expiresAt: LATER });
    expect(ids(await store.connectionsIn('conv-old'))).toEqual(['alive']);
    // The stale membership is cleaned up, but it was not a room the connection was still in.
    expect(await store.removeConnection('ghost')).toEqual([]);
  });

  it('a connection that never joined anything leaves nothing', async () => {
    expect(await store.removeConnection('nobody')).toEqual([]);
  });
});
