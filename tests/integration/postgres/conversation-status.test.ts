/**
 * Status changes on real Postgres: one statement that moves the status only from an allowed one,
 * releases or takes back the one-ACTIVE-per-order key and records the change; and a block racing
 * sends, where every send is either stored (and acknowledged) or refused, never stored and refused.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '#tests/support/postgres';
import { makeConversationStore } from '#adapters/postgres/conversation-store';
import { makeMessageStore } from '#adapters/postgres/message-store';
import { ConflictError } from '#core/errors';
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

let nextId = 7000;
const fresh = () => nextId++;

describe('transition', () => {
  it('blocks with who blocked, releases the ACTIVE key, records conversation.updated, and takes the key back on unblock', async () => {
    const key = { providerId: fresh(), customerId: fresh(), orderId: 3 };
    const { conversation } = await conversations.startOrGet(key);
    const at = new Date();
    const blocked = await conversations.transition(conversation.id, { from: ['ACTIVE'], to: 'BLOCKED', blockedBy: 'customer', at });
    expect(blocked?.conversation).toMatchObject({ id: conversation.id, status: 'BLOCKED', blockedBy: 'customer' });
    expect(blocked?.changes).toEqual([expect.objectContaining({ type: 'conversation.updated', conversationId: conversation.id })]);
    expect(await conversations.blockedPair(key.providerId, key.customerId)).toBe(conversation.id);
    // Not from a status the move does not allow.
    expect(await conversations.transition(conversation.id, { from: ['ACTIVE'], to: 'ENDED', blockedBy: null, at })).toBeNull();

    const unblocked = await conversations.transition(conversation.id, { from: ['BLOCKED'], to: 'ACTIVE', blockedBy: null, at });
    expect(unblocked?.conversation).toMatchObject({ status: 'ACTIVE', blockedBy: null });
    expect((await conversations.startOrGet(key)).conversation.id).toBe(conversation.id);
    expect(await conversations.blockedPair(key.providerId, key.customerId)).toBeNull();
  });

  it('ends for good, so the order can start afresh, and refuses to unblock onto an order that is ACTIVE again', async () => {
    const key = { providerId: fresh(), customerId: fresh(), orderId: null };
    const { conversation: first } = await conversations.startOrGet(key);
    await conversations.transition(first.id, { from: ['ACTIVE'], to: 'BLOCKED', blockedBy: 'admin', at: new Date() });
    // The store itself does not refuse the pair (the use case does): a new ACTIVE one takes the key.
    const { conversation: second, created } = await conversations.startOrGet(key);
    expect(created).toBe(true);
    await expect(conversations.transition(first.id, { from: ['BLOCKED'], to: 'ACTIVE', blockedBy: null, at: new Date() })).rejects.toBeInstanceOf(ConflictError);
    expect((await conversations.get(first.id))?.status).toBe('BLOCKED');

    await conversations.transition(second.id, { from: ['ACTIVE'], to: 'ENDED', blockedBy: null, at: new Date() });
    const third = await conversations.startOrGet(key);
    expect(third.created).toBe(true);
    expect(third.conversation.id).not.toBe(second.id);
  });
});

describe('a block racing sends', () => {
  it('lets every send either be stored or be refused with CONFLICT, and nothing is stored after the block', async () => {
    const key = { providerId: fresh(), customerId: fresh(), orderId: null };
    const { conversation } = await conversations.startOrGet(key);
    const send = (n: number) =>
      messages.append({ conversationId: conversation.id, senderId: key.customerId, senderRole: 'customer', senderPartyId: key.customerId, messageType: 'TEXT', content: `m${n}` });
    const sends = Array.from({ length: 30 }, (_, n) => send(n));
    const block = conversations.transition(conversation.id, { from: ['ACTIVE'], to: 'BLOCKED', blockedBy: 'provider', at: new Date() });
    const outcomes = await Promise.allSettled([...sends, block]);
    const sent = outcomes.slice(0, 30);
    const stored = sent.filter((outcome) => outcome.status === 'fulfilled');
    const refused = sent.filter((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
    for (const outcome of refused) expect(outcome.reason).toBeInstanceOf(ConflictError);
    expect(outcomes[30]!.status).toBe('fulfilled');

    const history = await messages.history(conversation.id, { kind: 'after', afterSeq: 0, limit: 100 });
    expect(history.messages).toHaveLength(stored.length);
    expect(history.messages.map((m) => m.seq)).toEqual(history.messages.map((_, i) => i + 1));
    await expect(send(99)).rejects.toBeInstanceOf(ConflictError);
  });
});

describe('assign', () => {
  it('assigns, records one change per actual change (racing assignments included), and filters the inbox', async () => {
    const providerId = fresh();
    const { conversation } = await conversations.startOrGet({ providerId, customerId: fresh(), orderId: null });
    const { conversation: untouched } = await conversations.startOrGet({ providerId, customerId: fresh(), orderId: null });

    const first = await conversations.assign(conversation.id, 41, new Date());
    expect(first?.conversation).toMatchObject({ id: conversation.id, assigneeId: 41 });
    expect(first?.changes).toEqual([expect.objectContaining({ type: 'conversation.updated', conversationId: conversation.id })]);
    expect((await conversations.assign(conversation.id, 41, new Date()))?.changes).toEqual([]);

    // Eight staff users assign at once: each change is recorded, and the last one holds.
    const racing = await Promise.all(Array.from({ length: 8 }, (_, i) => conversations.assign(conversation.id, 50 + i, new Date())));
    expect(racing.every((result) => result?.changes.length === 1)).toBe(true);
    const final = (await conversations.get(conversation.id))!.assigneeId;
    expect(racing.map((result) => result!.conversation.assigneeId)).toContain(final);

    const party = { side: 'provider' as const, partyId: providerId };
    const ids = async (assignee: number | null) => (await conversations.listForParty(party, { archived: false, assignee, limit: 10 })).conversations.map((c) => c.id);
    expect(await ids(final)).toEqual([conversation.id]);
    expect(await ids(null)).toEqual([untouched.id]);
    expect((await conversations.listForParty(party, { archived: false, limit: 10 })).conversations).toHaveLength(2);

    await conversations.transition(conversation.id, { from: ['ACTIVE'], to: 'ENDED', blockedBy: null, at: new Date() });
    expect(await conversations.assign(conversation.id, 41, new Date())).toBeNull();
  });
});
