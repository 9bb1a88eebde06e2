/**
 * The change log against real Postgres: every write records its change in the same statement,
 * pages yield each change visible to a reader exactly once, in order, even when transactions
 * commit out of id order, and the sweeper's claims and the purge behave.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '#tests/support/postgres';
import { makeChangeLog } from '#adapters/postgres/change-log';
import { makeConversationStore } from '#adapters/postgres/conversation-store';
import { makeMessageStore } from '#adapters/postgres/message-store';
import type { ChangeLog, ChangePosition, ChangeReader, ConversationStore, MessageStore, StoredChange } from '#core/ports';
import type { Conversation } from '#core/model';

let db: Awaited<ReturnType<typeof createTestDatabase>>;
let conversations: ConversationStore;
let messages: MessageStore;
let changes: ChangeLog;

beforeAll(async () => {
  db = await createTestDatabase();
  conversations = makeConversationStore({ prisma: db.prisma });
  messages = makeMessageStore({ prisma: db.prisma });
  changes = makeChangeLog({ prisma: db.prisma });
});
afterAll(async () => db?.drop());

let nextId = 9000;
async function newConversation(): Promise<Conversation> {
  return (await conversations.startOrGet({ providerId: nextId++, customerId: nextId++, orderId: null })).conversation;
}
const customerOf = (conversation: Conversation): ChangeReader => ({ party: { side: 'customer', partyId: conversation.customerId }, userId: conversation.customerId });
const staffOf = (conversation: Conversation, userId = 70): ChangeReader => ({ party: { side: 'provider', partyId: conversation.providerId }, userId });

function send(conversation: Conversation, content: string) {
  return messages.append({
    conversationId: conversation.id,
    senderId: conversation.customerId,
    senderRole: 'customer',
    senderPartyId: conversation.customerId,
    messageType: 'TEXT',
    content,
  });
}

/** Pages through everything `reader` sees after `from`, `limit` at a time. */
async function drain(reader: ChangeReader, from: ChangePosition | null, limit = 3): Promise<StoredChange[]> {
  const seen: StoredChange[] = [];
  let position = from;
  for (;;) {
    const page = await changes.page(reader, position, limit);
    seen.push(...page.changes);
    const last = page.changes.at(-1);
    if (last) position = { txid: last.txid, id: BigInt(last.id) };
    if (!page.hasMore) return seen;
  }
}

describe('recording', () => {
  it('records conversation.created once, message.created per send, and returns the ids it wrote', async () => {
    const started = await conversations.startOrGet({ providerId: 9990, customerId: 9991, orderId: 1 });
    const again = await conversations.startOrGet({ providerId: 9990, customerId: 9991, orderId: 1 });
    expect(started.changes.map((c) => c.type)).toEqual(['conversation.created']);
    expect(again.changes).toEqual([]);
    const sent = await send(started.conversation, 'hello');
    expect(sent.changes).toEqual([expect.objectContaining({ type: 'message.created', conversationId: started.conversation.id, id: expect.stringMatching(/^\d+$/) })]);

    const seen = await drain(customerOf(started.conversation), null);
    expect(seen.map((c) => [c.type, c.id])).toEqual([
      ['conversation.created', started.changes[0]!.id],
      ['message.created', sent.changes[0]!.id],
    ]);
    expect(seen[1]!.message).toMatchObject({ id: sent.message.id, content: 'hello' });
  });

  it('shows a change about a message in its current state: a deleted one as a tombstone', async () => {
    const conv = await newConversation();
    const sent = await send(conv, 'call me on +49 170 1234567');
    const edited = await messages.edit(sent.message.id, 'see you at 10', new Date());
    const deleted = await messages.tombstone(sent.message.id, new Date());
    expect(edited?.changes.map((c) => c.type)).toEqual(['message.updated']);
    expect(deleted?.message).toMatchObject({ content: '', attachments: null, metadata: null, deletedAt: expect.any(Date) });
    expect(await messages.tombstone(sent.message.id, new Date())).toBeNull();

    const seen = await drain(staffOf(conv), null);
    expect(seen.map((c) => c.type)).toEqual(['conversation.created', 'message.created', 'message.updated', 'message.deleted']);
    for (const change of seen.slice(1)) expect(change.message).toMatchObject({ content: '', deletedAt: expect.any(Date) });
  });

  it('keeps conversation.archived to the side that archived, once', async () => {
    const conv = await newConversation();
    const first = await conversations.archive(conv.id, 'provider', new Date());
    const second = await conversations.archive(conv.id, 'provider', new Date());
    expect(first?.changes.map((c) => c.type)).toEqual(['conversation.archived']);
    expect(second?.changes).toEqual([]);
    expect((await drain(staffOf(conv), null)).map((c) => c.type)).toEqual(['conversation.created', 'conversation.archived']);
    expect((await drain(customerOf(conv), null)).map((c) => c.type)).toEqual(['conversation.created']);
  });

  it('records a read once per move of the read position, with the newest message moved', async () => {
    const conv = await newConversation();
    await send(conv, 'one');
    const two = await send(conv, 'two');
    const read = await messages.markRead(conv.id, 'provider', new Date());
    const repeat = await messages.markRead(conv.id, 'provider', new Date());
    expect(read.changes).toEqual([
      expect.objectContaining({ type: 'conversation.read', data: { side: 'provider', lastReadSeq: 2 } }),
      expect.objectContaining({ type: 'message.status', data: { status: 'READ', upToSeq: 2 } }),
    ]);
    expect(repeat.changes).toEqual([]);
    const status = (await drain(customerOf(conv), null)).find((c) => c.type === 'message.status');
    expect(status?.message?.id).toBe(two.message.id);
  });

  it('writes reactions only while they are what the caller read', async () => {
    const conv = await newConversation();
    const sent = await send(conv, 'clean!');
    const first = await messages.setReactions(sent.message.id, [], [{ emoji: '👍', userIds: [7] }], new Date());
    expect(first?.message.reactions).toEqual([{ emoji: '👍', userIds: [7] }]);
    expect(await messages.setReactions(sent.message.id, [], [{ emoji: '🎉', userIds: [8] }], new Date())).toBeNull();
    const context = await messages.context(sent.message.id);
    expect(context?.message.reactions).toEqual([{ emoji: '👍', userIds: [7] }]);
    expect(context?.conversation.id).toBe(conv.id);
  });
});

describe('paging', () => {
  it('yields every change a reader sees exactly once across pages, and nothing of other parties', async () => {
    const conv = await newConversation();
    const other = await newConversation();
    for (let i = 0; i < 10; i++) {
      await send(conv, `mine ${i}`);
      await send(other, `theirs ${i}`);
    }
    const seen = await drain(customerOf(conv), null, 4);
    expect(seen).toHaveLength(11);
    expect(new Set(seen.map((c) => c.id)).size).toBe(11);
    expect(seen.every((c) => c.conversationId === conv.id)).toBe(true);
    expect(seen.slice(1).map((c) => c.message?.content)).toEqual(Array.from({ length: 10 }, (_, i) => `mine ${i}`));
  });

  it('never shows a change whose transaction is still open, and never skips it once it commits', async () => {
    const conv = await newConversation();
    const reader = customerOf(conv);
    const start = await drain(reader, null);
    const position = { txid: start.at(-1)!.txid, id: BigInt(start.at(-1)!.id) };

    // A transaction that takes its txid first and commits last.
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let lateId = '';
    const late = db.prisma.$transaction(async (tx) => {
      const store = makeMessageStore({ prisma: tx as never });
      lateId = (await store.append({ conversationId: conv.id, senderId: conv.providerId, senderRole: 'provider', senderPartyId: conv.providerId, messageType: 'TEXT', content: 'late' })).changes[0]!.id;
      await held;
    }, { timeout: 20_000 });
    await new Promise((resolve) => setTimeout(resolve, 200));
    // A later transaction would wait for the conversation row, so this one writes elsewhere:
    // the open transaction holds the horizon back for every reader.
    const elsewhere = await newConversation();
    await send(elsewhere, 'meanwhile');
    const during = await changes.page(reader, position, 10);
    expect(during.changes).toEqual([]);

    release();
    await late;
    const after = await drain(reader, position);
    expect(after.map((c) => c.id)).toEqual([lateId]);
  });

  it('starts from the horizon: a reader that starts there sees only what comes after', async () => {
    const conv = await newConversation();
    await send(conv, 'before');
    const horizon = await changes.horizon();
    await send(conv, 'after');
    const seen = await drain(customerOf(conv), { txid: horizon, id: 0n });
    expect(seen.map((c) => c.message?.content)).toEqual(['after']);
  });
});

describe('the sweeper and the purge', () => {
  it('claims unconfirmed changes once per backoff, and never confirmed ones', async () => {
    const conv = await newConversation();
    const sent = await send(conv, 'to publish');
    const later = new Date(Date.now() + 60_000);
    const claimed = await changes.claimUnpublished(later, 1000, later);
    const ids = claimed.map((c) => c.id);
    expect(ids).toContain(sent.changes[0]!.id);
    expect((await changes.claimUnpublished(later, 1000, later)).map((c) => c.id)).not.toContain(sent.changes[0]!.id);

    expect(await changes.markPublished([sent.changes[0]!.id], new Date())).toBe(1);
    expect(await changes.markPublished([sent.changes[0]!.id], new Date())).toBe(0);
    const muchLater = new Date(Date.now() + 3 * 3_600_000);
    expect((await changes.claimUnpublished(muchLater, 1000, muchLater)).map((c) => c.id)).not.toContain(sent.changes[0]!.id);
  });

  it('purges only changes older than the cut-off', async () => {
    const conv = await newConversation();
    await send(conv, 'old');
    await db.prisma.$executeRaw`UPDATE "chatChanges" SET at = now() - interval '40 days' WHERE "conversationId" = ${conv.id}`;
    await send(conv, 'new');
    const purged = await changes.purge(new Date(Date.now() - 30 * 86_400_000), 1000);
    expect(purged).toBeGreaterThanOrEqual(2);
    expect((await drain(customerOf(conv), null)).map((c) => c.message?.content)).toEqual(['new']);
  });
});
