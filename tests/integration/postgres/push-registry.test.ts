/**
 * The device registry and mutes on real Postgres: one statement per registration however many
 * race for one token, recipients with mutes applied in one query, badges in one query.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '#tests/support/postgres';
import { makeConversationStore } from '#adapters/postgres/conversation-store';
import { makeMessageStore } from '#adapters/postgres/message-store';
import { makePushRegistry } from '#adapters/postgres/push-registry';
import { partyKey, type ConversationStore, type MessageStore, type PushRegistry } from '#core/ports';

let db: Awaited<ReturnType<typeof createTestDatabase>>;
let conversations: ConversationStore;
let messages: MessageStore;
let registry: PushRegistry;

beforeAll(async () => {
  db = await createTestDatabase();
  conversations = makeConversationStore({ prisma: db.prisma });
  messages = makeMessageStore({ prisma: db.prisma });
  registry = makePushRegistry({ prisma: db.prisma });
});
afterAll(async () => db?.drop());

let nextId = 5000;
const fresh = () => nextId++;
const customer = (userId: number) => ({ userId, side: 'customer' as const, partyId: userId, platform: 'apns' as const, appId: null, locale: null });

describe('register', () => {
  it('creates, refreshes for the same user, and moves a token to another user as a new device', async () => {
    const [alice, bob] = [fresh(), fresh()];
    const token = `token-${fresh()}`;
    const first = await registry.register({ ...customer(alice), token, locale: 'de' });
    expect(first).toMatchObject({ created: true, device: { userId: alice, token, locale: 'de', endpointArn: null } });
    await registry.recordPushes({ pushed: [{ deviceId: first.device.id, endpointArn: 'arn:aws:sns:us-east-1:0:endpoint/APNS/app/1' }], removed: [], at: new Date() });

    const again = await registry.register({ ...customer(alice), token, locale: 'en', appId: 'com.example.wash' });
    expect(again).toMatchObject({ created: false, device: { id: first.device.id, locale: 'en', appId: 'com.example.wash', endpointArn: 'arn:aws:sns:us-east-1:0:endpoint/APNS/app/1' } });

    const moved = await registry.register({ ...customer(bob), token });
    expect(moved.created).toBe(true);
    expect(moved.device.id).not.toBe(first.device.id);
    // The endpoint is forgotten, so the next push re-binds it to its new owner; so is the push history.
    expect(moved.device).toMatchObject({ userId: bob, endpointArn: null, lastPushedAt: null });
    expect(await registry.devicesOf(alice)).toEqual([]);
    expect((await registry.devicesOf(bob)).map((d) => d.id)).toEqual([moved.device.id]);
  });

  it('keeps one row per token when many registrations race', async () => {
    const token = `race-${fresh()}`;
    const users = Array.from({ length: 8 }, fresh);
    await Promise.all(users.map((userId) => registry.register({ ...customer(userId), token })));
    const owners = await Promise.all(users.map((userId) => registry.devicesOf(userId)));
    expect(owners.flat()).toHaveLength(1);
  });

  it('tells apns and fcm tokens apart, and deletes only the owner\'s device', async () => {
    const user = fresh();
    const apns = await registry.register({ ...customer(user), token: 'same' });
    const fcm = await registry.register({ ...customer(user), platform: 'fcm', token: 'same' });
    expect(fcm.device.id).not.toBe(apns.device.id);
    expect(await registry.remove(apns.device.id, fresh())).toBe(false);
    expect(await registry.remove(apns.device.id, user)).toBe(true);
    expect((await registry.devicesOf(user)).map((d) => d.platform)).toEqual(['fcm']);
  });
});

describe('recipients, badges and recording a round', () => {
  it("finds a party's devices without the muted users, and badges its unread count over active, unarchived conversations", async () => {
    const providerId = fresh();
    const customerId = fresh();
    const [staff, colleague, muted] = [fresh(), fresh(), fresh()];
    const { conversation } = await conversations.startOrGet({ providerId, customerId, orderId: null });
    const { conversation: archived } = await conversations.startOrGet({ providerId, customerId, orderId: 1 });
    for (const userId of [staff, colleague, muted]) {
      await registry.register({ userId, side: 'provider', partyId: providerId, platform: 'fcm', token: `t-${userId}`, appId: null, locale: null });
    }
    const now = new Date();
    await registry.setMute(conversation.id, muted, { mutedUntil: null });
    await registry.setMute(conversation.id, colleague, { mutedUntil: new Date(now.getTime() - 1000) }); // over already
    const send = (conversationId: string) =>
      messages.append({ conversationId, senderId: customerId, senderRole: 'customer', senderPartyId: customerId, messageType: 'TEXT', content: 'hi' });
    await send(conversation.id);
    await send(conversation.id);
    await send(archived.id);
    await conversations.archive(archived.id, 'provider', now);

    const party = { side: 'provider' as const, partyId: providerId };
    const devices = await registry.recipients(conversation.id, [party], now);
    expect(devices.map((d) => d.userId).sort()).toEqual([staff, colleague].sort());
    expect((await registry.recipients(archived.id, [party], now)).map((d) => d.userId)).toHaveLength(3);

    const badges = await registry.badges([party, { side: 'customer', partyId: customerId }]);
    expect(badges.get(partyKey(party))).toBe(2);
    expect(badges.get(`customer:${customerId}`)).toBe(0);

    await registry.setMute(conversation.id, muted, null);
    expect(await registry.recipients(conversation.id, [party], now)).toHaveLength(3);

    const at = new Date();
    await registry.recordPushes({ pushed: [{ deviceId: devices[0]!.id, endpointArn: 'arn:aws:sns:us-east-1:0:endpoint/GCM/app/9' }], removed: [devices[1]!.id], at });
    const after = await registry.recipients(conversation.id, [party], now);
    expect(after).toHaveLength(2);
    expect(after.find((d) => d.id === devices[0]!.id)).toMatchObject({ endpointArn: 'arn:aws:sns:us-east-1:0:endpoint/GCM/app/9', lastPushedAt: at });
  });
});
