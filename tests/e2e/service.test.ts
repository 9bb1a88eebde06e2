/**
 * A marketplace service lived against the real runtime with the local dev token
 * `{"userId":1000,"role":"service"}`: it opens the conversation of a booking for its provider and
 * customer, posts a SYSTEM message that both sides' real WebSocket clients receive and count
 * unread, blocks, unblocks and ends it, and is refused what only participants do.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTestRuntime, type TestRuntime } from '#tests/support/runtime';
import { API, closeAllChats, openChat, restApi, type Json, type RestApi, type Subject } from './support/chat.ts';

const SERVICE: Subject = { userId: 1000, role: 'service' };
const CUSTOMER: Subject = { userId: 82, role: 'customer' };
const STAFF: Subject = { userId: 87, role: 'provider', providerId: 81 };

let runtime: TestRuntime;
let api: RestApi;
let service: string;
let customer: string;
let staff: string;

beforeAll(async () => {
  runtime = await startTestRuntime();
  api = restApi(runtime.httpUrl);
  [service, customer, staff] = await Promise.all([api.devToken(SERVICE), api.devToken(CUSTOMER), api.devToken(STAFF)]);
});
afterEach(closeAllChats);
afterAll(async () => {
  await closeAllChats();
  await runtime?.stop();
});

const BOOKING_CARD = {
  type: 'booking',
  orderId: 501,
  title: 'Wash confirmed',
  status: 'confirmed',
  fields: [{ label: 'Time', value: 'Friday 10:00' }, { label: 'Service', value: 'Full valet' }],
  actions: [{ label: 'View booking', url: 'https://example.com/orders/501' }],
};

const unreadOf = async (token: string, conversationId: string): Promise<number | undefined> =>
  (await api.get('/conversations?limit=100', token)).body.conversations.find((c: Json) => c.id === conversationId)?.unreadCount;

describe('a service', () => {
  it("opens a booking's conversation and posts a SYSTEM message both sides receive live and count unread", async () => {
    const started = await api.post('/conversations', service, { providerId: 81, customerId: 82, orderId: 501 });
    expect(started.status, started.text).toBe(201);
    const conversationId = started.body.conversation.id;
    expect(started.body.conversation).toMatchObject({ providerId: 81, customerId: 82, orderId: 501, status: 'ACTIVE' });

    const phone = await openChat(runtime, customer);
    const desk = await openChat(runtime, staff);
    const sent = await api.post(`/conversations/${conversationId}/messages`, service, {
      messageType: 'SYSTEM',
      content: 'Booking confirmed: Friday 10:00',
      metadata: { card: BOOKING_CARD },
      clientMessageId: 'booking-501-confirmed',
    });
    expect(sent.status, sent.text).toBe(201);
    expect(sent.body.message).toMatchObject({ senderRole: 'system', senderId: 1000, messageType: 'SYSTEM', receiverId: 82 });
    expect(sent.body.message.metadata.card).toEqual(BOOKING_CARD);
    for (const client of [phone, desk]) {
      const { data } = await client.nextEvent('chat-new-message');
      expect(data.message).toMatchObject({ id: sent.body.message.id, senderRole: 'system', content: 'Booking confirmed: Friday 10:00', metadata: { card: BOOKING_CARD } });
    }
    expect(await unreadOf(customer, conversationId)).toBe(1);
    expect(await unreadOf(staff, conversationId)).toBe(1);

    // Each side reads it for itself.
    await phone.ack('chat-mark-read', { conversationId });
    expect(await unreadOf(customer, conversationId)).toBe(0);
    expect(await unreadOf(staff, conversationId)).toBe(1);

    // SYSTEM messages are the service's only; the service sends nothing else.
    expect(await phone.request('chat-send-message', { conversationId, messageType: 'SYSTEM', content: 'fake' })).toMatchObject({ event: 'chat-error', data: { code: 'VALIDATION_ERROR' } });
    expect((await api.post(`/conversations/${conversationId}/messages`, service, { content: 'hello' })).status).toBe(403);
  });

  it('posts only valid booking cards, and only in SYSTEM messages', async () => {
    const conversationId = (await api.post('/conversations', service, { providerId: 81, customerId: 82, orderId: 504 })).body.conversation.id;
    const send = (token: string, body: Json) => api.post(`/conversations/${conversationId}/messages`, token, body);

    const cardOnly = await send(service, { messageType: 'SYSTEM', content: '', metadata: { card: { ...BOOKING_CARD, orderId: 'ord_504', actions: undefined, fields: undefined } } });
    expect(cardOnly.status, cardOnly.text).toBe(201);
    expect(cardOnly.body.message.metadata.card).toEqual({ type: 'booking', orderId: 'ord_504', title: 'Wash confirmed', status: 'confirmed', fields: [] });

    const refused = [
      [{ ...BOOKING_CARD, title: '' }, 'metadata.card.title'],
      [{ ...BOOKING_CARD, type: 'coupon' }, 'metadata.card.type'],
      [{ ...BOOKING_CARD, fields: [{ label: 'Time' }] }, 'metadata.card.fields.0.value'],
      [{ ...BOOKING_CARD, actions: [{ label: 'Pay', url: 'javascript:alert(1)' }] }, 'metadata.card.actions.0.url'],
      [{ ...BOOKING_CARD, actions: [{ label: 'Pay', url: 'http://example.com/pay' }] }, 'metadata.card.actions.0.url'],
      [{ ...BOOKING_CARD, price: 30 }, 'metadata.card'],
    ] as const;
    for (const [card, path] of refused) {
      const answer = await send(service, { messageType: 'SYSTEM', content: 'Booking', metadata: { card } });
      expect(answer.status, answer.text).toBe(400);
      expect(answer.body.error.code).toBe('VALIDATION_ERROR');
      expect(answer.body.error.details.map((issue: Json) => issue.path), answer.text).toContain(path);
    }

    // A participant cannot dress a message up as the product's own card.
    const forged = await send(customer, { content: 'Your booking is confirmed, pay here', metadata: { card: BOOKING_CARD } });
    expect(forged.status, forged.text).toBe(400);
    expect(forged.body.error.code).toBe('VALIDATION_ERROR');
    const history = await api.get(`/conversations/${conversationId}/messages`, customer);
    expect(history.body.messages.map((m: Json) => m.senderRole)).toEqual(['system']);
  });

  it('blocks, unblocks what it blocked and ends; both sides hear each change', async () => {
    const conversationId = (await api.post('/conversations', service, { providerId: 81, customerId: 82, orderId: 502 })).body.conversation.id;
    const phone = await openChat(runtime, customer);
    const desk = await openChat(runtime, staff);

    expect((await api.post(`/conversations/${conversationId}/block`, service, {})).body.conversation).toMatchObject({ status: 'BLOCKED', blockedBy: 'service' });
    for (const client of [phone, desk]) {
      expect((await client.nextEvent('chat-conversation-updated')).data.conversation).toMatchObject({ status: 'BLOCKED', blockedBy: 'service' });
    }
    expect((await api.post(`/conversations/${conversationId}/unblock`, customer, {})).status).toBe(403);
    expect((await api.post(`/conversations/${conversationId}/unblock`, service, {})).body.conversation.status).toBe('ACTIVE');
    expect((await api.post(`/conversations/${conversationId}/end`, service, {})).body.conversation.status).toBe('ENDED');
    for (const client of [phone, desk]) {
      expect((await client.nextEvent('chat-conversation-updated', (data) => data.conversation.status === 'ENDED')).data.conversation.id).toBe(conversationId);
    }
  });

  it('reads any conversation and watches its room, but is never a participant', async () => {
    const conversationId = (await api.post('/conversations', customer, { providerId: 81, customerId: 82, orderId: 503 })).body.conversation.id;
    await api.post(`/conversations/${conversationId}/messages`, customer, { content: 'Is there parking?' });
    expect((await api.get(`/conversations/${conversationId}/messages`, service)).body.messages.map((m: Json) => m.content)).toEqual(['Is there parking?']);
    expect((await api.get(`/conversations/${conversationId}/typing`, service)).status).toBe(200);

    const watcher = await openChat(runtime, service);
    await watcher.ack('chat-join-conversation', { conversationId });
    await api.post(`/conversations/${conversationId}/messages`, staff, { content: 'Yes, two spots' });
    expect((await watcher.nextEvent('chat-new-message')).data.message.content).toBe('Yes, two spots');
    expect(await watcher.request('chat-mark-read', { conversationId })).toMatchObject({ event: 'chat-error', data: { code: 'FORBIDDEN' } });
    expect(await watcher.request('chat-typing', { conversationId, isTyping: true })).toMatchObject({ event: 'chat-error', data: { code: 'FORBIDDEN' } });

    expect((await api.get(`${API}/sync`, service)).status).toBe(403);
    expect((await api.get('/conversations', service)).status).toBe(403);
    expect((await api.post(`${API}/devices`, service, { platform: 'fcm', token: 'service-device-token' })).status).toBe(403);
    expect((await api.get(`${API}/moderation/reports`, service)).status).toBe(403);
  });
});
