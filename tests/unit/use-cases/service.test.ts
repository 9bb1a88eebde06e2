/**
 * A service (a backend of the marketplace: orders, bookings) in the chat: it opens conversations
 * for any provider and customer, posts SYSTEM messages both sides receive, reads everything, and
 * is never a participant.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { ForbiddenError, NotFoundError, ValidationError } from '#core/errors';
import type { Conversation } from '#core/model';
import { ADMIN, CUSTOMER, SERVICE, STAFF, createWorld, type World } from './world.ts';

let world: World;
let conversation: Conversation;

beforeEach(async () => {
  world = createWorld({ CHAT_SEND_RATE_LIMIT: 3, CHAT_SEND_RATE_WINDOW_MS: 10_000 });
  conversation = await world.conversation();
  await world.online(CUSTOMER, 'customer-phone');
  await world.online(STAFF, 'staff-desk');
  world.broadcaster.clear();
});

const systemMessage = (conversationId = conversation.id, extra: { clientMessageId?: string } = {}) =>
  world.sendMessage({
    identity: SERVICE,
    conversationId,
    messageType: 'SYSTEM',
    content: 'Booking confirmed for Friday 10:00',
    metadata: { card: { title: 'Booking confirmed' } },
    ...extra,
  });

describe('a service starting a conversation', () => {
  it('starts one for any provider and customer, named in the request, and gets the bare conversation', async () => {
    const started = await world.startConversation({ identity: SERVICE, providerId: 5, customerId: 6, orderId: 77 });
    expect(started.created).toBe(true);
    expect(started.conversation).toMatchObject({ providerId: 5, customerId: 6, orderId: 77, status: 'ACTIVE' });
    expect(started.conversation).not.toHaveProperty('unreadCount');
    const again = await world.startConversation({ identity: SERVICE, providerId: 5, customerId: 6, orderId: 77 });
    expect(again).toMatchObject({ created: false, conversation: { id: started.conversation.id } });
  });

  it('while customers and staff still start only their own', async () => {
    await expect(world.startConversation({ identity: CUSTOMER, providerId: 5, customerId: 6 })).rejects.toBeInstanceOf(ForbiddenError);
    await expect(world.startConversation({ identity: STAFF, providerId: 5, customerId: 2 })).rejects.toBeInstanceOf(ForbiddenError);
  });
});

describe('a service sending', () => {
  it('posts a SYSTEM message sent by neither side: both sides receive it and both unread counts rise', async () => {
    const { message, created } = await systemMessage();
    expect(created).toBe(true);
    expect(message).toMatchObject({ seq: 1, senderRole: 'system', senderId: 0, receiverId: 2, messageType: 'SYSTEM', status: 'SENT' });
    expect(world.db.participant(conversation.id, 'customer').unreadCount).toBe(1);
    expect(world.db.participant(conversation.id, 'provider').unreadCount).toBe(1);
    expect(world.broadcaster.recipientsOf('chat-new-message')).toEqual(['customer-phone', 'staff-desk']);
    expect(world.events.ofType('message.created')).toEqual([expect.objectContaining({ conversationId: conversation.id })]);
  });

  it('repeats nothing for a repeated clientMessageId', async () => {
    const first = await systemMessage(conversation.id, { clientMessageId: 'booking-1-confirmed' });
    const again = await systemMessage(conversation.id, { clientMessageId: 'booking-1-confirmed' });
    expect(again).toMatchObject({ created: false, message: { id: first.message.id } });
    expect(world.db.participant(conversation.id, 'customer').unreadCount).toBe(1);
  });

  it('each side reads it for itself', async () => {
    await systemMessage();
    await world.markRead({ identity: CUSTOMER, conversationId: conversation.id });
    expect(world.db.participant(conversation.id, 'customer').unreadCount).toBe(0);
    expect(world.db.participant(conversation.id, 'provider').unreadCount).toBe(1);
    await world.markRead({ identity: STAFF, conversationId: conversation.id });
    expect(world.db.participant(conversation.id, 'provider').unreadCount).toBe(0);
  });

  it('either side may acknowledge it, the service may not', async () => {
    const { message } = await systemMessage();
    expect((await world.updateMessageStatus({ identity: STAFF, messageId: message.id, status: 'DELIVERED' })).changed).toBe(true);
    expect((await world.updateMessageStatus({ identity: CUSTOMER, messageId: message.id, status: 'READ' })).changed).toBe(true);
    await expect(world.updateMessageStatus({ identity: SERVICE, messageId: message.id, status: 'READ' })).rejects.toBeInstanceOf(ForbiddenError);
  });

  it('answers NotFoundError for a conversation that does not exist', async () => {
    await expect(systemMessage('no-such-conversation')).rejects.toBeInstanceOf(NotFoundError);
  });

  it('may not send anything but SYSTEM messages', async () => {
    await expect(world.say(SERVICE, conversation.id, 'hello')).rejects.toBeInstanceOf(ForbiddenError);
    await expect(world.sendMessage({ identity: SERVICE, conversationId: conversation.id, messageType: 'IMAGE', content: 'x', attachments: [{ id: 'att-000001' }] })).rejects.toBeInstanceOf(ForbiddenError);
  });

  it('is the only one who sends SYSTEM messages: anyone else gets ValidationError, and nothing is stored', async () => {
    for (const identity of [CUSTOMER, STAFF, ADMIN]) {
      await expect(world.sendMessage({ identity, conversationId: conversation.id, messageType: 'SYSTEM', content: 'x' })).rejects.toBeInstanceOf(ValidationError);
    }
    expect(world.broadcaster.recipientsOf('chat-new-message')).toEqual([]);
  });

  it('is rate-limited by its serviceId, not by the userId every client-credentials service shares', async () => {
    const other = { ...SERVICE, serviceId: 'orders-client' };
    for (let i = 0; i < 3; i++) await systemMessage();
    await expect(systemMessage()).rejects.toMatchObject({ code: 'RATE_LIMITED' });
    await expect(world.sendMessage({ identity: other, conversationId: conversation.id, messageType: 'SYSTEM', content: 'Order shipped' })).resolves.toMatchObject({ created: true });
  });
});

describe('a service reading', () => {
  it('reads any conversation: its history and who is typing', async () => {
    await world.say(CUSTOMER, conversation.id, 'Is Friday free?');
    await systemMessage();
    const history = await world.getHistory({ identity: SERVICE, conversationId: conversation.id });
    expect(history.messages.map((m) => m.senderRole)).toEqual(['customer', 'system']);
    expect((await world.getTyping({ identity: SERVICE, conversationId: conversation.id })).typing).toEqual([]);
  });
});

describe('a service is never a participant', () => {
  it('may not mark read, archive, react, mute or type', async () => {
    const { message } = await world.say(CUSTOMER, conversation.id, 'hi');
    const conversationId = conversation.id;
    const refusals = [
      world.markRead({ identity: SERVICE, conversationId }),
      world.archiveConversation({ identity: SERVICE, conversationId }),
      world.react({ identity: SERVICE, messageId: message.id, emoji: '👍', added: true }),
      world.muteConversation({ identity: SERVICE, conversationId, muted: true }),
      world.typing({ identity: SERVICE, conversationId, isTyping: true }),
      world.editMessage({ identity: SERVICE, messageId: message.id, content: 'changed' }),
      world.deleteMessage({ identity: SERVICE, messageId: message.id }),
    ];
    for (const refusal of refusals) await expect(refusal).rejects.toBeInstanceOf(ForbiddenError);
  });

  it('has no inbox, no change feed, no devices and no review queue', async () => {
    await expect(world.listConversations({ identity: SERVICE })).rejects.toBeInstanceOf(ForbiddenError);
    await expect(world.sync({ identity: SERVICE, limit: 10 })).rejects.toBeInstanceOf(ForbiddenError);
    await expect(world.registerDevice({ identity: SERVICE, platform: 'fcm', token: 'service-token' })).rejects.toBeInstanceOf(ForbiddenError);
    await expect(world.listReports({ identity: SERVICE, status: 'OPEN', limit: 10 })).rejects.toBeInstanceOf(ForbiddenError);
  });
});
