/**
 * Signed webhooks end to end: the real runtime with CHAT_WEBHOOK_URL pointing at a real HTTP
 * receiver (node:http on an ephemeral port). Starting a conversation, sending, reporting,
 * deleting and blocking go through the change log, the events queue, its consumer, the webhooks
 * queue and the delivering consumer, each arriving as a signed POST; a receiver that fails once
 * gets the same event again. A file of its own: the handlers read CHAT_WEBHOOK_* once per process.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyWebhookSignature } from '#core/webhooks';
import { startTestRuntime, type TestRuntime } from '#tests/support/runtime';
import { API, eventually, restApi, type Json, type RestApi, type Subject } from './support/chat.ts';

const CUSTOMER: Subject = { userId: 62, role: 'customer' };
const STAFF: Subject = { userId: 67, role: 'provider', providerId: 61 };
const SECRET = 'e2e-webhook-secret-0123456789';

interface Received {
  headers: IncomingHttpHeaders;
  raw: string;
  body: { id: string; type: string; at: string; data: Json };
  status: number;
  at: Date;
}

let receiver: Server;
const received: Received[] = [];
let runtime: TestRuntime;
let api: RestApi;

beforeAll(async () => {
  receiver = createServer((request, response) => {
    let raw = '';
    request.on('data', (chunk: Buffer) => (raw += chunk.toString('utf8')));
    request.on('end', () => {
      const body = JSON.parse(raw) as Received['body'];
      // The receiver fails the first delivery of one message, to be asked again.
      const failOnce = (body.data.message as Json | undefined)?.content === 'fail me once' && !received.some((r) => r.body.id === body.id);
      const status = failOnce ? 500 : 200;
      received.push({ headers: request.headers, raw, body, status, at: new Date() });
      response.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/chat-events`;
  runtime = await startTestRuntime({ env: { CHAT_WEBHOOK_URL: url, CHAT_WEBHOOK_SECRET: SECRET, CHAT_WEBHOOK_RETRY_BASE_SECONDS: '1' } });
  api = restApi(runtime.httpUrl);
});
afterAll(async () => {
  await runtime?.stop();
  receiver?.closeAllConnections();
  await new Promise((resolve) => receiver?.close(resolve));
});

const arrived = (predicate: (r: Received) => boolean, count = 1) =>
  eventually(async () => received.filter(predicate), (list) => list.length >= count, 20_000);

describe('signed webhooks', () => {
  it('POSTs conversation, message and report events, signed, rendered as they are now', async () => {
    const [customer, staff] = await Promise.all([api.devToken(CUSTOMER), api.devToken(STAFF)]);
    const syncStart = (await api.get(`${API}/sync`, customer)).body.cursor as string;
    const started = await api.post('/conversations', customer, { providerId: 61, customerId: 62 });
    expect(started.status, started.text).toBe(201);
    const conversationId: string = started.body.conversation.id;
    const sent = await api.post(`/conversations/${conversationId}/messages`, staff, { content: 'Pay me in cash, it is cheaper' });
    const message = sent.body.message;
    const reported = await api.post(`/conversations/${conversationId}/messages/${message.id}/report`, customer, { reason: 'spam', note: 'asks for cash' });
    expect(reported.status, reported.text).toBe(201);

    const [created] = await arrived((r) => r.body.type === 'conversation.created' && (r.body.data.conversation as Json).id === conversationId);
    const [messageCreated] = await arrived((r) => r.body.type === 'message.created' && (r.body.data.message as Json).id === message.id);
    const [report] = await arrived((r) => r.body.type === 'report.created' && (r.body.data.report as Json).id === reported.body.report.id);

    for (const delivery of [created!, messageCreated!, report!]) {
      expect(delivery.headers['content-type']).toBe('application/json');
      expect(delivery.headers['x-chat-signature']).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
      expect(verifyWebhookSignature(SECRET, delivery.raw, delivery.headers['x-chat-signature'] as string, delivery.at)).toBe(true);
      expect(verifyWebhookSignature('not-the-secret-0123456789', delivery.raw, delivery.headers['x-chat-signature'] as string, delivery.at)).toBe(false);
      expect(Object.keys(delivery.body).sort()).toEqual(['at', 'data', 'id', 'type']);
      expect(delivery.headers['x-chat-event-id']).toBe(delivery.body.id);
    }
    expect(created!.body.data).toEqual({ conversation: expect.objectContaining({ id: conversationId, customerId: 62, providerId: 61, status: 'ACTIVE' }) });
    expect(messageCreated!.body.data).toEqual({ message: expect.objectContaining({ id: message.id, content: 'Pay me in cash, it is cheaper', seq: 1 }) });
    expect(report!.body.data).toEqual({
      report: expect.objectContaining({ id: reported.body.report.id, status: 'OPEN', reason: 'spam', note: 'asks for cash', reporterId: 62, conversationId }),
    });

    // Deleted: the event carries the tombstone; blocked: the conversation as it is now.
    const deleted = await api.call('DELETE', `/conversations/${conversationId}/messages/${message.id}`, staff);
    expect(deleted.status, deleted.text).toBe(200);
    expect((await api.post(`/conversations/${conversationId}/block`, customer, {})).status).toBe(200);
    const [tombstone] = await arrived((r) => r.body.type === 'message.deleted' && (r.body.data.message as Json).id === message.id);
    expect(tombstone!.raw).not.toContain('cash');
    expect((tombstone!.body.data.message as Json).deletedAt).toEqual(expect.any(String));
    const [updated] = await arrived((r) => r.body.type === 'conversation.updated' && (r.body.data.conversation as Json).id === conversationId);
    expect((updated!.body.data.conversation as Json).status).toBe('BLOCKED');

    // report.created is for webhooks only: /sync does not show it.
    const synced = await api.get(`${API}/sync?${new URLSearchParams({ since: syncStart, limit: '500' })}`, customer);
    expect(synced.status, synced.text).toBe(200);
    const types = synced.body.changes.map((change: Json) => change.type);
    expect(types).toEqual(expect.arrayContaining(['conversation.created', 'message.created', 'message.deleted', 'conversation.updated']));
    expect(types).not.toContain('report.created');
  });

  it('retries a failed delivery with the same id until the receiver takes it', async () => {
    const [customer] = await Promise.all([api.devToken(CUSTOMER)]);
    const started = await api.post('/conversations', customer, { providerId: 63, customerId: 62 });
    expect(started.status, started.text).toBe(201);
    const conversationId = started.body.conversation.id;
    const sent = await api.post(`/conversations/${conversationId}/messages`, customer, { content: 'fail me once' });
    const attempts = await arrived((r) => r.body.type === 'message.created' && (r.body.data.message as Json).id === sent.body.message.id, 2);
    expect(attempts.map((a) => a.status)).toEqual([500, 200]);
    expect(new Set(attempts.map((a) => a.body.id)).size).toBe(1);
    for (const attempt of attempts) expect(verifyWebhookSignature(SECRET, attempt.raw, attempt.headers['x-chat-signature'] as string, attempt.at)).toBe(true);
    // Delivered: no third attempt.
    await new Promise((resolve) => setTimeout(resolve, 2500));
    expect(received.filter((r) => r.body.id === attempts[0]!.body.id)).toHaveLength(2);
  });
});
