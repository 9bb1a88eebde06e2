import { beforeEach, describe, expect, it } from 'vitest';
import { ForbiddenError, NotFoundError, ValidationError } from '#core/errors';
import type { Conversation, Identity } from '#core/model';
import { apnsHeaders, apnsPayload, fcmMessage, pushNotificationFor, truncateText, wordsFor } from '#core/push-notification';
import { PushDeliveryError } from '#core/use-cases/send-pushes';
import { ADMIN, COLLEAGUE, CUSTOMER, OTHER_STAFF, STAFF, STRANGER, createWorld, type World } from './world.ts';

let world: World;
let conversation: Conversation;

beforeEach(async () => {
  world = createWorld();
  conversation = await world.conversation();
});

const register = (identity: Identity, token: string, extra: { platform?: 'apns' | 'fcm'; locale?: string } = {}) =>
  world.registerDevice({ identity, platform: extra.platform ?? 'apns', token, locale: extra.locale ?? null });

/** Sends as `identity`, then runs the push consumer on the message.created event, as the queue would. */
async function sendAndPush(identity: Identity, content: string, extra: { messageType?: 'TEXT' | 'IMAGE' } = {}) {
  const { message } = await world.sendMessage({ identity, conversationId: conversation.id, content, ...extra });
  const event = world.events.ofType('message.created').find((e) => (e.data as { message: { id: string } }).message.id === message.id)!;
  const round = await world.sendPushes(event);
  return { message, round };
}

const pushedTokens = () => world.pushSender.sent.map((push) => push.device.token);

describe('devices', () => {
  it('registers a token once per user, shows only its suffix, and moves it to a new user', async () => {
    const first = await register(CUSTOMER, 'apns-token-0123456789abcdef', { locale: 'de-AT' });
    expect(first.created).toBe(true);
    expect(first.device).toMatchObject({ platform: 'apns', locale: 'de-AT', tokenSuffix: 'abcdef', lastPushedAt: null });
    expect(JSON.stringify(first.device)).not.toContain('apns-token-0123456789abcdef');

    const again = await register(CUSTOMER, 'apns-token-0123456789abcdef', { locale: 'en' });
    expect(again).toMatchObject({ created: false, device: { id: first.device.id, locale: 'en' } });

    const moved = await register(STRANGER, 'apns-token-0123456789abcdef');
    expect(moved.created).toBe(true);
    expect((await world.listDevices({ identity: CUSTOMER })).devices).toEqual([]);
    expect((await world.listDevices({ identity: STRANGER })).devices.map((d) => d.id)).toEqual([moved.device.id]);
  });

  it('shows no more than half of a short token', async () => {
    expect((await register(CUSTOMER, 'abcd')).device.tokenSuffix).toBe('cd');
  });

  it('refuses devices for admins, and lets only the owner delete one', async () => {
    await expect(register(ADMIN, 'admin-token')).rejects.toBeInstanceOf(ForbiddenError);
    const { device } = await register(CUSTOMER, 'customer-token');
    await expect(world.deleteDevice({ identity: STRANGER, deviceId: device.id })).rejects.toBeInstanceOf(NotFoundError);
    await world.deleteDevice({ identity: CUSTOMER, deviceId: device.id });
    await expect(world.deleteDevice({ identity: CUSTOMER, deviceId: device.id })).rejects.toBeInstanceOf(NotFoundError);
  });
});

describe('muteConversation', () => {
  it('mutes for participants only, until a future time or for good, and unmutes', async () => {
    const until = new Date(world.clock.now().getTime() + 3_600_000);
    expect(await world.muteConversation({ identity: STAFF, conversationId: conversation.id, muted: true, mutedUntil: until })).toEqual({
      conversationId: conversation.id,
      muted: true,
      mutedUntil: until.toISOString(),
    });
    expect(await world.muteConversation({ identity: STAFF, conversationId: conversation.id, muted: false })).toEqual({ conversationId: conversation.id, muted: false, mutedUntil: null });
    for (const identity of [ADMIN, STRANGER, OTHER_STAFF]) {
      await expect(world.muteConversation({ identity, conversationId: conversation.id, muted: true })).rejects.toBeInstanceOf(ForbiddenError);
    }
    await expect(world.muteConversation({ identity: CUSTOMER, conversationId: conversation.id, muted: true, mutedUntil: new Date(0) })).rejects.toBeInstanceOf(ValidationError);
    await expect(world.muteConversation({ identity: CUSTOMER, conversationId: conversation.id, muted: false, mutedUntil: until })).rejects.toBeInstanceOf(ValidationError);
    await expect(world.muteConversation({ identity: CUSTOMER, conversationId: 'nope', muted: true })).rejects.toBeInstanceOf(NotFoundError);
  });
});

describe('sendPushes', () => {
  beforeEach(async () => {
    await register(CUSTOMER, 'customer-phone');
    await register(CUSTOMER, 'customer-tablet', { platform: 'fcm' });
    await register(STAFF, 'staff-phone');
    await register(COLLEAGUE, 'colleague-phone', { locale: 'de' });
    await register(OTHER_STAFF, 'other-business-phone');
  });

  it("pushes a customer's message to every device of the provider's staff, and only theirs", async () => {
    const { message, round } = await sendAndPush(CUSTOMER, 'Is 10:00 still free?');
    expect(round).toEqual({ sent: 2, removed: 0, skipped: 0 });
    expect(pushedTokens().sort()).toEqual(['colleague-phone', 'staff-phone']);
    const toStaff = world.pushSender.sent.find((push) => push.device.token === 'staff-phone')!.notification;
    expect(toStaff).toEqual({
      title: 'New message',
      body: 'Is 10:00 still free?',
      badge: 1,
      data: { conversationId: conversation.id, messageId: message.id, seq: message.seq },
      threadId: conversation.id,
      richMedia: false,
    });
    expect(world.pushSender.sent.find((push) => push.device.token === 'colleague-phone')!.notification.title).toBe('Neue Nachricht');
    expect(world.metrics.total('PushesSent')).toBe(2);
  });

  it('skips users who are online and users who muted the conversation, until the mute ends', async () => {
    await world.online(STAFF, 'staff-desk');
    await world.muteConversation({ identity: COLLEAGUE, conversationId: conversation.id, muted: true, mutedUntil: new Date(world.clock.now().getTime() + 60_000) });
    expect((await sendAndPush(CUSTOMER, 'first')).round).toEqual({ sent: 0, removed: 0, skipped: 1 });
    expect(pushedTokens()).toEqual([]);

    world.clock.advance(61_000);
    await world.disconnect({ connectionId: 'staff-desk' });
    await sendAndPush(CUSTOMER, 'second');
    expect(pushedTokens().sort()).toEqual(['colleague-phone', 'staff-phone']);
  });

  it('badges with the side\'s unread count over its active, unarchived conversations', async () => {
    const other = await world.conversation({ orderId: 77 });
    await world.sendMessage({ identity: STAFF, conversationId: other.id, content: 'Your car is ready' });
    await world.sendMessage({ identity: STAFF, conversationId: conversation.id, content: 'Hello' });
    const { round } = await sendAndPush(STAFF, 'Shall we say 10:00?');
    expect(round.sent).toBe(2);
    expect(world.pushSender.sent.map((push) => push.notification.badge)).toEqual([3, 3]);
  });

  it('pushes a SYSTEM message to both sides', async () => {
    const { message } = await world.messages.append({
      conversationId: conversation.id,
      senderId: 1000,
      senderRole: 'provider',
      senderPartyId: conversation.providerId,
      messageType: 'SYSTEM',
      content: 'Your wash is confirmed for 10:00',
      metadata: { card: { type: 'booking', orderId: 5, title: 'Booking confirmed', status: 'confirmed', fields: [] } },
    });
    await world.sendPushes({ type: 'message.created', data: { message: { id: message.id } } });
    expect(pushedTokens().sort()).toEqual(['colleague-phone', 'customer-phone', 'customer-tablet', 'staff-phone']);
    expect(world.pushSender.sent[0]!.notification.title).toBe('Booking confirmed');
  });

  it('does not push a message deleted before its push went out, nor other change types', async () => {
    const { message } = await world.sendMessage({ identity: CUSTOMER, conversationId: conversation.id, content: 'oops' });
    const [event] = world.events.ofType('message.created');
    await world.deleteMessage({ identity: CUSTOMER, conversationId: conversation.id, messageId: message.id });
    expect(await world.sendPushes(event!)).toEqual({ sent: 0, removed: 0, skipped: 0 });
    expect(await world.sendPushes({ ...event!, type: 'message.updated' })).toEqual({ sent: 0, removed: 0, skipped: 0 });
    expect(pushedTokens()).toEqual([]);
  });

  it('removes devices whose token is dead and keeps the endpoints of the others', async () => {
    world.pushSender.dead.add('staff-phone');
    const { round } = await sendAndPush(CUSTOMER, 'hi');
    expect(round).toEqual({ sent: 1, removed: 1, skipped: 0 });
    expect((await world.listDevices({ identity: STAFF })).devices).toEqual([]);
    const [colleague] = (await world.pushRegistry.devicesOf(COLLEAGUE.userId));
    expect(colleague).toMatchObject({ endpointArn: expect.stringContaining('arn:aws:sns'), lastPushedAt: world.clock.now() });
    expect(world.metrics.total('DevicesRemoved')).toBe(1);
  });

  it('records what went out and fails the round for a retry when the push service is down', async () => {
    world.pushSender.failing.add('staff-phone');
    await expect(sendAndPush(CUSTOMER, 'hi')).rejects.toBeInstanceOf(PushDeliveryError);
    expect(pushedTokens()).toEqual(['colleague-phone']);
    expect((await world.pushRegistry.devicesOf(COLLEAGUE.userId))[0]!.lastPushedAt).toEqual(world.clock.now());
    expect(world.metrics.total('PushFailures')).toBe(1);
  });

  it('stores devices of a platform without a push application and sends nothing to them', async () => {
    world.pushSender.unconfigured.add('apns');
    await sendAndPush(STAFF, 'hello');
    expect(pushedTokens()).toEqual(['customer-tablet']);
  });
});

describe('the notification', () => {
  const message = {
    id: 'm1',
    conversationId: 'c1',
    seq: 4,
    senderId: 2,
    senderRole: 'customer' as const,
    receiverId: 1,
    messageType: 'TEXT' as const,
    content: 'x',
    attachments: null,
    status: 'SENT' as const,
    deliveredAt: null,
    readAt: null,
    createdAt: new Date(0),
    updatedAt: new Date(0),
    replyToId: null,
    metadata: null,
    clientMessageId: null,
    editedAt: null,
    deletedAt: null,
    reactions: [],
  };

  it('cuts long content at 120 characters without splitting an emoji', () => {
    const body = pushNotificationFor({ ...message, content: `${'a'.repeat(118)}👍🏽👍🏽👍🏽` }, { badge: 0, locale: null, preview: 'full' }).body;
    expect(Array.from(new Intl.Segmenter().segment(body))).toHaveLength(120);
    expect(body).toBe(`${'a'.repeat(118)}👍🏽…`);
    expect(truncateText('short')).toBe('short');
  });

  it('names media without content in the device language, and hides content with preview none', () => {
    const photo = pushNotificationFor({ ...message, messageType: 'IMAGE', content: '' }, { badge: 2, locale: 'fr-CA', preview: 'full' });
    expect(photo).toMatchObject({ title: 'Nouveau message', body: 'Photo', richMedia: true });
    expect(pushNotificationFor({ ...message, messageType: 'VOICE', content: '' }, { badge: 0, locale: 'xx', preview: 'full' }).body).toBe('Voice message');
    expect(pushNotificationFor({ ...message, messageType: 'LOCATION', content: '' }, { badge: 0, locale: 'de', preview: 'full' }).body).toBe('Standort');
    expect(pushNotificationFor({ ...message, content: 'my secret' }, { badge: 0, locale: 'en', preview: 'none' }).body).toBe('New message');
    expect(wordsFor('pt_BR').file).toBe('Ficheiro');
  });

  it('renders APNs and FCM payloads with the thread, collapse id and badge', () => {
    const notification = pushNotificationFor({ ...message, messageType: 'IMAGE', content: 'Before' }, { badge: 5, locale: null, preview: 'full' });
    expect(apnsPayload(notification)).toEqual({
      aps: { alert: { title: 'New message', body: 'Before' }, badge: 5, sound: 'default', 'thread-id': 'c1', 'mutable-content': 1 },
      conversationId: 'c1',
      messageId: 'm1',
      seq: 4,
    });
    expect(apnsHeaders(notification)).toEqual({ 'apns-collapse-id': 'c1', 'apns-push-type': 'alert', 'apns-priority': '10' });
    expect(fcmMessage(notification)).toEqual({
      notification: { title: 'New message', body: 'Before' },
      data: { conversationId: 'c1', messageId: 'm1', seq: '4', badge: '5' },
      android: { priority: 'high', collapse_key: 'c1', notification: { tag: 'c1', notification_count: 5, sound: 'default' } },
    });
  });
});
