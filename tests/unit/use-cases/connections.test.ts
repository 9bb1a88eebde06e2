import { beforeEach, describe, expect, it } from 'vitest';
import { UnauthorizedError } from '#core/errors';
import { ConnectionClosedError } from '#core/use-cases/index';
import { ADMIN, COLLEAGUE, CUSTOMER, STAFF, STRANGER, createWorld, type World } from './world.ts';

let world: World;
beforeEach(() => {
  world = createWorld({ CHAT_MAX_CONNECTIONS_PER_USER: 2, CHAT_AUTH_TIMEOUT_MS: 30_000, CHAT_CONNECTION_TTL_SECONDS: 7500 });
});

const presenceFramesTo = (connectionId: string, event: 'chat-user-online' | 'chat-user-offline') =>
  world.broadcaster.eventsTo(connectionId, event).map((f) => f.data);

describe('connect', () => {
  it('a bare connection is recorded with a sign-in deadline and no identity', async () => {
    const result = await world.connect({ connectionId: 'bare' });
    const deadline = world.clock.ms() + 30_000;
    expect(result).toEqual({ connectionId: 'bare', authenticated: null, authDeadline: new Date(deadline).toISOString() });
    expect(world.connections.all()).toEqual([
      { connectionId: 'bare', connectedAt: world.clock.ms(), expiresAt: world.clock.ms() + 7_500_000, identity: null, authDeadline: deadline },
    ]);
  });

  it('a connection with ?token is signed in at once', async () => {
    const result = await world.connect({ connectionId: 'c1', token: world.token(STAFF) });
    expect(result).toEqual({
      connectionId: 'c1',
      authenticated: { userId: 7, role: 'provider', providerId: 1, connectionId: 'c1' },
      authDeadline: null,
    });
    const connection = await world.connection('c1');
    expect(connection.identity).toEqual({ userId: 7, role: 'provider', providerId: 1 });
    expect(connection.authDeadline).toBeUndefined();
  });

  it('an empty ?token counts as no token', async () => {
    expect((await world.connect({ connectionId: 'c1', token: '' })).authenticated).toBeNull();
  });

  it('a bad token is refused before anything is stored, and counted', async () => {
    await expect(world.connect({ connectionId: 'c1', token: 'forged' })).rejects.toBeInstanceOf(UnauthorizedError);
    expect(world.connections.all()).toEqual([]);
    expect(world.metrics.total('AuthFailures')).toBe(1);
  });

  it('an expired token is refused', async () => {
    const token = world.token(CUSTOMER, 1000);
    world.clock.advance(1000);
    await expect(world.connect({ connectionId: 'c1', token })).rejects.toBeInstanceOf(UnauthorizedError);
  });
});

describe('authenticate', () => {
  it('a bare connection that authenticates is told who it is and may act from then on', async () => {
    await world.connect({ connectionId: 'c1' });
    world.clock.advance(5000);
    expect(await world.authenticate({ connectionId: 'c1', token: world.token(CUSTOMER) })).toEqual({ userId: 2, role: 'customer', connectionId: 'c1' });
    await expect(world.requireAuthenticatedConnection({ connectionId: 'c1' })).resolves.toMatchObject({ identity: { userId: 2, role: 'customer' } });
  });

  it('a bad token answers UNAUTHORIZED and leaves the connection open and bare, to try again', async () => {
    await world.connect({ connectionId: 'c1' });
    await expect(world.authenticate({ connectionId: 'c1', token: 'forged' })).rejects.toBeInstanceOf(UnauthorizedError);
    expect(world.metrics.total('AuthFailures')).toBe(1);
    expect(world.broadcaster.closed).toEqual([]);
    expect((await world.connections.get('c1'))?.identity).toBeNull();
    await expect(world.authenticate({ connectionId: 'c1', token: world.token(CUSTOMER) })).resolves.toMatchObject({ userId: 2 });
  });

  it('a provider token that names no business is refused', async () => {
    await world.connect({ connectionId: 'c1' });
    await expect(world.authenticate({ connectionId: 'c1', token: world.token({ userId: 7, role: 'provider' }) })).rejects.toBeInstanceOf(
      UnauthorizedError,
    );
  });

  it('a user’s connection past the maximum closes their oldest one, never the new one', async () => {
    await world.online(CUSTOMER, 'first');
    world.clock.advance(10);
    await world.online(CUSTOMER, 'second');
    world.clock.advance(10);
    await world.online(CUSTOMER, 'third');
    expect(world.broadcaster.closed).toEqual(['first']);
    expect(world.metrics.total('ConnectionsEvicted')).toBe(1);
    // Another user's connections are not theirs to count.
    await world.online(STAFF, 'staff-desk');
    expect(world.broadcaster.closed).toEqual(['first']);
  });

  it('a connection whose record is gone is closed with a reason, so the client reconnects', async () => {
    const error = await world.authenticate({ connectionId: 'ghost', token: world.token(CUSTOMER), }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectionClosedError);
    expect(error).toBeInstanceOf(UnauthorizedError);
    expect(world.broadcaster.eventsTo('ghost', 'chat-error')).toEqual([
      { event: 'chat-error', data: { code: 'UNAUTHORIZED', message: (error as Error).message } },
    ]);
    expect(world.broadcaster.closed).toEqual(['ghost']);
  });

  it('signing in again as the same user keeps the rooms and refreshes the token expiry', async () => {
    const conversation = await world.conversation();
    await world.online(CUSTOMER, 'c1');
    await world.join('c1', conversation.id);
    world.clock.advance(60_000);
    await world.authenticate({ connectionId: 'c1', token: world.token(CUSTOMER, 2 * 60 * 60 * 1000) });
    expect((await world.connection('c1')).tokenExpiresAt).toBe(world.clock.ms() + 2 * 60 * 60 * 1000);
    expect((await world.subscriptions.connectionsIn(conversation.id)).map((s) => s.connectionId)).toEqual(['c1']);
  });

  it('signing in as someone else takes the previous user off the connection: their rooms and their presence', async () => {
    const conversation = await world.conversation();
    await world.online(STAFF, 'staff-desk');
    await world.online(CUSTOMER, 'shared');
    await world.join('shared', conversation.id);
    world.broadcaster.clear();

    await world.authenticate({ connectionId: 'shared', token: world.token(STRANGER) });
    expect(await world.subscriptions.connectionsIn(conversation.id)).toEqual([]);
    expect(world.presence.connectionIdsOf(CUSTOMER.userId)).toEqual([]);
    expect(presenceFramesTo('staff-desk', 'chat-user-offline')).toEqual([
      { userId: CUSTOMER.userId, role: 'customer', lastSeen: world.clock.now().toISOString() },
    ]);
  });
});

describe('presence announcements', () => {
  it('a user’s first connection announces them online to the other side of their conversations, and to no one else', async () => {
    await world.conversation();
    await world.online(STAFF, 'staff-desk');
    await world.online(COLLEAGUE, 'colleague-tablet');
    await world.online(STRANGER, 'stranger-phone');
    world.broadcaster.clear();
    world.clock.advance(1000);

    await world.online(CUSTOMER, 'customer-phone');
    const data = { userId: 2, role: 'customer', lastSeen: world.clock.now().toISOString() };
    expect(presenceFramesTo('staff-desk', 'chat-user-online')).toEqual([data]);
    expect(presenceFramesTo('colleague-tablet', 'chat-user-online')).toEqual([data]);
    expect(presenceFramesTo('stranger-phone', 'chat-user-online')).toEqual([]);
    expect(presenceFramesTo('customer-phone', 'chat-user-online')).toEqual([]);
  });

  it('a second device does not announce the user again', async () => {
    await world.conversation();
    await world.online(CUSTOMER, 'customer-phone');
    world.broadcaster.clear();
    await world.online(STAFF, 'staff-desk');
    expect(presenceFramesTo('customer-phone', 'chat-user-online')).toEqual([
      { userId: 7, role: 'provider', providerId: 1, lastSeen: world.clock.now().toISOString() },
    ]);
    await world.online(STAFF, 'staff-laptop');
    expect(presenceFramesTo('customer-phone', 'chat-user-online')).toHaveLength(1);
  });

  it('closing the last connection announces the user offline with when they were last seen; closing one of two does not', async () => {
    await world.conversation();
    await world.online(STAFF, 'staff-desk');
    await world.online(CUSTOMER, 'customer-phone');
    await world.online(CUSTOMER, 'customer-laptop');
    world.broadcaster.clear();

    world.clock.advance(1000);
    expect(await world.disconnect({ connectionId: 'customer-phone' })).toEqual({ removed: true, leftConversations: [], wentOffline: false });
    expect(presenceFramesTo('staff-desk', 'chat-user-offline')).toEqual([]);

    world.clock.advance(1000);
    expect((await world.disconnect({ connectionId: 'customer-laptop' })).wentOffline).toBe(true);
    expect(presenceFramesTo('staff-desk', 'chat-user-offline')).toEqual([
      { userId: 2, role: 'customer', lastSeen: world.clock.now().toISOString() },
    ]);
  });

  it('an admin coming and going is announced to no one', async () => {
    await world.conversation();
    await world.online(CUSTOMER, 'customer-phone');
    world.broadcaster.clear();
    await world.online(ADMIN, 'admin-console');
    await world.disconnect({ connectionId: 'admin-console' });
    expect(world.broadcaster.requests).toEqual([]);
  });

  it('an announcement that cannot find its audience never fails the sign-in', async () => {
    await world.conversation();
    world.conversations.counterpartsOf = async () => {
      throw new Error('database unavailable');
    };
    await expect(world.online(CUSTOMER, 'customer-phone')).resolves.toBe('customer-phone');
    expect(world.logger.at('error').map((e) => e.message)).toEqual(['Could not notify: chat-user-online']);
  });
});

describe('disconnect', () => {
  it('forgets the connection, its rooms and its presence', async () => {
    const conversation = await world.conversation();
    await world.online(CUSTOMER, 'customer-phone');
    await world.join('customer-phone', conversation.id);
    const result = await world.disconnect({ connectionId: 'customer-phone' });
    expect(result).toEqual({ removed: true, leftConversations: [conversation.id], wentOffline: true });
    expect(world.connections.all()).toEqual([]);
    expect(world.subscriptions.all()).toEqual([]);
    expect((await world.onlineUsers({ identity: STAFF })).users).toEqual([]);
  });

  it('a repeated disconnect changes nothing and announces nothing', async () => {
    await world.conversation();
    await world.online(STAFF, 'staff-desk');
    await world.online(CUSTOMER, 'customer-phone');
    await world.disconnect({ connectionId: 'customer-phone' });
    world.broadcaster.clear();
    expect(await world.disconnect({ connectionId: 'customer-phone' })).toEqual({ removed: false, leftConversations: [], wentOffline: false });
    expect(world.broadcaster.requests).toEqual([]);
  });

  it('a bare connection leaves without touching presence', async () => {
    await world.connect({ connectionId: 'bare' });
    expect(await world.disconnect({ connectionId: 'bare' })).toEqual({ removed: true, leftConversations: [], wentOffline: false });
  });
});

describe('requireAuthenticatedConnection', () => {
  it('answers a signed-in connection with its verified identity', async () => {
    await world.online(COLLEAGUE, 'c1');
    await expect(world.requireAuthenticatedConnection({ connectionId: 'c1' })).resolves.toMatchObject({
      connectionId: 'c1',
      identity: { userId: 8, role: 'provider', providerId: 1 },
    });
  });

  it('a bare connection within its deadline is asked to authenticate first and stays open', async () => {
    await world.connect({ connectionId: 'bare' });
    world.clock.advance(29_999);
    const error = await world.requireAuthenticatedConnection({ connectionId: 'bare' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnauthorizedError);
    expect(error).not.toBeInstanceOf(ConnectionClosedError);
    expect((error as Error).message).toMatch(/chat-authenticate/);
    expect(world.broadcaster.closed).toEqual([]);
  });

  it('a bare connection past its deadline is told why and closed', async () => {
    await world.connect({ connectionId: 'bare' });
    world.clock.advance(30_000);
    const error = await world.requireAuthenticatedConnection({ connectionId: 'bare', requestId: 'r-1' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectionClosedError);
    expect(world.broadcaster.framesTo('bare')).toEqual([
      { event: 'chat-error', data: { code: 'UNAUTHORIZED', message: (error as Error).message, requestId: 'r-1' }, requestId: 'r-1' },
    ]);
    expect(world.broadcaster.closed).toEqual(['bare']);
  });

  it('a connection whose token has expired is closed', async () => {
    await world.connect({ connectionId: 'c1', token: world.token(CUSTOMER, 60_000) });
    world.clock.advance(60_000);
    await expect(world.requireAuthenticatedConnection({ connectionId: 'c1' })).rejects.toBeInstanceOf(ConnectionClosedError);
    expect(world.broadcaster.closed).toEqual(['c1']);
  });

  it('a connection with no record is closed so that the client reconnects', async () => {
    await expect(world.requireAuthenticatedConnection({ connectionId: 'unknown' })).rejects.toBeInstanceOf(ConnectionClosedError);
    expect(world.broadcaster.closed).toEqual(['unknown']);
  });

  it('a close that fails is logged and the refusal still stands', async () => {
    world.broadcaster.close = async () => {
      throw new Error('management API down');
    };
    await expect(world.requireAuthenticatedConnection({ connectionId: 'unknown' })).rejects.toBeInstanceOf(ConnectionClosedError);
    expect(world.logger.at('warn').map((e) => e.message)).toEqual(['Could not close a connection']);
  });
});

describe('ping', () => {
  it('answers the server time', async () => {
    expect(await world.ping()).toEqual({ at: world.clock.now().toISOString() });
  });
});

describe('closeUnauthenticated', () => {
  it('closes a bare connection that stayed silent past the deadline, telling it why, and leaves the others alone', async () => {
    await world.connect({ connectionId: 'silent' });
    await world.connect({ connectionId: 'signed-in', token: world.token(CUSTOMER) });
    world.clock.advance(10_000);
    await world.connect({ connectionId: 'late-comer' });
    world.clock.advance(25_000);

    const { closed } = await world.closeUnauthenticated();

    expect(closed).toEqual(['silent']);
    expect(world.broadcaster.closed).toEqual(['silent']);
    expect(world.broadcaster.eventsTo('silent', 'chat-error').map((f) => (f.data as { code: string }).code)).toEqual(['UNAUTHORIZED']);
    expect(world.connections.has('silent')).toBe(false);
    expect(world.connections.has('late-comer')).toBe(true);
    expect((await world.closeUnauthenticated()).closed).toEqual([]);
  });
});
