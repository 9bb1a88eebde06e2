/**
 * Edits, deletes, reactions and catching up with /sync, lived by real WebSocket clients against
 * the real runtime: one customer device stays online and sees every change live; another was
 * offline and catches up from its cursor, seeing the same changes in order, with a deleted
 * message only ever as a tombstone. And the after-commit pipeline: every change reaches the
 * events queue's consumer, which confirms it in the change log.
 */
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { encodeSyncCursor } from '#core/changes';
import { startTestRuntime, type TestRuntime } from '#tests/support/runtime';
import { API, closeAllChats, eventually, openChat, restApi, type Json, type RestApi, type Subject } from './support/chat.ts';

const CUSTOMER: Subject = { userId: 2, role: 'customer' };
const STAFF: Subject = { userId: 7, role: 'provider', providerId: 1 };

let runtime: TestRuntime;
let api: RestApi;
let customer: string;
let staff: string;
let nextOrderId = 5000;

beforeAll(async () => {
  runtime = await startTestRuntime({ env: { CHAT_SEND_RATE_LIMIT: '1000' } });
  api = restApi(runtime.httpUrl);
  [customer, staff] = await Promise.all([api.devToken(CUSTOMER), api.devToken(STAFF)]);
});
afterEach(closeAllChats);
afterAll(async () => {
  await closeAllChats();
  await runtime?.stop();
});

async function newConversation(): Promise<string> {
  const response = await api.post('/conversations', staff, { providerId: 1, customerId: 2, orderId: nextOrderId++ });
  expect(response.status).toBe(201);
  return response.body.conversation.id;
}

const sync = (token: string, since?: string, limit = 100) =>
  api.get(`${API}/sync?${new URLSearchParams({ ...(since ? { since } : {}), limit: String(limit) })}`, token);

/** Everything after `since`, page by page. */
async function syncAll(token: string, since: string, limit: number): Promise<{ changes: Json[]; cursor: string; pages: number }> {
  const changes: Json[] = [];
  let cursor = since;
  for (let pages = 1; ; pages++) {
    const response = await sync(token, cursor, limit);
    expect(response.status, response.text).toBe(200);
    changes.push(...response.body.changes);
    cursor = response.body.cursor;
    if (!response.body.hasMore) return { changes, cursor, pages };
  }
}

describe('edit, delete and react, live and caught up', () => {
  it('an online device sees each change as it happens; an offline one catches up on all of it from /sync', async () => {
    const conversationId = await newConversation();
    const start = (await sync(customer)).body.cursor as string;
    const phone = await openChat(runtime, customer);
    const desk = await openChat(runtime, staff);

    const sent = await phone.ack('chat-send-message', { conversationId, content: 'Can you come at 10?', clientMessageId: 'c-1' });
    const id = sent.message.id;
    const edited = await phone.ack('chat-edit-message', { messageId: id, content: 'Can you come at 11?' });
    expect(edited.message).toMatchObject({ id, content: 'Can you come at 11?', editedAt: expect.any(String) });
    expect((await desk.nextEvent('chat-message-updated')).data.message).toMatchObject({ id, content: 'Can you come at 11?' });

    const reacted = await api.call('PUT', `/conversations/${conversationId}/messages/${id}/reactions/${encodeURIComponent('👍')}`, staff);
    expect(reacted.status, reacted.text).toBe(200);
    expect(reacted.body.message.reactions).toEqual([{ emoji: '👍', count: 1, userIds: [7] }]);
    expect((await phone.nextEvent('chat-reaction-updated')).data).toEqual({
      conversationId, messageId: id, emoji: '👍', userId: 7, added: true, reactions: [{ emoji: '👍', count: 1, userIds: [7] }],
    });

    const secret = await api.post(`/conversations/${conversationId}/messages`, customer, { content: 'my code is 4711' });
    const deleted = await api.call('DELETE', `/conversations/${conversationId}/messages/${secret.body.message.id}`, customer);
    expect(deleted.status).toBe(200);
    expect(deleted.body.message).toMatchObject({ id: secret.body.message.id, seq: 2, content: '', deletedAt: expect.any(String) });
    expect((await desk.nextEvent('chat-message-deleted')).data).toEqual({
      conversationId, messageId: secret.body.message.id, seq: 2, deletedAt: deleted.body.message.deletedAt,
    });
    // Repeating the delete answers the same tombstone.
    expect((await api.call('DELETE', `/conversations/${conversationId}/messages/${secret.body.message.id}`, customer)).body).toEqual(deleted.body);

    // The laptop was offline all along.
    const { changes, pages } = await syncAll(customer, start, 2);
    expect(pages).toBeGreaterThan(1);
    const mine = changes.filter((change) => change.conversationId === conversationId);
    expect(mine.map((change) => change.type)).toEqual(['message.created', 'message.updated', 'reaction.updated', 'message.created', 'message.deleted']);
    expect(mine[0].data.message).toMatchObject({ id, content: 'Can you come at 11?', reactions: [{ emoji: '👍', count: 1, userIds: [7] }] });
    expect(mine[2].data).toEqual({ messageId: id, reactions: [{ emoji: '👍', count: 1, userIds: [7] }] });
    expect(JSON.stringify(changes)).not.toContain('4711');
    expect(new Set(changes.map((change) => change.cursor)).size).toBe(changes.length);
  });

  it('refuses what the rules forbid with the contract codes, over REST and WebSocket', async () => {
    const conversationId = await newConversation();
    const { body } = await api.post(`/conversations/${conversationId}/messages`, customer, { content: 'mine' });
    const id = body.message.id;
    expect((await api.patch(`/conversations/${conversationId}/messages/${id}`, staff, { content: 'not yours' })).status).toBe(403);
    const desk = await openChat(runtime, staff);
    const refused = await desk.request('editMessage', { messageId: id, content: 'not yours' });
    expect(refused).toMatchObject({ event: 'chat-error', data: { code: 'FORBIDDEN' } });
    const badEmoji = await desk.request('chat-react', { messageId: id, emoji: 'thumbs up', added: true });
    expect(badEmoji).toMatchObject({ event: 'chat-error', data: { code: 'VALIDATION_ERROR' } });

    await api.call('DELETE', `/conversations/${conversationId}/messages/${id}`, customer);
    const late = await api.patch(`/conversations/${conversationId}/messages/${id}`, customer, { content: 'back again' });
    expect(late.status).toBe(409);
    expect(late.body.error.code).toBe('CONFLICT');
  });
});

describe('/sync', () => {
  it('answers a starting cursor without changes, 410 CURSOR_EXPIRED for a cursor past the retention, 403 for admins', async () => {
    const first = await sync(customer);
    expect(first.status).toBe(200);
    expect(first.body).toEqual({ changes: [], cursor: expect.any(String), hasMore: false });

    const old = encodeSyncCursor({ txid: 1n, id: 1n, seenUntil: Date.now() - 31 * 86_400_000 });
    const expired = await sync(customer, old);
    expect(expired.status).toBe(410);
    expect(expired.body.error.code).toBe('CURSOR_EXPIRED');

    expect((await sync(customer, 'forged')).status).toBe(400);
    const admin = await api.devToken({ userId: 99, role: 'admin' });
    expect((await sync(admin)).status).toBe(403);
  });
});

describe('the after-commit event pipeline', () => {
  it('every change reaches the events queue and its consumer confirms it in the change log', async () => {
    const conversationId = await newConversation();
    await api.post(`/conversations/${conversationId}/messages`, customer, { content: 'to the queue' });
    const client = new pg.Client({ connectionString: runtime.databaseUrl });
    await client.connect();
    try {
      const confirmed = await eventually(
        async () => (await client.query<{ type: string; published: boolean }>(
          'SELECT type, "publishedAt" IS NOT NULL AS published FROM "chatChanges" WHERE "conversationId" = $1 ORDER BY id', [conversationId])).rows,
        (rows) => rows.length === 2 && rows.every((row) => row.published),
        15_000,
      );
      expect(confirmed.map((row) => row.type)).toEqual(['conversation.created', 'message.created']);
    } finally {
      await client.end();
    }
  });
});
