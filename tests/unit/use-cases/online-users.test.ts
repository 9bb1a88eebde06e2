import { beforeEach, describe, expect, it } from 'vitest';
import { ADMIN, COLLEAGUE, CUSTOMER, OTHER_STAFF, STAFF, STRANGER, createWorld, type World } from './world.ts';

let world: World;

beforeEach(async () => {
  world = createWorld();
  await world.conversation({ providerId: 1, customerId: 2 });
  await world.conversation({ providerId: 4, customerId: 3 });
  await world.online(CUSTOMER, 'customer-phone');
  world.clock.advance(1000);
  await world.online(STAFF, 'staff-desk');
  await world.online(STRANGER, 'stranger-phone');
  await world.online(OTHER_STAFF, 'other-staff-desk');
  await world.online(ADMIN, 'admin-console');
});

const ids = (result: { users: { userId: number }[] }) => result.users.map((u) => u.userId);

describe('onlineUsers', () => {
  it('a customer sees the online staff of the providers they talk to, with when they were last seen', async () => {
    expect(await world.onlineUsers({ identity: CUSTOMER })).toEqual({
      users: [{ userId: 7, role: 'provider', providerId: 1, lastSeen: world.clock.now().toISOString() }],
    });
  });

  it('provider staff see their business’s online customers, not other businesses’', async () => {
    expect(await world.onlineUsers({ identity: COLLEAGUE })).toEqual({
      users: [{ userId: 2, role: 'customer', lastSeen: new Date(world.clock.ms() - 1000).toISOString() }],
    });
  });

  it('an admin sees every online user', async () => {
    expect(ids(await world.onlineUsers({ identity: ADMIN }))).toEqual([2, 3, 7, 9, 99]);
  });

  it('someone who has closed their last connection is no longer listed', async () => {
    await world.disconnect({ connectionId: 'staff-desk' });
    expect(await world.onlineUsers({ identity: CUSTOMER })).toEqual({ users: [] });
  });

  it('a user with no conversations sees no one', async () => {
    expect(await world.onlineUsers({ identity: { userId: 50, role: 'customer' } })).toEqual({ users: [] });
  });
});
