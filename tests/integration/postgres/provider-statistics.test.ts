/**
 * Response times on real Postgres: the append keeps each conversation's running wait and writes
 * one row per answered wait in the same statement (also when customer and staff send at once),
 * and the provider's statistics read volumes, percentiles and unanswered waits over a range.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '#tests/support/postgres';
import { makeConversationStore } from '#adapters/postgres/conversation-store';
import { makeMessageStore } from '#adapters/postgres/message-store';
import { makeProviderStatistics } from '#adapters/postgres/provider-statistics';
import type { AppendMessageInput, ConversationStore, MessageStore, ProviderStatistics } from '#core/ports';
import type { Message } from '#core/model';

let db: Awaited<ReturnType<typeof createTestDatabase>>;
let conversations: ConversationStore;
let messages: MessageStore;
let statistics: ProviderStatistics;

beforeAll(async () => {
  db = await createTestDatabase();
  conversations = makeConversationStore({ prisma: db.prisma });
  messages = makeMessageStore({ prisma: db.prisma });
  statistics = makeProviderStatistics({ prisma: db.prisma });
});
afterAll(async () => db?.drop());

const STAFF = 9101;
const open = async (providerId: number, customerId: number) => (await conversations.startOrGet({ providerId, customerId, orderId: null })).conversation;

type Who = 'customer' | 'staff' | 'service';
function input(conversation: { id: string; customerId: number; providerId: number }, who: Who, content = `${who} says hi`): AppendMessageInput {
  if (who === 'customer') return { conversationId: conversation.id, senderId: conversation.customerId, senderRole: 'customer', senderPartyId: conversation.customerId, messageType: 'TEXT', content };
  if (who === 'staff') return { conversationId: conversation.id, senderId: STAFF, senderRole: 'provider', senderPartyId: conversation.providerId, messageType: 'TEXT', content };
  return { conversationId: conversation.id, senderId: 1000, senderRole: 'system', senderPartyId: null, messageType: 'SYSTEM', content };
}

async function waitsOf(conversationId: string): Promise<{ askedAt: Date; answeredAt: Date; responderId: number }[]> {
  return db.prisma.firstResponse.findMany({ where: { conversationId }, orderBy: { askedAt: 'asc' }, select: { askedAt: true, answeredAt: true, responderId: true } });
}

/** The waits a conversation's messages make, replayed in seq order: what the append must have kept. */
function replay(history: readonly Message[]): { askedAt: Date; answeredAt: Date }[] {
  const waits: { askedAt: Date; answeredAt: Date }[] = [];
  let since: Date | null = null;
  for (const message of [...history].sort((a, b) => a.seq - b.seq)) {
    if (message.senderRole === 'customer') since ??= message.createdAt;
    if (message.senderRole === 'provider' && since) {
      waits.push({ askedAt: since, answeredAt: message.createdAt });
      since = null;
    }
  }
  return waits;
}

const range = { from: new Date('2000-01-01T00:00:00Z'), to: new Date('2100-01-01T00:00:00Z') };

describe('the waits a send keeps', () => {
  it("start at a customer's first unanswered message and end at the provider's next one", async () => {
    const conversation = await open(9100, 9200);
    const first = await messages.append(input(conversation, 'customer'));
    expect(first.firstResponseMs).toBeUndefined();
    await messages.append(input(conversation, 'customer'));
    // A service's SYSTEM message answers nobody.
    expect((await messages.append(input(conversation, 'service'))).firstResponseMs).toBeUndefined();
    const answer = await messages.append(input(conversation, 'staff'));
    expect(answer.firstResponseMs).toBe(answer.message.createdAt.getTime() - first.message.createdAt.getTime());
    // A second staff message answers no wait.
    expect((await messages.append(input(conversation, 'staff'))).firstResponseMs).toBeUndefined();

    expect(await waitsOf(conversation.id)).toEqual([{ askedAt: first.message.createdAt, answeredAt: answer.message.createdAt, responderId: STAFF }]);

    // The customer writes again: a new wait runs, and counts as unanswered.
    await messages.append(input(conversation, 'customer'));
    expect((await statistics.stats(9100, range.from, range.to)).unanswered).toBe(1);
  });

  it('a repeated clientMessageId keeps no second wait and answers none twice', async () => {
    const conversation = await open(9110, 9210);
    await messages.append(input(conversation, 'customer'));
    const reply = { ...input(conversation, 'staff'), clientMessageId: 'reply-1' };
    expect((await messages.append(reply)).firstResponseMs).toBeGreaterThanOrEqual(0);
    const repeat = await messages.append(reply);
    expect(repeat.created).toBe(false);
    expect(repeat.firstResponseMs).toBeUndefined();
    expect(await waitsOf(conversation.id)).toHaveLength(1);
  });

  it('match the messages replayed in seq order when customer and staff send at once', async () => {
    const conversation = await open(9120, 9220);
    const senders: Who[] = Array.from({ length: 40 }, (_, i) => (i % 3 === 0 ? 'staff' : 'customer'));
    await Promise.all(senders.map((who, i) => messages.append(input(conversation, who, `race ${i}`))));
    const history = await db.prisma.message.findMany({ where: { conversationId: conversation.id } });
    expect(history).toHaveLength(40);
    // Racing sends take their times before their seq, so compare as sets (ordered the same way).
    const byTime = (a: { askedAt: Date; answeredAt: Date }, b: { askedAt: Date; answeredAt: Date }) =>
      a.askedAt.getTime() - b.askedAt.getTime() || a.answeredAt.getTime() - b.answeredAt.getTime();
    const kept = (await waitsOf(conversation.id)).map(({ askedAt, answeredAt }) => ({ askedAt, answeredAt })).sort(byTime);
    const expected = replay(history as unknown as Message[]).sort(byTime);
    expect(expected.length).toBeGreaterThan(0);
    expect(kept).toEqual(expected);
  });
});

describe("a provider's statistics", () => {
  it('count conversations started and messages each way in [from, to), SYSTEM messages in neither', async () => {
    const providerId = 9130;
    const a = await open(providerId, 9230);
    const b = await open(providerId, 9231);
    await open(9131, 9232); // another provider's
    for (const who of ['customer', 'customer', 'staff', 'service'] as const) await messages.append(input(a, who));
    await messages.append(input(b, 'customer'));

    const stats = await statistics.stats(providerId, range.from, range.to);
    expect(stats).toMatchObject({ conversations: 2, messagesReceived: 3, messagesSent: 1, unanswered: 1 });

    // A range that ends before anything happened, and one that starts after.
    const earlier = await statistics.stats(providerId, range.from, new Date(Date.now() - 60_000));
    expect(earlier).toEqual({ conversations: 0, messagesReceived: 0, messagesSent: 0, firstResponseSeconds: { median: null, p90: null }, unanswered: 0 });
    expect((await statistics.stats(providerId, new Date(Date.now() + 60_000), range.to)).messagesReceived).toBe(0);
  });

  it('answer the median and 90th percentile of the waits that began in the range', async () => {
    const providerId = 9140;
    const waitsSeconds = [10, 20, 30, 40, 50, 60, 70, 80, 90, 3600];
    for (const [i, seconds] of waitsSeconds.entries()) {
      const conversation = await open(providerId, 9240 + i);
      await messages.append(input(conversation, 'customer'));
      await messages.append(input(conversation, 'staff'));
      // Stretch the wait to a known length: the percentiles are Postgres's, over these rows.
      await db.prisma.$executeRaw`UPDATE "chatFirstResponses" SET "askedAt" = "answeredAt" - make_interval(secs => ${seconds}) WHERE "conversationId" = ${conversation.id}`;
    }
    const { firstResponseSeconds } = await statistics.stats(providerId, range.from, range.to);
    // percentile_cont: the median of 10 values is the mean of the 5th and 6th; p90 interpolates 9th→10th.
    expect(firstResponseSeconds).toEqual({ median: 55, p90: 90 + 0.1 * (3600 - 90) });

    // Waits that began before `from` are not in the range.
    const oneHourAgo = new Date(Date.now() - 3_000_000);
    const recent = await statistics.stats(providerId, oneHourAgo, range.to);
    expect(recent.firstResponseSeconds.median).toBe(50);
  });
});
