import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TypingStore } from '#core/ports';
import { makeTypingStore } from '#adapters/dynamodb/typing-store';
import { createTestTables, type TestTables } from '#tests/support/dynamodb';

const T0 = Date.UTC(2030, 0, 1);
const TIMEOUT = 3000;

let tables: TestTables;
let store: TypingStore;

beforeAll(async () => {
  tables = await createTestTables();
  store = makeTypingStore({ doc: tables.doc, tableName: tables.names.typing });
});
afterAll(() => tables.drop());

describe('DynamoDB TypingStore', () => {
  it('shows who is typing until the typing timeout passes, then never again', async () => {
    const state = { conversationId: 'conv-1', userId: 2, role: 'customer' as const, since: T0, expiresAt: T0 + TIMEOUT };
    await store.set(state);

    expect(await store.list('conv-1', T0)).toEqual([state]);
    expect(await store.list('conv-1', T0 + TIMEOUT - 1)).toEqual([state]);
    expect(await store.list('conv-1', T0 + TIMEOUT)).toEqual([]);
    expect(await store.list('conv-1', T0 + 60_000)).toEqual([]);
  });

  it('keeps typing alive when the user keeps typing', async () => {
    await store.set({ conversationId: 'conv-2', userId: 7, role: 'provider', since: T0, expiresAt: T0 + TIMEOUT });
    await store.set({ conversationId: 'conv-2', userId: 7, role: 'provider', since: T0, expiresAt: T0 + 2000 + TIMEOUT });
    expect(await store.list('conv-2', T0 + TIMEOUT + 500)).toEqual([
      { conversationId: 'conv-2', userId: 7, role: 'provider', since: T0, expiresAt: T0 + 2000 + TIMEOUT },
    ]);
  });

  it('stops showing a user as soon as they stop typing, and leaves others as they are', async () => {
    await store.set({ conversationId: 'conv-3', userId: 2, role: 'customer', since: T0, expiresAt: T0 + TIMEOUT });
    await store.set({ conversationId: 'conv-3', userId: 7, role: 'provider', since: T0, expiresAt: T0 + TIMEOUT });
    await store.clear('conv-3', 2);
    await store.clear('conv-3', 2);
    expect((await store.list('conv-3', T0)).map((s) => s.userId)).toEqual([7]);
  });

  it('keeps each conversation\'s typing apart', async () => {
    await store.set({ conversationId: 'conv-4', userId: 2, role: 'customer', since: T0, expiresAt: T0 + TIMEOUT });
    expect(await store.list('conv-5', T0)).toEqual([]);
  });
});
