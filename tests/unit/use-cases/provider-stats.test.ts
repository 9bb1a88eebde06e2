/**
 * A provider's statistics as the use case serves them: who may read them, the default range,
 * and the first-response time each answering send reports as a metric.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { ForbiddenError } from '#core/errors';
import { ADMIN, COLLEAGUE, CUSTOMER, OTHER_STAFF, SERVICE, STAFF, createWorld, type World } from './world.ts';

let world: World;
beforeEach(() => {
  world = createWorld();
});

describe('provider statistics', () => {
  it("are the provider's own staff's and the admins', nobody else's", async () => {
    for (const identity of [STAFF, COLLEAGUE, ADMIN]) await expect(world.providerStats({ identity, providerId: 1 })).resolves.toMatchObject({ providerId: 1 });
    for (const identity of [CUSTOMER, OTHER_STAFF, SERVICE]) await expect(world.providerStats({ identity, providerId: 1 })).rejects.toThrow(ForbiddenError);
    expect(world.statistics.requests).toHaveLength(3);
  });

  it('cover the 30 days up to now by default, and echo the range', async () => {
    const now = world.clock.now();
    const answer = await world.providerStats({ identity: STAFF, providerId: 1 });
    expect(answer).toMatchObject({ from: new Date(now.getTime() - 30 * 86_400_000).toISOString(), to: now.toISOString() });
    const from = new Date('2030-01-01T00:00:00Z');
    await world.providerStats({ identity: STAFF, providerId: 1, from });
    expect(world.statistics.requests[1]).toEqual({ providerId: 1, from, to: now });
  });

  it('answer what the store counted', async () => {
    world.statistics.answer = { conversations: 3, messagesReceived: 9, messagesSent: 4, firstResponseSeconds: { median: 42.5, p90: 120 }, unanswered: 1 };
    expect(await world.providerStats({ identity: ADMIN, providerId: 1 })).toMatchObject(world.statistics.answer);
  });
});

describe('the first-response metric', () => {
  it("is recorded once per answered wait: from the customer's first unanswered message to the staff's next one", async () => {
    const conversation = await world.conversation();
    await world.say(CUSTOMER, conversation.id, 'Are you open on Sunday?');
    world.clock.advance(5_000);
    await world.say(CUSTOMER, conversation.id, 'Hello?');
    world.clock.advance(85_000);
    await world.say(STAFF, conversation.id, 'Yes, 9 to 5');
    await world.say(COLLEAGUE, conversation.id, 'And we have a discount');
    expect(world.metrics.timings.filter((t) => t.metric === 'FirstResponseTime')).toEqual([{ metric: 'FirstResponseTime', ms: 90_000 }]);
  });
});
