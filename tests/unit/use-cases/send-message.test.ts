import { beforeEach, describe, expect, it } from 'vitest';
import { ConflictError, ForbiddenError, NotFoundError, PayloadTooLargeError, RateLimitedError, ValidationError } from '#core/errors';
import type { Conversation } from '#core/model';
import { CONNECT_GRACE_MS } from '#core/use-cases/index';
import { ADMIN, COLLEAGUE, CUSTOMER, OTHER_STAFF, STAFF, STRANGER, createWorld, type World } from './world.ts';

let world: World;
let conversation: Conversation;

beforeEach(async () => {
  world = createWorld({ CHAT_MAX_CONTENT_LENGTH: 20, CHAT_SEND_RATE_LIMIT: 3, CHAT_SEND_RATE_WINDOW_MS: 10_000 });
  conversation = await world.conversation();
  await world.online(CUSTOMER, 'customer-phone');
  await world.online(CUSTOMER, 'customer-laptop');
  await world.online(STAFF, 'staff-desk');
  await world.online(COLLEAGUE, 'colleague-tablet');
  await world.online(STRANGER, 'stranger-phone');
  await world.online(OTHER_STAFF, 'other-staff-desk');
  await world.online(ADMIN, 'admin-console');
  world.broadcaster.clear();
});

const newMessagesTo = (connectionId: string) =>
  world.broadcaster.eventsTo(connectionId, 'chat-new-message').map((f) => (f.data as { message: { id: string } }).message.id);

describe('sendMessage', () => {
  it("stores a customer's message with the next seq, addressed to the provider", async () => {
    const first = await world.say(CUSTOMER, conversation.id, 'Is 3pm free?');
    const second = await world.say(STAFF, conversation.id, 'Yes, see you then');
    expect(first.created).toBe(true);
    expect(first.message).toMatchObject({ seq: 1, senderId: 2, senderRole: 'customer', receiverId: 1, status: 'SENT', messageType: 'TEXT', content: 'Is 3pm free?' });
    expect(second.message).toMatchObject({ seq: 2, senderId: 7, senderRole: 'provider', receiverId: 2 });
    expect(world.db.participant(conversation.id, 'provider').unreadCount).toBe(1);
  });

  it("a provider's other staff receive the customer's message, and so do all of the customer's own devices", async () => {
    const { message } = await world.say(CUSTOMER, conversation.id, 'hello');
    expect(world.broadcaster.recipientsOf('chat-new-message')).toEqual(['colleague-tablet', 'customer-laptop', 'customer-phone', 'staff-desk']);
    for (const connectionId of ['colleague-tablet', 'customer-laptop', 'customer-phone', 'staff-desk']) {
      expect(newMessagesTo(connectionId)).toEqual([message.id]);
    }
  });

  it('nobody outside the conversation hears about it', async () => {
    await world.say(STAFF, conversation.id, 'your car is ready');
    expect(newMessagesTo('stranger-phone')).toEqual([]);
    expect(newMessagesTo('other-staff-desk')).toEqual([]);
    expect(newMessagesTo('admin-console')).toEqual([]);
  });

  it('an admin watching the conversation receives its new messages', async () => {
    await world.join('admin-console', conversation.id);
    const { message } = await world.say(CUSTOMER, conversation.id, 'hello');
    expect(newMessagesTo('admin-console')).toEqual([message.id]);
  });

  it('pushes the message exactly as the API answers it, with ISO times', async () => {
    const { message } = await world.say(CUSTOMER, conversation.id, 'hello');
    const pushed = world.broadcaster.eventsTo('staff-desk', 'chat-new-message')[0]?.data;
    expect(pushed).toEqual({ message });
    expect(message.createdAt).toBe(world.clock.now().toISOString());
    expect(message).toMatchObject({ deliveredAt: null, readAt: null, attachments: null, metadata: null, replyToId: null, clientMessageId: null });
  });

  it('a repeated clientMessageId stores nothing new, answers the stored message and delivers it again', async () => {
    const first = await world.say(CUSTOMER, conversation.id, 'only once', { clientMessageId: 'c-1' });
    world.clock.advance(1000);
    const again = await world.say(CUSTOMER, conversation.id, 'only once', { clientMessageId: 'c-1' });
    expect(again).toEqual({ message: first.message, created: false });
    expect(world.db.messageCount(conversation.id)).toBe(1);
    expect(world.db.participant(conversation.id, 'provider').unreadCount).toBe(1);
    // Clients de-duplicate by id; a client that lost the first frame gets it now.
    expect(newMessagesTo('staff-desk')).toEqual([first.message.id, first.message.id]);
    expect(world.metrics.total('MessagesSent')).toBe(1);
    expect(world.metrics.total('DuplicateSends')).toBe(1);
  });

  it('keeps replies and metadata, and a LOCATION message its location', async () => {
    const original = await world.say(STAFF, conversation.id, 'Pick a slot');
    const { message } = await world.sendMessage({
      identity: CUSTOMER,
      conversationId: conversation.id,
      content: 'here',
      messageType: 'LOCATION',
      replyToId: original.message.id,
      metadata: { location: { latitude: 52.5, longitude: 13.4, label: 'Main St. 4' }, note: 'gate 2' },
    });
    expect(message).toMatchObject({
      messageType: 'LOCATION',
      replyToId: original.message.id,
      metadata: { location: { latitude: 52.5, longitude: 13.4, label: 'Main St. 4' }, note: 'gate 2' },
      attachments: null,
    });
  });

  it('accepts a photo without a caption', async () => {
    const photo = await world.readyUpload(CUSTOMER, conversation.id);
    const { message } = await world.sendMessage({
      identity: CUSTOMER,
      conversationId: conversation.id,
      content: '',
      messageType: 'IMAGE',
      attachments: [{ id: photo.id }],
    });
    expect(message).toMatchObject({ messageType: 'IMAGE', content: '', attachments: [{ id: photo.id, status: 'READY' }] });
  });

  it('refuses an empty or blank text message, storing nothing', async () => {
    await expect(world.say(CUSTOMER, conversation.id, '')).rejects.toBeInstanceOf(ValidationError);
    await expect(world.say(CUSTOMER, conversation.id, '  \n ')).rejects.toBeInstanceOf(ValidationError);
    await expect(
      world.sendMessage({ identity: CUSTOMER, conversationId: conversation.id, content: '', messageType: 'IMAGE' }),
    ).rejects.toBeInstanceOf(ValidationError);
    // A text message needs words even when it carries attachments.
    await expect(
      world.sendMessage({ identity: CUSTOMER, conversationId: conversation.id, content: ' ', attachments: [{ id: 'att-000001' }] }),
    ).rejects.toBeInstanceOf(ValidationError);
    expect(world.db.messageCount()).toBe(0);
    expect(world.broadcaster.sent).toEqual([]);
  });

  it('refuses content over the maximum length as too large, counting characters not UTF-16 units', async () => {
    const error = await world.say(CUSTOMER, conversation.id, 'x'.repeat(21)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PayloadTooLargeError);
    expect((error as PayloadTooLargeError).details).toEqual({ field: 'content', maxLength: 20, length: 21 });
    // Twenty emoji are forty UTF-16 units but twenty characters: allowed.
    const { message } = await world.say(CUSTOMER, conversation.id, '🚗'.repeat(20));
    expect(message.seq).toBe(1);
  });

  it('a user over the send rate is refused with when to retry, and nothing is stored', async () => {
    for (let i = 0; i < 3; i++) await world.say(CUSTOMER, conversation.id, `m${i}`);
    const error = await world.say(CUSTOMER, conversation.id, 'one too many').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RateLimitedError);
    const windowEnd = Math.floor(world.clock.ms() / 10_000) * 10_000 + 10_000;
    expect((error as RateLimitedError).details).toEqual({ retryAfterMs: windowEnd - world.clock.ms(), resetAt: new Date(windowEnd).toISOString() });
    expect(world.metrics.total('RateLimited')).toBe(1);
    expect(world.db.messageCount(conversation.id)).toBe(3);

    // Another user is not held back, and the next window lets the customer in again.
    await expect(world.say(STAFF, conversation.id, 'no rush')).resolves.toMatchObject({ created: true });
    world.clock.advance(10_000);
    await expect(world.say(CUSTOMER, conversation.id, 'back')).resolves.toMatchObject({ created: true });
  });

  it('a customer of another conversation is refused, and nothing is stored or sent', async () => {
    await expect(world.say(STRANGER, conversation.id, 'let me in')).rejects.toBeInstanceOf(ForbiddenError);
    await expect(world.say(OTHER_STAFF, conversation.id, 'let me in')).rejects.toBeInstanceOf(ForbiddenError);
    expect(world.db.messageCount()).toBe(0);
    expect(world.broadcaster.sent).toEqual([]);
  });

  it('an admin may read but not send', async () => {
    const error = await world.say(ADMIN, conversation.id, 'moderator here').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ForbiddenError);
    expect((error as Error).message).toMatch(/read/);
    expect(world.db.messageCount()).toBe(0);
  });

  it('a conversation that does not exist answers not found', async () => {
    await expect(world.say(CUSTOMER, 'conv-missing', 'hello?')).rejects.toBeInstanceOf(NotFoundError);
  });

  it('an ended conversation refuses new messages', async () => {
    world.db.setStatus(conversation.id, 'ENDED');
    await expect(world.say(CUSTOMER, conversation.id, 'still there?')).rejects.toBeInstanceOf(ConflictError);
    expect(world.broadcaster.sent).toEqual([]);
  });

  it('a reply to a message of another conversation is refused', async () => {
    const other = await world.conversation({ orderId: 77 });
    const elsewhere = await world.say(CUSTOMER, other.id, 'about order 77');
    await expect(
      world.sendMessage({ identity: CUSTOMER, conversationId: conversation.id, content: 're', replyToId: elsewhere.message.id }),
    ).rejects.toBeInstanceOf(ValidationError);
  });

  it('a gone connection is pruned and the send still succeeds', async () => {
    world.clock.advance(CONNECT_GRACE_MS); // open a while: 410 means gone
    world.broadcaster.gone.add('customer-laptop');
    const { message, created } = await world.say(STAFF, conversation.id, 'ready');
    expect(created).toBe(true);
    expect(newMessagesTo('customer-phone')).toEqual([message.id]);
    expect(world.connections.has('customer-laptop')).toBe(false);
    expect(world.metrics.total('StaleConnectionsPruned')).toBe(1);

    // The next message is not posted to it again.
    world.broadcaster.clear();
    await world.say(STAFF, conversation.id, 'still ready');
    expect(world.broadcaster.requests.map((r) => [...r.connectionIds].sort())).toEqual([['colleague-tablet', 'customer-phone', 'staff-desk']]);
  });

  it('a connection that keeps failing is counted and the send still succeeds', async () => {
    world.broadcaster.failing.add('staff-desk');
    await expect(world.say(CUSTOMER, conversation.id, 'hello')).resolves.toMatchObject({ created: true });
    expect(world.metrics.total('DeliveryFailures')).toBe(1);
    expect(world.connections.has('staff-desk')).toBe(true);
  });

  it('a broken fan-out never loses the message: it is stored and answered', async () => {
    world.broadcaster.failWith = new Error('management API down');
    const { message } = await world.say(CUSTOMER, conversation.id, 'hello');
    expect((await world.messages.get(message.id))?.content).toBe('hello');
    expect(world.metrics.total('DeliveryFailures')).toBe(4);
  });
});
