import { beforeEach, describe, expect, it, vi } from 'vitest';
import { ForbiddenError, NotFoundError } from '#core/errors';
import type { Conversation } from '#core/model';
import type { TypingData } from '#core/use-cases/index';
import { ADMIN, COLLEAGUE, CUSTOMER, OTHER_STAFF, STAFF, STRANGER, createWorld, type World } from './world.ts';

let world: World;
let conversation: Conversation;

beforeEach(async () => {
  world = createWorld({ CHAT_TYPING_TIMEOUT: 3000 });
  conversation = await world.conversation();
  for (const [identity, connectionId] of [
    [CUSTOMER, 'customer-phone'],
    [CUSTOMER, 'customer-laptop'],
    [STAFF, 'staff-desk'],
    [COLLEAGUE, 'colleague-tablet'],
    [ADMIN, 'admin-console'],
    [STRANGER, 'stranger-phone'],
  ] as const) {
    await world.online(identity, connectionId);
  }
  world.broadcaster.clear();
});

const typingFramesTo = (connectionId: string) =>
  world.broadcaster.eventsTo(connectionId, 'chat-user-typing').map((f) => f.data as TypingData);

describe('joinConversation / leaveConversation', () => {
  it('a participant joins a room for as long as the connection lives', async () => {
    expect(await world.join('customer-phone', conversation.id)).toEqual({ conversationId: conversation.id });
    const connection = await world.connection('customer-phone');
    expect(await world.subscriptions.connectionsIn(conversation.id)).toEqual([
      { conversationId: conversation.id, connectionId: 'customer-phone', userId: CUSTOMER.userId, expiresAt: connection.expiresAt },
    ]);
    world.clock.set(connection.expiresAt);
    expect(await world.subscriptions.connectionsIn(conversation.id)).toEqual([]);
  });

  it('joining twice keeps one membership', async () => {
    await world.join('staff-desk', conversation.id);
    await world.join('staff-desk', conversation.id);
    expect(await world.subscriptions.connectionsIn(conversation.id)).toHaveLength(1);
  });

  it('an admin may join read-only', async () => {
    await expect(world.join('admin-console', conversation.id)).resolves.toEqual({ conversationId: conversation.id });
  });

  it('a customer of another conversation may not join it; a missing conversation is not found', async () => {
    await expect(world.join('stranger-phone', conversation.id)).rejects.toBeInstanceOf(ForbiddenError);
    await expect(world.join('customer-phone', 'nope')).rejects.toBeInstanceOf(NotFoundError);
    expect(await world.subscriptions.connectionsIn(conversation.id)).toEqual([]);
  });

  it('leaving stops the typing frames, and leaving a room never joined is fine', async () => {
    await world.join('staff-desk', conversation.id);
    expect(await world.leaveConversation({ connectionId: 'staff-desk', conversationId: conversation.id })).toEqual({ conversationId: conversation.id });
    await world.typing({ identity: CUSTOMER, conversationId: conversation.id, isTyping: true });
    expect(typingFramesTo('staff-desk')).toEqual([]);
    await expect(world.leaveConversation({ connectionId: 'staff-desk', conversationId: 'never-joined' })).resolves.toBeDefined();
  });
});

describe('typing', () => {
  beforeEach(async () => {
    for (const connectionId of ['customer-phone', 'customer-laptop', 'staff-desk', 'colleague-tablet', 'admin-console']) {
      await world.join(connectionId, conversation.id);
    }
  });

  it('others in the room see that the customer is typing; none of the customer’s own devices do', async () => {
    const data = await world.typing({ identity: CUSTOMER, conversationId: conversation.id, isTyping: true, connectionId: 'customer-phone' });
    const expected = { conversationId: conversation.id, userId: CUSTOMER.userId, isTyping: true, expiresInMs: 3000 };
    expect(data).toEqual(expected);
    expect(typingFramesTo('staff-desk')).toEqual([expected]);
    expect(typingFramesTo('colleague-tablet')).toEqual([expected]);
    expect(typingFramesTo('admin-console')).toEqual([expected]);
    expect(typingFramesTo('customer-phone')).toEqual([]);
    expect(typingFramesTo('customer-laptop')).toEqual([]);
    expect(typingFramesTo('stranger-phone')).toEqual([]);
  });

  it('a staff user’s colleague sees them typing', async () => {
    await world.typing({ identity: STAFF, conversationId: conversation.id, isTyping: true });
    expect(typingFramesTo('colleague-tablet')).toEqual([expect.objectContaining({ userId: STAFF.userId, isTyping: true })]);
    expect(typingFramesTo('staff-desk')).toEqual([]);
  });

  it('stopping tells the room at once and the state is gone', async () => {
    await world.typing({ identity: CUSTOMER, conversationId: conversation.id, isTyping: true });
    await world.typing({ identity: CUSTOMER, conversationId: conversation.id, isTyping: false });
    expect(typingFramesTo('staff-desk').map((d) => [d.isTyping, d.expiresInMs])).toEqual([
      [true, 3000],
      [false, 0],
    ]);
    expect((await world.getTyping({ identity: STAFF, conversationId: conversation.id })).typing).toEqual([]);
  });

  it('a joined connection types without another access check; one that never joined is checked', async () => {
    const get = vi.spyOn(world.conversations, 'get');
    await world.typing({ identity: CUSTOMER, conversationId: conversation.id, isTyping: true, connectionId: 'customer-phone' });
    expect(get).not.toHaveBeenCalled();
    await world.typing({ identity: CUSTOMER, conversationId: conversation.id, isTyping: true });
    expect(get).toHaveBeenCalledTimes(1);
  });

  it('admins and outsiders may not type, even from a joined connection', async () => {
    await expect(
      world.typing({ identity: ADMIN, conversationId: conversation.id, isTyping: true, connectionId: 'admin-console' }),
    ).rejects.toBeInstanceOf(ForbiddenError);
    await expect(world.typing({ identity: OTHER_STAFF, conversationId: conversation.id, isTyping: true })).rejects.toBeInstanceOf(ForbiddenError);
    // Borrowing someone else's joined connection id proves nothing.
    await expect(
      world.typing({ identity: STRANGER, conversationId: conversation.id, isTyping: true, connectionId: 'customer-phone' }),
    ).rejects.toBeInstanceOf(ForbiddenError);
    expect(world.typingStore.all()).toEqual([]);
  });

  it('typing in a conversation that does not exist is not found', async () => {
    await expect(world.typing({ identity: CUSTOMER, conversationId: 'nope', isTyping: true })).rejects.toBeInstanceOf(NotFoundError);
  });
});

describe('getTyping', () => {
  it('lists who is typing, with since as ISO, until the typing timeout passes', async () => {
    await world.typing({ identity: CUSTOMER, conversationId: conversation.id, isTyping: true });
    const started = world.clock.now().toISOString();
    world.clock.advance(1000);
    await world.typing({ identity: STAFF, conversationId: conversation.id, isTyping: true });

    expect(await world.getTyping({ identity: COLLEAGUE, conversationId: conversation.id })).toEqual({
      conversationId: conversation.id,
      typing: [
        { userId: CUSTOMER.userId, role: 'customer', since: started },
        { userId: STAFF.userId, role: 'provider', since: world.clock.now().toISOString() },
      ],
    });
    world.clock.advance(2000);
    expect((await world.getTyping({ identity: CUSTOMER, conversationId: conversation.id })).typing.map((t) => t.userId)).toEqual([STAFF.userId]);
    world.clock.advance(1000);
    expect((await world.getTyping({ identity: CUSTOMER, conversationId: conversation.id })).typing).toEqual([]);
  });

  it('never shows a state older than the timeout, even one stored to live longer', async () => {
    await world.typingStore.set({
      conversationId: conversation.id,
      userId: CUSTOMER.userId,
      role: 'customer',
      since: world.clock.ms() - 3000,
      expiresAt: world.clock.ms() + 60_000,
    });
    expect((await world.getTyping({ identity: STAFF, conversationId: conversation.id })).typing).toEqual([]);
  });

  it('an admin may see who is typing; an outsider may not; a missing conversation is not found', async () => {
    await world.typing({ identity: CUSTOMER, conversationId: conversation.id, isTyping: true });
    expect((await world.getTyping({ identity: ADMIN, conversationId: conversation.id })).typing).toHaveLength(1);
    await expect(world.getTyping({ identity: STRANGER, conversationId: conversation.id })).rejects.toBeInstanceOf(ForbiddenError);
    await expect(world.getTyping({ identity: ADMIN, conversationId: 'nope' })).rejects.toBeInstanceOf(NotFoundError);
  });
});
