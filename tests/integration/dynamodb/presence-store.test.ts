import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PresenceStore } from '#core/ports';
import type { Role } from '#core/model';
import { makePresenceStore } from '#adapters/dynamodb/presence-store';
import { createTestTables, type TestTables } from '#tests/support/dynamodb';

const HOUR = 60 * 60 * 1000;
const T0 = Date.UTC(2030, 0, 1);

let tables: TestTables;
let store: PresenceStore;

beforeAll(async () => {
  tables = await createTestTables();
  store = makePresenceStore({ doc: tables.doc, tableName: tables.names.presence, ttlDays: 30 });
});
afterAll(() => tables.drop());

let nextUserId = 5000;
const newUserId = () => ++nextUserId;

function connect(userId: number, connectionId: string, at = T0, role: Role = 'customer', providerId?: number) {
  return store.connected({ userId, role, providerId, connectionId, at, expiresAt: at + 2 * HOUR });
}

describe('DynamoDB PresenceStore', () => {
  it('announces a user online on their first connection and offline only when their last one closes', async () => {
    const userId = newUserId();
    expect(await connect(userId, 'phone', T0)).toEqual({
      presence: { userId, role: 'customer', online: true, lastSeen: T0 },
      changed: true,
    });
    expect((await connect(userId, 'laptop', T0 + 10)).changed).toBe(false);

    expect(await store.disconnected({ userId, connectionId: 'phone', at: T0 + 20 })).toEqual({
      presence: { userId, role: 'customer', online: true, lastSeen: T0 + 20 },
      changed: false,
    });
    expect(await store.disconnected({ userId, connectionId: 'laptop', at: T0 + 30 })).toEqual({
      presence: { userId, role: 'customer', online: false, lastSeen: T0 + 30 },
      changed: true,
    });
  });

  it('does not announce a user offline twice when the same disconnect is handled twice', async () => {
    const userId = newUserId();
    await connect(userId, 'only', T0);
    expect((await store.disconnected({ userId, connectionId: 'only', at: T0 + 5 })).changed).toBe(true);
    expect(await store.disconnected({ userId, connectionId: 'only', at: T0 + 6 })).toEqual({
      presence: { userId, role: 'customer', online: false, lastSeen: T0 + 5 },
      changed: false,
    });
  });

  it('announces a user online exactly once when several devices connect at the same moment', async () => {
    const userId = newUserId();
    const devices = Array.from({ length: 10 }, (_, i) => `device-${i}`);
    const results = await Promise.all(devices.map((id) => connect(userId, id, T0)));
    expect(results.filter((r) => r.changed)).toHaveLength(1);
    expect(results.every((r) => r.presence.online)).toBe(true);

    // …and offline exactly once when they all go, even with every disconnect delivered twice.
    const gone = await Promise.all(
      [...devices, ...devices].map((connectionId) => store.disconnected({ userId, connectionId, at: T0 + 100 })),
    );
    expect(gone.filter((r) => r.changed)).toHaveLength(1);
    expect((await store.onlineAmong([{ side: 'customer', partyId: userId }], T0 + 100))).toEqual([]);
  });

  it('lists online customers and the online staff of a provider, with their last-seen time', async () => {
    const customer = newUserId();
    const offlineCustomer = newUserId();
    const staffA = newUserId();
    const staffB = newUserId();
    const staffOffline = newUserId();
    const otherProviderStaff = newUserId();
    await connect(customer, 'c', T0);
    await connect(offlineCustomer, 'oc', T0);
    await store.disconnected({ userId: offlineCustomer, connectionId: 'oc', at: T0 + 1 });
    await connect(staffA, 'sa', T0 + 2, 'provider', 301);
    await connect(staffB, 'sb', T0 + 3, 'provider', 301);
    await connect(staffOffline, 'so', T0, 'provider', 301);
    await store.disconnected({ userId: staffOffline, connectionId: 'so', at: T0 + 4 });
    await connect(otherProviderStaff, 'op', T0, 'provider', 302);

    const online = await store.onlineAmong(
      [
        { side: 'customer', partyId: customer },
        { side: 'customer', partyId: offlineCustomer },
        { side: 'provider', partyId: 301 },
      ],
      T0 + 10,
    );
    expect(online.sort((a, b) => a.userId - b.userId)).toEqual([
      { userId: customer, role: 'customer', online: true, lastSeen: T0 },
      { userId: staffA, role: 'provider', providerId: 301, online: true, lastSeen: T0 + 2 },
      { userId: staffB, role: 'provider', providerId: 301, online: true, lastSeen: T0 + 3 },
    ]);
  });

  it('finds online customers among more than a hundred at once', async () => {
    const customers = Array.from({ length: 150 }, () => newUserId());
    const online = customers.filter((_, i) => i % 3 === 0);
    await Promise.all(online.map((userId) => connect(userId, `c-${userId}`, T0)));
    const found = await store.onlineAmong(
      customers.map((partyId) => ({ side: 'customer' as const, partyId })),
      T0 + 1,
    );
    expect(found.map((p) => p.userId).sort()).toEqual([...online].sort());
  });

  it('lets an admin see every online user', async () => {
    const a = newUserId();
    const b = newUserId();
    await connect(a, 'x', T0);
    await connect(b, 'y', T0, 'provider', 303);
    const all = await store.allOnline(T0 + 1);
    expect(all.map((p) => p.userId)).toEqual(expect.arrayContaining([a, b]));
    expect(all.every((p) => p.online)).toBe(true);
  });

  it('stops counting a user as online once all their connections have expired, even if a disconnect was lost', async () => {
    const userId = newUserId();
    await connect(userId, 'lost', T0);
    const afterExpiry = T0 + 3 * HOUR;
    expect(await store.onlineAmong([{ side: 'customer', partyId: userId }], afterExpiry)).toEqual([]);
    expect((await store.allOnline(afterExpiry)).map((p) => p.userId)).not.toContain(userId);

    // Their next connection announces them online again and forgets the lost one.
    expect((await connect(userId, 'fresh', afterExpiry)).changed).toBe(true);
    expect((await store.disconnected({ userId, connectionId: 'fresh', at: afterExpiry + 1 })).changed).toBe(true);
  });

  it('answers a disconnect for a user it never saw with an offline presence', async () => {
    const userId = newUserId();
    expect(await store.disconnected({ userId, connectionId: 'x', at: T0, role: 'provider', providerId: 9 })).toEqual({
      presence: { userId, role: 'provider', providerId: 9, online: false, lastSeen: T0 },
      changed: false,
    });
  });
});
