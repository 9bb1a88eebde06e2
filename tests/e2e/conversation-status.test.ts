/**
 * Block, unblock and end lived by real WebSocket clients against the real runtime: both sides
 * hear `chat-conversation-updated`, a send after the block is refused over WebSocket and REST,
 * the pair cannot start another conversation while blocked, and an ended conversation stays
 * readable but takes nothing.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTestRuntime, type TestRuntime } from '#tests/support/runtime';
import { closeAllChats, openChat, restApi, type RestApi, type Subject } from './support/chat.ts';

const CUSTOMER: Subject = { userId: 62, role: 'customer' };
const STAFF: Subject = { userId: 67, role: 'provider', providerId: 61 };
const ADMIN: Subject = { userId: 99, role: 'admin' };

let runtime: TestRuntime;
let api: RestApi;
let customer: string;
let staff: string;
let admin: string;

beforeAll(async () => {
  runtime = await startTestRuntime();
  api = restApi(runtime.httpUrl);
  [customer, staff, admin] = await Promise.all([api.devToken(CUSTOMER), api.devToken(STAFF), api.devToken(ADMIN)]);
});
afterEach(closeAllChats);
afterAll(async () => {
  await closeAllChats();
  await runtime?.stop();
});

describe('conversation status', () => {
  it('a block reaches both sides live, stops sends and new conversations of the pair; unblocking by the blocker frees them', async () => {
    const conversationId = (await api.post('/conversations', customer, { providerId: 61, customerId: 62, orderId: 1 })).body.conversation.id;
    const phone = await openChat(runtime, customer);
    const desk = await openChat(runtime, staff);

    const blocked = await api.post(`/conversations/${conversationId}/block`, customer, {});
    expect(blocked.status, blocked.text).toBe(200);
    expect(blocked.body.conversation).toMatchObject({ status: 'BLOCKED', blockedBy: 'customer' });
    for (const client of [phone, desk]) {
      expect((await client.nextEvent('chat-conversation-updated')).data.conversation).toMatchObject({ id: conversationId, status: 'BLOCKED', blockedBy: 'customer' });
    }

    expect(await desk.request('chat-send-message', { conversationId, content: 'why?' })).toMatchObject({ event: 'chat-error', data: { code: 'CONFLICT' } });
    expect((await api.post(`/conversations/${conversationId}/messages`, staff, { content: 'why?' })).status).toBe(409);
    const another = await api.post('/conversations', staff, { providerId: 61, customerId: 62, orderId: 2 });
    expect(another.status).toBe(409);
    expect(another.body.error.code).toBe('CONFLICT');
    expect((await api.post(`/conversations/${conversationId}/unblock`, staff, {})).status).toBe(403);

    const unblocked = await api.post(`/conversations/${conversationId}/unblock`, customer, {});
    expect(unblocked.body.conversation).toMatchObject({ status: 'ACTIVE', blockedBy: null });
    expect((await desk.nextEvent('chat-conversation-updated')).data.conversation.status).toBe('ACTIVE');
    expect((await desk.ack('chat-send-message', { conversationId, content: 'Sorry about that' })).message.content).toBe('Sorry about that');
  });

  it('an ended conversation stays readable, takes nothing, and the order may start afresh', async () => {
    const conversationId = (await api.post('/conversations', customer, { providerId: 61, customerId: 62, orderId: 3 })).body.conversation.id;
    await api.post(`/conversations/${conversationId}/messages`, customer, { content: 'Thanks, all clean!' });
    expect((await api.post(`/conversations/${conversationId}/end`, customer, {})).status).toBe(403);
    expect((await api.post(`/conversations/${conversationId}/end`, staff, {})).body.conversation.status).toBe('ENDED');

    expect((await api.get(`/conversations/${conversationId}/messages`, admin)).body.messages.map((m: { content: string }) => m.content)).toEqual(['Thanks, all clean!']);
    expect((await api.post(`/conversations/${conversationId}/messages`, customer, { content: 'one more' })).status).toBe(409);
    expect((await api.post(`/conversations/${conversationId}/block`, customer, {})).status).toBe(409);
    const next = await api.post('/conversations', customer, { providerId: 61, customerId: 62, orderId: 3 });
    expect(next.status).toBe(201);
    expect(next.body.conversation.id).not.toBe(conversationId);
  });

  it("assignment in the shared inbox reaches both sides live and filters the provider's inbox", async () => {
    const colleague = await api.devToken({ userId: 68, role: 'provider', providerId: 61 });
    const conversationId = (await api.post('/conversations', customer, { providerId: 61, customerId: 62, orderId: 5 })).body.conversation.id;
    const phone = await openChat(runtime, customer);
    const desk = await openChat(runtime, colleague);

    const assigned = await api.patch(`/conversations/${conversationId}/assignee`, staff, { userId: 68 });
    expect(assigned.status, assigned.text).toBe(200);
    expect(assigned.body.conversation).toMatchObject({ id: conversationId, assigneeId: 68 });
    for (const client of [phone, desk]) {
      expect((await client.nextEvent('chat-conversation-updated', (data) => data.conversation.id === conversationId)).data.conversation.assigneeId).toBe(68);
    }

    const mine = await api.get('/conversations?assignee=me', colleague);
    expect(mine.status, mine.text).toBe(200);
    expect(mine.body.conversations.map((c: { id: string }) => c.id)).toEqual([conversationId]);
    const unassigned = await api.get('/conversations?assignee=unassigned', staff);
    expect(unassigned.body.conversations.map((c: { id: string }) => c.id)).not.toContain(conversationId);
    expect((await api.get('/conversations?assignee=me', customer)).status).toBe(403);
    expect((await api.patch(`/conversations/${conversationId}/assignee`, customer, { userId: 62 })).status).toBe(403);
    expect((await api.patch(`/conversations/${conversationId}/assignee`, staff, { userId: 'someone' })).status).toBe(400);
  });
});
