import { beforeEach, describe, expect, it } from 'vitest';
import { CursorExpiredError, ForbiddenError, ValidationError } from '#core/errors';
import { decodeSyncCursor, encodeSyncCursor } from '#core/changes';
import type { WireConversation } from '#core/use-cases/wire';
import { ADMIN, COLLEAGUE, CUSTOMER, STAFF, STRANGER, createWorld, type World } from './world.ts';

let world: World;
let conversation: WireConversation;

beforeEach(async () => {
  world = createWorld({ CHAT_SYNC_RETENTION_DAYS: 30, CHAT_EVENT_REPUBLISH_AFTER_SECONDS: 30 });
  conversation = (await world.startConversation({ identity: CUSTOMER, providerId: 1, customerId: 2 })).conversation;
});

async function syncAll(identity = CUSTOMER, since?: string, limit = 2) {
  const changes: { type: string; cursor: string; data: Record<string, unknown> }[] = [];
  let cursor = since;
  for (;;) {
    const page = await world.sync({ identity, since: cursor, limit });
    changes.push(...page.changes);
    cursor = page.cursor;
    if (!page.hasMore) return { changes, cursor: cursor! };
  }
}

describe('sync', () => {
  it('starts from a cursor with no changes, then yields what happened after it, each once, across pages', async () => {
    const start = await world.sync({ identity: STAFF, limit: 100 });
    expect(start).toMatchObject({ changes: [], hasMore: false, cursor: expect.any(String) });

    const { message } = await world.say(CUSTOMER, conversation.id, 'hi');
    await world.say(STAFF, conversation.id, 'hello');
    await world.markRead({ identity: STAFF, conversationId: conversation.id });
    await world.react({ identity: CUSTOMER, messageId: message.id, emoji: '👍', added: true });

    const { changes, cursor } = await syncAll(COLLEAGUE, start.cursor);
    expect(changes.map((c) => c.type)).toEqual(['message.created', 'message.created', 'conversation.read', 'message.status', 'reaction.updated']);
    expect(new Set(changes.map((c) => c.cursor)).size).toBe(changes.length);
    expect(changes[2]!.data).toEqual({ side: 'provider', lastReadSeq: 2 });
    expect(changes[3]!.data).toEqual({ messageId: message.id, status: 'READ', upToSeq: 2 });
    expect((await world.sync({ identity: COLLEAGUE, since: cursor, limit: 100 })).changes).toEqual([]);
  });

  it("keeps an archive to the side that archived it and shows nobody another party's changes", async () => {
    const start = (await world.sync({ identity: CUSTOMER, limit: 100 })).cursor;
    const strangerStart = (await world.sync({ identity: STRANGER, limit: 100 })).cursor;
    await world.archiveConversation({ identity: STAFF, conversationId: conversation.id });
    await world.say(CUSTOMER, conversation.id, 'are you there?');
    expect((await syncAll(CUSTOMER, start)).changes.map((c) => c.type)).toEqual(['message.created']);
    expect((await syncAll(STRANGER, strangerStart)).changes).toEqual([]);
  });

  it('renders a message in its current state: a deleted one is a tombstone in every change', async () => {
    const start = (await world.sync({ identity: STAFF, limit: 100 })).cursor;
    const { message } = await world.say(CUSTOMER, conversation.id, 'call me at 0170 1234567');
    await world.deleteMessage({ identity: CUSTOMER, messageId: message.id });
    const { changes } = await syncAll(STAFF, start);
    expect(changes.map((c) => c.type)).toEqual(['message.created', 'message.deleted']);
    expect(JSON.stringify(changes)).not.toContain('0170');
  });

  it('refuses admins, forged cursors and cursors older than the retention (410)', async () => {
    await expect(world.sync({ identity: ADMIN, limit: 10 })).rejects.toBeInstanceOf(ForbiddenError);
    await expect(world.sync({ identity: CUSTOMER, since: 'not-a-cursor', limit: 10 })).rejects.toBeInstanceOf(ValidationError);
    await expect(world.sync({ identity: CUSTOMER, since: encodeSyncCursor({ txid: 1n, id: 1n, seenUntil: 0 }).slice(0, -2), limit: 10 })).rejects.toBeInstanceOf(ValidationError);

    const { cursor } = await world.sync({ identity: CUSTOMER, limit: 10 });
    world.clock.advance(29 * 86_400_000);
    const fresh = await world.sync({ identity: CUSTOMER, since: cursor, limit: 10 });
    world.clock.advance(2 * 86_400_000);
    await expect(world.sync({ identity: CUSTOMER, since: cursor, limit: 10 })).rejects.toBeInstanceOf(CursorExpiredError);
    // A client that kept polling holds a cursor as fresh as its last call.
    expect((await world.sync({ identity: CUSTOMER, since: fresh.cursor, limit: 10 })).changes).toEqual([]);
  });

  it('round-trips a cursor and refuses values it did not issue', () => {
    const position = { txid: 12345678901234n, id: 42n, seenUntil: 1_800_000_000_000 };
    expect(decodeSyncCursor(encodeSyncCursor(position))).toEqual(position);
    for (const forged of ['', 'YQ', Buffer.from('c1.1.2').toString('base64url'), Buffer.from('c1.-1.2.3').toString('base64url'), Buffer.from('c1.99999999999999999999.1.1').toString('base64url')]) {
      expect(() => decodeSyncCursor(forged)).toThrow(ValidationError);
    }
  });
});

describe('the event pipeline', () => {
  it('publishes each change after commit as an event carrying its id, type and data', async () => {
    const { message } = await world.say(CUSTOMER, conversation.id, 'hi');
    const [created, sentEvent] = world.events.published;
    expect(created).toMatchObject({ type: 'conversation.created', conversationId: conversation.id, data: { conversation: { id: conversation.id } } });
    expect(sentEvent).toMatchObject({ type: 'message.created', data: { message: { id: message.id, content: 'hi' } } });
    expect(world.db.recordedChanges().map((c) => c.id)).toEqual(world.events.published.map((e) => e.id));
  });

  it('never fails the request when publishing fails; the sweeper publishes it again, and a confirmed event is left alone', async () => {
    world.events.failing = true;
    const { message } = await world.say(CUSTOMER, conversation.id, 'queue is down');
    expect(message.seq).toBe(1);
    expect(world.metrics.total('EventPublishFailures')).toBe(1);

    world.events.failing = false;
    expect(await world.republishEvents()).toEqual({ republished: 0 }); // younger than CHAT_EVENT_REPUBLISH_AFTER_SECONDS
    world.clock.advance(31_000);
    // conversation.created was published fine, but nothing confirmed it either: both go again.
    expect(await world.republishEvents()).toEqual({ republished: 2 });
    expect(world.events.ofType('message.created').map((e) => e.data)).toEqual([{ message }]);
    expect(await world.republishEvents()).toEqual({ republished: 0 }); // backing off

    // Routing confirms each change once, and forwards new messages to the push and moderation queues.
    const created = world.events.ofType('message.created');
    expect(await world.routeEvents(world.events.published)).toEqual({ confirmed: 2, forwarded: 2 * created.length });
    expect(world.forwarder.forwarded.map(({ queue, event }) => [queue, event.type]).sort()).toEqual(
      created.flatMap(() => [['moderation', 'message.created'], ['push', 'message.created']]).sort(),
    );
    world.clock.advance(2 * 3_600_000);
    expect(await world.republishEvents()).toEqual({ republished: 0 });
  });

  it('purges changes past the retention, counting them', async () => {
    await world.say(CUSTOMER, conversation.id, 'old');
    world.clock.advance(31 * 86_400_000);
    await world.say(CUSTOMER, conversation.id, 'new');
    expect(await world.purgeChanges()).toEqual({ purged: 2 });
    expect(world.metrics.total('ChangesPurged')).toBe(2);
    expect(world.db.recordedChanges().map((c) => c.type)).toEqual(['message.created']);
  });
});
