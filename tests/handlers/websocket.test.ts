/**
 * The WebSocket API through its real Lambda handlers: `$connect`, `$disconnect`, every route key
 * and the `$default` protocol shim, with API Gateway's route selection, against real Postgres,
 * DynamoDB Local and a capturing @connections endpoint (the wire contract, section 4).
 */
import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DevTokenSubject } from '#adapters/auth/dev-issuer';
import { decodeToken, people, startHandlerHarness, type HandlerHarness, type Loose, type ServerFrame, type WsSendReply } from '#tests/support/handler-harness';

const MAX_CONNECTIONS = 3;
const RATE_LIMIT = 25;
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;

let h: HandlerHarness;
let conversationId: string;
let requests = 0;

const customerNo = (userId: number): DevTokenSubject => ({ userId, role: 'customer' });

/** Signed-in connections of the cast, opened in beforeAll. */
const conn = {
  customerPhone: 'ws-cust-phone=',
  customerLaptop: 'ws-cust-laptop=',
  staff: 'ws-staff-7=',
  staff2: 'ws-staff-8=',
  otherCustomer: 'ws-other-cust=',
  otherStaff: 'ws-other-staff=',
  admin: 'ws-admin=',
};

interface Acted extends WsSendReply {
  requestId?: string;
  ack?: ServerFrame;
  error?: ServerFrame;
}

/** Sends `{action, data, requestId}` and picks out the chat-ack / chat-error that answers it. */
async function act(connectionId: string, action: string, data: unknown, requestId: string | null = `req-${++requests}`): Promise<Acted> {
  const reply = await h.ws.send(connectionId, { action, data, ...(requestId === null ? {} : { requestId }) });
  const answers = reply.frames.filter((f) => (f.event === 'chat-ack' || f.event === 'chat-error') && f.data.requestId === (requestId ?? undefined));
  return {
    ...reply,
    ...(requestId === null ? {} : { requestId }),
    ack: answers.find((f) => f.event === 'chat-ack'),
    error: answers.find((f) => f.event === 'chat-error'),
  };
}

function expectChatError(acted: Acted, code: string): Loose {
  expect(acted.statusCode).toBe(200);
  expect(acted.ack, JSON.stringify(acted.frames)).toBeUndefined();
  expect(acted.error, JSON.stringify(acted.frames)).toBeDefined();
  const error = acted.error!;
  expect(error.data.code).toBe(code);
  expect(typeof error.data.message).toBe('string');
  if (acted.requestId !== undefined) {
    expect(error.requestId).toBe(acted.requestId);
    expect(error.data.requestId).toBe(acted.requestId);
  }
  return error.data;
}

function expectAck(acted: Acted): Loose {
  expect(acted.statusCode).toBe(200);
  expect(acted.error, JSON.stringify(acted.error?.data)).toBeUndefined();
  expect(acted.ack, JSON.stringify(acted.frames)).toBeDefined();
  expect(acted.ack!.requestId).toBe(acted.requestId);
  expect(acted.ack!.data.requestId).toBe(acted.requestId);
  return acted.ack!.data.data;
}

async function connectionRecord(connectionId: string): Promise<Record<string, unknown> | undefined> {
  const { Item } = await h.tables.doc.send(new GetCommand({ TableName: h.tables.names.connections, Key: { connectionId }, ConsistentRead: true }));
  return Item;
}

async function startConversation(customerId: number, providerId = 1): Promise<string> {
  const reply = await h.http('startConversation', { identity: customerNo(customerId), body: { providerId, customerId } });
  expect(reply.status).toBeLessThan(300);
  return reply.json.conversation.id as string;
}

const newMessages = (frames: ServerFrame[]) => frames.filter((f) => f.event === 'chat-new-message');

beforeAll(async () => {
  h = await startHandlerHarness({
    env: { CHAT_MAX_CONNECTIONS_PER_USER: String(MAX_CONNECTIONS), CHAT_SEND_RATE_LIMIT: String(RATE_LIMIT) },
  });
  conversationId = await startConversation(2);
  const cast: [string, DevTokenSubject][] = [
    [conn.customerPhone, people.customer],
    [conn.customerLaptop, people.customer],
    [conn.staff, people.staff],
    [conn.staff2, people.staff2],
    [conn.otherCustomer, people.otherCustomer],
    [conn.otherStaff, people.otherStaff],
    [conn.admin, people.admin],
  ];
  for (const [id, who] of cast) expect((await h.ws.connect(id, { token: h.token(who) })).statusCode).toBe(200);
});

afterAll(async () => {
  await h?.stop();
});

describe('$connect', () => {
  it('signs a connection with a valid ?token in at once', async () => {
    const reply = await h.ws.connect('connect-token=', { token: h.token(people.customer) });
    expect(reply).toMatchObject({ statusCode: 200, open: true });
    expect(await connectionRecord('connect-token=')).toMatchObject({ userId: 2, role: 'customer', partyKey: 'customer#2' });
    expectAck(await act('connect-token=', 'chat-join-conversation', { conversationId }));
    await h.ws.disconnect('connect-token=');
  });

  it('admits a bare connection (200) that has yet to authenticate', async () => {
    const reply = await h.ws.connect('connect-bare=');
    expect(reply).toMatchObject({ statusCode: 200, open: true });
    const record = await connectionRecord('connect-bare=');
    expect(record).toMatchObject({ connectionId: 'connect-bare=', awaitingAuth: 'yes' });
    expect(record?.userId).toBeUndefined();
    await h.ws.disconnect('connect-bare=');
  });

  it('refuses a bad token with 401 and records nothing', async () => {
    const providerWithoutBusiness = h.token(customerNo(7), { claims: { role: 'provider' } });
    for (const [name, token] of [
      ['garbage', 'not-a-jwt'],
      ['expired', h.expiredToken(people.customer)],
      ['wrong audience', h.wrongAudienceToken(people.customer)],
      ['signed by another key', h.otherKeyToken(people.customer)],
      ['provider without providerId', providerWithoutBusiness],
    ] as const) {
      const id = `refused-${name.replace(/\W/g, '-')}`;
      const reply = await h.ws.connect(id, { token });
      expect(reply.statusCode, name).toBe(401);
      expect(reply.open).toBe(false);
      expect(JSON.parse(reply.body ?? '{}').message, name).toEqual(expect.any(String));
      expect(await connectionRecord(id), name).toBeUndefined();
    }
  });
});

describe('chat-authenticate', () => {
  it('signs a bare connection in: chat-authenticated, then chat-ack for the requestId', async () => {
    await h.ws.connect('auth-1=');
    const acted = await act('auth-1=', 'chat-authenticate', { token: h.token(people.staff) });
    const authenticated = acted.frames.find((f) => f.event === 'chat-authenticated');
    expect(authenticated).toEqual({
      event: 'chat-authenticated',
      data: { userId: 7, role: 'provider', providerId: 1, connectionId: 'auth-1=' },
      requestId: acted.requestId,
    });
    expect(expectAck(acted)).toEqual(authenticated!.data);
    expectAck(await act('auth-1=', 'joinConversation', { conversationId }));
    await h.ws.disconnect('auth-1=');
  });

  it('works with the route key `authenticate` too, and without a requestId', async () => {
    await h.ws.connect('auth-2=');
    const reply = await h.ws.send('auth-2=', { action: 'authenticate', data: { token: h.token(people.customer) } });
    expect(reply.routeKey).toBe('authenticate');
    expect(reply.frames).toEqual([{ event: 'chat-authenticated', data: { userId: 2, role: 'customer', connectionId: 'auth-2=' } }]);
    await h.ws.disconnect('auth-2=');
  });

  it('answers a bad token with chat-error UNAUTHORIZED and keeps the connection usable', async () => {
    await h.ws.connect('auth-3=');
    for (const token of ['nope', h.expiredToken(people.customer), h.wrongAudienceToken(people.customer), h.otherKeyToken(people.customer)]) {
      expectChatError(await act('auth-3=', 'chat-authenticate', { token }), 'UNAUTHORIZED');
    }
    expect(h.deletesFor('auth-3=')).toEqual([]);
    expect((await act('auth-3=', 'chat-ping', {})).frames.map((f) => f.event)).toEqual(['chat-pong', 'chat-ack']);
    expectAck(await act('auth-3=', 'chat-authenticate', { token: h.token(people.customer) }));
    await h.ws.disconnect('auth-3=');
  });

  it('answers a bare connection that does anything else with chat-error UNAUTHORIZED, and it stays usable', async () => {
    await h.ws.connect('bare-1=');
    const attempts: [string, unknown][] = [
      ['chat-join-conversation', { conversationId }],
      ['leaveConversation', { conversationId }],
      ['chat-send-message', { conversationId, content: 'sneaky' }],
      ['sendMessage', { conversationId, content: 'sneaky' }],
      ['chat-typing', { conversationId, isTyping: true }],
      ['updateMessageStatus', { messageId: 'm1', status: 'READ' }],
      ['chat-mark-read', { conversationId }],
    ];
    for (const [action, data] of attempts) {
      const error = expectChatError(await act('bare-1=', action, data), 'UNAUTHORIZED');
      expect(error.message).toMatch(/authenticate/i);
    }
    expect(await h.database.prisma.message.count({ where: { content: 'sneaky' } })).toBe(0);
    expect(h.deletesFor('bare-1=')).toEqual([]);
    expect((await h.ws.send('bare-1=', { action: 'ping', data: {} })).frames.map((f) => f.event)).toEqual(['chat-pong']);
    expectAck(await act('bare-1=', 'chat-authenticate', { token: h.token(people.customer) }));
    expectAck(await act('bare-1=', 'chat-join-conversation', { conversationId }));
    await h.ws.disconnect('bare-1=');
  });

  it('closes, after a chat-error, a connection whose token has expired since it connected', async () => {
    const token = h.token(customerNo(2), { expiresInSeconds: 2 });
    const expiresAt = (decodeToken(token).exp as number) * 1000;
    expect((await h.ws.connect('short-lived=', { token })).statusCode).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, expiresAt - Date.now()) + 50));
    const acted = await act('short-lived=', 'chat-join-conversation', { conversationId });
    expectChatError(acted, 'UNAUTHORIZED');
    expect(h.deletesFor('short-lived=')).toHaveLength(1);
    expect(await connectionRecord('short-lived=')).toBeUndefined();
  });
});

describe('rooms', () => {
  it('join answers chat-joined-conversation, leave chat-left-conversation, in both spellings', async () => {
    const joined = await act(conn.customerLaptop, 'chat-join-conversation', { conversationId });
    expect(joined.routeKey).toBe('$default');
    expect(joined.frames[0]).toEqual({ event: 'chat-joined-conversation', data: { conversationId }, requestId: joined.requestId });
    expect(expectAck(joined)).toEqual({ conversationId });

    const left = await act(conn.customerLaptop, 'leaveConversation', { conversationId });
    expect(left.routeKey).toBe('leaveConversation');
    expect(left.frames[0]).toEqual({ event: 'chat-left-conversation', data: { conversationId }, requestId: left.requestId });

    const again = await h.ws.send(conn.customerLaptop, { action: 'joinConversation', data: { conversationId } });
    expect(again.routeKey).toBe('joinConversation');
    expect(again.frames).toEqual([{ event: 'chat-joined-conversation', data: { conversationId } }]);
    await h.ws.send(conn.customerLaptop, { action: 'chat-leave-conversation', data: { conversationId } });
  });

  it('answers NOT_FOUND for a conversation that does not exist and FORBIDDEN for outsiders; leaving a room never fails', async () => {
    expectChatError(await act(conn.customerPhone, 'chat-join-conversation', { conversationId: 'missing' }), 'NOT_FOUND');
    expectChatError(await act(conn.otherCustomer, 'chat-join-conversation', { conversationId }), 'FORBIDDEN');
    expectChatError(await act(conn.otherStaff, 'joinConversation', { conversationId }), 'FORBIDDEN');
    expectAck(await act(conn.otherStaff, 'chat-leave-conversation', { conversationId: 'never-joined' }));
  });

  it('lets an admin join read-only and watch the conversation live', async () => {
    expectAck(await act(conn.admin, 'chat-join-conversation', { conversationId }));
    const since = h.mark();
    await act(conn.customerPhone, 'chat-send-message', { conversationId, content: 'watched' });
    expect(newMessages(since(conn.admin)).map((f) => f.data.message.content)).toEqual(['watched']);
    expectChatError(await act(conn.admin, 'chat-send-message', { conversationId, content: 'moderator' }), 'FORBIDDEN');
    await act(conn.admin, 'chat-leave-conversation', { conversationId });
  });
});

describe('sending', () => {
  it.each([
    ['the route key sendMessage', 'sendMessage', 'sendMessage'],
    ['the event name chat-send-message', 'chat-send-message', '$default'],
  ])("with %s reaches every connection of both sides, a second staff user's and the sender's own", async (_name, action, routeKey) => {
    const since = h.mark();
    const acted = await act(conn.customerPhone, action, { conversationId, content: `via ${action}` });
    expect(acted.routeKey).toBe(routeKey);
    const { message, created } = expectAck(acted);
    expect(created).toBe(true);
    expect(message).toMatchObject({ conversationId, content: `via ${action}`, senderId: 2, senderRole: 'customer', receiverId: 1, status: 'SENT' });
    for (const id of [conn.customerPhone, conn.customerLaptop, conn.staff, conn.staff2]) {
      const delivered = newMessages(since(id));
      expect(delivered, id).toHaveLength(1);
      expect(delivered[0]).toEqual({ event: 'chat-new-message', data: { message } });
    }
    for (const id of [conn.otherCustomer, conn.otherStaff, conn.admin]) expect(since(id), id).toEqual([]);
  });

  it('a staff user’s message reaches the customer’s devices and the other staff user', async () => {
    const since = h.mark();
    const { message } = expectAck(await act(conn.staff2, 'chat-send-message', { conversationId, content: 'from staff 8' }));
    expect(message).toMatchObject({ senderId: 8, senderRole: 'provider', receiverId: 2 });
    for (const id of [conn.customerPhone, conn.customerLaptop, conn.staff, conn.staff2]) expect(newMessages(since(id)), id).toHaveLength(1);
  });

  it('without a requestId sends no ack, and the sender still sees its message', async () => {
    const reply = await h.ws.send(conn.customerPhone, { action: 'chat-send-message', data: { conversationId, content: 'no request id' } });
    expect(reply.frames.map((f) => f.event)).toEqual(['chat-new-message']);
  });

  it('answers a refused send with chat-error carrying the requestId', async () => {
    expectChatError(await act(conn.customerPhone, 'chat-send-message', { conversationId, content: '  ' }), 'VALIDATION_ERROR');
    expectChatError(await act(conn.customerPhone, 'chat-send-message', { conversationId, content: 'x', messageType: 'SYSTEM' }), 'VALIDATION_ERROR');
    expectChatError(await act(conn.customerPhone, 'chat-send-message', { conversationId: 'missing', content: 'x' }), 'NOT_FOUND');
    expectChatError(await act(conn.otherStaff, 'chat-send-message', { conversationId, content: 'x' }), 'FORBIDDEN');
    const tooLong = expectChatError(await act(conn.customerPhone, 'chat-send-message', { conversationId, content: 'y'.repeat(4001) }), 'PAYLOAD_TOO_LARGE');
    expect(tooLong.details).toMatchObject({ maxLength: 4000, length: 4001 });
  });

  it('stores an acknowledged message exactly once, even when the client retries with its clientMessageId', async () => {
    const data = { conversationId, content: 'retry me', clientMessageId: 'phone-retry-1' };
    const first = expectAck(await act(conn.customerPhone, 'chat-send-message', data));
    const since = h.mark();
    const retry = expectAck(await act(conn.customerPhone, 'sendMessage', data));
    expect(first.created).toBe(true);
    expect(retry.created).toBe(false);
    expect(retry.message).toEqual(first.message);
    // Delivered again (at-least-once), with the same id for clients to de-duplicate by.
    expect(newMessages(since(conn.staff)).map((f) => f.data.message.id)).toEqual([first.message.id]);
    expect(await h.database.prisma.message.count({ where: { id: first.message.id } })).toBe(1);
    expect(await h.database.prisma.message.count({ where: { clientMessageId: 'phone-retry-1' } })).toBe(1);

    const acked: string[] = [];
    for (let i = 0; i < 5; i++) acked.push(expectAck(await act(conn.staff, 'chat-send-message', { conversationId, content: `batch ${i}` })).message.id);
    const stored = await h.database.prisma.message.findMany({ where: { id: { in: acked } }, select: { id: true, seq: true } });
    expect(stored.map((m) => m.id).sort()).toEqual([...acked].sort());
    const seqs = stored.map((m) => m.seq).sort((a, b) => a - b);
    expect(seqs).toEqual(seqs.map((_, i) => seqs[0]! + i));
  });

  it('answers chat-error RATE_LIMITED once a user sends faster than CHAT_SEND_RATE_LIMIT', async () => {
    const id = await startConversation(30);
    await h.ws.connect('rate-30=', { token: h.token(customerNo(30)) });
    let limited: Acted | undefined;
    for (let i = 0; i < 2 * RATE_LIMIT + 1 && !limited; i++) {
      const acted = await act('rate-30=', 'chat-send-message', { conversationId: id, content: `fast ${i}` });
      if (acted.error) limited = acted;
    }
    expect(limited).toBeDefined();
    const error = expectChatError(limited!, 'RATE_LIMITED');
    expect(error.details.retryAfterMs).toBeGreaterThanOrEqual(0);
    expect((await act('rate-30=', 'chat-ping', {})).frames[0]!.event).toBe('chat-pong');
    await h.ws.disconnect('rate-30=');
  });
});

describe('requestId', () => {
  it('answers every request that carries one with chat-ack or chat-error bearing it', async () => {
    const ok = await act(conn.customerPhone, 'chat-ping', {}, 'my-request-1');
    expect(ok.ack).toEqual({ event: 'chat-ack', data: { requestId: 'my-request-1', data: { at: expect.stringMatching(ISO) } }, requestId: 'my-request-1' });
    expectChatError(await act(conn.customerPhone, 'chat-fly', {}, 'my-request-2'), 'VALIDATION_ERROR');
    expectChatError(await act(conn.customerPhone, 'chat-typing', { conversationId, isTyping: 'yes' }, 'my-request-3'), 'VALIDATION_ERROR');
  });

  it('answers bad JSON, a frame without an action and an unknown action with chat-error VALIDATION_ERROR', async () => {
    for (const body of ['{not json', '[]', '"hello"', '{"data":{}}', '{"action":42}', '{"action":"dance"}', '{"action":"$connect"}']) {
      const reply = await h.ws.send(conn.customerPhone, body);
      expect(reply.routeKey).toBe('$default');
      expect(reply.frames, body).toHaveLength(1);
      expect(reply.frames[0]).toMatchObject({ event: 'chat-error', data: { code: 'VALIDATION_ERROR' } });
    }
  });
});

describe('typing', () => {
  beforeAll(async () => {
    for (const id of [conn.customerPhone, conn.staff, conn.staff2]) expectAck(await act(id, 'chat-join-conversation', { conversationId }));
  });

  it('reaches the connections that joined the room, never the typist’s own', async () => {
    const since = h.mark();
    const acted = await act(conn.customerPhone, 'chat-typing', { conversationId, isTyping: true });
    const expected = { conversationId, userId: 2, isTyping: true, expiresInMs: 3000 };
    expect(expectAck(acted)).toEqual(expected);
    for (const id of [conn.staff, conn.staff2]) expect(since(id), id).toEqual([{ event: 'chat-user-typing', data: expected }]);
    // The typist's own connections (the one typing, and the laptop that did not join) and outsiders hear nothing.
    expect(since(conn.customerPhone).filter((f) => f.event === 'chat-user-typing')).toEqual([]);
    for (const id of [conn.customerLaptop, conn.otherCustomer, conn.otherStaff]) expect(since(id), id).toEqual([]);

    const stopped = h.mark();
    const stop = await h.ws.send(conn.customerPhone, { action: 'typing', data: { conversationId, isTyping: false } });
    expect(stop.routeKey).toBe('typing');
    expect(stopped(conn.staff)).toEqual([{ event: 'chat-user-typing', data: { ...expected, isTyping: false, expiresInMs: 0 } }]);
  });

  it("a staff user's typing reaches the other staff user and the customer", async () => {
    const since = h.mark();
    await act(conn.staff, 'typing', { conversationId, isTyping: true });
    expect(since(conn.staff2).map((f) => f.data.userId)).toEqual([7]);
    expect(since(conn.customerPhone).map((f) => f.event)).toEqual(['chat-user-typing']);
    expect(since(conn.staff).filter((f) => f.event === 'chat-user-typing')).toEqual([]);
  });

  it('is refused for outsiders and admins (FORBIDDEN) and unknown conversations (NOT_FOUND)', async () => {
    expectChatError(await act(conn.otherCustomer, 'chat-typing', { conversationId, isTyping: true }), 'FORBIDDEN');
    expectChatError(await act(conn.admin, 'chat-typing', { conversationId, isTyping: true }), 'FORBIDDEN');
    expectChatError(await act(conn.customerPhone, 'chat-typing', { conversationId: 'missing', isTyping: true }), 'NOT_FOUND');
  });
});

describe('message status', () => {
  it('moves only forward, only by the receiving side, and tells every connection of both sides', async () => {
    const { message } = expectAck(await act(conn.customerPhone, 'chat-send-message', { conversationId, content: 'status me' }));
    const update = (id: string, status: string) => act(id, 'chat-update-message-status', { messageId: message.id, status });
    const updates = (frames: ServerFrame[]) => frames.filter((f) => f.event === 'chat-message-status-updated');

    // The sending side may not move its own message.
    expectChatError(await update(conn.customerLaptop, 'READ'), 'FORBIDDEN');

    let since = h.mark();
    const delivered = expectAck(await update(conn.staff, 'DELIVERED'));
    expect(delivered.changed).toBe(true);
    expect(delivered.message).toMatchObject({ id: message.id, status: 'DELIVERED', deliveredAt: expect.stringMatching(ISO), readAt: null });
    for (const id of [conn.customerPhone, conn.customerLaptop, conn.staff, conn.staff2]) {
      expect(updates(since(id)), id).toEqual([
        { event: 'chat-message-status-updated', data: { messageId: message.id, conversationId, status: 'DELIVERED', userId: 7, at: expect.stringMatching(ISO) } },
      ]);
    }
    expect(since(conn.otherStaff)).toEqual([]);

    since = h.mark();
    const repeated = expectAck(await update(conn.staff2, 'DELIVERED'));
    expect(repeated).toMatchObject({ changed: false, message: { status: 'DELIVERED' } });
    expect(updates(since(conn.customerPhone))).toEqual([]);

    since = h.mark();
    const readActed = await act(conn.staff2, 'updateMessageStatus', { messageId: message.id, status: 'READ' });
    expect(readActed.routeKey).toBe('updateMessageStatus');
    const read = expectAck(readActed);
    expect(read).toMatchObject({ changed: true, message: { status: 'READ', readAt: expect.stringMatching(ISO) } });
    expect(updates(since(conn.customerLaptop)).map((f) => [f.data.status, f.data.userId])).toEqual([['READ', 8]]);

    since = h.mark();
    expect(expectAck(await update(conn.staff, 'DELIVERED'))).toMatchObject({ changed: false, message: { status: 'READ' } });
    expect(updates(since(conn.customerPhone))).toEqual([]);
    expect((await h.database.prisma.message.findUniqueOrThrow({ where: { id: message.id } })).status).toBe('READ');
  });

  it('answers NOT_FOUND for an unknown message, FORBIDDEN for outsiders and admins, VALIDATION_ERROR for other statuses', async () => {
    const { message } = expectAck(await act(conn.customerPhone, 'chat-send-message', { conversationId, content: 'status guard' }));
    expectChatError(await act(conn.staff, 'chat-update-message-status', { messageId: 'missing', status: 'READ' }), 'NOT_FOUND');
    expectChatError(await act(conn.otherStaff, 'chat-update-message-status', { messageId: message.id, status: 'READ' }), 'FORBIDDEN');
    expectChatError(await act(conn.admin, 'chat-update-message-status', { messageId: message.id, status: 'READ' }), 'FORBIDDEN');
    for (const status of ['SENT', 'FAILED', 'read']) {
      expectChatError(await act(conn.staff, 'chat-update-message-status', { messageId: message.id, status }), 'VALIDATION_ERROR');
    }
  });
});

describe('mark read', () => {
  it("marks the other side's messages READ and tells both sides, with upToSeq", async () => {
    await act(conn.customerPhone, 'chat-mark-read', { conversationId });
    const sent = [
      expectAck(await act(conn.staff, 'chat-send-message', { conversationId, content: 'unread 1' })).message,
      expectAck(await act(conn.staff2, 'chat-send-message', { conversationId, content: 'unread 2' })).message,
    ];
    const since = h.mark();
    const acted = await act(conn.customerLaptop, 'chat-mark-read', { conversationId });
    expect(acted.routeKey).toBe('$default');
    expect(expectAck(acted)).toEqual({ conversationId, lastReadSeq: sent[1].seq, unreadCount: 0, readCount: 2 });
    for (const id of [conn.staff, conn.staff2, conn.customerPhone]) {
      const updates = since(id).filter((f) => f.event === 'chat-message-status-updated');
      expect(updates.map((f) => f.data.messageId), id).toEqual(sent.map((m) => m.id));
      for (const f of updates) expect(f.data).toMatchObject({ conversationId, status: 'READ', userId: 2, upToSeq: sent[1].seq });
    }
    const again = await act(conn.customerLaptop, 'markRead', { conversationId });
    expect(again.routeKey).toBe('markRead');
    expect(expectAck(again)).toMatchObject({ readCount: 0, unreadCount: 0 });
  });

  it('is refused for outsiders and admins', async () => {
    expectChatError(await act(conn.otherCustomer, 'chat-mark-read', { conversationId }), 'FORBIDDEN');
    expectChatError(await act(conn.admin, 'markRead', { conversationId }), 'FORBIDDEN');
  });
});

describe('ping', () => {
  it.each([
    ['ping', 'ping'],
    ['chat-ping', '$default'],
  ])('%s answers chat-pong with the server time', async (action, routeKey) => {
    const reply = await h.ws.send(conn.customerPhone, { action, data: {} });
    expect(reply.routeKey).toBe(routeKey);
    expect(reply.frames).toEqual([{ event: 'chat-pong', data: { at: expect.stringMatching(ISO) } }]);
    // Data is optional for a ping.
    expect((await h.ws.send(conn.customerPhone, { action })).frames[0]!.event).toBe('chat-pong');
  });
});

describe('gone connections', () => {
  it('are pruned during a fan-out, and the send is still acknowledged', async () => {
    await h.ws.connect('staff2-dead=', { token: h.token(people.staff2) });
    // A phone that connected a while ago and lost its network: API Gateway has dropped the
    // connection, and its $disconnect has not reached us yet.
    await h.tables.doc.send(
      new UpdateCommand({
        TableName: h.tables.names.connections,
        Key: { connectionId: 'staff2-dead=' },
        UpdateExpression: 'SET connectedAt = connectedAt - :age',
        ExpressionAttributeValues: { ':age': 10 * 60_000 },
      }),
    );
    h.endpoint.markGone('staff2-dead=');
    const since = h.mark();
    const { message } = expectAck(await act(conn.customerPhone, 'chat-send-message', { conversationId, content: 'to a dead phone' }));
    expect(h.endpoint.posts.some((p) => p.connectionId === 'staff2-dead=' && p.status === 410)).toBe(true);
    expect(newMessages(since(conn.staff2)).map((f) => f.data.message.id)).toEqual([message.id]);
    expect(await connectionRecord('staff2-dead=')).toBeUndefined();

    const before = h.endpoint.posts.length;
    expectAck(await act(conn.customerPhone, 'chat-send-message', { conversationId, content: 'after the prune' }));
    expect(h.endpoint.posts.slice(before).some((p) => p.connectionId === 'staff2-dead=')).toBe(false);
    // Staff 8 still has a live connection, so nobody was told they went offline.
    expect(since(conn.customerPhone).filter((f) => f.event === 'chat-user-offline')).toEqual([]);
  });
});

describe('connections per user', () => {
  it('closes the oldest connection of a user past CHAT_MAX_CONNECTIONS_PER_USER', async () => {
    const id = await startConversation(31);
    const user = customerNo(31);
    const ids = ['c31-1=', 'c31-2=', 'c31-3=', 'c31-4='];
    for (const connectionId of ids.slice(0, MAX_CONNECTIONS)) {
      await h.ws.connect(connectionId, { token: h.token(user) });
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect(ids.flatMap((c) => h.deletesFor(c))).toEqual([]);

    await h.ws.connect(ids[3]!, { token: h.token(user) });
    expect(h.deletesFor(ids[0]!)).toHaveLength(1);
    expect(ids.slice(1).flatMap((c) => h.deletesFor(c))).toEqual([]);
    expect(await connectionRecord(ids[0]!)).toBeUndefined();

    const since = h.mark();
    expectAck(await act(conn.staff, 'chat-send-message', { conversationId: id, content: 'to every device' }));
    expect(since(ids[0]!)).toEqual([]);
    for (const connectionId of ids.slice(1)) expect(newMessages(since(connectionId)), connectionId).toHaveLength(1);

    // The same applies to a bare connection signing in with chat-authenticate.
    await h.ws.connect('c31-5=');
    expectAck(await act('c31-5=', 'chat-authenticate', { token: h.token(user) }));
    expect(h.deletesFor(ids[1]!)).toHaveLength(1);
    for (const connectionId of ids.slice(2)) await h.ws.disconnect(connectionId);
    await h.ws.disconnect('c31-5=');
  });
});

describe('presence', () => {
  it("announces a customer's first connection to their counterparts, and their last disconnect", async () => {
    await startConversation(32);
    const user = customerNo(32);
    let since = h.mark();
    await h.ws.connect('c32-a=', { token: h.token(user) });
    for (const id of [conn.staff, conn.staff2]) {
      expect(since(id).filter((f) => f.event === 'chat-user-online'), id).toEqual([
        { event: 'chat-user-online', data: { userId: 32, role: 'customer', lastSeen: expect.stringMatching(ISO) } },
      ]);
    }
    for (const id of [conn.otherStaff, conn.customerPhone, conn.admin]) expect(since(id), id).toEqual([]);

    since = h.mark();
    await h.ws.connect('c32-b=', { token: h.token(user) });
    await h.ws.disconnect('c32-a=');
    expect(since(conn.staff)).toEqual([]);

    await h.ws.disconnect('c32-b=');
    expect(since(conn.staff)).toEqual([{ event: 'chat-user-offline', data: { userId: 32, role: 'customer', lastSeen: expect.stringMatching(ISO) } }]);
    expect(since(conn.otherStaff)).toEqual([]);
  });

  it("announces a staff user to the provider's customers, with the providerId", async () => {
    const since = h.mark();
    await h.ws.connect('staff-33=', { token: h.token({ userId: 33, role: 'provider', providerId: 1 }) });
    const online = since(conn.customerPhone).filter((f) => f.event === 'chat-user-online');
    expect(online.map((f) => f.data)).toEqual([{ userId: 33, role: 'provider', providerId: 1, lastSeen: expect.stringMatching(ISO) }]);
    expect(since(conn.otherCustomer)).toEqual([]);
    // Their own colleagues are on the same side: not told.
    expect(since(conn.staff)).toEqual([]);
    await h.ws.disconnect('staff-33=');
    expect(since(conn.customerLaptop).map((f) => f.event)).toEqual(['chat-user-online', 'chat-user-offline']);
  });

  it('a bare connection that never signs in announces nothing, and its disconnect is quiet', async () => {
    const since = h.mark();
    await h.ws.connect('bare-quiet=');
    await h.ws.disconnect('bare-quiet=');
    await h.ws.disconnect('bare-quiet=');
    for (const id of Object.values(conn)) expect(since(id), id).toEqual([]);
  });
});
