/**
 * Moderation end to end against the real runtime: a message with a phone number is stored with
 * its flag and reaches the admins' review queue by itself (through the events and moderation
 * queues); a customer's report joins it; an admin resolves both, one by deleting the message as
 * their own route would (both sides hear the deletion live).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTestRuntime, type TestRuntime } from '#tests/support/runtime';
import { API, closeAllChats, eventually, openChat, restApi, type Json, type RestApi, type Subject } from './support/chat.ts';

const CUSTOMER: Subject = { userId: 72, role: 'customer' };
const STAFF: Subject = { userId: 77, role: 'provider', providerId: 71 };
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

const queue = async (status = 'OPEN'): Promise<Json[]> => {
  const response = await api.get(`${API}/moderation/reports?status=${status}`, admin);
  expect(response.status, response.text).toBe(200);
  return response.body.reports;
};

describe('moderation', () => {
  it('flags contact details into the review queue, takes reports, and resolves them as the admin would act', async () => {
    const conversationId = (await api.post('/conversations', customer, { providerId: 71, customerId: 72 })).body.conversation.id;
    const phone = await openChat(runtime, customer);
    const flagged = await api.post(`/conversations/${conversationId}/messages`, staff, { content: 'Cheaper if you call me: +49 170 1234567' });
    expect(flagged.status, flagged.text).toBe(201);
    expect(flagged.body.message.metadata).toEqual({ flags: ['contact_info'] });

    const [byProduct] = await eventually(() => queue(), (reports) => reports.some((r: Json) => r.message.id === flagged.body.message.id), 15_000);
    expect(byProduct).toMatchObject({ status: 'OPEN', reason: 'off_platform', reporterId: null, conversationId });

    const rude = await api.post(`/conversations/${conversationId}/messages`, staff, { content: 'whatever' });
    const reported = await api.post(`/conversations/${conversationId}/messages/${rude.body.message.id}/report`, customer, { reason: 'abuse', note: 'rude' });
    expect(reported.status, reported.text).toBe(201);
    expect((await api.post(`/conversations/${conversationId}/messages/${rude.body.message.id}/report`, customer, { reason: 'spam' })).status).toBe(200);
    expect((await api.get(`${API}/moderation/reports`, customer)).status).toBe(403);

    const resolved = await api.post(`${API}/moderation/reports/${byProduct.id}/resolve`, admin, { action: 'delete_message', note: 'off-platform offer' });
    expect(resolved.status, resolved.text).toBe(200);
    expect(resolved.body.report).toMatchObject({ status: 'RESOLVED', resolution: 'delete_message', resolvedBy: 99, message: { content: '', deletedAt: expect.any(String) } });
    expect((await phone.nextEvent('chat-message-deleted')).data.messageId).toBe(flagged.body.message.id);

    expect((await api.post(`${API}/moderation/reports/${reported.body.report.id}/resolve`, admin, { action: 'dismiss' })).status).toBe(200);
    expect((await queue('RESOLVED')).map((r: Json) => r.id).sort()).toEqual([byProduct.id, reported.body.report.id].sort());
    expect((await api.post(`${API}/moderation/reports/${byProduct.id}/resolve`, admin, { action: 'dismiss' })).status).toBe(409);
  });
});
