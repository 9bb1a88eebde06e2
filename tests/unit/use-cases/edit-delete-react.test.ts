import { beforeEach, describe, expect, it } from 'vitest';
import { ConflictError, ForbiddenError, NotFoundError, PayloadTooLargeError, ValidationError } from '#core/errors';
import type { Conversation } from '#core/model';
import { nextReactions } from '#core/use-cases/react';
import { ADMIN, COLLEAGUE, CUSTOMER, STAFF, STRANGER, createWorld, type World } from './world.ts';

let world: World;
let conversation: Conversation;

beforeEach(async () => {
  world = createWorld({ CHAT_MAX_CONTENT_LENGTH: 40, CHAT_EDIT_WINDOW_SECONDS: 60, CHAT_MAX_REACTIONS_PER_MESSAGE: 2 });
  conversation = await world.conversation();
  await world.online(CUSTOMER, 'customer-phone');
  await world.online(STAFF, 'staff-desk');
  await world.online(STRANGER, 'stranger-phone');
  world.broadcaster.clear();
});

const sent = async (content = 'See you at 10?') => (await world.say(CUSTOMER, conversation.id, content)).message;

describe('editMessage', () => {
  it('replaces the content, stamps editedAt, tells both sides and records message.updated', async () => {
    const message = await sent();
    world.clock.advance(5_000);
    const { message: edited } = await world.editMessage({ identity: CUSTOMER, messageId: message.id, content: 'See you at 11?', conversationId: conversation.id });
    expect(edited).toMatchObject({ id: message.id, seq: message.seq, content: 'See you at 11?', editedAt: world.clock.now().toISOString() });
    expect(world.broadcaster.recipientsOf('chat-message-updated')).toEqual(['customer-phone', 'staff-desk']);
    expect(world.events.ofType('message.updated')).toEqual([expect.objectContaining({ conversationId: conversation.id, data: { message: edited } })]);
  });

  it('is only for its sender, never an admin, a colleague of the other side or a stranger', async () => {
    const message = await sent();
    for (const identity of [STAFF, COLLEAGUE, ADMIN, STRANGER]) {
      await expect(world.editMessage({ identity, messageId: message.id, content: 'hacked' })).rejects.toBeInstanceOf(ForbiddenError);
    }
    expect((await world.messages.get(message.id))?.content).toBe('See you at 10?');
    expect(world.broadcaster.recipientsOf('chat-message-updated')).toEqual([]);
  });

  it('refuses once the edit window has passed, once deleted, and a conversation that is not ACTIVE', async () => {
    const late = await sent();
    world.clock.advance(61_000);
    await expect(world.editMessage({ identity: CUSTOMER, messageId: late.id, content: 'too late' })).rejects.toBeInstanceOf(ConflictError);

    const deleted = await sent('oops');
    await world.deleteMessage({ identity: CUSTOMER, messageId: deleted.id });
    await expect(world.editMessage({ identity: CUSTOMER, messageId: deleted.id, content: 'back' })).rejects.toBeInstanceOf(ConflictError);

    const blocked = await sent('fine');
    world.db.setStatus(conversation.id, 'BLOCKED');
    await expect(world.editMessage({ identity: CUSTOMER, messageId: blocked.id, content: 'still?' })).rejects.toBeInstanceOf(ConflictError);
  });

  it('checks the new content like a send, and the message must be in the conversation the path names', async () => {
    const message = await sent();
    await expect(world.editMessage({ identity: CUSTOMER, messageId: message.id, content: '   ' })).rejects.toBeInstanceOf(ValidationError);
    await expect(world.editMessage({ identity: CUSTOMER, messageId: message.id, content: 'x'.repeat(41) })).rejects.toBeInstanceOf(PayloadTooLargeError);
    const other = await world.conversation({ orderId: 5 });
    await expect(world.editMessage({ identity: CUSTOMER, messageId: message.id, content: 'ok', conversationId: other.id })).rejects.toBeInstanceOf(NotFoundError);
    await expect(world.editMessage({ identity: CUSTOMER, messageId: 'missing', content: 'ok' })).rejects.toBeInstanceOf(NotFoundError);
  });
});

describe('deleteMessage', () => {
  it('leaves a tombstone that keeps id, seq and sender, tells both sides, and answers the same when repeated', async () => {
    const message = await world.say(CUSTOMER, conversation.id, 'my number is …').then((r) => r.message);
    const { message: tombstone } = await world.deleteMessage({ identity: CUSTOMER, messageId: message.id, conversationId: conversation.id });
    expect(tombstone).toMatchObject({ id: message.id, seq: message.seq, senderId: CUSTOMER.userId, content: '', attachments: null, metadata: null, reactions: [], deletedAt: expect.any(String) });
    expect(world.broadcaster.framesOf('chat-message-deleted').map((f) => f.data)).toEqual([
      { conversationId: conversation.id, messageId: message.id, seq: message.seq, deletedAt: tombstone.deletedAt },
      { conversationId: conversation.id, messageId: message.id, seq: message.seq, deletedAt: tombstone.deletedAt },
    ]);
    const again = await world.deleteMessage({ identity: CUSTOMER, messageId: message.id });
    expect(again.message).toEqual(tombstone);
    expect(world.events.ofType('message.deleted')).toHaveLength(1);
  });

  it('lets an admin delete any message (moderation) but not the other side', async () => {
    const message = await sent();
    await expect(world.deleteMessage({ identity: STAFF, messageId: message.id })).rejects.toBeInstanceOf(ForbiddenError);
    await expect(world.deleteMessage({ identity: STRANGER, messageId: message.id })).rejects.toBeInstanceOf(ForbiddenError);
    expect((await world.deleteMessage({ identity: ADMIN, messageId: message.id })).message.deletedAt).not.toBeNull();
  });

  it('never publishes the old content: the event carries the tombstone', async () => {
    const message = await sent('secret');
    await world.deleteMessage({ identity: CUSTOMER, messageId: message.id });
    expect(JSON.stringify(world.events.ofType('message.deleted'))).not.toContain('secret');
  });
});

describe('react', () => {
  it('adds and removes a reaction idempotently, broadcasting only real changes', async () => {
    const message = await sent();
    const first = await world.react({ identity: STAFF, messageId: message.id, emoji: '👍', added: true });
    const repeat = await world.react({ identity: STAFF, messageId: message.id, emoji: '👍', added: true });
    const colleague = await world.react({ identity: CUSTOMER, messageId: message.id, emoji: '👍', added: true });
    expect(first.message.reactions).toEqual([{ emoji: '👍', count: 1, userIds: [STAFF.userId] }]);
    expect(repeat.message.reactions).toEqual(first.message.reactions);
    expect(colleague.message.reactions).toEqual([{ emoji: '👍', count: 2, userIds: [STAFF.userId, CUSTOMER.userId] }]);
    expect(world.broadcaster.framesOf('chat-reaction-updated').map((f) => f.data)).toContainEqual({
      conversationId: conversation.id,
      messageId: message.id,
      emoji: '👍',
      userId: STAFF.userId,
      added: true,
      reactions: [{ emoji: '👍', count: 1, userIds: [STAFF.userId] }],
    });

    const removed = await world.react({ identity: STAFF, messageId: message.id, emoji: '👍', added: false });
    const removedAgain = await world.react({ identity: STAFF, messageId: message.id, emoji: '👍', added: false });
    expect(removed.message.reactions).toEqual([{ emoji: '👍', count: 1, userIds: [CUSTOMER.userId] }]);
    expect(removedAgain.message.reactions).toEqual(removed.message.reactions);
    expect(world.events.ofType('reaction.updated')).toHaveLength(3);
  });

  it('caps the distinct emoji on a message, for participants only', async () => {
    const message = await sent();
    await world.react({ identity: CUSTOMER, messageId: message.id, emoji: '👍', added: true });
    await world.react({ identity: CUSTOMER, messageId: message.id, emoji: '🎉', added: true });
    await expect(world.react({ identity: STAFF, messageId: message.id, emoji: '🚗', added: true })).rejects.toBeInstanceOf(ConflictError);
    await expect(world.react({ identity: ADMIN, messageId: message.id, emoji: '👍', added: true })).rejects.toBeInstanceOf(ForbiddenError);
    await expect(world.react({ identity: STRANGER, messageId: message.id, emoji: '👍', added: true })).rejects.toBeInstanceOf(ForbiddenError);
  });

  it('computes next reactions: new emoji last, empty ones gone', () => {
    const start = [{ emoji: '👍', userIds: [1] }, { emoji: '🎉', userIds: [2] }];
    expect(nextReactions(start, '🎉', 2, false, 20)).toEqual([{ emoji: '👍', userIds: [1] }]);
    expect(nextReactions(start, '🚗', 3, true, 20)).toEqual([...start, { emoji: '🚗', userIds: [3] }]);
    expect(nextReactions(start, '👍', 1, true, 20)).toBeNull();
    expect(nextReactions(start, '🚗', 1, false, 20)).toBeNull();
  });
});
