import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '#tests/support/postgres';
import { makeConversationStore } from '#adapters/postgres/conversation-store';
import { makeMessageStore } from '#adapters/postgres/message-store';
import { ValidationError } from '#core/errors';
import type { ConversationStore, MessageStore } from '#core/ports';

let db: Awaited<ReturnType<typeof createTestDatabase>>;
let conversations: ConversationStore;
let messages: MessageStore;

beforeAll(async () => {
  db = await createTestDatabase();
  conversations = makeConversationStore({ prisma: db.prisma });
  messages = makeMessageStore({ prisma: db.prisma });
});
afterAll(async () => db?.drop());

let nextId = 1000;
const fresh = () => nextId++;

describe('startOrGet', () => {
  it('creates a conversation once and then returns the same ACTIVE one', async () => {
    const key = { providerId: fresh(), customerId: fresh(), orderId: 123 };
    const first = await conversations.startOrGet(key);
    const second = await conversations.startOrGet(key);
    expect(first.created).toBe(true);
    expect(second.created).toBe(false);
    expect(second.conversation.id).toBe(first.conversation.id);
    expect(first.conversation).toMatchObject({ ...key, status: 'ACTIVE', lastSeq: 0, lastMessageAt: null });
  });

  it('treats a missing order as its own key, distinct from any order', async () => {
    const providerId = fresh();
    const customerId = fresh();
    const noOrder = await conversations.startOrGet({ providerId, customerId, orderId: null });
    const again = await conversations.startOrGet({ providerId, customerId, orderId: null });
    const withOrder = await conversations.startOrGet({ providerId, customerId, orderId: 5 });
    expect(again.conversation.id).toBe(noOrder.conversation.id);
    expect(withOrder.conversation.id).not.toBe(noOrder.conversation.id);
  });

  it('creates exactly one conversation and two participants under 20 concurrent calls', async () => {
    const key = { providerId: fresh(), customerId: fresh(), orderId: null };
    const results = await Promise.all(Array.from({ length: 20 }, () => conversations.startOrGet(key)));
    expect(new Set(results.map((r) => r.conversation.id)).size).toBe(1);
    expect(results.filter((r) => r.created)).toHaveLength(1);
    const participants = await db.prisma.participant.findMany({ where: { conversationId: results[0]!.conversation.id } });
    expect(participants.map((p) => [p.side, p.partyId]).sort()).toEqual([
      ['customer', key.customerId],
      ['provider', key.providerId],
    ]);
  });

  it('starts a new conversation once the previous one has ended', async () => {
    const key = { providerId: fresh(), customerId: fresh(), orderId: null };
    const first = await conversations.startOrGet(key);
    await db.prisma.conversation.update({ where: { id: first.conversation.id }, data: { status: 'ENDED', activeKey: null } });
    const second = await conversations.startOrGet(key);
    expect(second.created).toBe(true);
    expect(second.conversation.id).not.toBe(first.conversation.id);
  });
});

describe('listForParty', () => {
  it('lists newest activity first with each side’s own unread count and last message', async () => {
    const providerId = fresh();
    const customerId = fresh();
    const older = (await conversations.startOrGet({ providerId, customerId, orderId: 1 })).conversation;
    const newer = (await conversations.startOrGet({ providerId, customerId, orderId: 2 })).conversation;
    await messages.append({ conversationId: newer.id, senderId: customerId, senderRole: 'customer', senderPartyId: customerId, messageType: 'TEXT', content: 'hi' });
    await messages.append({ conversationId: newer.id, senderId: customerId, senderRole: 'customer', senderPartyId: customerId, messageType: 'TEXT', content: 'anyone?' });

    const providerView = await conversations.listForParty({ side: 'provider', partyId: providerId }, { archived: false, limit: 10 });
    expect(providerView.conversations.map((c) => c.id)).toEqual([newer.id, older.id]);
    expect(providerView.conversations[0]).toMatchObject({ unreadCount: 2, lastSeq: 2 });
    expect(providerView.conversations[0]!.lastMessage).toMatchObject({ content: 'anyone?', seq: 2, senderRole: 'customer' });
    expect(providerView.conversations[0]!.lastMessage!.createdAt).toBeInstanceOf(Date);
    expect(providerView.conversations[1]).toMatchObject({ unreadCount: 0, lastMessage: null });

    const customerView = await conversations.listForParty({ side: 'customer', partyId: customerId }, { archived: false, limit: 10 });
    expect(customerView.conversations[0]).toMatchObject({ id: newer.id, unreadCount: 0 });
    expect(customerView.nextCursor).toBeNull();
  });

  it('pages through a long inbox with cursors, each conversation exactly once', async () => {
    const providerId = fresh();
    const created: string[] = [];
    for (let i = 0; i < 7; i++) {
      created.unshift((await conversations.startOrGet({ providerId, customerId: fresh(), orderId: null })).conversation.id);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page = await conversations.listForParty({ side: 'provider', partyId: providerId }, { archived: false, limit: 3, cursor });
      seen.push(...page.conversations.map((c) => c.id));
      cursor = page.nextCursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual(created);
  });

  it('rejects a cursor it did not issue', async () => {
    await expect(
      conversations.listForParty({ side: 'customer', partyId: 1 }, { archived: false, limit: 3, cursor: 'not-a-cursor' }),
    ).rejects.toBeInstanceOf(ValidationError);
  });

  it('archives for one side only, and a new message brings it back to the inbox', async () => {
    const providerId = fresh();
    const customerId = fresh();
    const { conversation } = await conversations.startOrGet({ providerId, customerId, orderId: null });
    const archived = await conversations.archive(conversation.id, 'customer', new Date());
    expect(archived?.summary.archivedAt).toBeInstanceOf(Date);

    const customer = { side: 'customer' as const, partyId: customerId };
    expect((await conversations.listForParty(customer, { archived: false, limit: 10 })).conversations).toHaveLength(0);
    expect((await conversations.listForParty(customer, { archived: true, limit: 10 })).conversations.map((c) => c.id)).toEqual([conversation.id]);
    const providerInbox = await conversations.listForParty({ side: 'provider', partyId: providerId }, { archived: false, limit: 10 });
    expect(providerInbox.conversations.map((c) => c.id)).toEqual([conversation.id]);

    await messages.append({ conversationId: conversation.id, senderId: 7, senderRole: 'provider', senderPartyId: providerId, messageType: 'TEXT', content: 'Your car is ready' });
    const back = await conversations.listForParty(customer, { archived: false, limit: 10 });
    expect(back.conversations.map((c) => [c.id, c.unreadCount, c.archivedAt])).toEqual([[conversation.id, 1, null]]);
  });

  it('returns null when archiving a conversation that does not exist', async () => {
    expect(await conversations.archive('missing', 'customer', new Date())).toBeNull();
  });
});

describe('counterpartsOf', () => {
  it('names the other side of every conversation a party takes part in', async () => {
    const customerId = fresh();
    const [p1, p2] = [fresh(), fresh()];
    await conversations.startOrGet({ providerId: p1, customerId, orderId: 1 });
    await conversations.startOrGet({ providerId: p1, customerId, orderId: 2 });
    await conversations.startOrGet({ providerId: p2, customerId, orderId: null });
    const parties = await conversations.counterpartsOf({ side: 'customer', partyId: customerId });
    expect(parties.sort((a, b) => a.partyId - b.partyId)).toEqual([
      { side: 'provider', partyId: p1 },
      { side: 'provider', partyId: p2 },
    ]);
    expect(await conversations.counterpartsOf({ side: 'provider', partyId: p2 })).toEqual([{ side: 'customer', partyId: customerId }]);
  });
});
