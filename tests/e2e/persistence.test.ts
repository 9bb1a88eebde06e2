/**
 * A restart keeps everything: the runtime on a data directory of its own (its own embedded
 * Postgres and DynamoDB Local, not the test run's servers) is stopped and started again on the
 * same directory, and the conversation, its messages (same ids and seq, same receipts) and the
 * token issuer's key (a token from before still works) are all still there.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { openChat, restApi, type Json } from './support/chat.ts';
import { startRuntimeProcess, type RuntimeProcess } from './support/runtime-process.ts';

const running: RuntimeProcess[] = [];
let dataDir: string | undefined;

afterAll(async () => {
  await Promise.allSettled(running.map((runtime) => runtime.stop()));
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

async function start(dir: string): Promise<RuntimeProcess> {
  const runtime = await startRuntimeProcess(dir);
  running.push(runtime);
  return runtime;
}

async function stop(runtime: RuntimeProcess): Promise<void> {
  expect(await runtime.stop(), runtime.output()).toBe(0);
  running.splice(running.indexOf(runtime), 1);
}

it('keeps conversations, messages, receipts and the token issuer’s key across a restart', { timeout: 120_000 }, async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'chat-restart-'));

  // ── First run: a fresh data directory ──────────────────────────────────────────────
  const first = await start(dataDir);
  let api = restApi(first.httpUrl);
  expect((await api.get('/health')).body).toEqual({ status: 'ok' });
  const customer = await api.devToken({ userId: 2, role: 'customer' });
  const staff = await api.devToken({ userId: 7, role: 'provider', providerId: 1 });
  const jwks = (await api.get('/.well-known/jwks.json')).body;

  const started = await api.post('/conversations', staff, { providerId: 1, customerId: 2, orderId: 123 });
  expect(started.status).toBe(201);
  const conversationId = started.body.conversation.id as string;

  const phone = await openChat(first, customer);
  const hello = (await phone.ack('chat-send-message', { conversationId, content: 'Is my car ready?', clientMessageId: 'phone-1' })).message;
  const answer = (await api.post(`/conversations/${conversationId}/messages`, staff, { content: 'Yes, come by at 5.' })).body.message;
  await phone.nextEvent('chat-new-message', (data: Json) => data.message.id === answer.id);
  await phone.ack('chat-update-message-status', { messageId: answer.id, status: 'READ' });
  const third = (await api.post(`/conversations/${conversationId}/messages`, customer, { content: 'Thanks!' })).body.message;
  await phone.close();

  const before = (await api.get(`/conversations/${conversationId}/messages`, customer)).body;
  expect(before.messages.map((m: Json) => [m.seq, m.id])).toEqual([
    [1, hello.id],
    [2, answer.id],
    [3, third.id],
  ]);
  const businessInbox = (await api.get('/conversations', staff)).body.conversations;
  await stop(first);

  // ── Second run: same directory, new process, new ports ──────────────────────────────
  const second = await start(dataDir);
  api = restApi(second.httpUrl);
  expect((await api.get('/health')).body).toEqual({ status: 'ok' });
  expect((await api.get('/.well-known/jwks.json')).body).toEqual(jwks);

  // The old tokens still work, and everything reads back exactly as it was.
  const after = await api.get(`/conversations/${conversationId}/messages`, customer);
  expect(after.status).toBe(200);
  expect(after.body).toEqual(before);
  expect(after.body.messages[1]).toMatchObject({ status: 'READ', readAt: expect.any(String) });
  expect((await api.get('/conversations', staff)).body.conversations).toEqual(businessInbox);

  // The same conversation, not a new one; the sequence goes on; a repeated clientMessageId is still known.
  const again = await api.post('/conversations', customer, { providerId: 1, customerId: 2, orderId: 123 });
  expect(again.status).toBe(200);
  expect(again.body.conversation.id).toBe(conversationId);
  const retry = await api.post(`/conversations/${conversationId}/messages`, customer, { content: 'Is my car ready?', clientMessageId: 'phone-1' });
  expect(retry.status).toBe(200);
  expect(retry.body.message.id).toBe(hello.id);

  const laptop = await openChat(second, customer);
  const next = (await laptop.ack('chat-send-message', { conversationId, content: 'Back again' })).message;
  expect(next.seq).toBe(4);
  await laptop.nextEvent('chat-new-message', (data: Json) => data.message.id === next.id);
  await laptop.close();
  await stop(second);
});
