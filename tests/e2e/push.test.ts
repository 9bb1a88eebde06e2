/**
 * Push end to end, with real WebSocket clients against the real runtime: devices registered over
 * REST, messages sent over WebSocket, the events queue's consumer forwarding to the push queue,
 * the push consumer publishing through the real SNS client to the local SNS, and what a phone
 * would receive read back from `GET /dev/pushes`. Users with a live connection are not pushed;
 * once they close it, they are.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTestRuntime, type TestRuntime } from '#tests/support/runtime';
import { API, closeAllChats, eventually, openChat, restApi, type Json, type RestApi, type Subject } from './support/chat.ts';

const CUSTOMER: Subject = { userId: 42, role: 'customer' };
const STAFF: Subject = { userId: 47, role: 'provider', providerId: 41 };
const COLLEAGUE: Subject = { userId: 48, role: 'provider', providerId: 41 };

let runtime: TestRuntime;
let api: RestApi;
let customer: string;
let staff: string;
let colleague: string;
let conversationId: string;

beforeAll(async () => {
  runtime = await startTestRuntime({ env: { CHAT_SEND_RATE_LIMIT: '1000' } });
  api = restApi(runtime.httpUrl);
  [customer, staff, colleague] = await Promise.all([api.devToken(CUSTOMER), api.devToken(STAFF), api.devToken(COLLEAGUE)]);
  conversationId = (await api.post('/conversations', customer, { providerId: 41, customerId: 42 })).body.conversation.id;
});
afterEach(closeAllChats);
afterAll(async () => {
  await closeAllChats();
  await runtime?.stop();
});

const pushesOf = async (userId: number): Promise<Json[]> => {
  const response = await api.get(`/dev/pushes?userId=${userId}`);
  expect(response.status, response.text).toBe(200);
  return response.body.pushes;
};
const pushedEventually = (userId: number, count: number) => eventually(() => pushesOf(userId), (pushes) => pushes.length >= count, 15_000);

describe('push to offline devices', () => {
  it('registers devices, pushes only users without a live connection, in their language, and counts the badge', async () => {
    const registered = await api.post(`${API}/devices`, staff, { platform: 'apns', token: 'staff-apns-token-0001', locale: 'de-DE', appId: 'com.example.wash' });
    expect(registered.status, registered.text).toBe(201);
    expect(registered.body.device).toMatchObject({ platform: 'apns', tokenSuffix: 'n-0001', locale: 'de-DE', appId: 'com.example.wash' });
    expect((await api.post(`${API}/devices`, staff, { platform: 'apns', token: 'staff-apns-token-0001', locale: 'de-DE' })).status).toBe(200);
    expect((await api.post(`${API}/devices`, colleague, { platform: 'fcm', token: 'colleague-fcm-token' })).status).toBe(201);
    expect((await api.post(`${API}/devices`, customer, { platform: 'apns', token: 'customer-apns-token' })).status).toBe(201);
    expect((await api.get(`${API}/devices`, staff)).body.devices.map((d: Json) => d.id)).toEqual([registered.body.device.id]);

    const phone = await openChat(runtime, customer);
    const desk = await openChat(runtime, staff);
    const first = await phone.ack('chat-send-message', { conversationId, content: 'Is 10:00 still free?' });

    // The colleague is offline: pushed, over FCM. The staff user at the desk is online: not.
    const [toColleague] = await pushedEventually(COLLEAGUE.userId, 1);
    expect(toColleague).toMatchObject({
      platform: 'fcm',
      token: 'colleague-fcm-token',
      userId: COLLEAGUE.userId,
      deviceId: expect.any(String),
      payload: {
        title: 'New message',
        body: 'Is 10:00 still free?',
        badge: 1,
        data: { conversationId, messageId: first.message.id, seq: first.message.seq },
        threadId: conversationId,
        fcm: { android: { collapse_key: conversationId, notification: { tag: conversationId, notification_count: 1 } } },
      },
    });
    expect(await pushesOf(STAFF.userId)).toEqual([]);

    // The desk closes: the next message reaches the staff user's phone, in German, with both unread.
    await desk.close();
    await eventually(() => api.get(`${API}/online-users`, customer), (r) => !r.body.users.some((u: Json) => u.userId === STAFF.userId));
    const second = await phone.ack('chat-send-message', { conversationId, content: 'Or 11:00?' });
    const [toStaff] = await pushedEventually(STAFF.userId, 1);
    expect(toStaff).toMatchObject({
      platform: 'apns',
      token: 'staff-apns-token-0001',
      payload: {
        title: 'Neue Nachricht',
        body: 'Or 11:00?',
        badge: 2,
        data: { messageId: second.message.id, seq: second.message.seq },
        apns: { aps: { 'thread-id': conversationId, badge: 2 } },
      },
    });
    // The customer sent both: never pushed their own messages.
    expect(await pushesOf(CUSTOMER.userId)).toEqual([]);
  });

  it('stops pushing a muted conversation to that user only, and pushes the customer once they go offline', async () => {
    expect((await api.patch(`/conversations/${conversationId}/notifications`, colleague, { muted: true })).body).toEqual({ conversationId, muted: true, mutedUntil: null });
    const before = { staff: (await pushesOf(STAFF.userId)).length, colleague: (await pushesOf(COLLEAGUE.userId)).length };
    const phone = await openChat(runtime, customer);
    await phone.ack('chat-send-message', { conversationId, content: 'Please ring the bell' });
    await pushedEventually(STAFF.userId, before.staff + 1);
    expect(await pushesOf(COLLEAGUE.userId)).toHaveLength(before.colleague);

    await phone.close();
    await eventually(() => api.get(`${API}/online-users`, staff), (r) => !r.body.users.some((u: Json) => u.userId === CUSTOMER.userId));
    const reply = await api.post(`/conversations/${conversationId}/messages`, staff, { content: 'We are on our way' });
    const [toCustomer] = await pushedEventually(CUSTOMER.userId, 1);
    expect(toCustomer.payload).toMatchObject({ body: 'We are on our way', badge: 1, data: { messageId: reply.body.message.id } });
  });

  it('answers 400 for a bad /dev/pushes query and keeps the tokens whole only there', async () => {
    const bad = await api.get('/dev/pushes?userId=abc');
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('VALIDATION_ERROR');
    const since = new Date(Date.now() + 60_000).toISOString();
    expect((await api.get(`/dev/pushes?since=${encodeURIComponent(since)}`)).body.pushes).toEqual([]);
    expect(JSON.stringify((await api.get(`${API}/devices`, customer)).body)).not.toContain('customer-apns-token');
  });
});
