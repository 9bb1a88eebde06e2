import { beforeEach, describe, expect, it } from 'vitest';
import { CONNECT_GRACE_MS, makeDeliver } from '#core/use-cases/index';
import { CUSTOMER, STAFF, createWorld, type World } from './world.ts';

let world: World;
const frame = { event: 'chat-pong' as const, data: { at: 'now' } };

beforeEach(async () => {
  world = createWorld();
  await world.conversation();
  await world.online(CUSTOMER, 'customer-phone');
  await world.online(STAFF, 'staff-desk');
  // Connections that have been open a while: past their $connect, when 410 means gone.
  world.clock.advance(CONNECT_GRACE_MS);
  world.broadcaster.clear();
});

describe('deliver', () => {
  it('posts a frame once to each connection and reports who got it', async () => {
    world.metrics.timings.length = 0;
    const report = await world.deliver(frame, ['customer-phone', 'staff-desk', 'customer-phone']);
    expect(report).toEqual({ delivered: ['customer-phone', 'staff-desk'], gone: [], failed: [] });
    expect(world.broadcaster.sent).toEqual([
      { connectionId: 'customer-phone', frame },
      { connectionId: 'staff-desk', frame },
    ]);
    expect(world.metrics.timings.map((t) => t.metric)).toEqual(['FanOutLatency']);
  });

  it('asks nothing of API Gateway when there is no one to tell', async () => {
    expect(await world.deliver(frame, [])).toEqual({ delivered: [], gone: [], failed: [] });
    expect(world.broadcaster.requests).toEqual([]);
  });

  it('a gone connection is pruned like a disconnect: record, rooms and presence, announced to the other side', async () => {
    world.broadcaster.gone.add('staff-desk');
    const report = await world.deliver(frame, ['customer-phone', 'staff-desk']);
    expect(report.gone).toEqual(['staff-desk']);
    expect(world.connections.has('staff-desk')).toBe(false);
    expect(world.presence.connectionIdsOf(STAFF.userId)).toEqual([]);
    expect(world.metrics.total('StaleConnectionsPruned')).toBe(1);
    expect(world.broadcaster.eventsTo('customer-phone', 'chat-user-offline')).toEqual([
      { event: 'chat-user-offline', data: { userId: 7, role: 'provider', providerId: 1, lastSeen: world.clock.now().toISOString() } },
    ]);
  });

  it('a connection that may still be in its $connect (410 until the handshake completes) is not pruned', async () => {
    await world.online(STAFF, 'staff-tablet');
    world.broadcaster.gone.add('staff-tablet');
    world.clock.advance(CONNECT_GRACE_MS - 1);
    const report = await world.deliver(frame, ['customer-phone', 'staff-tablet']);
    expect(report.gone).toEqual(['staff-tablet']);
    expect(world.connections.has('staff-tablet')).toBe(true);
    expect(world.presence.connectionIdsOf(STAFF.userId)).toContain('staff-tablet');
    expect(world.metrics.total('StaleConnectionsPruned')).toBe(0);
    expect(world.broadcaster.eventsTo('customer-phone', 'chat-user-offline')).toEqual([]);

    // Once it is older than any $connect can take, 410 means gone.
    world.clock.advance(1);
    await world.deliver(frame, ['staff-tablet']);
    expect(world.connections.has('staff-tablet')).toBe(false);
    expect(world.metrics.total('StaleConnectionsPruned')).toBe(1);
  });

  it('pruning never makes the delivery fail', async () => {
    world.broadcaster.gone.add('staff-desk');
    world.connections.remove = async () => {
      throw new Error('DynamoDB throttled');
    };
    const report = await world.deliver(frame, ['customer-phone', 'staff-desk']);
    expect(report).toEqual({ delivered: ['customer-phone'], gone: ['staff-desk'], failed: [] });
    expect(world.metrics.total('StaleConnectionsPruned')).toBe(0);
    expect(world.logger.at('warn').map((e) => e.message)).toContain('Could not prune a gone connection');
  });

  it('a connection pruned while announcing another prune is only counted, so prunes never chain', async () => {
    world.broadcaster.gone.add('staff-desk');
    world.broadcaster.gone.add('customer-phone');
    await world.deliver(frame, ['staff-desk']);
    // staff-desk was pruned; its offline announcement met customer-phone gone, which is left for later.
    expect(world.connections.has('staff-desk')).toBe(false);
    expect(world.connections.has('customer-phone')).toBe(true);
    expect(world.metrics.total('StaleConnectionsPruned')).toBe(1);
  });

  it('counts connections that keep failing, and leaves them in place', async () => {
    world.broadcaster.failing.add('customer-phone');
    const report = await world.deliver(frame, ['customer-phone', 'staff-desk']);
    expect(report).toEqual({ delivered: ['staff-desk'], gone: [], failed: ['customer-phone'] });
    expect(world.metrics.total('DeliveryFailures')).toBe(1);
    expect(world.connections.has('customer-phone')).toBe(true);
  });

  it('a broadcaster that throws is reported as every connection failed, never as an error', async () => {
    world.broadcaster.failWith = new Error('boom');
    const report = await world.deliver(frame, ['customer-phone', 'staff-desk']);
    expect(report).toEqual({ delivered: [], gone: [], failed: ['customer-phone', 'staff-desk'] });
    expect(world.metrics.total('DeliveryFailures')).toBe(2);
    expect(world.logger.at('error')).toHaveLength(1);
  });

  it('without a prune function, gone connections are only reported', async () => {
    const deliver = makeDeliver(world);
    world.broadcaster.gone.add('staff-desk');
    expect((await deliver(frame, ['staff-desk'])).gone).toEqual(['staff-desk']);
    expect(world.connections.has('staff-desk')).toBe(true);
    expect(world.metrics.total('StaleConnectionsPruned')).toBe(0);
  });
});
