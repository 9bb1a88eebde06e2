import { beforeEach, describe, expect, it } from 'vitest';
import { ConflictError, ForbiddenError, NotFoundError } from '#core/errors';
import type { Conversation } from '#core/model';
import { ADMIN, COLLEAGUE, CUSTOMER, OTHER_STAFF, STAFF, createWorld, type World } from './world.ts';

let world: World;
let conversation: Conversation;
let other: Conversation;

beforeEach(async () => {
  world = createWorld();
  conversation = await world.conversation({ orderId: 1 });
  other = await world.conversation({ orderId: 2 });
  await world.online(CUSTOMER, 'customer-phone');
  await world.online(STAFF, 'staff-desk');
  world.broadcaster.clear();
});

const assign = (userId: number | null, identity = STAFF, conversationId = conversation.id) => world.assignConversation({ identity, conversationId, userId });
const inbox = async (assignee: 'me' | 'unassigned' | number, identity = COLLEAGUE) =>
  (await world.listConversations({ identity, assignee })).conversations.map((c) => c.id);

describe('assignment', () => {
  it('assigns to a colleague, records and broadcasts the change, and the shared inbox filters by it', async () => {
    const { conversation: assigned } = await assign(COLLEAGUE.userId);
    expect(assigned).toMatchObject({ id: conversation.id, assigneeId: COLLEAGUE.userId, unreadCount: 0 });
    expect(world.broadcaster.recipientsOf('chat-conversation-updated')).toEqual(['customer-phone', 'staff-desk']);
    expect(world.events.ofType('conversation.updated')).toEqual([
      expect.objectContaining({ conversationId: conversation.id, data: { conversation: expect.objectContaining({ assigneeId: COLLEAGUE.userId }) } }),
    ]);

    expect(await inbox('me')).toEqual([conversation.id]);
    expect(await inbox(COLLEAGUE.userId, STAFF)).toEqual([conversation.id]);
    expect(await inbox('unassigned')).toEqual([other.id]);
    expect(await inbox('me', STAFF)).toEqual([]);
  });

  it('changes nothing when assigned so already, and unassigns with null', async () => {
    await assign(STAFF.userId);
    world.broadcaster.clear();
    await assign(STAFF.userId, COLLEAGUE);
    expect(world.broadcaster.recipientsOf('chat-conversation-updated')).toEqual([]);
    expect(world.events.ofType('conversation.updated')).toHaveLength(1);

    expect((await assign(null, COLLEAGUE)).conversation.assigneeId).toBeNull();
    expect(await inbox('unassigned')).toEqual(expect.arrayContaining([conversation.id, other.id]));
  });

  it("is the provider's staff's alone, and an ended conversation cannot be assigned", async () => {
    for (const identity of [CUSTOMER, ADMIN, OTHER_STAFF]) await expect(assign(STAFF.userId, identity)).rejects.toBeInstanceOf(ForbiddenError);
    await expect(assign(STAFF.userId, STAFF, 'missing')).rejects.toBeInstanceOf(NotFoundError);
    await world.endConversation({ identity: STAFF, conversationId: conversation.id });
    await expect(assign(STAFF.userId)).rejects.toBeInstanceOf(ConflictError);
    expect((await world.conversations.get(conversation.id))?.assigneeId).toBeNull();
  });

  it('filters by assignee for the provider\'s staff only', async () => {
    await expect(world.listConversations({ identity: CUSTOMER, assignee: 'me' })).rejects.toBeInstanceOf(ForbiddenError);
    expect((await world.listConversations({ identity: CUSTOMER })).conversations).toHaveLength(2);
  });
});
