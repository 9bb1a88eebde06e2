import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { NotFoundError } from '#core/errors';
import type { Connection, ConnectionStore } from '#core/ports';
import { makeConnectionStore } from '#adapters/dynamodb/connection-store';
import { createTestTables, type TestTables } from '#tests/support/dynamodb';

const HOUR = 60 * 60 * 1000;
const T0 = Date.UTC(2030, 0, 1);

let tables: TestTables;
const now = T0;
let store: ConnectionStore;
let sequence = 0;

beforeAll(async () => {
  tables = await createTestTables();
  store = makeConnectionStore({ doc: tables.doc, tableName: tables.names.connections, clock: { now: () => new Date(now) } });
});
afterAll(() => tables.drop());

/** A unique connection id per call, so tests never see each other's connections. */
function bare(connectedAt: number, extra: Partial<Connection> = {}): Connection {
  sequence += 1;
  return {
    connectionId: `conn-${sequence}-${Math.random().toString(36).slice(2, 8)}`,
    connectedAt,
    expiresAt: connectedAt + 2 * HOUR,
    identity: null,
    authDeadline: connectedAt + 30_000,
    ...extra,
  };
}

let nextUserId = 1000;
const newUserId = () => ++nextUserId;

describe('DynamoDB ConnectionStore', () => {
  it('finds bare connections past their authentication deadline, and forgets them once they authenticate', async () => {
    const overdue = bare(T0 - 60_000);
    const signedIn = bare(T0 - 60_000);
    const fresh = bare(T0);
    for (const connection of [overdue, signedIn, fresh]) await store.put(connection);
    await store.authenticate(signedIn.connectionId, { userId: newUserId(), role: 'customer' }, T0 + HOUR, 3);

    const found = await store.awaitingAuthSince(T0);
    expect(found).toContain(overdue.connectionId);
    expect(found).not.toContain(signedIn.connectionId);
    expect(found).not.toContain(fresh.connectionId);
    expect(await store.awaitingAuthSince(T0 + 30_000)).toContain(fresh.connectionId);
  });

  it('closes the oldest of a user\'s connections when they open one more than the maximum', async () => {
    const userId = newUserId();
    const connections = [1, 2, 3, 4, 5].map((i) => bare(T0 + i * 1000));
    for (const connection of connections) await store.put(connection);
    const identity = { userId, role: 'customer' as const };

    const evictions: string[][] = [];
    for (const connection of connections.slice(0, 4)) {
      const { evicted } = await store.authenticate(connection.connectionId, identity, T0 + HOUR, 3);
      evictions.push(evicted);
    }
    expect(evictions).toEqual([[], [], [], [connections[0]!.connectionId]]);

    // The caller closes the evicted one; the next device evicts the next oldest.
    await store.remove(connections[0]!.connectionId);
    const fifth = await store.authenticate(connections[4]!.connectionId, identity, T0 + HOUR, 3);
    expect(fifth.evicted).toEqual([connections[1]!.connectionId]);
    expect(fifth.connection.identity).toEqual(identity);
  });

  it('never closes the connection that is signing in, even when it opened first', async () => {
    const userId = newUserId();
    const identity = { userId, role: 'customer' as const };
    const early = bare(T0);
    const later = [1, 2, 3].map((i) => bare(T0 + i * 1000));
    for (const connection of [early, ...later]) await store.put(connection);
    for (const connection of later) await store.authenticate(connection.connectionId, identity, T0 + HOUR, 3);

    const { evicted } = await store.authenticate(early.connectionId, identity, T0 + HOUR, 3);
    expect(evicted).toEqual([later[0]!.connectionId]);
  });

  it('records who signed in, when their token expires, and drops the sign-in deadline', async () => {
    const connection = bare(T0);
    await store.put(connection);
    const identity = { userId: newUserId(), role: 'provider' as const, providerId: 41 };
    const { connection: authenticated } = await store.authenticate(connection.connectionId, identity, T0 + HOUR, 3);

    expect(authenticated).toEqual({
      connectionId: connection.connectionId,
      connectedAt: connection.connectedAt,
      expiresAt: connection.expiresAt,
      identity,
      tokenExpiresAt: T0 + HOUR,
    });
    expect(await store.get(connection.connectionId)).toEqual(authenticated);
  });

  it("keeps a service's serviceId, and forgets it when the connection signs in again as someone else", async () => {
    const connection = bare(T0);
    await store.put(connection);
    const service = { userId: newUserId(), role: 'service' as const, serviceId: 'bookings-client' };
    await store.authenticate(connection.connectionId, service, T0 + HOUR, 3);
    expect((await store.get(connection.connectionId))?.identity).toEqual(service);
    const customer = { userId: newUserId(), role: 'customer' as const };
    await store.authenticate(connection.connectionId, customer, T0 + HOUR, 3);
    expect((await store.get(connection.connectionId))?.identity).toEqual(customer);
  });

  it('reaches every staff user of a provider and every device of a customer, and nobody else', async () => {
    const providerId = 77;
    const customerId = newUserId();
    const staff = [newUserId(), newUserId(), newUserId()];
    const staffConnections = staff.map(() => bare(T0));
    const customerConnections = [bare(T0), bare(T0 + 1)];
    const otherProvider = bare(T0);
    const otherCustomer = bare(T0);
    const stillBare = bare(T0);
    for (const c of [...staffConnections, ...customerConnections, otherProvider, otherCustomer, stillBare]) await store.put(c);
    await Promise.all([
      ...staffConnections.map((c, i) =>
        store.authenticate(c.connectionId, { userId: staff[i]!, role: 'provider', providerId }, T0 + HOUR, 3),
      ),
      ...customerConnections.map((c) => store.authenticate(c.connectionId, { userId: customerId, role: 'customer' }, T0 + HOUR, 3)),
      store.authenticate(otherProvider.connectionId, { userId: newUserId(), role: 'provider', providerId: 78 }, T0 + HOUR, 3),
      store.authenticate(otherCustomer.connectionId, { userId: newUserId(), role: 'customer' }, T0 + HOUR, 3),
    ]);

    const reached = await store.forParties([
      { side: 'provider', partyId: providerId },
      { side: 'customer', partyId: customerId },
      { side: 'customer', partyId: customerId },
    ]);
    expect(reached.map((c) => c.connectionId).sort()).toEqual(
      [...staffConnections, ...customerConnections].map((c) => c.connectionId).sort(),
    );
    expect(reached.every((c) => c.identity !== null)).toBe(true);
  });

  it('finds all of one provider\'s staff connections even when they span several result pages', async () => {
    const providerId = 90;
    const many = Array.from({ length: 60 }, () => bare(T0));
    // Large items make DynamoDB split the query into 1 MB pages.
    await Promise.all(many.map((c) => tables.doc.send(putLarge(c, providerId))));
    const reached = await store.forParties([{ side: 'provider', partyId: providerId }]);
    expect(reached).toHaveLength(60);
  });

  it('reaches both sides of a conversation in one request, across result pages, leaving out expired tokens', async () => {
    const providerId = 91;
    const customerId = newUserId();
    const staff = Array.from({ length: 40 }, () => bare(T0));
    await Promise.all(staff.map((c) => tables.doc.send(putLarge(c, providerId))));
    const [current, expiredToken] = [bare(T0), bare(T0)];
    for (const c of [current, expiredToken]) await store.put(c);
    await store.authenticate(current.connectionId, { userId: customerId, role: 'customer' }, T0 + HOUR, 3);
    await store.authenticate(expiredToken.connectionId, { userId: customerId, role: 'customer' }, T0 - 1, 3);

    const sent = vi.spyOn(tables.doc, 'send');
    const reached = await store.forParties([
      { side: 'customer', partyId: customerId },
      { side: 'provider', partyId: providerId },
    ]);
    const requests = sent.mock.calls.length;
    sent.mockRestore();
    expect(reached.map((c) => c.connectionId).sort()).toEqual([current, ...staff].map((c) => c.connectionId).sort());
    // 40 items of 40 kB are more than one 1 MB page: the pages are followed, one request each.
    expect(requests).toBeGreaterThan(1);
    expect(requests).toBeLessThan(5);
  });

  it('lists a user\'s open connections but not bare ones', async () => {
    const userId = newUserId();
    const signedIn = [bare(T0), bare(T0 + 10)];
    const stillBare = bare(T0 + 20);
    for (const c of [...signedIn, stillBare]) await store.put(c);
    for (const c of signedIn) await store.authenticate(c.connectionId, { userId, role: 'customer' }, T0 + HOUR, 5);
    expect((await store.forUser(userId)).map((c) => c.connectionId)).toEqual(signedIn.map((c) => c.connectionId));
    expect(await store.get(stillBare.connectionId)).toMatchObject({ identity: null, authDeadline: stillBare.authDeadline });
  });

  it('treats connections past their expiry as gone, even before DynamoDB deletes them', async () => {
    const userId = newUserId();
    const old = bare(T0 - 3 * HOUR); // expired at T0 - HOUR
    const live = bare(T0);
    await store.put({ ...old, identity: { userId, role: 'customer' } });
    await store.put(live);

    expect(await store.get(old.connectionId)).toBeNull();
    expect(await store.forParties([{ side: 'customer', partyId: userId }])).toEqual([]);
    expect(await store.forUser(userId)).toEqual([]);
    // A stale connection never counts against the user's maximum.
    const { evicted } = await store.authenticate(live.connectionId, { userId, role: 'customer' }, T0 + HOUR, 1);
    expect(evicted).toEqual([]);
    await expect(store.authenticate(old.connectionId, { userId, role: 'customer' }, T0 + HOUR, 3)).rejects.toBeInstanceOf(
      NotFoundError,
    );
  });

  it('stops reaching a connection once its token has expired', async () => {
    const userId = newUserId();
    const expiredToken = bare(T0 - 10_000);
    const current = bare(T0 - 5_000);
    for (const connection of [expiredToken, current]) await store.put(connection);
    await store.authenticate(expiredToken.connectionId, { userId, role: 'customer' }, T0 - 1, 3);
    await store.authenticate(current.connectionId, { userId, role: 'customer' }, T0 + HOUR, 3);

    const reached = await store.forParties([{ side: 'customer', partyId: userId }]);
    expect(reached.map((c) => c.connectionId)).toEqual([current.connectionId]);
    // The record stays, so its next frame is answered with the reason before it is closed.
    expect((await store.get(expiredToken.connectionId))?.tokenExpiresAt).toBe(T0 - 1);
  });

  it('refuses to sign in a connection that has already closed', async () => {
    await expect(store.authenticate('never-opened', { userId: newUserId(), role: 'customer' }, T0 + HOUR, 3)).rejects.toBeInstanceOf(
      NotFoundError,
    );
  });

  it('returns what a removed connection was, and nothing when it is removed twice', async () => {
    const connection = bare(T0);
    await store.put(connection);
    const { connection: authenticated } = await store.authenticate(
      connection.connectionId,
      { userId: newUserId(), role: 'customer' },
      T0 + HOUR,
      3,
    );
    expect(await store.remove(connection.connectionId)).toEqual(authenticated);
    expect(await store.remove(connection.connectionId)).toBeNull();
    expect(await store.get(connection.connectionId)).toBeNull();
  });

  it('moves a connection that signs in again as someone else out of its old party', async () => {
    const connection = bare(T0);
    await store.put(connection);
    await store.authenticate(connection.connectionId, { userId: newUserId(), role: 'provider', providerId: 55 }, T0 + HOUR, 3);
    const adminId = newUserId();
    const { connection: after } = await store.authenticate(connection.connectionId, { userId: adminId, role: 'admin' }, T0 + HOUR, 3);

    expect(after.identity).toEqual({ userId: adminId, role: 'admin' });
    expect(await store.forParties([{ side: 'provider', partyId: 55 }])).toEqual([]);
    expect((await store.forUser(adminId)).map((c) => c.connectionId)).toEqual([connection.connectionId]);
  });
});

function putLarge(connection: Connection, providerId: number): PutCommand {
  return new PutCommand({
    TableName: tables.names.connections,
    Item: {
      connectionId: connection.connectionId,
      connectedAt: connection.connectedAt,
      expiresAt: connection.expiresAt,
      ttl: Math.ceil(connection.expiresAt / 1000),
      userId: newUserId(),
      role: 'provider',
      providerId,
      partyKey: `provider#${providerId}`,
      padding: 'x'.repeat(40_000),
    },
  });
}
