import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '#tests/support/postgres';
import { makeConversationStore } from '#adapters/postgres/conversation-store';
import { makeMessageStore } from '#adapters/postgres/message-store';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '#core/errors';
import type { AppendMessageInput, ConversationStore, MessageStore } from '#core/ports';
import type { Conversation } from '#core/model';

let db: Awaited<ReturnType<typeof createTestDatabase>>;
let conversations: ConversationStore;
let messages: MessageStore;

beforeAll(async () => {
  db = await createTestDatabase();
  conversations = makeConversationStore({ prisma: db.prisma });
  messages = makeMessageStore({ prisma: db.prisma });
});
afterAll(async () => db?.drop());

let nextId = 5000;
async function newConversation(): Promise<Conversation> {
  return (await conversations.startOrGet({ providerId: nextId++, customerId: nextId++, orderId: null })).conversation;
}

function fromCustomer(conversation: Conversation, content: string, extra: Partial<AppendMessageInput> = {}): AppendMessageInput {
  return {
    conversationId: conversation.id,
    senderId: conversation.customerId,
    senderRole: 'customer',
    senderPartyId: conversation.customerId,
    messageType: 'TEXT',
    content,
    ...extra,
  };
}
function fromProvider(conversation: Conversation, content: string, staffUserId = 70): AppendMessageInput {
  return { conversationId: conversation.id, senderId: staffUserId, senderRole: 'provider', senderPartyId: conversation.providerId, messageType: 'TEXT', content };
}

async function participant(conversationId: string, side: 'customer' | 'provider') {
  return db.prisma.participant.findUniqueOrThrow({ where: { conversationId_side: { conversationId, side } } });
}

function fromService(conversation: Conversation, content: string, extra: Partial<AppendMessageInput> = {}): AppendMessageInput {
  return { conversationId: conversation.id, senderId: 0, senderRole: 'system', senderPartyId: null, messageType: 'SYSTEM', content, ...extra };
}

describe("a service's SYSTEM messages", () => {
  it('are sent by neither side: any conversation takes them, both sides count them unread, the customer is the receiver', async () => {
    const conv = await newConversation();
    await messages.append(fromCustomer(conv, 'booked?'));
    const { message, created } = await messages.append(fromService(conv, 'Booking confirmed', { metadata: { card: { title: 'Booking confirmed' } } }));
    expect(created).toBe(true);
    expect(message).toMatchObject({ seq: 2, senderId: 0, senderRole: 'system', receiverId: conv.customerId, messageType: 'SYSTEM' });
    expect((await participant(conv.id, 'customer')).unreadCount).toBe(1);
    expect((await participant(conv.id, 'provider')).unreadCount).toBe(2);
    const page = await messages.history(conv.id, { kind: 'after', afterSeq: 0, limit: 10 });
    expect(page.messages.map((m) => m.senderRole)).toEqual(['customer', 'system']);
  });

  it('are read by each side for itself, by mark-read; a receipt moves neither side', async () => {
    const conv = await newConversation();
    const { message } = await messages.append(fromService(conv, 'Order cancelled'));
    await messages.advanceStatus(message.id, 'READ', new Date());
    expect((await participant(conv.id, 'customer')).unreadCount).toBe(1);
    expect((await participant(conv.id, 'provider')).unreadCount).toBe(1);
    await messages.markRead(conv.id, 'customer', new Date());
    expect((await participant(conv.id, 'customer'))).toMatchObject({ unreadCount: 0, lastReadSeq: 1 });
    expect((await participant(conv.id, 'provider'))).toMatchObject({ unreadCount: 1, lastReadSeq: 0 });
    await messages.markRead(conv.id, 'provider', new Date());
    expect((await participant(conv.id, 'provider'))).toMatchObject({ unreadCount: 0, lastReadSeq: 1 });
  });

  it('repeat nothing for a repeated clientMessageId, and refuse a conversation that is not ACTIVE', async () => {
    const conv = await newConversation();
    const first = await messages.append(fromService(conv, 'Booking moved', { clientMessageId: 'booking-9-moved' }));
    const again = await messages.append(fromService(conv, 'Booking moved', { clientMessageId: 'booking-9-moved' }));
    expect(again).toMatchObject({ created: false, message: { id: first.message.id } });
    expect((await participant(conv.id, 'customer')).unreadCount).toBe(1);
    await conversations.transition(conv.id, { from: ['ACTIVE'], to: 'ENDED', blockedBy: null, at: new Date() });
    await expect(messages.append(fromService(conv, 'late'))).rejects.toBeInstanceOf(ConflictError);
    await expect(messages.append(fromService({ ...conv, id: 'no-such-conversation' }, 'x'))).rejects.toBeInstanceOf(NotFoundError);
  });
});

describe('append', () => {
  it('numbers messages 1, 2, 3, addresses the other side and counts them unread for it', async () => {
    const conv = await newConversation();
    const a = await messages.append(fromCustomer(conv, 'hello'));
    const b = await messages.append(fromProvider(conv, 'hi, how can we help?'));
    const c = await messages.append(fromCustomer(conv, 'wash at 3pm?'));
    expect([a, b, c].map((r) => [r.message.seq, r.created])).toEqual([[1, true], [2, true], [3, true]]);
    expect(a.message).toMatchObject({ receiverId: conv.providerId, senderRole: 'customer', status: 'SENT', messageType: 'TEXT' });
    expect(b.message).toMatchObject({ receiverId: conv.customerId, senderId: 70, senderRole: 'provider' });
    expect((await participant(conv.id, 'provider')).unreadCount).toBe(2);
    expect((await participant(conv.id, 'customer')).unreadCount).toBe(1);
    const stored = await conversations.get(conv.id);
    expect(stored?.lastSeq).toBe(3);
    expect(stored?.lastMessageAt?.getTime()).toBe(c.message.createdAt.getTime());
  });

  it('keeps timestamps in UTC and JSON fields intact through a round trip', async () => {
    const conv = await newConversation();
    const before = Date.now();
    const { message } = await messages.append(
      fromCustomer(conv, 'here is the spot', {
        messageType: 'LOCATION',
        attachments: [{ url: 'https://cdn.example/a.jpg', size: 1200 }],
        metadata: { lat: 52.52, lng: 13.4, note: 'gate "B"' },
      }),
    );
    expect(Math.abs(message.createdAt.getTime() - before)).toBeLessThan(5000);
    const read = await messages.get(message.id);
    expect(read).toEqual(message);
    expect(read?.attachments).toEqual([{ url: 'https://cdn.example/a.jpg', size: 1200 }]);
    expect(read?.metadata).toEqual({ lat: 52.52, lng: 13.4, note: 'gate "B"' });
  });

  it('gives 100 parallel appends seq 1..100 with no gap or duplicate', async () => {
    const conv = await newConversation();
    const results = await Promise.all(Array.from({ length: 100 }, (_, i) => messages.append(fromCustomer(conv, `m${i}`))));
    expect(results.map((r) => r.message.seq).sort((x, y) => x - y)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    expect((await conversations.get(conv.id))?.lastSeq).toBe(100);
    expect((await participant(conv.id, 'provider')).unreadCount).toBe(100);
  });

  it('stores one row for 50 parallel sends with one clientMessageId and answers all 50 with it', async () => {
    const conv = await newConversation();
    const input = fromCustomer(conv, 'only once', { clientMessageId: 'c-1' });
    const results = await Promise.all(Array.from({ length: 50 }, () => messages.append(input)));
    expect(await db.prisma.message.count({ where: { conversationId: conv.id } })).toBe(1);
    expect(new Set(results.map((r) => JSON.stringify(r.message))).size).toBe(1);
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect((await participant(conv.id, 'provider')).unreadCount).toBe(1);
    // No seq was burnt by the losers: the next message is 2.
    expect((await messages.append(fromCustomer(conv, 'next'))).message.seq).toBe(2);
  });

  it('refuses a sender who is not that side of the conversation, storing nothing', async () => {
    const conv = await newConversation();
    const stranger = { ...fromCustomer(conv, 'let me in'), senderId: 1, senderPartyId: 1 };
    await expect(messages.append(stranger)).rejects.toBeInstanceOf(ForbiddenError);
    const otherBusiness = { ...fromProvider(conv, 'wrong shop'), senderPartyId: conv.providerId + 1 };
    await expect(messages.append(otherBusiness)).rejects.toBeInstanceOf(ForbiddenError);
    expect((await conversations.get(conv.id))?.lastSeq).toBe(0);
  });

  it('scopes clientMessageId to its sender', async () => {
    const conv = await newConversation();
    const mine = await messages.append(fromCustomer(conv, 'a', { clientMessageId: 'same' }));
    const theirs = await messages.append({ ...fromProvider(conv, 'b'), clientMessageId: 'same' });
    expect(theirs.created).toBe(true);
    expect(theirs.message.id).not.toBe(mine.message.id);
  });

  it('refuses a missing conversation, an ended one and a foreign reply without storing anything', async () => {
    await expect(messages.append({ ...fromCustomer(await newConversation(), 'x'), conversationId: 'nope' })).rejects.toBeInstanceOf(NotFoundError);

    const ended = await newConversation();
    await db.prisma.conversation.update({ where: { id: ended.id }, data: { status: 'ENDED', activeKey: null } });
    await expect(messages.append(fromCustomer(ended, 'late'))).rejects.toBeInstanceOf(ConflictError);

    const conv = await newConversation();
    const other = await newConversation();
    const foreign = await messages.append(fromCustomer(other, 'elsewhere'));
    await expect(messages.append(fromCustomer(conv, 're', { replyToId: foreign.message.id }))).rejects.toBeInstanceOf(ValidationError);
    expect((await conversations.get(conv.id))?.lastSeq).toBe(0);

    const original = await messages.append(fromCustomer(conv, 'original'));
    const reply = await messages.append(fromProvider(conv, 'reply'));
    const replied = await messages.append({ ...fromCustomer(conv, 'thanks'), replyToId: reply.message.id });
    expect(replied.message).toMatchObject({ replyToId: reply.message.id, seq: 3 });
    expect(original.message.seq).toBe(1);
  });
});

describe('history', () => {
  let conv: Conversation;
  beforeAll(async () => {
    conv = await newConversation();
    for (let i = 1; i <= 25; i++) await messages.append(fromCustomer(conv, `m${i}`));
  });
  const seqs = (page: { messages: { seq: number }[] }) => page.messages.map((m) => m.seq);

  it('serves page 1 as the newest page, ascending inside the page', async () => {
    const page = await messages.history(conv.id, { kind: 'page', page: 1, limit: 10 });
    expect(seqs(page)).toEqual([16, 17, 18, 19, 20, 21, 22, 23, 24, 25]);
    expect(page).toMatchObject({ hasMore: true, total: 25 });
    const last = await messages.history(conv.id, { kind: 'page', page: 3, limit: 10 });
    expect(seqs(last)).toEqual([1, 2, 3, 4, 5]);
    expect(last.hasMore).toBe(false);
    expect((await messages.history(conv.id, { kind: 'page', page: 4, limit: 10 })).messages).toEqual([]);
  });

  it('catches up with after= and walks back with before=', async () => {
    const after = await messages.history(conv.id, { kind: 'after', afterSeq: 20, limit: 3 });
    expect(seqs(after)).toEqual([21, 22, 23]);
    expect(after.hasMore).toBe(true);
    const rest = await messages.history(conv.id, { kind: 'after', afterSeq: 23, limit: 3 });
    expect(seqs(rest)).toEqual([24, 25]);
    expect(rest.hasMore).toBe(false);

    const before = await messages.history(conv.id, { kind: 'before', beforeSeq: 6, limit: 3 });
    expect(seqs(before)).toEqual([3, 4, 5]);
    expect(before.hasMore).toBe(true);
    const oldest = await messages.history(conv.id, { kind: 'before', beforeSeq: 3, limit: 3 });
    expect(seqs(oldest)).toEqual([1, 2]);
    expect(oldest.hasMore).toBe(false);
  });

  it('answers an empty page for a conversation without messages', async () => {
    const empty = await newConversation();
    expect(await messages.history(empty.id, { kind: 'page', page: 1, limit: 10 })).toEqual({ messages: [], hasMore: false, total: 0 });
  });
});

describe('status', () => {
  it('moves only forward and stamps deliveredAt and readAt', async () => {
    const conv = await newConversation();
    const { message } = await messages.append(fromCustomer(conv, 'status me'));
    const at = new Date('2026-01-01T10:00:00.000Z');
    const delivered = await messages.advanceStatus(message.id, 'DELIVERED', at);
    expect(delivered?.message).toMatchObject({ status: 'DELIVERED', deliveredAt: at, readAt: null });
    expect(delivered?.changes).toEqual([expect.objectContaining({ type: 'message.status', data: { status: 'DELIVERED' } })]);
    expect(await messages.advanceStatus(message.id, 'DELIVERED', new Date())).toBeNull();

    const readAt = new Date('2026-01-01T10:05:00.000Z');
    const read = await messages.advanceStatus(message.id, 'READ', readAt);
    expect(read?.message).toMatchObject({ status: 'READ', deliveredAt: at, readAt });
    expect(await messages.advanceStatus(message.id, 'DELIVERED', new Date())).toBeNull();
    expect(await messages.advanceStatus(message.id, 'READ', new Date())).toBeNull();
    expect((await participant(conv.id, 'provider')).unreadCount).toBe(0);
  });

  it('sets deliveredAt too when a message is read straight away', async () => {
    const conv = await newConversation();
    const { message } = await messages.append(fromProvider(conv, 'hi'));
    const at = new Date('2026-02-02T02:02:02.002Z');
    expect((await messages.advanceStatus(message.id, 'READ', at))?.message).toMatchObject({ status: 'READ', deliveredAt: at, readAt: at });
    expect((await participant(conv.id, 'customer')).unreadCount).toBe(0);
  });

  it('marks everything from the other side read for one side and resets its unread count', async () => {
    const conv = await newConversation();
    const c1 = await messages.append(fromCustomer(conv, 'one'));
    await messages.append(fromProvider(conv, 'answer'));
    const c2 = await messages.append(fromCustomer(conv, 'two'));
    await messages.advanceStatus(c1.message.id, 'DELIVERED', new Date());

    const result = await messages.markRead(conv.id, 'provider', new Date());
    expect(result.messages.map((m) => [m.seq, m.status])).toEqual([[1, 'READ'], [3, 'READ']]);
    expect(result.lastReadSeq).toBe(3);
    expect((await participant(conv.id, 'provider')).unreadCount).toBe(0);
    expect((await messages.get(c2.message.id))?.readAt).toBeInstanceOf(Date);
    // The provider's own message is the customer's to read.
    expect((await participant(conv.id, 'customer')).unreadCount).toBe(1);
    expect((await messages.markRead(conv.id, 'provider', new Date())).messages).toEqual([]);
  });
});

describe('the send rate counted by the append', () => {
  const WINDOW = 10_000;
  const T0 = Date.UTC(2030, 0, 1);
  let rateSeq = 0;
  const rateOf = (limit: number, now = T0) => ({ key: `send:rate-test-${++rateSeq}`, limit, windowMs: WINDOW, now });

  it('stores sends up to the limit, then refuses without storing until the window ends', async () => {
    const conv = await newConversation();
    const rate = rateOf(2);
    for (const content of ['one', 'two']) expect(await messages.append(fromCustomer(conv, content), rate)).toMatchObject({ created: true });
    expect(await messages.append(fromCustomer(conv, 'three'), rate)).toEqual({ rateLimited: true, resetAt: T0 + WINDOW });
    expect((await messages.history(conv.id, { kind: 'after', afterSeq: 0, limit: 10 })).messages.map((m) => m.content)).toEqual(['one', 'two']);
    expect((await participant(conv.id, 'provider')).unreadCount).toBe(2);
    // The next window counts again from zero.
    expect(await messages.append(fromCustomer(conv, 'four'), { ...rate, now: T0 + WINDOW })).toMatchObject({ created: true, message: { seq: 3 } });
  });

  it('answers over the rate before anything else, and counts a send it refuses for another reason', async () => {
    const conv = await newConversation();
    const other = await newConversation();
    const rate = rateOf(1);
    // Not a participant: refused, but counted, as a limiter in front of the store would count it.
    await expect(messages.append({ ...fromCustomer(other, 'hi'), senderPartyId: conv.customerId, senderId: conv.customerId }, rate)).rejects.toBeInstanceOf(ForbiddenError);
    expect(await messages.append(fromCustomer(conv, 'hi'), rate)).toMatchObject({ rateLimited: true });
    expect(await messages.append(fromCustomer(conv, 'no limit'))).toMatchObject({ created: true });
  });

  it('never lets concurrent sends together pass the limit', async () => {
    const conversationsOfSender = await Promise.all(Array.from({ length: 4 }, () => newConversation()));
    const rate = rateOf(5);
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) => messages.append(fromCustomer(conversationsOfSender[i % 4]!, `m${i}`), rate)),
    );
    expect(results.filter((result) => 'created' in result)).toHaveLength(5);
    expect(results.filter((result) => 'rateLimited' in result)).toHaveLength(7);
  });

  it('refuses everything with a limit below one', async () => {
    const conv = await newConversation();
    expect(await messages.append(fromCustomer(conv, 'x'), rateOf(0))).toMatchObject({ rateLimited: true });
  });
});
