/**
 * The per-user connection cap of the DynamoDB ConnectionStore under concurrent sign-ins, against
 * DynamoDB Local: however the sign-ins interleave, once they all returned exactly the cap remain
 * and every other connection was evicted by exactly one of them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Connection, ConnectionStore } from '#core/ports';
import { makeConnectionStore, rosterKeyOf } from '#adapters/dynamodb/connection-store';
import { createTestTables, type TestTables } from '#tests/support/dynamodb';

const HOUR = 60 * 60 * 1000;
const T0 = Date.UTC(2030, 0, 1);
let tables: TestTables;
let store: ConnectionStore;
let sequence = 0;
let nextUserId = 5000;

beforeAll(async () => {
  tables = await createTestTables();
  store = makeConnectionStore({ doc: tables.doc, tableName: tables.names.connections, clock: { now: () => new Date(T0) } });
});
afterAll(() => tables.drop());

function bare(): Connection {
  sequence += 1;
  return {
    connectionId: `cap-${sequence}-${Math.random().toString(36).slice(2, 8)}=`,
    connectedAt: T0,
    expiresAt: T0 + 2 * HOUR,
    identity: null,
    authDeadline: T0 + 30_000,
  };
}

async function burst(count: number, cap: number) {
  const userId = ++nextUserId;
  const connections = Array.from({ length: count }, bare);
  await Promise.all(connections.map((c) => store.put(c)));
  const results = await Promise.all(
    connections.map((c) => store.authenticate(c.connectionId, { userId, role: 'customer' }, T0 + HOUR, cap)),
  );
  const evicted = results.flatMap((result) => result.evicted);
  const ids = connections.map((c) => c.connectionId);
  return { userId, ids, evicted, kept: ids.filter((id) => !evicted.includes(id)) };
}

describe('DynamoDB ConnectionStore: the per-user cap under concurrency', () => {
  it.each([
    [10, 3],
    [10, 1],
    [25, 3],
    [6, 5],
  ])('%i simultaneous sign-ins with a cap of %i leave exactly the cap, each other one evicted once', async (count, cap) => {
    for (let round = 0; round < 3; round++) {
      const { evicted, kept, ids } = await burst(count, cap);
      expect(new Set(evicted).size, 'no connection is evicted twice').toBe(evicted.length);
      expect(evicted).toHaveLength(count - cap);
      expect(kept).toHaveLength(cap);
      for (const id of evicted) expect(ids).toContain(id);
    }
  });

  it('keeps the newest sign-ins and never evicts the one signing in', async () => {
    const userId = ++nextUserId;
    const connections = Array.from({ length: 5 }, bare);
    for (const c of connections) await store.put(c);
    const evictions: string[][] = [];
    for (const c of connections) {
      const { evicted } = await store.authenticate(c.connectionId, { userId, role: 'customer' }, T0 + HOUR, 2);
      expect(evicted).not.toContain(c.connectionId);
      evictions.push(evicted);
    }
    expect(evictions).toEqual([[], [], [connections[0]!.connectionId], [connections[1]!.connectionId], [connections[2]!.connectionId]]);
    // Signing in again makes a connection the newest: the other survivor goes.
    const again = await store.authenticate(connections[3]!.connectionId, { userId, role: 'customer' }, T0 + HOUR, 2);
    expect(again.evicted).toEqual([]);
    const extra = bare();
    await store.put(extra);
    expect((await store.authenticate(extra.connectionId, { userId, role: 'customer' }, T0 + HOUR, 2)).evicted).toEqual([
      connections[4]!.connectionId,
    ]);
  });

  it('does not count connections that closed, or that signed in as someone else', async () => {
    const userId = ++nextUserId;
    const [a, b, c, d] = Array.from({ length: 4 }, bare);
    for (const x of [a, b, c, d]) await store.put(x!);
    for (const x of [a, b]) await store.authenticate(x!.connectionId, { userId, role: 'customer' }, T0 + HOUR, 2);
    await store.remove(a!.connectionId);
    await store.authenticate(b!.connectionId, { userId: ++nextUserId, role: 'customer' }, T0 + HOUR, 2);
    expect((await store.authenticate(c!.connectionId, { userId, role: 'customer' }, T0 + HOUR, 2)).evicted).toEqual([]);
    expect((await store.authenticate(d!.connectionId, { userId, role: 'customer' }, T0 + HOUR, 2)).evicted).toEqual([]);
    // The roster item is out of every index: it never shows up as a connection.
    expect((await store.forUser(userId)).map((x) => x.connectionId).sort()).toEqual([c!.connectionId, d!.connectionId].sort());
    expect(await store.get(rosterKeyOf(userId))).toBeNull();
  });
});
