/**
 * The unread invariant under concurrency, against real Postgres: whatever the interleaving of
 * sends, mark-reads and single READ receipts, a side's `unreadCount` equals the number of messages
 * from the other side with a seq above its `lastReadSeq`, and every message from the other side
 * at or below `lastReadSeq` is READ.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '#tests/support/postgres';
import { createPrismaClient, type PrismaClient } from '#adapters/postgres/prisma-client';
import { makeConversationStore } from '#adapters/postgres/conversation-store';
import { makeMessageStore } from '#adapters/postgres/message-store';
import type { AppendMessageInput, ConversationStore, MessageStore } from '#core/ports';
import type { Conversation, Side } from '#core/model';

let db: Awaited<ReturnType<typeof createTestDatabase>>;
/** A wider pool than the shared test client's, so the operations really run side by side. */
let prisma: PrismaClient;
let conversations: ConversationStore;
let messages: MessageStore;

beforeAll(async () => {
  db = await createTestDatabase();
  prisma = createPrismaClient(db.url, { poolSize: 16 });
  conversations = makeConversationStore({ prisma });
  messages = makeMessageStore({ prisma });
});
afterAll(async () => {
  await prisma?.$disconnect();
  await db?.drop();
});

let nextId = 9000;
async function newConversation(): Promise<Conversation> {
  return (await conversations.startOrGet({ providerId: nextId++, customerId: nextId++, orderId: null })).conversation;
}

function fromCustomer(conversation: Conversation, content: string): AppendMessageInput {
  const { id: conversationId, customerId } = conversation;
  return { conversationId, senderId: customerId, senderRole: 'customer', senderPartyId: customerId, messageType: 'TEXT', content };
}
function fromProvider(conversation: Conversation, content: string): AppendMessageInput {
  const { id: conversationId, providerId } = conversation;
  return { conversationId, senderId: 70, senderRole: 'provider', senderPartyId: providerId, messageType: 'TEXT', content };
}

interface SideState {
  side: Side;
  unreadCount: number;
  lastReadSeq: number;
  /** Messages from the other side above lastReadSeq. */
  unreadTruth: number;
  /** Messages from the other side at or below lastReadSeq that are not READ. */
  unreadBelow: number;
}

/** Both sides' state and the truth, read in one statement (one snapshot). */
async function sides(conversationId: string): Promise<SideState[]> {
  const rows = await prisma.$queryRaw<SideState[]>`
    SELECT p.side::text AS side, p."unreadCount" AS "unreadCount", p."lastReadSeq" AS "lastReadSeq",
           (SELECT count(*)::int FROM "providerCustomerMessages" m
             WHERE m."conversationId" = p."conversationId" AND m."senderRole"::text <> p.side::text AND m.seq > p."lastReadSeq") AS "unreadTruth",
           (SELECT count(*)::int FROM "providerCustomerMessages" m
             WHERE m."conversationId" = p."conversationId" AND m."senderRole"::text <> p.side::text AND m.seq <= p."lastReadSeq"
               AND m.status <> 'READ') AS "unreadBelow"
      FROM "chatParticipants" p
     WHERE p."conversationId" = ${conversationId}
     ORDER BY p.side`;
  return rows;
}

function expectInvariant(states: SideState[], round: number) {
  for (const state of states) {
    const seen = { round, side: state.side, lastReadSeq: state.lastReadSeq, unreadCount: state.unreadCount, unreadBelow: state.unreadBelow };
    expect(seen).toEqual({ ...seen, unreadCount: state.unreadTruth, unreadBelow: 0 });
  }
}

const ROUNDS = 12;
const SENDS = 10;

describe('unreadCount under concurrency', () => {
  it('a mark-read racing parallel sends from the other side never leaves the count off the truth', async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const conv = await newConversation();
      for (let i = 0; i < 5; i++) await messages.append(fromCustomer(conv, `before ${i}`));
      const sends = Array.from({ length: SENDS }, (_, i) => messages.append(fromCustomer(conv, `race ${i}`)));
      // The mark-read starts among the sends, at a different point each round.
      const markRead = new Promise((resolve) => setTimeout(resolve, round % 4)).then(() => messages.markRead(conv.id, 'provider', new Date()));
      await Promise.all([...sends, markRead]);
      expectInvariant(await sides(conv.id), round);
    }
  });

  it('two mark-reads of one side and sends from both sides, interleaved, keep both sides right', async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const conv = await newConversation();
      const work: Promise<unknown>[] = [];
      for (let i = 0; i < SENDS; i++) {
        work.push(messages.append(i % 3 === 0 ? fromProvider(conv, `p ${i}`) : fromCustomer(conv, `c ${i}`)));
        if (i === 3 || i === 7) work.push(messages.markRead(conv.id, 'provider', new Date()));
        if (i === 5) work.push(messages.markRead(conv.id, 'customer', new Date()));
      }
      await Promise.all(work);
      expectInvariant(await sides(conv.id), round);
    }
  });

  it('single READ receipts racing sends and a mark-read keep the invariant, and reading in order lowers the count', async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const conv = await newConversation();
      const earlier = [];
      for (let i = 0; i < 6; i++) earlier.push((await messages.append(fromCustomer(conv, `before ${i}`))).message);
      const work: Promise<unknown>[] = [];
      for (let i = 0; i < SENDS; i++) work.push(messages.append(fromCustomer(conv, `race ${i}`)));
      // Receipts in and out of order, one of them racing a mark-read.
      for (const message of round % 2 === 0 ? earlier : [...earlier].reverse()) {
        work.push(messages.advanceStatus(message.id, 'READ', new Date()));
      }
      if (round % 3 === 0) work.push(messages.markRead(conv.id, 'provider', new Date()));
      await Promise.all(work);
      expectInvariant(await sides(conv.id), round);
    }
  });

  it('a READ receipt of the oldest unread message moves the read position and lowers the count; one past a gap does not', async () => {
    const conv = await newConversation();
    const one = (await messages.append(fromCustomer(conv, 'one'))).message;
    const two = (await messages.append(fromCustomer(conv, 'two'))).message;
    const three = (await messages.append(fromCustomer(conv, 'three'))).message;
    await messages.append(fromProvider(conv, 'reply'));

    await messages.advanceStatus(two.id, 'READ', new Date());
    expect((await sides(conv.id)).find((s) => s.side === 'provider')).toMatchObject({ lastReadSeq: 0, unreadCount: 3 });
    await messages.advanceStatus(one.id, 'READ', new Date());
    // 1 and 2 are read: the position moves past both.
    expect((await sides(conv.id)).find((s) => s.side === 'provider')).toMatchObject({ lastReadSeq: 2, unreadCount: 1 });
    await messages.advanceStatus(three.id, 'READ', new Date());
    // Past 3 up to the newest seq: the provider's own reply is not theirs to read.
    expect((await sides(conv.id)).find((s) => s.side === 'provider')).toMatchObject({ lastReadSeq: 4, unreadCount: 0 });
    expectInvariant(await sides(conv.id), 0);
  });
});
