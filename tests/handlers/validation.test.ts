/**
 * Request validation through the real handlers: strict JSON bodies (no coercion, only
 * application/json), messages that name the field, lone surrogates refused in every text field,
 * attachments only as upload ids, the metadata size limit (HTTP and WebSocket), and one `limit` behaviour (capped).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { people, startHandlerHarness, type HandlerHarness, type HttpReply, type Loose } from '#tests/support/handler-harness';

const MAX_METADATA_BYTES = 1024;

let h: HandlerHarness;
let conversationId: string;

function expectError(reply: HttpReply, status: number, code: string): Loose {
  expect(reply.status, reply.body).toBe(status);
  expect(reply.json.error.code).toBe(code);
  return reply.json.error;
}
const messages = (error: Loose) => (error.details as { path: string; message: string }[]).map((d) => `${d.path}: ${d.message}`);

const start = (body: unknown, headers?: Record<string, string>) => h.http('startConversation', { identity: people.customer, body, ...(headers ? { headers } : {}) });
const send = (body: unknown, headers?: Record<string, string>) =>
  h.http('sendMessage', { identity: people.customer, params: { conversationId }, body, ...(headers ? { headers } : {}) });

beforeAll(async () => {
  h = await startHandlerHarness({ env: { CHAT_MAX_METADATA_BYTES: String(MAX_METADATA_BYTES), CHAT_SEND_RATE_LIMIT: '1000' } });
  const reply = await start({ providerId: 1, customerId: 2 });
  expect(reply.status).toBeLessThan(300);
  conversationId = reply.json.conversation.id;
  await h.ws.connect('validation-ws=', { token: h.token(people.customer) });
});
afterAll(async () => h?.stop());

describe('JSON bodies are typed strictly', () => {
  it('refuses ids sent as strings, naming the field and what it got', async () => {
    const error = expectError(await start({ providerId: '1', customerId: 2 }), 400, 'VALIDATION_ERROR');
    expect(messages(error)).toEqual(['providerId: providerId must be an integer, got string']);
  });

  it('says a missing field is required (not "received NaN")', async () => {
    const error = expectError(await start({ providerId: 1 }), 400, 'VALIDATION_ERROR');
    expect(messages(error)).toEqual(['customerId: customerId is required']);
    expect(JSON.stringify(error)).not.toContain('NaN');
    const content = expectError(await send({}), 400, 'VALIDATION_ERROR');
    expect(messages(content)).toEqual(['content: content is required']);
  });

  it('names non-integers and non-positive ids', async () => {
    expect(messages(expectError(await start({ providerId: 1.5, customerId: 2 }), 400, 'VALIDATION_ERROR'))).toEqual(['providerId: providerId must be an integer, got 1.5']);
    expect(messages(expectError(await start({ providerId: 0, customerId: 2 }), 400, 'VALIDATION_ERROR'))).toEqual(['providerId: providerId must be a positive integer, got 0']);
  });

  it('refuses free-form attachments: only [{"id"}] of uploads, 1 to 10, each once', async () => {
    const tenIds = Array.from({ length: 11 }, (_, i) => ({ id: `upload-${i}` }));
    for (const attachments of ['nope', 12, { url: 'x' }, ['x'], [], [{ url: 'https://x/y.jpg' }], [{ id: 'a', url: 'https://x/y.jpg' }], [{ id: '' }], tenIds, [{ id: 'a' }, { id: 'a' }]]) {
      const error = expectError(await send({ content: 'photo', messageType: 'IMAGE', attachments }), 400, 'VALIDATION_ERROR');
      expect(error.details[0].path, JSON.stringify(attachments)).toMatch(/^attachments/);
    }
    const freeForm = expectError(await send({ content: 'photo', messageType: 'IMAGE', attachments: [{ url: 'https://x/y.jpg' }] }), 400, 'VALIDATION_ERROR');
    expect(freeForm.details[0].message).toContain('free-form attachment JSON is not accepted');
  });
});

describe('content-type', () => {
  it('refuses a body that is not application/json with 400', async () => {
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/json; charset=latin1']) {
      const error = expectError(await start({ providerId: 1, customerId: 2 }, { 'content-type': type }), 400, 'VALIDATION_ERROR');
      expect(error.message).toContain('application/json');
    }
  });

  it('accepts application/json with a utf-8 charset, and a missing content-type only without a body', async () => {
    expect((await start({ providerId: 1, customerId: 2 }, { 'content-type': 'application/json; charset=utf-8' })).status).toBe(200);
    expect((await start({ providerId: 1, customerId: 2 }, { 'content-type': 'Application/JSON' })).status).toBe(200);
    const event = h.httpEvent('startConversation', { identity: people.customer, body: { providerId: 1, customerId: 2 } }) as { headers: Record<string, string> };
    delete event.headers['content-type'];
    const routeEntry = 'http/start-conversation';
    const reply = (await h.invoke(routeEntry, event)) as { statusCode: number; body: string };
    expect(reply.statusCode).toBe(400);
    expect(JSON.parse(reply.body).error.message).toMatch(/content-type/);
  });
});

describe('lone surrogates', () => {
  it('refuses them in clientMessageId, so two different ids are never taken for one', async () => {
    for (const clientMessageId of ['x\ud800', 'x\udbff', '\udc00x']) {
      const error = expectError(await send({ content: 'hi', clientMessageId }), 400, 'VALIDATION_ERROR');
      expect(messages(error)[0]).toMatch(/^clientMessageId: .*surrogate/);
    }
    expect((await send({ content: 'hi', clientMessageId: 'x\ud83d\ude00' })).status).toBe(201);
  });

  it('refuses them in content, replyToId, cursors and emoji (a URL path cannot carry one: UTF-8 has no encoding for it)', async () => {
    expectError(await send({ content: 'broken \ud800 text' }), 400, 'VALIDATION_ERROR');
    expectError(await send({ content: 'hi', replyToId: 'm\udfff' }), 400, 'VALIDATION_ERROR');
    expectError(await h.http('listConversations', { identity: people.customer, query: { cursor: 'a\ud800' } }), 400, 'VALIDATION_ERROR');
    expectError(await h.http('sync', { identity: people.customer, query: { since: 'a\ud800' } }), 400, 'VALIDATION_ERROR');
    const sent = await send({ content: 'react to me' });
    expectError(
      await h.http('addReaction', { identity: people.customer, params: { conversationId, messageId: sent.json.message.id, emoji: '\ud83d' } }),
      400,
      'VALIDATION_ERROR',
    );
    // Keeps content as sent when it is valid Unicode.
    expect((await send({ content: 'emoji \ud83d\ude97 ok' })).json.message.content).toBe('emoji 🚗 ok');
  });

  it('refuses them in WebSocket frames (data and token)', async () => {
    const reply = await h.ws.send('validation-ws=', { action: 'sendMessage', data: { conversationId, content: 'hi', clientMessageId: 'x\ud800' }, requestId: 'r-1' });
    const error = reply.frames.find((f) => f.event === 'chat-error');
    expect(error?.data).toMatchObject({ code: 'VALIDATION_ERROR', requestId: 'r-1' });
    const auth = await h.ws.send('validation-ws=', { action: 'authenticate', data: { token: 'abc\ud800' }, requestId: 'r-2' });
    expect(auth.frames.find((f) => f.event === 'chat-error')?.data).toMatchObject({ code: 'VALIDATION_ERROR' });
  });
});

describe('metadata size', () => {
  const big = (bytes: number) => ({ note: 'x'.repeat(bytes) });

  it('answers 413 PAYLOAD_TOO_LARGE with {field, maxBytes, bytes} over CHAT_MAX_METADATA_BYTES, over HTTP', async () => {
    const metadata = big(MAX_METADATA_BYTES);
    const error = expectError(await send({ content: 'hi', metadata }), 413, 'PAYLOAD_TOO_LARGE');
    expect(error.details).toEqual({ field: 'metadata', maxBytes: MAX_METADATA_BYTES, bytes: Buffer.byteLength(JSON.stringify(metadata)) });
    // Counted in UTF-8 bytes: 300 three-byte characters are 900 bytes.
    expectError(await send({ content: 'hi', metadata: { note: '€'.repeat(340) } }), 413, 'PAYLOAD_TOO_LARGE');
    expect((await send({ content: 'hi', metadata: big(MAX_METADATA_BYTES - 20) })).status).toBe(201);
  });

  it('answers chat-error PAYLOAD_TOO_LARGE over WebSocket', async () => {
    const reply = await h.ws.send('validation-ws=', { action: 'sendMessage', data: { conversationId, content: 'hi', metadata: big(MAX_METADATA_BYTES) }, requestId: 'big-1' });
    expect(reply.frames.find((f) => f.event === 'chat-error')?.data).toMatchObject({
      code: 'PAYLOAD_TOO_LARGE',
      details: { field: 'metadata', maxBytes: MAX_METADATA_BYTES },
    });
  });
});

describe('limit', () => {
  it('caps every limit above its route maximum instead of refusing it', async () => {
    const inbox = await h.http('listConversations', { identity: people.customer, query: { limit: '1000' } });
    expect(inbox.status, inbox.body).toBe(200);
    const sync = await h.http('sync', { identity: people.customer, query: { limit: '100000' } });
    expect(sync.status, sync.body).toBe(200);
    const history = await h.http('getMessages', { identity: people.customer, params: { conversationId }, query: { limit: '99999999999' } });
    expect(history.status, history.body).toBe(200);
    expect(history.json.pagination.limit).toBe(100);
  });

  it('still refuses a limit that is not a positive integer', async () => {
    for (const limit of ['0', '-1', '1.5', 'ten']) {
      expectError(await h.http('listConversations', { identity: people.customer, query: { limit } }), 400, 'VALIDATION_ERROR');
      expectError(await h.http('sync', { identity: people.customer, query: { limit } }), 400, 'VALIDATION_ERROR');
      expectError(await h.http('getMessages', { identity: people.customer, params: { conversationId }, query: { limit } }), 400, 'VALIDATION_ERROR');
    }
  });
});
