import { beforeEach, describe, expect, it } from 'vitest';
import { ForbiddenError, NotFoundError, ValidationError } from '#core/errors';
import { ADMIN, COLLEAGUE, CUSTOMER, OTHER_STAFF, STAFF, STRANGER, createWorld, type World } from './world.ts';

let world: World;
beforeEach(() => {
  world = createWorld();
});

describe('startConversation', () => {
  it('a customer starts a conversation with a provider and gets it, with nothing unread', async () => {
    const { conversation, created } = await world.startConversation({ identity: CUSTOMER, providerId: 1, customerId: 2, orderId: 55 });
    expect(created).toBe(true);
    expect(conversation).toMatchObject({
      customerId: 2,
      providerId: 1,
      orderId: 55,
      status: 'ACTIVE',
      lastSeq: 0,
      unreadCount: 0,
      archived: false,
      lastMessage: null,
      createdAt: world.clock.now().toISOString(),
      lastMessageAt: null,
    });
  });

  it('asking again for the same provider, customer and order answers the existing conversation with the caller’s unread count', async () => {
    const first = await world.startConversation({ identity: CUSTOMER, providerId: 1, customerId: 2 });
    const { message } = await world.say(STAFF, first.conversation.id, 'Welcome!');
    const again = await world.startConversation({ identity: CUSTOMER, providerId: 1, customerId: 2, orderId: null });
    expect(again.created).toBe(false);
    expect(again.conversation).toMatchObject({ id: first.conversation.id, unreadCount: 1, lastSeq: 1, lastMessage: { id: message.id } });
  });

  it('each order gets its own conversation', async () => {
    const a = await world.startConversation({ identity: CUSTOMER, providerId: 1, customerId: 2, orderId: 1 });
    const b = await world.startConversation({ identity: CUSTOMER, providerId: 1, customerId: 2, orderId: 2 });
    expect(a.conversation.id).not.toBe(b.conversation.id);
  });

  it('provider staff start a conversation with a customer for their own business, and a colleague finds the same one', async () => {
    const mine = await world.startConversation({ identity: STAFF, providerId: 1, customerId: 2 });
    const theirs = await world.startConversation({ identity: COLLEAGUE, providerId: 1, customerId: 2 });
    expect(mine.created).toBe(true);
    expect(theirs).toMatchObject({ created: false, conversation: { id: mine.conversation.id } });
  });

  it('a customer cannot start a conversation on behalf of another customer', async () => {
    await expect(world.startConversation({ identity: STRANGER, providerId: 1, customerId: 2 })).rejects.toBeInstanceOf(ForbiddenError);
  });

  it('provider staff cannot start a conversation for another business', async () => {
    await expect(world.startConversation({ identity: OTHER_STAFF, providerId: 1, customerId: 2 })).rejects.toBeInstanceOf(ForbiddenError);
    expect(await world.conversations.counterpartsOf({ side: 'customer', partyId: 2 })).toEqual([]);
  });

  it('an admin may start a conversation between any provider and customer, and sees no side of it', async () => {
    const { conversation, created } = await world.startConversation({ identity: ADMIN, providerId: 5, customerId: 6 });
    expect(created).toBe(true);
    expect(conversation).toMatchObject({ providerId: 5, customerId: 6 });
    expect(conversation).not.toHaveProperty('unreadCount');
  });

  it('refuses ids that are not positive integers', async () => {
    const error = await world.startConversation({ identity: ADMIN, providerId: 0, customerId: 1.5, orderId: -1 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).details).toEqual({ fields: ['providerId', 'customerId', 'orderId'] });
  });
});

describe('listConversations', () => {
  it('shows the caller’s conversations newest activity first, each with their own unread count and last message', async () => {
    const quiet = await world.conversation({ providerId: 1, orderId: 1 });
    const busy = await world.conversation({ providerId: 2, orderId: 2 });
    await world.conversation({ providerId: 1, customerId: 3 });
    world.clock.advance(1000);
    await world.say(STAFF, quiet.id, 'old news');
    world.clock.advance(1000);
    await world.say({ userId: 20, role: 'provider', providerId: 2 }, busy.id, 'fresh');
    await world.say({ userId: 20, role: 'provider', providerId: 2 }, busy.id, 'fresher');

    const { conversations, nextCursor } = await world.listConversations({ identity: CUSTOMER });
    expect(conversations.map((c) => [c.id, c.unreadCount, c.lastMessage?.content])).toEqual([
      [busy.id, 2, 'fresher'],
      [quiet.id, 1, 'old news'],
    ]);
    expect(nextCursor).toBeNull();
  });

  it('all staff of a provider share one inbox and one unread count', async () => {
    const conversation = await world.conversation();
    await world.say(CUSTOMER, conversation.id, 'hi');
    const seenByStaff = await world.listConversations({ identity: STAFF });
    const seenByColleague = await world.listConversations({ identity: COLLEAGUE });
    expect(seenByStaff).toEqual(seenByColleague);
    expect(seenByStaff.conversations.map((c) => c.unreadCount)).toEqual([1]);
    expect((await world.listConversations({ identity: OTHER_STAFF })).conversations).toEqual([]);
  });

  it('archived conversations only show when asking for ARCHIVED', async () => {
    const conversation = await world.conversation();
    await world.archiveConversation({ identity: CUSTOMER, conversationId: conversation.id });
    expect((await world.listConversations({ identity: CUSTOMER })).conversations).toEqual([]);
    const archived = await world.listConversations({ identity: CUSTOMER, status: 'ARCHIVED' });
    expect(archived.conversations.map((c) => [c.id, c.archived])).toEqual([[conversation.id, true]]);
  });

  it('pages through a long inbox with nextCursor, each conversation exactly once', async () => {
    const ids: string[] = [];
    for (let order = 1; order <= 7; order++) {
      world.clock.advance(1000);
      ids.push((await world.conversation({ orderId: order })).id);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: Awaited<ReturnType<World['listConversations']>> = await world.listConversations({ identity: CUSTOMER, limit: 3, cursor });
      expect(page.conversations.length).toBeLessThanOrEqual(3);
      seen.push(...page.conversations.map((c) => c.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toEqual([...ids].reverse());
  });

  it('an admin is told they have no inbox rather than shown an empty one', async () => {
    await world.conversation();
    const error = await world.listConversations({ identity: ADMIN }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ForbiddenError);
    expect((error as Error).message).toMatch(/no inbox/);
  });

  it('refuses a cursor it did not issue, an unknown status and a bad limit', async () => {
    await expect(world.listConversations({ identity: CUSTOMER, cursor: 'made-up' })).rejects.toBeInstanceOf(ValidationError);
    await expect(world.listConversations({ identity: CUSTOMER, status: 'ENDED' as never })).rejects.toBeInstanceOf(ValidationError);
    await expect(world.listConversations({ identity: CUSTOMER, limit: 0 })).rejects.toBeInstanceOf(ValidationError);
  });
});

describe('archiveConversation', () => {
  it('hides the conversation from the caller’s inbox only; the other side still sees it', async () => {
    const conversation = await world.conversation();
    const { conversation: archived } = await world.archiveConversation({ identity: STAFF, conversationId: conversation.id });
    expect(archived).toMatchObject({ id: conversation.id, archived: true, archivedAt: world.clock.now().toISOString() });
    expect((await world.listConversations({ identity: COLLEAGUE })).conversations).toEqual([]);
    expect((await world.listConversations({ identity: CUSTOMER })).conversations.map((c) => c.id)).toEqual([conversation.id]);
  });

  it('a new message brings an archived conversation back to the inbox', async () => {
    const conversation = await world.conversation();
    await world.archiveConversation({ identity: CUSTOMER, conversationId: conversation.id });
    await world.say(STAFF, conversation.id, 'We have a free slot tomorrow');
    const inbox = await world.listConversations({ identity: CUSTOMER });
    expect(inbox.conversations.map((c) => [c.id, c.archived, c.unreadCount])).toEqual([[conversation.id, false, 1]]);
  });

  it('archiving twice keeps the first time', async () => {
    const conversation = await world.conversation();
    const first = await world.archiveConversation({ identity: CUSTOMER, conversationId: conversation.id });
    world.clock.advance(60_000);
    const second = await world.archiveConversation({ identity: CUSTOMER, conversationId: conversation.id });
    expect(second.conversation.archivedAt).toBe(first.conversation.archivedAt);
  });

  it('outsiders and admins may not archive; a missing conversation is not found', async () => {
    const conversation = await world.conversation();
    await expect(world.archiveConversation({ identity: STRANGER, conversationId: conversation.id })).rejects.toBeInstanceOf(ForbiddenError);
    await expect(world.archiveConversation({ identity: ADMIN, conversationId: conversation.id })).rejects.toBeInstanceOf(ForbiddenError);
    await expect(world.archiveConversation({ identity: CUSTOMER, conversationId: 'nope' })).rejects.toBeInstanceOf(NotFoundError);
    expect(world.db.participant(conversation.id, 'customer').archivedAt).toBeNull();
  });
});
