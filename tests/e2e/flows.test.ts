/**
 * The seed's frontend flows ("Frontend Integration Examples", "API Usage Examples"), lived by a
 * customer (a phone and a laptop) and a provider's shared inbox (staff users 7 and 8 of provider 1)
 * against the real runtime: real handlers, Postgres and DynamoDB, real WebSocket clients and fetch.
 * Every assertion is about what a user of an app would notice.
 */
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTestRuntime, type TestRuntime } from '#tests/support/runtime';
import {
  answerTo,
  closeAllChats,
  openChat,
  openRawSocket,
  restApi,
  until,
  UpgradeRefused,
  type Frame,
  type Json,
  type RawSocket,
  type RestApi,
  type Subject,
} from './support/chat.ts';

const TYPING_TIMEOUT_MS = 1500;
const MESSAGE_LIMIT = 10;

const CUSTOMER: Subject = { userId: 2, role: 'customer' };
const STAFF_7: Subject = { userId: 7, role: 'provider', providerId: 1 };
const STAFF_8: Subject = { userId: 8, role: 'provider', providerId: 1 };
const ADMIN: Subject = { userId: 99, role: 'admin' };
const OUTSIDER: Subject = { userId: 66, role: 'customer' };
const OTHER_BUSINESS: Subject = { userId: 70, role: 'provider', providerId: 2 };

let runtime: TestRuntime;
let api: RestApi;
const tokens = {} as Record<'customer' | 'staff7' | 'staff8' | 'admin' | 'outsider' | 'otherBusiness', string>;

beforeAll(async () => {
  runtime = await startTestRuntime({
    env: { CHAT_TYPING_TIMEOUT: String(TYPING_TIMEOUT_MS), CHAT_MESSAGE_LIMIT: String(MESSAGE_LIMIT), CHAT_SEND_RATE_LIMIT: '1000' },
  });
  api = restApi(runtime.httpUrl);
  const names = ['customer', 'staff7', 'staff8', 'admin', 'outsider', 'otherBusiness'] as const;
  const issued = await Promise.all([CUSTOMER, STAFF_7, STAFF_8, ADMIN, OUTSIDER, OTHER_BUSINESS].map((subject) => api.devToken(subject)));
  names.forEach((name, i) => (tokens[name] = issued[i]!));
});

afterEach(closeAllChats);

afterAll(async () => {
  await closeAllChats();
  await runtime?.stop();
});

let nextOrderId = 1000;

/** The seed's "Start Conversation (Provider -> Customer)", for an order of its own so each test has a fresh history. */
async function startConversation(token = tokens.staff7, body: Record<string, unknown> = { providerId: 1, customerId: 2, orderId: nextOrderId++ }): Promise<Json> {
  const response = await api.post('/conversations', token, body);
  expect(response.status).toBe(201);
  return response.body.conversation;
}

/**
 * The seed's "Initialize Chat Connection": connect bare, then chat-authenticate. No client
 * library does this (the SDK connects with ?token=), so these are raw sockets sending the seed
 * frontend's own frames: what the server must keep accepting from it.
 */
async function authenticated(token: string, expected: Partial<Json>): Promise<RawSocket> {
  const client = await openRawSocket(runtime.wsUrl);
  client.send({ action: 'chat-authenticate', data: { userId: expected.userId, token } });
  const { data } = await client.nextEvent('chat-authenticated');
  expect(data).toEqual({ ...expected, connectionId: expect.any(String) });
  return client;
}

let seedRequests = 0;

/** The seed frontend's frame with a requestId on a raw socket, and the chat-ack or chat-error answering it. */
async function seedRequest(socket: RawSocket, action: string, data: unknown): Promise<Frame> {
  const requestId = `seed-${++seedRequests}`;
  socket.send({ action, data, requestId });
  return socket.nextFrame(answerTo(requestId));
}

/** seedRequest, and the ack's data; a chat-error throws. */
async function seedAck(socket: RawSocket, action: string, data: unknown): Promise<Json> {
  const answer = await seedRequest(socket, action, data);
  if (answer.event !== 'chat-ack') throw new Error(`${action} answered ${JSON.stringify(answer)}`);
  return answer.data.data;
}

/** The customer on a phone and staff 7, SDK clients (?token=); the customer's laptop and staff 8, the seed's frames (chat-authenticate). */
async function everyone() {
  const [phone, laptop, staff7, staff8] = await Promise.all([
    openChat(runtime, tokens.customer),
    authenticated(tokens.customer, { userId: 2, role: 'customer' }),
    openChat(runtime, tokens.staff7),
    authenticated(tokens.staff8, { userId: 8, role: 'provider', providerId: 1 }),
  ]);
  return { phone, laptop, staff7, staff8, all: [phone, laptop, staff7, staff8] };
}

const newMessage = (id: string) => (data: Json) => data.message?.id === id;
const statusUpdate = (messageId: string, status: string) => (data: Json) => data.messageId === messageId && data.status === status;

async function history(conversationId: string, query = '', token = tokens.customer): Promise<Json> {
  const response = await api.get(`/conversations/${conversationId}/messages${query}`, token);
  expect(response.status).toBe(200);
  return response.body;
}

async function inbox(token: string, query = ''): Promise<Json[]> {
  const response = await api.get(`/conversations${query}`, token);
  expect(response.status).toBe(200);
  return response.body.conversations;
}

async function send(token: string, conversationId: string, content: string, extra: Record<string, unknown> = {}): Promise<Json> {
  const response = await api.post(`/conversations/${conversationId}/messages`, token, { content, ...extra });
  expect(response.status).toBe(201);
  return response.body.message;
}

describe('signing in', () => {
  it('hands out dev tokens, and accepts them at connect (?token=) or by chat-authenticate', async () => {
    const response = await api.post('/dev/token', '', { userId: 7, role: 'provider', providerId: 1 });
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ token: expect.stringMatching(/^[\w-]+\.[\w-]+\.[\w-]+$/), expiresIn: 3600 });

    const byQuery = await openChat(runtime, response.body.token);
    expect((await byQuery.request('chat-ping', {})).event).toBe('chat-ack');
    await byQuery.nextEvent('chat-pong', (data) => typeof data.at === 'string');

    // The seed's exact frame: {userId, token}. The identity comes from the token alone.
    const bare = await openRawSocket(runtime.wsUrl);
    bare.send({ action: 'chat-authenticate', data: { userId: 12345, token: tokens.customer } });
    const { data } = await bare.nextEvent('chat-authenticated');
    expect(data).toEqual({ userId: 2, role: 'customer', connectionId: expect.any(String) });

    // With a requestId, the ack carries the same data.
    const staff = await openRawSocket(runtime.wsUrl);
    const ack = await seedRequest(staff, 'authenticate', { token: tokens.staff8 });
    expect(ack).toMatchObject({ event: 'chat-ack', data: { data: { userId: 8, role: 'provider', providerId: 1 } } });
  });

  it('refuses a bad token at connect (401) and by chat-authenticate (chat-error, the connection stays open)', async () => {
    const refused = await openRawSocket(runtime.wsUrl, 'not-a-jwt').catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(UpgradeRefused);
    expect((refused as UpgradeRefused).statusCode).toBe(401);

    const bare = await openRawSocket(runtime.wsUrl);
    const answer = await seedRequest(bare, 'chat-authenticate', { token: 'not-a-jwt' });
    expect(answer).toMatchObject({ event: 'chat-error', data: { code: 'UNAUTHORIZED' } });

    // A bare connection may do nothing but authenticate (and ping) …
    const early = await seedRequest(bare, 'chat-send-message', { conversationId: 'c1', content: 'hi' });
    expect(early).toMatchObject({ event: 'chat-error', data: { code: 'UNAUTHORIZED' } });
    expect(bare.isOpen()).toBe(true);
    // … and may still sign in.
    await seedAck(bare, 'chat-authenticate', { token: tokens.customer });

    expect((await api.get('/conversations')).status).toBe(401);
    expect((await api.get('/conversations', 'not-a-jwt')).status).toBe(401);
  });
});

describe('conversations', () => {
  it('starts one conversation per provider, customer and order: 201, then 200 with the same one', async () => {
    // The seed's "Start Conversation (Provider -> Customer)".
    const created = await api.post('/conversations', tokens.staff7, { providerId: 1, customerId: 2, orderId: 123 });
    expect(created.status).toBe(201);
    expect(created.body.conversation).toMatchObject({ id: expect.any(String), providerId: 1, customerId: 2, orderId: 123, status: 'ACTIVE', lastSeq: 0 });

    for (const token of [tokens.customer, tokens.staff8, tokens.staff7]) {
      const again = await api.post('/conversations', token, { providerId: 1, customerId: 2, orderId: 123 });
      expect(again.status).toBe(200);
      expect(again.body.conversation.id).toBe(created.body.conversation.id);
    }

    // The seed's "Get User Conversations": both sides see it.
    expect((await inbox(tokens.customer)).map((c) => c.id)).toContain(created.body.conversation.id);
    expect((await inbox(tokens.staff8)).map((c) => c.id)).toContain(created.body.conversation.id);

    // Nobody starts a conversation in someone else's name.
    expect((await api.post('/conversations', tokens.customer, { providerId: 1, customerId: 3 })).status).toBe(403);
    expect((await api.post('/conversations', tokens.otherBusiness, { providerId: 1, customerId: 2 })).status).toBe(403);
  });
});

describe('messaging', () => {
  it('joins a conversation, and delivers messages sent with either action spelling to every connection of both sides', async () => {
    const conversation = await startConversation();
    const { phone, laptop, staff7, staff8, all } = await everyone();

    // The seed's "Join Conversation" (its event name; the reply event comes with the ack).
    phone.post('chat-join-conversation', { conversationId: conversation.id });
    expect((await phone.nextEvent('chat-joined-conversation')).data).toEqual({ conversationId: conversation.id });
    expect(await staff7.ack('joinConversation', { conversationId: conversation.id })).toEqual({ conversationId: conversation.id });

    // The route key, with a requestId: acknowledged with the stored message.
    const answer = await phone.request('sendMessage', { conversationId: conversation.id, content: 'Hello, is my car ready?', messageType: 'TEXT' });
    expect(answer.event).toBe('chat-ack');
    const first = answer.data.data.message;
    expect(answer.data.data.created).toBe(true);
    expect(first).toEqual({
      id: expect.any(String),
      conversationId: conversation.id,
      seq: 1,
      senderId: 2,
      senderRole: 'customer',
      receiverId: 1,
      messageType: 'TEXT',
      content: 'Hello, is my car ready?',
      attachments: null,
      status: 'SENT',
      deliveredAt: null,
      readAt: null,
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
      replyToId: null,
      metadata: null,
      clientMessageId: null,
      editedAt: null,
      deletedAt: null,
      reactions: [],
    });
    // Every connection of both sides, the sender's own phone included, joined or not.
    for (const client of all) expect((await client.nextEvent('chat-new-message', newMessage(first.id))).data.message).toEqual(first);

    // The seed's "Send Message": the event name, no requestId. Staff 8 answers for the business.
    staff8.send({ action: 'chat-send-message', data: { conversationId: conversation.id, content: 'Hello, how can I help you?', messageType: 'TEXT' } });
    const reply = (await staff8.nextEvent('chat-new-message', (data) => data.message.conversationId === conversation.id && data.message.seq === 2)).data.message;
    expect(reply).toMatchObject({ seq: 2, senderId: 8, senderRole: 'provider', receiverId: 2, content: 'Hello, how can I help you?' });
    for (const client of [phone, laptop, staff7]) await client.nextEvent('chat-new-message', newMessage(reply.id));

    // The inboxes: the business has one unread (from the customer), the customer one (from the business).
    const customerView = (await inbox(tokens.customer)).find((c) => c.id === conversation.id);
    expect(customerView).toMatchObject({ unreadCount: 1, lastMessage: { id: reply.id } });
    const businessView = (await inbox(tokens.staff7)).find((c) => c.id === conversation.id);
    expect(businessView).toMatchObject({ unreadCount: 1, lastMessage: { id: reply.id } });
    expect((await history(conversation.id)).messages.map((m: Json) => m.id)).toEqual([first.id, reply.id]);
  });

  it('fans a REST POST …/messages out to the WebSocket clients of both sides', async () => {
    const conversation = await startConversation();
    const { all } = await everyone();
    const message = await send(tokens.staff7, conversation.id, 'Your car is ready for pickup.', { metadata: { bay: 3 } });
    expect(message).toMatchObject({ seq: 1, senderId: 7, senderRole: 'provider', receiverId: 2, metadata: { bay: 3 } });
    for (const client of all) expect((await client.nextEvent('chat-new-message', newMessage(message.id))).data.message).toEqual(message);
  });

  it('stores a message once when its clientMessageId is repeated, and answers the stored one', async () => {
    const conversation = await startConversation();
    const phone = await openChat(runtime, tokens.customer);

    const body = { content: 'On my way', clientMessageId: 'phone-7f3a' };
    const first = await api.post(`/conversations/${conversation.id}/messages`, tokens.customer, body);
    expect(first.status).toBe(201);
    const retry = await api.post(`/conversations/${conversation.id}/messages`, tokens.customer, body);
    expect(retry.status).toBe(200);
    expect(retry.body.message).toEqual(first.body.message);

    // Over the WebSocket too: the retry is acknowledged with created: false and the same message.
    const wsFirst = await phone.ack('chat-send-message', { conversationId: conversation.id, content: 'Gate code 4711', clientMessageId: 'phone-8c1d' });
    const wsRetry = await phone.ack('chat-send-message', { conversationId: conversation.id, content: 'Gate code 4711', clientMessageId: 'phone-8c1d' });
    expect(wsFirst.created).toBe(true);
    expect(wsRetry).toEqual({ message: wsFirst.message, created: false });

    const page = await history(conversation.id);
    expect(page.messages.map((m: Json) => [m.seq, m.clientMessageId])).toEqual([
      [1, 'phone-7f3a'],
      [2, 'phone-8c1d'],
    ]);
    expect(page.pagination.total).toBe(2);
    const rows = await countRows(conversation.id);
    expect(rows).toBe(2);
  });
});

async function countRows(conversationId: string): Promise<number> {
  const client = new pg.Client({ connectionString: runtime.database.url });
  await client.connect();
  try {
    const result = await client.query<{ count: string }>('SELECT count(*) FROM "providerCustomerMessages" WHERE "conversationId" = $1', [conversationId]);
    return Number(result.rows[0]!.count);
  } finally {
    await client.end();
  }
}

describe('typing', () => {
  it('tells the room, not the typist; GET …/typing shows it and forgets it after CHAT_TYPING_TIMEOUT', async () => {
    const conversation = await startConversation();
    const { phone, laptop, staff7, staff8 } = await everyone();
    for (const client of [phone, staff7]) await client.ack('chat-join-conversation', { conversationId: conversation.id });
    await seedAck(staff8, 'chat-join-conversation', { conversationId: conversation.id });

    // The seed's "Typing Indicators": start typing …
    const ack = await phone.ack('chat-typing', { conversationId: conversation.id, isTyping: true });
    const ackedAt = Date.now();
    expect(ack).toEqual({ conversationId: conversation.id, userId: 2, isTyping: true, expiresInMs: TYPING_TIMEOUT_MS });
    for (const client of [staff7, staff8]) {
      expect((await client.nextEvent('chat-user-typing')).data).toEqual({ conversationId: conversation.id, userId: 2, isTyping: true, expiresInMs: TYPING_TIMEOUT_MS });
    }
    // Not the typist's own connections, and not a connection that did not join.
    await Promise.all([phone.settle(), laptop.settle()]);
    expect([...phone.received((f) => f.event === 'chat-user-typing'), ...laptop.received((f) => f.event === 'chat-user-typing')]).toEqual([]);

    const typing = await api.get(`/conversations/${conversation.id}/typing`, tokens.staff7);
    expect(typing.status).toBe(200);
    expect(typing.body).toEqual({ conversationId: conversation.id, typing: [{ userId: 2, role: 'customer', since: expect.any(String) }] });

    // Nobody said "stopped": the state is gone once CHAT_TYPING_TIMEOUT has passed.
    await until(ackedAt + TYPING_TIMEOUT_MS + 50);
    expect((await api.get(`/conversations/${conversation.id}/typing`, tokens.staff7)).body.typing).toEqual([]);

    // … and stop typing: the room hears it at once, and it is gone at once.
    await staff7.ack('chat-typing', { conversationId: conversation.id, isTyping: true });
    expect((await phone.nextEvent('chat-user-typing')).data).toMatchObject({ userId: 7, isTyping: true });
    expect((await api.get(`/conversations/${conversation.id}/typing`, tokens.customer)).body.typing).toEqual([{ userId: 7, role: 'provider', since: expect.any(String) }]);
    staff7.post('chat-typing', { conversationId: conversation.id, isTyping: false });
    expect((await phone.nextEvent('chat-user-typing')).data).toEqual({ conversationId: conversation.id, userId: 7, isTyping: false, expiresInMs: 0 });
    expect((await api.get(`/conversations/${conversation.id}/typing`, tokens.customer)).body.typing).toEqual([]);

    // Leaving the room: no more typing from it.
    staff8.send({ action: 'chat-leave-conversation', data: { conversationId: conversation.id } });
    expect((await staff8.nextEvent('chat-left-conversation')).data).toEqual({ conversationId: conversation.id });
    const heardBefore = staff8.received((f) => f.event === 'chat-user-typing').length;
    await phone.ack('chat-typing', { conversationId: conversation.id, isTyping: true });
    await staff7.nextEvent('chat-user-typing', (data) => data.userId === 2 && data.isTyping);
    await staff8.settle();
    expect(staff8.received((f) => f.event === 'chat-user-typing')).toHaveLength(heardBefore);
  });
});

describe('receipts and read state', () => {
  it('moves a message SENT → DELIVERED → READ by the receiving side, tells both sides, and ignores moves back', async () => {
    const conversation = await startConversation();
    const { phone, laptop, staff7, staff8, all } = await everyone();
    const message = await staff7.ack('chat-send-message', { conversationId: conversation.id, content: 'We start washing at 10.' }).then((a: Json) => a.message);
    await phone.nextEvent('chat-new-message', newMessage(message.id));

    // The seed's "Message Status Updates", from the customer's phone.
    const delivered = await phone.ack('chat-update-message-status', { messageId: message.id, status: 'DELIVERED' });
    expect(delivered).toMatchObject({ changed: true, message: { id: message.id, status: 'DELIVERED', deliveredAt: expect.any(String), readAt: null } });
    for (const client of all) {
      expect((await client.nextEvent('chat-message-status-updated', statusUpdate(message.id, 'DELIVERED'))).data).toEqual({
        messageId: message.id,
        conversationId: conversation.id,
        status: 'DELIVERED',
        userId: 2,
        at: expect.any(String),
      });
    }

    laptop.send({ action: 'updateMessageStatus', data: { messageId: message.id, status: 'READ' } });
    for (const client of all) await client.nextEvent('chat-message-status-updated', statusUpdate(message.id, 'READ'));

    // Backwards, or again: not an error, nothing changes, nobody is told.
    const back = await phone.ack('chat-update-message-status', { messageId: message.id, status: 'DELIVERED' });
    expect(back).toMatchObject({ changed: false, message: { status: 'READ' } });
    const again = await seedAck(laptop, 'chat-update-message-status', { messageId: message.id, status: 'READ' });
    expect(again.changed).toBe(false);
    await Promise.all(all.map((client) => client.settle()));
    for (const client of all) expect(client.received((f) => f.event === 'chat-message-status-updated' && f.data.messageId === message.id)).toHaveLength(2);

    // The sending side does not mark its own message.
    const own = await seedRequest(staff8, 'chat-update-message-status', { messageId: message.id, status: 'READ' });
    expect(own).toMatchObject({ event: 'chat-error', data: { code: 'FORBIDDEN' } });

    const [stored] = (await history(conversation.id)).messages;
    expect(stored).toMatchObject({ id: message.id, status: 'READ', deliveredAt: expect.any(String), readAt: expect.any(String) });
  });

  it('marks a conversation read with PATCH …/read or chat-mark-read: unread goes to 0 for the whole side, the other side is told', async () => {
    const conversation = await startConversation();
    const { phone, staff7, staff8 } = await everyone();
    const fromBusiness = [];
    for (const content of ['Quote: 25 EUR', 'Includes interior', 'Reply to confirm']) fromBusiness.push(await send(tokens.staff7, conversation.id, content));
    expect((await inbox(tokens.customer)).find((c) => c.id === conversation.id)?.unreadCount).toBe(3);

    const read = await api.patch(`/conversations/${conversation.id}/read`, tokens.customer);
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({ conversationId: conversation.id, lastReadSeq: 3, unreadCount: 0, readCount: 3 });
    for (const message of fromBusiness) {
      await staff7.nextEvent('chat-message-status-updated', statusUpdate(message.id, 'READ'));
      await staff8.nextEvent('chat-message-status-updated', statusUpdate(message.id, 'READ'));
    }
    expect((await inbox(tokens.customer)).find((c) => c.id === conversation.id)?.unreadCount).toBe(0);
    expect((await history(conversation.id)).messages.every((m: Json) => m.status === 'READ')).toBe(true);

    // The business is one inbox: staff 8 reads, staff 7's unread count drops too.
    const fromCustomer = [await send(tokens.customer, conversation.id, 'Confirmed'), await send(tokens.customer, conversation.id, 'See you at 10')];
    expect((await inbox(tokens.staff7)).find((c) => c.id === conversation.id)?.unreadCount).toBe(2);
    const marked = await seedAck(staff8, 'chat-mark-read', { conversationId: conversation.id });
    expect(marked).toMatchObject({ conversationId: conversation.id, lastReadSeq: 5, unreadCount: 0, readCount: 2 });
    for (const message of fromCustomer) await phone.nextEvent('chat-message-status-updated', statusUpdate(message.id, 'READ'));
    expect((await inbox(tokens.staff7)).find((c) => c.id === conversation.id)?.unreadCount).toBe(0);

    // Nothing new to read: nothing moves.
    expect((await staff7.ack('markRead', { conversationId: conversation.id })).readCount).toBe(0);
  });

  it('archives for the caller’s side only, until a new message brings it back', async () => {
    const conversation = await startConversation();
    await send(tokens.staff7, conversation.id, 'Thanks for visiting!');

    const archived = await api.patch(`/conversations/${conversation.id}/archive`, tokens.customer);
    expect(archived.status).toBe(200);
    expect(archived.body.conversation).toMatchObject({ id: conversation.id, archived: true });
    expect((await inbox(tokens.customer)).map((c) => c.id)).not.toContain(conversation.id);
    expect((await inbox(tokens.customer, '?status=ARCHIVED')).map((c) => c.id)).toContain(conversation.id);
    expect((await inbox(tokens.staff8)).map((c) => c.id)).toContain(conversation.id);

    const message = await send(tokens.staff8, conversation.id, 'Your loyalty discount is waiting.');
    const back = (await inbox(tokens.customer)).find((c) => c.id === conversation.id);
    expect(back).toMatchObject({ archived: false, lastMessage: { id: message.id } });
    expect((await inbox(tokens.customer, '?status=ARCHIVED')).map((c) => c.id)).not.toContain(conversation.id);
  });
});

describe('presence', () => {
  it('announces a user’s first connection and last disconnection to their counterparts, and lists who is online', async () => {
    // Users who have not connected in this file before, so "first connection" is theirs alone.
    const customer5 = await api.devToken({ userId: 5, role: 'customer' });
    const staff9 = await api.devToken({ userId: 9, role: 'provider', providerId: 1 });
    await startConversation(customer5, { providerId: 1, customerId: 5 });

    const staff = await openChat(runtime, tokens.staff7);
    const phone = await openChat(runtime, customer5);
    const online = await staff.nextEvent('chat-user-online', (data) => data.userId === 5);
    expect(online.data).toEqual({ userId: 5, role: 'customer', lastSeen: expect.any(String) });

    // The customer hears a staff user of the business come online.
    const desk = await openChat(runtime, staff9);
    expect((await phone.nextEvent('chat-user-online', (data) => data.userId === 9)).data).toEqual({ userId: 9, role: 'provider', providerId: 1, lastSeen: expect.any(String) });

    const seenByStaff = await api.get('/online-users', tokens.staff7);
    expect(seenByStaff.status).toBe(200);
    expect(seenByStaff.body.users).toContainEqual({ userId: 5, role: 'customer', lastSeen: expect.any(String) });
    const seenByCustomer = (await api.get('/online-users', customer5)).body.users;
    expect(seenByCustomer).toEqual(
      expect.arrayContaining([
        { userId: 7, role: 'provider', providerId: 1, lastSeen: expect.any(String) },
        { userId: 9, role: 'provider', providerId: 1, lastSeen: expect.any(String) },
      ]),
    );
    expect(seenByCustomer.every((user: Json) => user.role === 'provider' && user.providerId === 1)).toBe(true);
    // Someone who shares no conversation with them sees neither.
    const seenByOutsider = (await api.get('/online-users', tokens.outsider)).body.users.map((user: Json) => user.userId);
    expect(seenByOutsider).not.toContain(5);
    expect(seenByOutsider).not.toContain(7);

    // A second device is not a second "online"; closing one of two is not "offline".
    const laptop = await openChat(runtime, customer5);
    await phone.close();
    await laptop.settle();
    await staff.settle();
    expect(staff.received((f) => f.event === 'chat-user-online' && f.data.userId === 5)).toHaveLength(1);
    expect(staff.received((f) => f.event === 'chat-user-offline' && f.data.userId === 5)).toHaveLength(0);

    await laptop.close();
    expect((await staff.nextEvent('chat-user-offline', (data) => data.userId === 5)).data).toEqual({ userId: 5, role: 'customer', lastSeen: expect.any(String) });
    expect((await api.get('/online-users', tokens.staff7)).body.users.map((user: Json) => user.userId)).not.toContain(5);
    await desk.close();
  });
});

describe('history', () => {
  it('pages history the seed’s way (page, limit) and by seq (before), newest page first, ascending inside', async () => {
    const conversation = await startConversation();
    const sent: Json[] = [];
    for (let i = 1; i <= 12; i++) sent.push(await send(i % 2 ? tokens.customer : tokens.staff8, conversation.id, `message ${i}`));
    const seqs = (body: Json) => body.messages.map((m: Json) => m.seq);

    // The seed's "Get Message History" (?page=1&limit=50), capped by CHAT_MESSAGE_LIMIT.
    const seed = await history(conversation.id, '?page=1&limit=50');
    expect(seqs(seed)).toEqual([3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(seed.pagination).toMatchObject({ page: 1, limit: MESSAGE_LIMIT, total: 12, hasMore: true });
    expect(seed.messages.map((m: Json) => m.id)).toEqual(sent.slice(2).map((m) => m.id));

    expect(seqs(await history(conversation.id, '?page=1&limit=5'))).toEqual([8, 9, 10, 11, 12]);
    expect(seqs(await history(conversation.id, '?page=2&limit=5'))).toEqual([3, 4, 5, 6, 7]);
    const last = await history(conversation.id, '?page=3&limit=5', tokens.staff7);
    expect(seqs(last)).toEqual([1, 2]);
    expect(last.pagination.hasMore).toBe(false);

    const older = await history(conversation.id, '?before=8&limit=5');
    expect(seqs(older)).toEqual([3, 4, 5, 6, 7]);
    expect(older.pagination.hasMore).toBe(true);
    const oldest = await history(conversation.id, '?before=3&limit=5');
    expect(seqs(oldest)).toEqual([1, 2]);
    expect(oldest.pagination.hasMore).toBe(false);

    const both = await api.get(`/conversations/${conversation.id}/messages?page=1&after=3`, tokens.customer);
    expect(both.status).toBe(400);
    expect(both.body.error.code).toBe('VALIDATION_ERROR');
  });

  it('lets a client that reconnects notice the gap by seq and catch up with ?after=<seq>', async () => {
    const customer3 = await api.devToken({ userId: 3, role: 'customer' });
    const conversation = await startConversation(customer3, { providerId: 1, customerId: 3 });
    const staff = await openChat(runtime, tokens.staff7);

    // The app keeps messages by id and remembers the last seq it has without a gap.
    const kept = new Map<string, Json>();
    let lastSeq = 0;
    const gaps: number[] = [];
    const receive = async (frame: Frame) => {
      const { message } = frame.data;
      if (message.seq > lastSeq + 1) {
        gaps.push(lastSeq);
        let after = lastSeq;
        for (;;) {
          const page = await history(conversation.id, `?after=${after}&limit=2`, customer3);
          for (const missed of page.messages) kept.set(missed.id, missed);
          after = page.messages.at(-1)?.seq ?? after;
          if (!page.pagination.hasMore) break;
        }
      }
      kept.set(message.id, message);
      lastSeq = Math.max(...[...kept.values()].map((m) => m.seq));
    };

    let phone = await openChat(runtime, customer3);
    for (const content of ['Booked for 10:00', 'Please leave the keys']) {
      const { message } = await staff.ack('chat-send-message', { conversationId: conversation.id, content });
      await receive(await phone.nextEvent('chat-new-message', newMessage(message.id)));
    }
    expect(lastSeq).toBe(2);

    // The phone goes through a tunnel; the business keeps writing.
    await phone.close();
    for (const content of ['Started', 'Halfway', 'Drying']) await staff.ack('chat-send-message', { conversationId: conversation.id, content });

    phone = await openChat(runtime, customer3);
    const { message: live } = await staff.ack('chat-send-message', { conversationId: conversation.id, content: 'Done!' });
    await receive(await phone.nextEvent('chat-new-message', newMessage(live.id)));

    expect(gaps).toEqual([2]);
    const ordered = [...kept.values()].sort((a, b) => a.seq - b.seq);
    expect(ordered.map((m) => [m.seq, m.content])).toEqual([
      [1, 'Booked for 10:00'],
      [2, 'Please leave the keys'],
      [3, 'Started'],
      [4, 'Halfway'],
      [5, 'Drying'],
      [6, 'Done!'],
    ]);
  });
});

describe('who may see what', () => {
  it('shows an outsider nothing of a conversation: 403/404, no content, no frames', async () => {
    const conversation = await startConversation();
    const secret = await send(tokens.customer, conversation.id, 'My door code is 2468');
    const outsider = await openChat(runtime, tokens.outsider);
    const rival = await openChat(runtime, tokens.otherBusiness);

    const base = `/conversations/${conversation.id}`;
    for (const token of [tokens.outsider, tokens.otherBusiness]) {
      const attempts = await Promise.all([
        api.get(`${base}/messages`, token),
        api.get(`${base}/messages?after=0`, token),
        api.post(`${base}/messages`, token, { content: 'let me in' }),
        api.patch(`${base}/read`, token),
        api.patch(`${base}/archive`, token),
        api.get(`${base}/typing`, token),
      ]);
      for (const attempt of attempts) {
        expect([403, 404]).toContain(attempt.status);
        expect(attempt.body.error.code).toMatch(/^(FORBIDDEN|NOT_FOUND)$/);
        expect(attempt.text).not.toContain('2468');
      }
      expect((await inbox(token)).map((c) => c.id)).not.toContain(conversation.id);
    }

    for (const client of [outsider, rival]) {
      expect(await client.request('chat-join-conversation', { conversationId: conversation.id })).toMatchObject({ event: 'chat-error', data: { code: 'FORBIDDEN' } });
      expect(await client.request('chat-send-message', { conversationId: conversation.id, content: 'hi' })).toMatchObject({ event: 'chat-error', data: { code: 'FORBIDDEN' } });
      expect(await client.request('chat-typing', { conversationId: conversation.id, isTyping: true })).toMatchObject({ event: 'chat-error' });
      expect(await client.request('chat-update-message-status', { messageId: secret.id, status: 'READ' })).toMatchObject({ event: 'chat-error' });
    }

    await send(tokens.staff7, conversation.id, 'The code works, thanks');
    await Promise.all([outsider.settle(), rival.settle()]);
    for (const client of [outsider, rival]) {
      expect(client.received((f) => f.event === 'chat-new-message' || f.event === 'chat-message-status-updated')).toEqual([]);
    }
    expect((await history(conversation.id)).messages.map((m: Json) => m.content)).toEqual(['My door code is 2468', 'The code works, thanks']);

    const missing = await api.get('/conversations/no-such-conversation/messages', tokens.customer);
    expect(missing.status).toBe(404);
  });

  it('lets an admin read and watch every conversation, but not write in one', async () => {
    const conversation = await startConversation();
    await send(tokens.customer, conversation.id, 'Is there a discount today?');

    const read = await history(conversation.id, '', tokens.admin);
    expect(read.messages.map((m: Json) => m.content)).toEqual(['Is there a discount today?']);

    const post = await api.post(`/conversations/${conversation.id}/messages`, tokens.admin, { content: 'Moderator here' });
    expect(post.status).toBe(403);
    expect(post.body.error.code).toBe('FORBIDDEN');

    const admin = await openChat(runtime, tokens.admin);
    expect(await admin.ack('chat-join-conversation', { conversationId: conversation.id })).toEqual({ conversationId: conversation.id });
    const message = await send(tokens.staff8, conversation.id, '10% off all day');
    expect((await admin.nextEvent('chat-new-message', newMessage(message.id))).data.message.content).toBe('10% off all day');

    for (const [action, data] of [
      ['chat-send-message', { conversationId: conversation.id, content: 'Moderator here' }],
      ['chat-mark-read', { conversationId: conversation.id }],
      ['chat-typing', { conversationId: conversation.id, isTyping: true }],
    ] as const) {
      expect(await admin.request(action, data)).toMatchObject({ event: 'chat-error', data: { code: 'FORBIDDEN' } });
    }
    expect((await api.patch(`/conversations/${conversation.id}/read`, tokens.admin)).status).toBe(403);
    expect((await history(conversation.id)).messages).toHaveLength(2);
  });
});

describe('health and documentation', () => {
  it('answers /health, /api/docs (a page) and /api/docs/openapi.json without a token', async () => {
    const health = await api.get('/health');
    expect(health.status).toBe(200);
    expect(health.body).toEqual({ status: 'ok' });

    const page = await api.get('/api/docs');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.text).toMatch(/<html/i);
    expect(page.text).toContain('/api/docs/openapi.json');
    expect(page.text).toContain('/api/provider-customer-chat/conversations');

    const document = await api.get('/api/docs/openapi.json');
    expect(document.status).toBe(200);
    expect(document.body.openapi).toMatch(/^3\./);
    expect(Object.keys(document.body.paths)).toEqual(
      expect.arrayContaining([
        '/api/provider-customer-chat/conversations',
        '/api/provider-customer-chat/conversations/{conversationId}/messages',
        '/api/provider-customer-chat/conversations/{conversationId}/read',
        '/api/provider-customer-chat/conversations/{conversationId}/archive',
        '/api/provider-customer-chat/conversations/{conversationId}/typing',
        '/api/provider-customer-chat/online-users',
      ]),
    );
  });
});
