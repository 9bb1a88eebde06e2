/**
 * A 429 says when to come back: `Retry-After` in whole seconds, rounded up from the error's
 * `details.retryAfterMs`, on the real send handler.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { people, startHandlerHarness, type HandlerHarness } from '#tests/support/handler-harness';

const RATE_LIMIT = 2;
const WINDOW_MS = 10_000;

let h: HandlerHarness;
let conversationId: string;

beforeAll(async () => {
  h = await startHandlerHarness({ env: { CHAT_SEND_RATE_LIMIT: String(RATE_LIMIT), CHAT_SEND_RATE_WINDOW_MS: String(WINDOW_MS) } });
  const started = await h.http('startConversation', { identity: people.customer, body: { providerId: 1, customerId: 2 } });
  conversationId = started.json.conversation.id as string;
});

afterAll(async () => {
  await h?.stop();
});

it('a send over the rate limit answers 429 with Retry-After in whole seconds, rounded up from retryAfterMs', async () => {
  const send = (content: string) => h.http('sendMessage', { identity: people.customer, params: { conversationId }, body: { content } });
  for (let i = 0; i < RATE_LIMIT; i++) expect((await send(`ok ${i}`)).status).toBe(201);
  const refused = await send('one too many');
  expect(refused.status, refused.body).toBe(429);
  expect(refused.json.error.code).toBe('RATE_LIMITED');
  const { retryAfterMs } = refused.json.error.details as { retryAfterMs: number };
  expect(refused.headers['retry-after']).toMatch(/^\d+$/);
  const seconds = Number(refused.headers['retry-after']);
  expect(seconds).toBe(Math.max(1, Math.ceil(retryAfterMs / 1000)));
  expect(seconds).toBeGreaterThanOrEqual(1);
  expect(seconds).toBeLessThanOrEqual(WINDOW_MS / 1000);
});

it('answers other than 429 carry no Retry-After', async () => {
  const reply = await h.http('getMessages', { identity: people.otherCustomer, params: { conversationId } });
  expect(reply.status).toBe(403);
  expect(reply.headers['retry-after']).toBeUndefined();
});
