/**
 * Search end to end against the real runtime: messages sent over a real WebSocket and over HTTP
 * are found by their words, the last one a prefix, each with its highlight; an edit is found by
 * its new words at once, a deletion never; another customer finds nothing of this conversation.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTestRuntime, type TestRuntime } from '#tests/support/runtime';
import { API, closeAllChats, openChat, restApi, type Json, type RestApi, type Subject } from './support/chat.ts';

const CUSTOMER: Subject = { userId: 82, role: 'customer' };
const STAFF: Subject = { userId: 87, role: 'provider', providerId: 81 };
const OTHER: Subject = { userId: 83, role: 'customer' };

let runtime: TestRuntime;
let api: RestApi;
let customer: string;
let staff: string;
let other: string;

beforeAll(async () => {
  runtime = await startTestRuntime();
  api = restApi(runtime.httpUrl);
  [customer, staff, other] = await Promise.all([api.devToken(CUSTOMER), api.devToken(STAFF), api.devToken(OTHER)]);
});
afterEach(closeAllChats);
afterAll(async () => {
  await closeAllChats();
  await runtime?.stop();
});

const search = async (token: string, q: string, extra = ''): Promise<Json> => {
  const response = await api.get(`${API}/search/messages?q=${encodeURIComponent(q)}${extra}`, token);
  expect(response.status, response.text).toBe(200);
  return response.body;
};

describe('search', () => {
  it('finds what was said by its words, follows edits, never shows a deleted message, and keeps to the caller\'s conversations', async () => {
    const conversationId = (await api.post('/conversations', customer, { providerId: 81, customerId: 82 })).body.conversation.id;
    const phone = await openChat(runtime, customer);
    await phone.ack('chat-join-conversation', { conversationId });
    const sent = await phone.ack('chat-send-message', { conversationId, content: 'Can you do the ceramic coating on Friday?' });
    const reply = await api.post(`/conversations/${conversationId}/messages`, staff, { content: 'Friday at 9 works, ceramic takes two days' });
    expect(reply.status, reply.text).toBe(201);

    const found = await search(staff, 'ceramic fri');
    expect(found.results.map((r: Json) => r.message.id).sort()).toEqual([sent.message.id, reply.body.message.id].sort());
    expect(found.results.find((r: Json) => r.message.id === reply.body.message.id).highlight).toBe(
      '<mark>Friday</mark> at 9 works, <mark>ceramic</mark> takes two days',
    );
    expect(found.nextCursor).toBeNull();

    const edited = await api.patch(`/conversations/${conversationId}/messages/${sent.message.id}`, customer, { content: 'Can you do the wax on Friday?' });
    expect(edited.status, edited.text).toBe(200);
    expect((await search(customer, 'ceramic')).results.map((r: Json) => r.message.id)).toEqual([reply.body.message.id]);
    expect((await search(customer, 'wax', `&conversationId=${conversationId}`)).results).toHaveLength(1);

    const removed = await api.call('DELETE', `/conversations/${conversationId}/messages/${reply.body.message.id}`, staff);
    expect(removed.status, removed.text).toBe(200);
    expect((await search(customer, 'ceramic')).results).toEqual([]);

    const outsider = await search(other, 'wax friday');
    expect(outsider.results).toEqual([]);
    const refused = await api.get(`${API}/search/messages?q=wax&conversationId=${conversationId}`, other);
    expect(refused.status).toBe(403);
    const empty = await api.get(`${API}/search/messages?q=${encodeURIComponent('?!')}`, customer);
    expect(empty.status).toBe(400);
    expect(empty.body.error.code).toBe('VALIDATION_ERROR');
  });
});
