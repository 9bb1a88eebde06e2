import { beforeEach, describe, expect, it } from 'vitest';
import { ConflictError, ForbiddenError } from '#core/errors';
import type { Conversation } from '#core/model';
import { actorOf, can, canEverywhere, CAPABILITIES, POLICY } from '#core/policy';
import { ADMIN, COLLEAGUE, CUSTOMER, OTHER_STAFF, SERVICE, STAFF, STRANGER, createWorld, type World } from './world.ts';

let world: World;
let conversation: Conversation;

beforeEach(async () => {
  world = createWorld();
  conversation = await world.conversation({ orderId: 12 });
  await world.online(CUSTOMER, 'customer-phone');
  await world.online(STAFF, 'staff-desk');
  world.broadcaster.clear();
});

const id = () => conversation.id;

describe('block', () => {
  it('blocks for either side, records and broadcasts the change, and refuses sends and new conversations of the pair', async () => {
    const { conversation: blocked } = await world.blockConversation({ identity: CUSTOMER, conversationId: id() });
    expect(blocked).toMatchObject({ id: id(), status: 'BLOCKED', blockedBy: 'customer', unreadCount: 0 });
    expect(world.broadcaster.recipientsOf('chat-conversation-updated')).toEqual(['customer-phone', 'staff-desk']);
    expect(world.events.ofType('conversation.updated')).toEqual([expect.objectContaining({ conversationId: id(), data: { conversation: expect.objectContaining({ status: 'BLOCKED', blockedBy: 'customer' }) } })]);

    await expect(world.say(STAFF, id(), 'please')).rejects.toBeInstanceOf(ConflictError);
    for (const orderId of [12, 13, null]) {
      await expect(world.startConversation({ identity: STAFF, providerId: 1, customerId: 2, orderId })).rejects.toBeInstanceOf(ConflictError);
    }
    // Other pairs are not affected.
    expect((await world.startConversation({ identity: OTHER_STAFF, providerId: 4, customerId: 2 })).created).toBe(true);
  });

  it('is idempotent, open to an admin, and refused to outsiders', async () => {
    await world.blockConversation({ identity: STAFF, conversationId: id() });
    expect((await world.blockConversation({ identity: CUSTOMER, conversationId: id() })).conversation).toMatchObject({ status: 'BLOCKED', blockedBy: 'provider' });
    expect(world.events.ofType('conversation.updated')).toHaveLength(1);
    for (const identity of [STRANGER, OTHER_STAFF]) {
      await expect(world.blockConversation({ identity, conversationId: id() })).rejects.toBeInstanceOf(ForbiddenError);
    }
    const other = await world.conversation({ orderId: 99, customerId: 5 });
    expect((await world.blockConversation({ identity: ADMIN, conversationId: other.id })).conversation).toMatchObject({ status: 'BLOCKED', blockedBy: 'admin' });
  });
});

describe('unblock', () => {
  it('is only for the side that blocked (any of its staff) or an admin, and makes the pair free again', async () => {
    await world.blockConversation({ identity: STAFF, conversationId: id() });
    await expect(world.unblockConversation({ identity: CUSTOMER, conversationId: id() })).rejects.toBeInstanceOf(ForbiddenError);
    expect((await world.unblockConversation({ identity: COLLEAGUE, conversationId: id() })).conversation).toMatchObject({ status: 'ACTIVE', blockedBy: null });
    expect((await world.say(CUSTOMER, id(), 'thanks')).message.content).toBe('thanks');
    expect((await world.startConversation({ identity: CUSTOMER, providerId: 1, customerId: 2, orderId: 12 })).conversation.id).toBe(id());

    await world.blockConversation({ identity: CUSTOMER, conversationId: id() });
    expect((await world.unblockConversation({ identity: ADMIN, conversationId: id() })).conversation.status).toBe('ACTIVE');
    // Unblocking an active conversation changes nothing.
    expect((await world.unblockConversation({ identity: CUSTOMER, conversationId: id() })).conversation.status).toBe('ACTIVE');
    expect(world.events.ofType('conversation.updated')).toHaveLength(4);
  });
});

describe('end', () => {
  it("is for the provider's staff or an admin; read-only for good, and the order may get a new conversation", async () => {
    await expect(world.endConversation({ identity: CUSTOMER, conversationId: id() })).rejects.toBeInstanceOf(ForbiddenError);
    expect((await world.endConversation({ identity: STAFF, conversationId: id() })).conversation.status).toBe('ENDED');
    expect((await world.endConversation({ identity: COLLEAGUE, conversationId: id() })).conversation.status).toBe('ENDED');
    await expect(world.say(CUSTOMER, id(), 'hello?')).rejects.toBeInstanceOf(ConflictError);
    await expect(world.blockConversation({ identity: CUSTOMER, conversationId: id() })).rejects.toBeInstanceOf(ConflictError);
    const next = await world.startConversation({ identity: CUSTOMER, providerId: 1, customerId: 2, orderId: 12 });
    expect(next).toMatchObject({ created: true });
    expect(next.conversation.id).not.toBe(id());
  });

  it('never lifts a block', async () => {
    await world.blockConversation({ identity: CUSTOMER, conversationId: id() });
    await expect(world.endConversation({ identity: STAFF, conversationId: id() })).rejects.toBeInstanceOf(ConflictError);
    await expect(world.endConversation({ identity: ADMIN, conversationId: id() })).rejects.toBeInstanceOf(ConflictError);
  });
});

describe('the policy', () => {
  const subject = { customerId: 2, providerId: 1, blockedBy: null };
  it('declares every capability once, and admins only read and moderate among the everyday ones', () => {
    expect(Object.keys(POLICY).sort()).toEqual([...CAPABILITIES].sort());
    expect(CAPABILITIES.filter((capability) => can(ADMIN, capability, subject))).toEqual(['read', 'start', 'block', 'unblock', 'end', 'moderate', 'viewStats']);
    expect(CAPABILITIES.filter((capability) => can(CUSTOMER, capability, subject))).toEqual(['read', 'start', 'write', 'block']);
    expect(CAPABILITIES.filter((capability) => can(COLLEAGUE, capability, subject))).toEqual(['read', 'start', 'write', 'block', 'end', 'assign', 'viewStats']);
    expect(CAPABILITIES.filter((capability) => can(STRANGER, capability, subject))).toEqual([]);
    expect(CAPABILITIES.filter((capability) => can(OTHER_STAFF, capability, subject))).toEqual([]);
    expect(can(STAFF, 'unblock', { ...subject, blockedBy: 'provider' })).toBe(true);
    expect(can(CUSTOMER, 'unblock', { ...subject, blockedBy: 'provider' })).toBe(false);
  });

  it('lets a service start, read, send SYSTEM messages, block and end any conversation, and unblock only what it blocked', () => {
    for (const conversation of [subject, { customerId: 40, providerId: 41, blockedBy: null }]) {
      expect(CAPABILITIES.filter((capability) => can(SERVICE, capability, conversation))).toEqual(['read', 'start', 'sendSystem', 'block', 'end']);
    }
    expect(can(SERVICE, 'unblock', { ...subject, blockedBy: 'service' })).toBe(true);
    for (const blockedBy of ['customer', 'provider', 'admin'] as const) expect(can(SERVICE, 'unblock', { ...subject, blockedBy })).toBe(false);
    expect(canEverywhere(SERVICE, 'moderate')).toBe(false);
    expect(canEverywhere(ADMIN, 'moderate')).toBe(true);
    expect(canEverywhere(SERVICE, 'sendSystem')).toBe(true);
    for (const identity of [ADMIN, CUSTOMER, STAFF]) expect(canEverywhere(identity, 'sendSystem')).toBe(false);
    expect(actorOf(SERVICE, subject)).toBe('service');
  });
});

describe('a service', () => {
  it('blocks a conversation as `service`, unblocks what it blocked, and may not lift a side\'s block', async () => {
    const { conversation: blocked } = await world.blockConversation({ identity: SERVICE, conversationId: id() });
    expect(blocked).toMatchObject({ status: 'BLOCKED', blockedBy: 'service' });
    expect(blocked).not.toHaveProperty('unreadCount');
    expect(world.broadcaster.recipientsOf('chat-conversation-updated')).toEqual(['customer-phone', 'staff-desk']);
    await expect(world.unblockConversation({ identity: CUSTOMER, conversationId: id() })).rejects.toBeInstanceOf(ForbiddenError);
    await expect(world.unblockConversation({ identity: STAFF, conversationId: id() })).rejects.toBeInstanceOf(ForbiddenError);
    expect((await world.unblockConversation({ identity: SERVICE, conversationId: id() })).conversation).toMatchObject({ status: 'ACTIVE', blockedBy: null });

    await world.blockConversation({ identity: CUSTOMER, conversationId: id() });
    await expect(world.unblockConversation({ identity: SERVICE, conversationId: id() })).rejects.toBeInstanceOf(ForbiddenError);
    expect((await world.unblockConversation({ identity: CUSTOMER, conversationId: id() })).conversation.status).toBe('ACTIVE');
  });

  it('ends a conversation (a booking done)', async () => {
    expect((await world.endConversation({ identity: SERVICE, conversationId: id() })).conversation).toMatchObject({ status: 'ENDED', blockedBy: null });
    await expect(world.say(CUSTOMER, id(), 'still there?')).rejects.toBeInstanceOf(ConflictError);
  });
});
