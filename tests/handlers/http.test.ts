/**
 * Every HTTP route through its real Lambda handler, with API Gateway's payload 2.0 events, against
 * real Postgres, DynamoDB Local and a capturing @connections endpoint: the status codes and bodies
 * of the wire contract (section 3), and what the other side's connections hear.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DevTokenSubject } from '#adapters/auth/dev-issuer';
import { HTTP_ROUTES } from '#config/routes';
import { makeAttachmentStore } from '#adapters/postgres/attachment-store';
import { people, startHandlerHarness, type HandlerHarness, type HttpReply, type Loose } from '#tests/support/handler-harness';

const MESSAGE_LIMIT = 10;
const RATE_LIMIT = 20;
const TYPING_TIMEOUT_MS = 600;

const MESSAGE_FIELDS = [
  'id', 'conversationId', 'seq', 'senderId', 'senderRole', 'receiverId', 'messageType', 'content', 'attachments', 'status',
  'deliveredAt', 'readAt', 'createdAt', 'updatedAt', 'replyToId', 'metadata', 'clientMessageId', 'editedAt', 'deletedAt', 'reactions',
];
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;

const customerNo = (userId: number): DevTokenSubject => ({ userId, role: 'customer' });

let h: HandlerHarness;
/** The conversation between people.customer and provider 1. */
let conversationId: string;

/** Live WebSocket connections, so fan-out has somewhere to go. */
const conn = {
  customerPhone: 'cust-phone=',
  customerLaptop: 'cust-laptop=',
  staff: 'staff-7=',
  staff2: 'staff-8=',
  otherCustomer: 'other-cust=',
  otherStaff: 'other-staff=',
};

function expectError(reply: HttpReply, status: number, code: string): Loose {
  expect(reply.status, reply.body).toBe(status);
  expect(reply.headers['content-type']).toMatch(/^application\/json/);
  expect(Object.keys(reply.json)).toEqual(['error']);
  const { error } = reply.json;
  expect(error.code).toBe(code);
  expect(typeof error.message).toBe('string');
  expect(error.message.length).toBeGreaterThan(0);
  expect(Object.keys(error).every((key) => ['code', 'message', 'details'].includes(key))).toBe(true);
  return error;
}

async function start(identity: DevTokenSubject, body: unknown): Promise<HttpReply> {
  return h.http('startConversation', { identity, body });
}

async function send(identity: DevTokenSubject, id: string, body: unknown): Promise<HttpReply> {
  return h.http('sendMessage', { identity, params: { conversationId: id }, body });
}

async function conversationFor(customerId: number, providerId = 1, orderId?: number): Promise<string> {
  const reply = await start(customerNo(customerId), { providerId, customerId, ...(orderId ? { orderId } : {}) });
  expect(reply.status).toBeLessThan(300);
  return reply.json.conversation.id as string;
}

beforeAll(async () => {
  h = await startHandlerHarness({
    env: {
      CHAT_MESSAGE_LIMIT: String(MESSAGE_LIMIT),
      CHAT_SEND_RATE_LIMIT: String(RATE_LIMIT),
      CHAT_TYPING_TIMEOUT: String(TYPING_TIMEOUT_MS),
    },
  });
  await h.ws.connect(conn.customerPhone, { token: h.token(people.customer) });
  await h.ws.connect(conn.customerLaptop, { token: h.token(people.customer) });
  await h.ws.connect(conn.staff, { token: h.token(people.staff) });
  await h.ws.connect(conn.staff2, { token: h.token(people.staff2) });
  await h.ws.connect(conn.otherCustomer, { token: h.token(people.otherCustomer) });
  await h.ws.connect(conn.otherStaff, { token: h.token(people.otherStaff) });
});

afterAll(async () => {
  await h?.stop();
});

describe('POST /conversations', () => {
  it("creates the conversation (201) and answers the caller's side of it", async () => {
    const reply = await start(people.customer, { providerId: 1, customerId: 2 });
    expect(reply.status).toBe(201);
    expect(reply.headers['content-type']).toMatch(/^application\/json/);
    const { conversation } = reply.json;
    expect(conversation).toMatchObject({
      customerId: 2,
      providerId: 1,
      orderId: null,
      status: 'ACTIVE',
      lastSeq: 0,
      unreadCount: 0,
      archived: false,
      lastMessage: null,
      lastMessageAt: null,
    });
    expect(conversation.id).toEqual(expect.any(String));
    expect(conversation.createdAt).toMatch(ISO);
    conversationId = conversation.id;
  });

  it('answers 200 with the same ACTIVE conversation when it already exists, for the customer, any staff user and an admin', async () => {
    for (const caller of [people.customer, people.staff, people.staff2, people.admin]) {
      const reply = await start(caller, { providerId: 1, customerId: 2 });
      expect(reply.status, JSON.stringify(caller)).toBe(200);
      expect(reply.json.conversation.id).toBe(conversationId);
    }
  });

  it('treats another order as another conversation', async () => {
    const first = await start(people.customer, { providerId: 1, customerId: 2, orderId: 41 });
    expect(first.status).toBe(201);
    expect(first.json.conversation).toMatchObject({ orderId: 41, providerId: 1, customerId: 2 });
    expect(first.json.conversation.id).not.toBe(conversationId);
    const again = await start(people.staff, { providerId: 1, customerId: 2, orderId: 41 });
    expect(again.status).toBe(200);
    expect(again.json.conversation.id).toBe(first.json.conversation.id);
  });

  it('refuses (403) a customer starting one for someone else, and staff starting one for another business', async () => {
    const error = expectError(await start(people.otherCustomer, { providerId: 1, customerId: 2 }), 403, 'FORBIDDEN');
    expect(JSON.stringify(error)).not.toContain(conversationId);
    expectError(await start(people.otherStaff, { providerId: 1, customerId: 2 }), 403, 'FORBIDDEN');
  });

  it('answers 400 VALIDATION_ERROR, with details, for a body that is not JSON or lacks the ids', async () => {
    const notJson = expectError(await start(people.customer, '{"providerId": 1,'), 400, 'VALIDATION_ERROR');
    expect(notJson.message).toMatch(/JSON/);
    const missing = expectError(await start(people.customer, { providerId: 1 }), 400, 'VALIDATION_ERROR');
    expect(missing.details).toEqual(expect.arrayContaining([expect.objectContaining({ path: 'customerId' })]));
    expectError(await start(people.customer, { providerId: -1, customerId: 2 }), 400, 'VALIDATION_ERROR');
    expectError(await start(people.customer, { providerId: 1.5, customerId: 2 }), 400, 'VALIDATION_ERROR');
    expectError(await h.http('startConversation', { identity: people.customer }), 400, 'VALIDATION_ERROR');
  });
});

describe('POST /conversations/:id/messages', () => {
  it('stores the message (201) with every field of the contract, numbering seq 1, 2, 3 with no gaps', async () => {
    const id = await conversationFor(40);
    const sent: Loose[] = [];
    for (const [caller, content] of [
      [customerNo(40), 'Is the car ready?'],
      [people.staff, 'In ten minutes'],
      [customerNo(40), 'Great'],
    ] as const) {
      const reply = await send(caller, id, { content });
      expect(reply.status).toBe(201);
      expect(Object.keys(reply.json)).toEqual(['message']);
      sent.push(reply.json.message);
    }
    expect(sent.map((m) => m.seq)).toEqual([1, 2, 3]);
    const [first, second] = sent;
    expect(Object.keys(first).sort()).toEqual([...MESSAGE_FIELDS].sort());
    expect(first).toMatchObject({
      conversationId: id,
      senderId: 40,
      senderRole: 'customer',
      receiverId: 1,
      messageType: 'TEXT',
      content: 'Is the car ready?',
      attachments: null,
      status: 'SENT',
      deliveredAt: null,
      readAt: null,
      replyToId: null,
      metadata: null,
      clientMessageId: null,
    });
    expect(first.createdAt).toMatch(ISO);
    expect(first.updatedAt).toMatch(ISO);
    expect(second).toMatchObject({ senderId: 7, senderRole: 'provider', receiverId: 40 });
  });

  it('keeps attachments, metadata and a reply to a message of the same conversation', async () => {
    const id = await conversationFor(41);
    const intent = await h.http('createAttachment', { identity: customerNo(41), params: { conversationId: id }, body: { fileName: 'y.jpg', contentType: 'image/jpeg', size: 12 } });
    expect(intent.status).toBe(201);
    const upload = intent.json.attachment;
    await makeAttachmentStore({ prisma: h.database.prisma }).finish(upload.id, { status: 'READY', size: 12, contentType: 'image/jpeg', width: 2, height: 2, hasThumbnail: true }, new Date());
    const first = await send(customerNo(41), id, { content: 'photo', messageType: 'IMAGE', attachments: [{ id: upload.id }] });
    expect(first.status).toBe(201);
    const reply = await send(people.staff, id, { content: 'nice', replyToId: first.json.message.id, metadata: { source: 'app', tags: ['a'] } });
    expect(reply.status).toBe(201);
    expect(reply.json.message).toMatchObject({ replyToId: first.json.message.id, metadata: { source: 'app', tags: ['a'] } });
    expect(first.json.message).toMatchObject({ messageType: 'IMAGE', attachments: [{ ...upload, status: 'READY', width: 2, height: 2, hasThumbnail: true }] });
  });

  it("reaches every connection of both sides, the sender's own included, and nobody else", async () => {
    const since = h.mark();
    const reply = await send(people.customer, conversationId, { content: 'hello from the web app' });
    expect(reply.status).toBe(201);
    for (const id of [conn.customerPhone, conn.customerLaptop, conn.staff, conn.staff2]) {
      const frames = since(id).filter((f) => f.event === 'chat-new-message');
      expect(frames, id).toHaveLength(1);
      expect(frames[0]!.data.message).toEqual(reply.json.message);
    }
    expect(since(conn.otherCustomer)).toEqual([]);
    expect(since(conn.otherStaff)).toEqual([]);
  });

  it('answers 200 with the stored message for a repeated clientMessageId, and stores nothing new', async () => {
    const body = { content: 'only once', clientMessageId: 'web-42' };
    const first = await send(people.customer, conversationId, body);
    const again = await send(people.customer, conversationId, body);
    expect(first.status).toBe(201);
    expect(again.status).toBe(200);
    expect(again.json.message).toEqual(first.json.message);
    expect(await h.database.prisma.message.count({ where: { clientMessageId: 'web-42' } })).toBe(1);
    // Another sender may use the same client id: it is theirs.
    const staffs = await send(people.staff, conversationId, body);
    expect(staffs.status).toBe(201);
    expect(staffs.json.message.id).not.toBe(first.json.message.id);
  });

  it('answers 400 for blank text, a SYSTEM message, a reply to another conversation and malformed fields', async () => {
    const other = await conversationFor(42);
    const foreign = await send(customerNo(42), other, { content: 'elsewhere' });
    for (const body of [
      { content: '   ' },
      { content: 'x', messageType: 'SYSTEM' },
      { content: 'x', replyToId: foreign.json.message.id },
      { content: 42 },
      { content: 'x', messageType: 'GIF' },
      { content: 'x', clientMessageId: '' },
      {},
    ]) {
      expectError(await send(people.customer, conversationId, body), 400, 'VALIDATION_ERROR');
    }
  });

  it('answers 413 PAYLOAD_TOO_LARGE, with the limit, for content over the maximum length', async () => {
    const error = expectError(await send(people.customer, conversationId, { content: 'x'.repeat(4001) }), 413, 'PAYLOAD_TOO_LARGE');
    expect(error.details).toEqual({ field: 'content', maxLength: 4000, length: 4001 });
    // Emoji count as one character each.
    expect((await send(people.customer, conversationId, { content: '👋'.repeat(4000) })).status).toBe(201);
  });

  it('answers 404 for a conversation that does not exist and 403, without content, for an outsider', async () => {
    expectError(await send(people.customer, 'no-such-conversation', { content: 'x' }), 404, 'NOT_FOUND');
    const refused = expectError(await send(people.otherStaff, conversationId, { content: 'let me in' }), 403, 'FORBIDDEN');
    expect(JSON.stringify(refused)).not.toContain('hello from the web app');
    expectError(await send(people.admin, conversationId, { content: 'moderator here' }), 403, 'FORBIDDEN');
  });

  it('answers 429 RATE_LIMITED, saying when to retry, once a user sends faster than CHAT_SEND_RATE_LIMIT', async () => {
    const sender = customerNo(43);
    const id = await conversationFor(43);
    let created = 0;
    let limited: HttpReply | undefined;
    // A fixed window: the limit holds within one window, so a 429 comes within two windows' worth.
    for (let i = 0; i < 2 * RATE_LIMIT + 1 && !limited; i++) {
      const reply = await send(sender, id, { content: `burst ${i}` });
      if (reply.status === 429) limited = reply;
      else {
        expect(reply.status).toBe(201);
        created++;
      }
    }
    expect(limited).toBeDefined();
    expect(created).toBeGreaterThanOrEqual(RATE_LIMIT);
    const error = expectError(limited!, 429, 'RATE_LIMITED');
    expect(error.details.retryAfterMs).toBeGreaterThanOrEqual(0);
    expect(error.details.resetAt).toMatch(ISO);
    expect(await h.database.prisma.message.count({ where: { conversationId: id } })).toBe(created);
  });
});

describe('GET /conversations', () => {
  it("lists the caller side's conversations, newest activity first, each with its own unreadCount and lastMessage", async () => {
    const customer = customerNo(50);
    const older = await conversationFor(50, 1, 501);
    const newer = await conversationFor(50, 1, 502);
    const quiet = await conversationFor(50, 3);
    await send(people.staff, newer, { content: 'newer 1' });
    await send(people.staff, older, { content: 'older 1' });
    await send(people.staff, older, { content: 'older 2' });
    const latest = await send(customer, newer, { content: 'newer 2' });

    const reply = await h.http('listConversations', { identity: customer });
    expect(reply.status).toBe(200);
    expect(Object.keys(reply.json).sort()).toEqual(['conversations', 'nextCursor']);
    expect(reply.json.nextCursor).toBeNull();
    const list: Loose[] = reply.json.conversations;
    expect(list.map((c) => c.id)).toEqual([newer, older, quiet]);
    expect(list[0]).toMatchObject({ unreadCount: 1, lastSeq: 2, lastMessage: latest.json.message, archived: false });
    expect(list[1]).toMatchObject({ unreadCount: 2, lastMessage: expect.objectContaining({ content: 'older 2', seq: 2 }) });
    expect(list[2]).toMatchObject({ unreadCount: 0, lastMessage: null, providerId: 3 });

    // The provider's side counts what the customer sent.
    const inbox = await h.http('listConversations', { identity: people.staff2, query: { limit: '100' } });
    const seen = inbox.json.conversations.find((c: Loose) => c.id === newer);
    expect(seen).toMatchObject({ unreadCount: 1, lastMessage: expect.objectContaining({ content: 'newer 2' }) });
    expect(inbox.json.conversations.some((c: Loose) => c.id === quiet)).toBe(false);
  });

  it('pages with limit and nextCursor without repeating or skipping a conversation', async () => {
    const customer = customerNo(51);
    const ids: string[] = [];
    for (let order = 1; order <= 5; order++) ids.push(await conversationFor(51, 1, 510 + order));
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const reply = await h.http('listConversations', { identity: customer, query: { limit: '2', ...(cursor ? { cursor } : {}) } });
      expect(reply.status).toBe(200);
      expect(reply.json.conversations.length).toBeLessThanOrEqual(2);
      seen.push(...reply.json.conversations.map((c: Loose) => c.id));
      cursor = reply.json.nextCursor ?? undefined;
      pages++;
    } while (cursor && pages < 10);
    expect(pages).toBe(3);
    expect(new Set(seen).size).toBe(seen.length);
    expect([...seen].sort()).toEqual([...ids].sort());
    // The same order as one big page: newest activity first.
    const whole = await h.http('listConversations', { identity: customer, query: { limit: '100' } });
    expect(whole.json.conversations.map((c: Loose) => c.id)).toEqual(seen);
  });

  it('answers 400 for an unknown status, a limit that is not a positive integer or a cursor it never issued', async () => {
    for (const query of [{ status: 'DELETED' }, { limit: '0' }, { limit: 'ten' }, { cursor: 'not-a-cursor' }]) {
      expectError(await h.http('listConversations', { identity: people.customer, query }), 400, 'VALIDATION_ERROR');
    }
  });

  it('answers 403 for an admin, who has no inbox', async () => {
    expectError(await h.http('listConversations', { identity: people.admin }), 403, 'FORBIDDEN');
  });
});

describe('GET /conversations/:id/messages', () => {
  const total = 13;
  let id: string;

  beforeAll(async () => {
    id = await conversationFor(60);
    for (let i = 1; i <= total; i++) {
      const reply = await send(customerNo(60), id, { content: `m${i}` });
      expect(reply.status).toBe(201);
    }
  });

  const history = (query: Record<string, string>, identity: DevTokenSubject = customerNo(60)) =>
    h.http('getMessages', { identity, params: { conversationId: id }, query });

  it('page 1 is the newest page, ascending by seq, and page 2 the one before it', async () => {
    const first = await history({ limit: '5' });
    expect(first.status).toBe(200);
    expect(first.json.messages.map((m: Loose) => m.seq)).toEqual([9, 10, 11, 12, 13]);
    expect(first.json.pagination).toMatchObject({ page: 1, limit: 5, total, hasMore: true });
    const second = await history({ page: '2', limit: '5' });
    expect(second.json.messages.map((m: Loose) => m.seq)).toEqual([4, 5, 6, 7, 8]);
    const last = await history({ page: '3', limit: '5' });
    expect(last.json.messages.map((m: Loose) => m.seq)).toEqual([1, 2, 3]);
    expect(last.json.pagination.hasMore).toBe(false);
    expect((await history({ page: '4', limit: '5' })).json.messages).toEqual([]);
  });

  it('caps limit at CHAT_MESSAGE_LIMIT', async () => {
    const reply = await history({ limit: '500' });
    expect(reply.json.pagination.limit).toBe(MESSAGE_LIMIT);
    expect(reply.json.messages).toHaveLength(MESSAGE_LIMIT);
    expect((await history({})).json.messages).toHaveLength(MESSAGE_LIMIT);
  });

  it('after=<seq> catches up on everything newer, ascending, keyset-paged', async () => {
    const first = await history({ after: '4', limit: '5' });
    expect(first.json.messages.map((m: Loose) => m.seq)).toEqual([5, 6, 7, 8, 9]);
    expect(first.json.pagination).toMatchObject({ after: 4, hasMore: true, total });
    const next = await history({ after: '9', limit: '5' });
    expect(next.json.messages.map((m: Loose) => m.seq)).toEqual([10, 11, 12, 13]);
    expect(next.json.pagination.hasMore).toBe(false);
    expect((await history({ after: String(total) })).json.messages).toEqual([]);
  });

  it('before=<seq> answers the page just older, ascending', async () => {
    const reply = await history({ before: '6', limit: '3' });
    expect(reply.json.messages.map((m: Loose) => m.seq)).toEqual([3, 4, 5]);
    expect(reply.json.pagination).toMatchObject({ before: 6, hasMore: true });
    const oldest = await history({ before: '3', limit: '3' });
    expect(oldest.json.messages.map((m: Loose) => m.seq)).toEqual([1, 2]);
    expect(oldest.json.pagination.hasMore).toBe(false);
  });

  it('lets the provider side and an admin read, and refuses outsiders without content', async () => {
    expect((await history({}, people.staff2)).status).toBe(200);
    expect((await history({}, people.admin)).status).toBe(200);
    for (const outsider of [people.otherCustomer, people.otherStaff]) {
      const reply = await history({}, outsider);
      expectError(reply, 403, 'FORBIDDEN');
      expect(reply.body).not.toContain('m13');
    }
  });

  it('answers 400 for more than one of page/after/before, or numbers that are not positive integers', async () => {
    for (const query of [
      { page: '1', after: '2' },
      { after: '1', before: '5' },
      { page: '0' },
      { page: 'two' },
      { limit: '0' },
      { limit: '2.5' },
      { after: '-1' },
      { before: '0' },
      { after: '99999999999' },
    ] as Record<string, string>[]) {
      expectError(await history(query), 400, 'VALIDATION_ERROR');
    }
  });

  it('answers 400 for a malformed id and 404 for an unknown one', async () => {
    expectError(await h.http('getMessages', { identity: people.customer, params: { conversationId: 'x'.repeat(65) } }), 400, 'VALIDATION_ERROR');
    expectError(await h.http('getMessages', { identity: people.customer, params: { conversationId: '   ' } }), 400, 'VALIDATION_ERROR');
    expectError(await h.http('getMessages', { identity: people.customer, params: { conversationId: 'missing' } }), 404, 'NOT_FOUND');
  });
});

describe('PATCH /conversations/:id/read', () => {
  it("marks the other side's messages READ, zeroes the unread count and tells every connection of both sides", async () => {
    const first = await send(people.staff, conversationId, { content: 'your car is ready' });
    const second = await send(people.staff2, conversationId, { content: 'come by any time' });
    const before = await h.http('listConversations', { identity: people.customer });
    expect(before.json.conversations.find((c: Loose) => c.id === conversationId).unreadCount).toBeGreaterThanOrEqual(2);

    const since = h.mark();
    const reply = await h.http('markRead', { identity: people.customer, params: { conversationId } });
    expect(reply.status).toBe(200);
    expect(reply.json).toMatchObject({ conversationId, unreadCount: 0, lastReadSeq: second.json.message.seq });
    expect(reply.json.readCount).toBeGreaterThanOrEqual(2);

    for (const id of [conn.staff, conn.staff2, conn.customerPhone, conn.customerLaptop]) {
      const updates = since(id).filter((f) => f.event === 'chat-message-status-updated');
      const byMessage = new Map(updates.map((f) => [f.data.messageId, f.data]));
      for (const message of [first.json.message, second.json.message]) {
        expect(byMessage.get(message.id), id).toMatchObject({ conversationId, status: 'READ', userId: 2 });
        expect(byMessage.get(message.id).at).toMatch(ISO);
      }
    }
    expect(since(conn.otherStaff)).toEqual([]);
    expect(since(conn.otherCustomer)).toEqual([]);

    const after = await h.http('listConversations', { identity: people.customer });
    expect(after.json.conversations.find((c: Loose) => c.id === conversationId).unreadCount).toBe(0);
    const history = await h.http('getMessages', { identity: people.customer, params: { conversationId }, query: { after: String(first.json.message.seq - 1) } });
    const stored = history.json.messages.find((m: Loose) => m.id === first.json.message.id);
    expect(stored).toMatchObject({ status: 'READ' });
    expect(stored.readAt).toMatch(ISO);
  });

  it('with nothing unread answers readCount 0 and tells no one', async () => {
    const since = h.mark();
    const reply = await h.http('markRead', { identity: people.customer, params: { conversationId } });
    expect(reply.status).toBe(200);
    expect(reply.json).toMatchObject({ conversationId, unreadCount: 0, readCount: 0 });
    expect(since(conn.staff)).toEqual([]);
  });

  it('answers 403 for an admin or an outsider and 404 for an unknown conversation', async () => {
    expectError(await h.http('markRead', { identity: people.admin, params: { conversationId } }), 403, 'FORBIDDEN');
    expectError(await h.http('markRead', { identity: people.otherCustomer, params: { conversationId } }), 403, 'FORBIDDEN');
    expectError(await h.http('markRead', { identity: people.customer, params: { conversationId: 'missing' } }), 404, 'NOT_FOUND');
  });
});

describe('PATCH /conversations/:id/archive', () => {
  it("archives for the caller's side only; it shows under status=ARCHIVED until a new message brings it back", async () => {
    const customer = customerNo(70);
    const id = await conversationFor(70);
    await send(customer, id, { content: 'thanks!' });

    const reply = await h.http('archiveConversation', { identity: customer, params: { conversationId: id } });
    expect(reply.status).toBe(200);
    expect(Object.keys(reply.json)).toEqual(['conversation']);
    expect(reply.json.conversation).toMatchObject({ id, archived: true, status: 'ACTIVE' });
    expect(reply.json.conversation.archivedAt).toMatch(ISO);

    const ids = async (identity: DevTokenSubject, status?: string) =>
      (await h.http('listConversations', { identity, query: { limit: '100', ...(status ? { status } : {}) } })).json.conversations.map((c: Loose) => c.id);
    expect(await ids(customer)).not.toContain(id);
    expect(await ids(customer, 'ARCHIVED')).toContain(id);
    expect(await ids(people.staff)).toContain(id);
    expect(await ids(people.staff, 'ARCHIVED')).not.toContain(id);

    // Archiving twice keeps it archived.
    expect((await h.http('archiveConversation', { identity: customer, params: { conversationId: id } })).status).toBe(200);

    await send(people.staff, id, { content: 'one more thing' });
    expect(await ids(customer)).toContain(id);
    expect(await ids(customer, 'ARCHIVED')).not.toContain(id);
  });

  it('archives for every staff user of the provider at once (a shared inbox)', async () => {
    const id = await conversationFor(71);
    expect((await h.http('archiveConversation', { identity: people.staff, params: { conversationId: id } })).status).toBe(200);
    const list = await h.http('listConversations', { identity: people.staff2, query: { status: 'ARCHIVED', limit: '100' } });
    expect(list.json.conversations.map((c: Loose) => c.id)).toContain(id);
  });

  it('answers 403 for an admin or an outsider and 404 for an unknown conversation', async () => {
    expectError(await h.http('archiveConversation', { identity: people.admin, params: { conversationId } }), 403, 'FORBIDDEN');
    expectError(await h.http('archiveConversation', { identity: people.otherStaff, params: { conversationId } }), 403, 'FORBIDDEN');
    expectError(await h.http('archiveConversation', { identity: people.customer, params: { conversationId: 'missing' } }), 404, 'NOT_FOUND');
  });
});

describe('GET /conversations/:id/typing', () => {
  it('shows who is typing, and forgets them after CHAT_TYPING_TIMEOUT or when they stop', async () => {
    const typing = (identity: DevTokenSubject = people.customer) => h.http('getTyping', { identity, params: { conversationId } });
    const idle = await typing();
    expect(idle.status).toBe(200);
    expect(idle.json).toEqual({ conversationId, typing: [] });

    await h.ws.send(conn.staff, { action: 'typing', data: { conversationId, isTyping: true } });
    const now = await typing();
    expect(now.json.conversationId).toBe(conversationId);
    expect(now.json.typing).toEqual([{ userId: 7, role: 'provider', since: expect.stringMatching(ISO) }]);
    expect((await typing(people.admin)).json.typing).toHaveLength(1);

    await new Promise((resolve) => setTimeout(resolve, TYPING_TIMEOUT_MS + 100));
    expect((await typing()).json.typing).toEqual([]);

    await h.ws.send(conn.staff2, { action: 'chat-typing', data: { conversationId, isTyping: true } });
    expect((await typing()).json.typing.map((t: Loose) => t.userId)).toEqual([8]);
    await h.ws.send(conn.staff2, { action: 'chat-typing', data: { conversationId, isTyping: false } });
    expect((await typing()).json.typing).toEqual([]);
  });

  it('answers 403 for an outsider and 404 for an unknown conversation', async () => {
    expectError(await h.http('getTyping', { identity: people.otherCustomer, params: { conversationId } }), 403, 'FORBIDDEN');
    expectError(await h.http('getTyping', { identity: people.customer, params: { conversationId: 'missing' } }), 404, 'NOT_FOUND');
  });
});

describe('GET /online-users', () => {
  it('lists the online users who share a conversation with the caller, and every online user for an admin', async () => {
    const online = async (identity: DevTokenSubject) => {
      const reply = await h.http('onlineUsers', { identity });
      expect(reply.status).toBe(200);
      expect(Object.keys(reply.json)).toEqual(['users']);
      return reply.json.users as Loose[];
    };
    const forStaff = await online(people.staff);
    const customer = forStaff.find((u) => u.userId === 2);
    expect(customer).toEqual({ userId: 2, role: 'customer', lastSeen: expect.stringMatching(ISO) });
    expect(forStaff.some((u) => u.userId === 3)).toBe(false);

    const forCustomer = await online(people.customer);
    expect(forCustomer.map((u) => u.userId)).toEqual(expect.arrayContaining([7, 8]));
    expect(forCustomer.find((u) => u.userId === 7)).toEqual({ userId: 7, role: 'provider', providerId: 1, lastSeen: expect.stringMatching(ISO) });
    expect(forCustomer.some((u) => u.userId === 9)).toBe(false);

    expect((await online(people.admin)).map((u) => u.userId)).toEqual(expect.arrayContaining([2, 3, 7, 8, 9]));
    // Someone who shares no conversation with anyone online sees no one.
    expect(await online(customerNo(90))).toEqual([]);
  });

  it('drops a user once their last connection closes', async () => {
    const customer = customerNo(91);
    await conversationFor(91);
    await h.ws.connect('c91-a', { token: h.token(customer) });
    expect((await h.http('onlineUsers', { identity: people.staff })).json.users.map((u: Loose) => u.userId)).toContain(91);
    await h.ws.disconnect('c91-a');
    expect((await h.http('onlineUsers', { identity: people.staff })).json.users.map((u: Loose) => u.userId)).not.toContain(91);
  });
});

describe('GET /health and /api/docs', () => {
  it('/health answers 200 {"status":"ok"} without a token', async () => {
    const reply = await h.http('health');
    expect(reply.status).toBe(200);
    expect(reply.json).toEqual({ status: 'ok' });
  });

  it('/api/docs answers an HTML page that names every route', async () => {
    const reply = await h.http('apiDocs');
    expect(reply.status).toBe(200);
    expect(reply.headers['content-type']).toMatch(/^text\/html/);
    expect(reply.body).toMatch(/^<!doctype html>/i);
    for (const route of HTTP_ROUTES) expect(reply.body).toContain(route.path);
    expect(reply.body).toContain('/api/docs/openapi.json');
  });

  it('/api/docs/openapi.json answers an OpenAPI 3.1 document listing every route with its operationId', async () => {
    const reply = await h.http('openApiDocument');
    expect(reply.status).toBe(200);
    expect(reply.headers['content-type']).toMatch(/^application\/json/);
    const doc = reply.json;
    expect(doc.openapi).toMatch(/^3\.1\./);
    expect(doc.info).toMatchObject({ title: expect.any(String), version: expect.any(String) });
    expect(doc.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(doc.components.schemas).toHaveProperty('Message');
    expect(doc.components.schemas).toHaveProperty('Error');
    for (const route of HTTP_ROUTES) {
      const operation = doc.paths[route.path]?.[route.method.toLowerCase()];
      expect(operation, `${route.method} ${route.path}`).toBeDefined();
      expect(operation.operationId).toBe(route.name);
      expect(Object.keys(operation.responses).length).toBeGreaterThan(0);
      if (route.authorized) {
        expect(operation.security).toBeUndefined();
        expect(operation.responses).toHaveProperty('401');
      } else {
        expect(operation.security).toEqual([]);
      }
    }
    const pathParams = doc.paths['/api/provider-customer-chat/conversations/{conversationId}/messages'].get.parameters;
    expect(pathParams).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'conversationId', in: 'path', required: true })]));
    // Every $ref points at a component that exists.
    const refs = [...reply.body.matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)].map((m) => m[1]!);
    for (const ref of refs) expect(doc.components.schemas, ref).toHaveProperty(ref);
    // The document names the server it was asked through.
    expect(doc.servers?.[0]?.url).toMatch(/^https:\/\//);
  });

  it('/api/docs answers the document itself to a client that accepts JSON', async () => {
    const reply = await h.http('apiDocs', { headers: { accept: 'application/json' } });
    expect(reply.status).toBe(200);
    expect(reply.json.openapi).toMatch(/^3\.1\./);
  });
});

describe('errors', () => {
  it('answers 401 UNAUTHORIZED when a request reaches a handler without verified claims', async () => {
    for (const route of HTTP_ROUTES.filter((r) => r.authorized)) {
      const reply = await h.http(route.name, { params: { conversationId }, body: { providerId: 1, customerId: 2, content: 'x' } });
      expectError(reply, 401, 'UNAUTHORIZED');
    }
  });

  it('answers 401 UNAUTHORIZED for claims that do not make an identity, naming the claim but not its value', async () => {
    for (const claims of [
      { role: 'customer' },
      { userId: 'abc', role: 'customer' },
      { userId: '0', role: 'customer' },
      { userId: '2', role: 'superuser' },
      { userId: '7', role: 'provider' },
      { userId: '7', role: 'provider', providerId: '-1' },
    ] as Record<string, string>[]) {
      const error = expectError(await h.http('listConversations', { claims }), 401, 'UNAUTHORIZED');
      expect(error.message).not.toContain('superuser');
      expect(error.message).not.toContain('abc');
    }
  });

  it('behind the JWT authorizer, a missing, expired, wrongly addressed or foreign token never reaches the handler', async () => {
    for (const token of ['', 'not-a-jwt', h.expiredToken(people.customer), h.wrongAudienceToken(people.customer), h.otherKeyToken(people.customer)]) {
      const reply = await h.http('listConversations', { token });
      expect(reply.status).toBe(401);
      expect(reply.invoked).toBe(false);
    }
  });

  it('answers 500 INTERNAL with a generic message when something breaks inside, never the internals', async () => {
    const secret = 'internal-secret-content';
    await send(people.customer, conversationId, { content: secret });
    await h.database.prisma.$executeRawUnsafe('ALTER TABLE "providerCustomerMessages" RENAME TO "providerCustomerMessagesAway"');
    try {
      for (const reply of [
        await h.http('getMessages', { identity: people.customer, params: { conversationId } }),
        await send(people.customer, conversationId, { content: 'during the outage' }),
      ]) {
        const error = expectError(reply, 500, 'INTERNAL');
        expect(reply.json).toEqual({ error: { code: 'INTERNAL', message: error.message } });
        for (const leak of ['providerCustomerMessages', 'relation', 'prisma', 'Prisma', 'SELECT', 'INSERT', 'node_modules', '    at ', secret]) {
          expect(reply.body).not.toContain(leak);
        }
      }
    } finally {
      await h.database.prisma.$executeRawUnsafe('ALTER TABLE "providerCustomerMessagesAway" RENAME TO "providerCustomerMessages"');
    }
    expect((await h.http('getMessages', { identity: people.customer, params: { conversationId } })).status).toBe(200);
  });
});
