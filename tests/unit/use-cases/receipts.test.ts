import { beforeEach, describe, expect, it } from 'vitest';
import { ForbiddenError, NotFoundError, ValidationError } from '#core/errors';
import type { Conversation } from '#core/model';
import { CONNECT_GRACE_MS, MARK_READ_FRAME_LIMIT, type StatusUpdatedData } from '#core/use-cases/index';
import { ADMIN, COLLEAGUE, CUSTOMER, OTHER_STAFF, STAFF, STRANGER, createWorld, type World } from './world.ts';

let world: World;
let conversation: Conversation;

beforeEach(async () => {
  world = createWorld({ CHAT_SEND_RATE_LIMIT: 1000 });
  conversation = await world.conversation();
  await world.online(CUSTOMER, 'customer-phone');
  await world.online(STAFF, 'staff-desk');
  await world.online(COLLEAGUE, 'colleague-tablet');
  await world.online(STRANGER, 'stranger-phone');
  world.broadcaster.clear();
});

const statusFramesTo = (connectionId: string) =>
  world.broadcaster.eventsTo(connectionId, 'chat-message-status-updated').map((f) => f.data as StatusUpdatedData);

describe('markRead', () => {
  it('marks every message from the other side READ and zeroes the caller’s unread count', async () => {
    const a = await world.say(CUSTOMER, conversation.id, 'one');
    await world.say(STAFF, conversation.id, 'answer');
    const b = await world.say(CUSTOMER, conversation.id, 'two');
    world.clock.advance(5000);

    const result = await world.markRead({ identity: COLLEAGUE, conversationId: conversation.id });
    expect(result).toEqual({ conversationId: conversation.id, lastReadSeq: 3, unreadCount: 0, readCount: 2 });
    expect(world.db.participant(conversation.id, 'provider').unreadCount).toBe(0);
    for (const id of [a.message.id, b.message.id]) {
      expect(await world.messages.get(id)).toMatchObject({ status: 'READ', readAt: world.clock.now() });
    }
    // The provider's own message is still the customer's to read.
    expect(world.db.participant(conversation.id, 'customer').unreadCount).toBe(1);
  });

  it('tells the sender (and everyone on both sides) which messages were read, one frame per message', async () => {
    const a = await world.say(CUSTOMER, conversation.id, 'one');
    const b = await world.say(CUSTOMER, conversation.id, 'two');
    world.broadcaster.clear();
    await world.markRead({ identity: STAFF, conversationId: conversation.id });

    const at = world.clock.now().toISOString();
    const expected = [a, b].map(({ message }) => ({
      messageId: message.id,
      conversationId: conversation.id,
      status: 'READ',
      userId: STAFF.userId,
      at,
      upToSeq: 2,
    }));
    expect(statusFramesTo('customer-phone')).toEqual(expected);
    expect(statusFramesTo('colleague-tablet')).toEqual(expected);
    expect(statusFramesTo('staff-desk')).toEqual(expected);
    expect(statusFramesTo('stranger-phone')).toEqual([]);
  });

  it('when many messages are read at once, sends one frame for the newest, saying everything up to it is read', async () => {
    const sent = [];
    for (let i = 0; i <= MARK_READ_FRAME_LIMIT; i++) sent.push(await world.say(CUSTOMER, conversation.id, `m${i}`));
    world.broadcaster.clear();
    const result = await world.markRead({ identity: STAFF, conversationId: conversation.id });
    expect(result.readCount).toBe(MARK_READ_FRAME_LIMIT + 1);
    expect(statusFramesTo('customer-phone')).toEqual([
      expect.objectContaining({ messageId: sent.at(-1)?.message.id, status: 'READ', upToSeq: MARK_READ_FRAME_LIMIT + 1 }),
    ]);
  });

  it('with nothing new to read, changes nothing and tells no one', async () => {
    await world.say(STAFF, conversation.id, 'only ours');
    world.broadcaster.clear();
    const result = await world.markRead({ identity: STAFF, conversationId: conversation.id });
    expect(result).toMatchObject({ lastReadSeq: 1, readCount: 0 });
    expect(world.broadcaster.requests).toEqual([]);
  });

  it('a gone connection is pruned once, and the other frames still go out', async () => {
    await world.say(CUSTOMER, conversation.id, 'one');
    await world.say(CUSTOMER, conversation.id, 'two');
    world.broadcaster.clear();
    world.clock.advance(CONNECT_GRACE_MS); // open a while: 410 means gone
    world.broadcaster.gone.add('colleague-tablet');
    await world.markRead({ identity: STAFF, conversationId: conversation.id });
    expect(statusFramesTo('customer-phone')).toHaveLength(2);
    expect(world.metrics.total('StaleConnectionsPruned')).toBe(1);
    expect(world.broadcaster.requests[1]?.connectionIds).not.toContain('colleague-tablet');
  });

  it('admins and outsiders may not mark read; a missing conversation is not found', async () => {
    await world.say(CUSTOMER, conversation.id, 'one');
    await expect(world.markRead({ identity: ADMIN, conversationId: conversation.id })).rejects.toBeInstanceOf(ForbiddenError);
    await expect(world.markRead({ identity: OTHER_STAFF, conversationId: conversation.id })).rejects.toBeInstanceOf(ForbiddenError);
    await expect(world.markRead({ identity: STAFF, conversationId: 'nope' })).rejects.toBeInstanceOf(NotFoundError);
    expect(world.db.participant(conversation.id, 'provider').unreadCount).toBe(1);
  });
});

describe('updateMessageStatus', () => {
  it('the receiver marks a message delivered, and both sides are told', async () => {
    const { message } = await world.say(CUSTOMER, conversation.id, 'hello');
    world.broadcaster.clear();
    world.clock.advance(2000);
    const result = await world.updateMessageStatus({ identity: COLLEAGUE, messageId: message.id, status: 'DELIVERED' });
    const at = world.clock.now().toISOString();
    expect(result).toMatchObject({ changed: true, message: { id: message.id, status: 'DELIVERED', deliveredAt: at, readAt: null } });
    const data = { messageId: message.id, conversationId: conversation.id, status: 'DELIVERED', userId: COLLEAGUE.userId, at };
    expect(statusFramesTo('customer-phone')).toEqual([data]);
    expect(statusFramesTo('staff-desk')).toEqual([data]);
    expect(statusFramesTo('stranger-phone')).toEqual([]);
  });

  it('reading a message lowers the reader’s unread count', async () => {
    const { message } = await world.say(STAFF, conversation.id, 'your car is ready');
    expect(world.db.participant(conversation.id, 'customer').unreadCount).toBe(1);
    const result = await world.updateMessageStatus({ identity: CUSTOMER, messageId: message.id, status: 'READ' });
    expect(result.message).toMatchObject({ status: 'READ', readAt: world.clock.now().toISOString(), deliveredAt: world.clock.now().toISOString() });
    expect(world.db.participant(conversation.id, 'customer').unreadCount).toBe(0);
  });

  it('a move that is not forward answers the message unchanged and tells no one', async () => {
    const { message } = await world.say(STAFF, conversation.id, 'hi');
    await world.updateMessageStatus({ identity: CUSTOMER, messageId: message.id, status: 'READ' });
    const stored = await world.messages.get(message.id);
    world.broadcaster.clear();
    world.clock.advance(1000);

    for (const status of ['DELIVERED', 'READ'] as const) {
      const result = await world.updateMessageStatus({ identity: CUSTOMER, messageId: message.id, status });
      expect(result.changed).toBe(false);
      expect(result.message).toMatchObject({ status: 'READ', updatedAt: stored?.updatedAt.toISOString() });
    }
    expect(world.broadcaster.requests).toEqual([]);
  });

  it('the sender cannot mark their own message delivered or read', async () => {
    const { message } = await world.say(CUSTOMER, conversation.id, 'hello');
    await expect(world.updateMessageStatus({ identity: CUSTOMER, messageId: message.id, status: 'READ' })).rejects.toBeInstanceOf(ForbiddenError);
    const fromStaff = await world.say(STAFF, conversation.id, 'hi');
    // A colleague is on the sending side too.
    await expect(world.updateMessageStatus({ identity: COLLEAGUE, messageId: fromStaff.message.id, status: 'READ' })).rejects.toBeInstanceOf(
      ForbiddenError,
    );
    expect((await world.messages.get(message.id))?.status).toBe('SENT');
  });

  it('admins and outsiders are refused; an unknown message is not found; only DELIVERED or READ', async () => {
    const { message } = await world.say(CUSTOMER, conversation.id, 'hello');
    for (const identity of [ADMIN, OTHER_STAFF, STRANGER]) {
      await expect(world.updateMessageStatus({ identity, messageId: message.id, status: 'READ' })).rejects.toBeInstanceOf(ForbiddenError);
    }
    await expect(world.updateMessageStatus({ identity: STAFF, messageId: 'msg-nope', status: 'READ' })).rejects.toBeInstanceOf(NotFoundError);
    await expect(world.updateMessageStatus({ identity: STAFF, messageId: message.id, status: 'SENT' as never })).rejects.toBeInstanceOf(
      ValidationError,
    );
  });
});
