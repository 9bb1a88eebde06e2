/**
 * The limits a misbehaving, overeager or forgotten client runs into, against the real runtime:
 * frame and content sizes, bad frames, the send rate, connections per user, idle connections,
 * bare connections that never authenticate, and expired tokens. Timeouts are set short here so
 * nothing waits long; each test waits for what the client notices (a frame, a close).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SCHEDULED_TASKS } from '#config/routes';
import { startTestRuntime, type TestRuntime } from '#tests/support/runtime';
import { answerTo, closeAllChats, openChat, openRawSocket, restApi, until, type ChatClient, type Json, type RestApi } from './support/chat.ts';

const MAX_CONTENT_LENGTH = 4000; // the default
const SEND_RATE_LIMIT = 5;
const SEND_RATE_WINDOW_MS = 600_000;
const AUTH_TIMEOUT_MS = 1500;
const IDLE_TIMEOUT_MS = 3000;
const SWEEP_EVERY_SECONDS = 0.25;

let runtime: TestRuntime;
let api: RestApi;
let staff: string;

beforeAll(async () => {
  runtime = await startTestRuntime({
    env: {
      CHAT_SEND_RATE_LIMIT: String(SEND_RATE_LIMIT),
      CHAT_SEND_RATE_WINDOW_MS: String(SEND_RATE_WINDOW_MS),
      CHAT_AUTH_TIMEOUT_MS: String(AUTH_TIMEOUT_MS),
    },
    emulator: {
      idleTimeoutMs: IDLE_TIMEOUT_MS,
      // The sweep of bare connections runs every minute in AWS, every 5 s locally; here, often.
      scheduledTasks: SCHEDULED_TASKS.map((task) => (task.name === 'closeUnauthenticated' ? { ...task, localEverySeconds: SWEEP_EVERY_SECONDS } : task)),
    },
  });
  api = restApi(runtime.httpUrl);
  staff = await api.devToken({ userId: 7, role: 'provider', providerId: 1 });
  // Warm the sign-in handler, so a bare connection's first chat-authenticate is not a cold start racing its deadline.
  // The warm-up itself connects with ?token, so its own first frame has no deadline to race.
  const warm = await openChat(runtime, staff);
  await warm.ack('chat-authenticate', { token: staff });
  await warm.close();
});

afterEach(closeAllChats);

afterAll(async () => {
  await closeAllChats();
  await runtime?.stop();
});

/** A customer of their own (rate limits and connection counts are per user) with a conversation with provider 1. */
async function customerWithConversation(userId: number): Promise<{ token: string; conversationId: string }> {
  const token = await api.devToken({ userId, role: 'customer' });
  const response = await api.post('/conversations', token, { providerId: 1, customerId: userId });
  expect(response.status).toBe(201);
  return { token, conversationId: response.body.conversation.id };
}

async function stillServes(client: ChatClient): Promise<void> {
  const pong = await client.request('chat-ping', {});
  expect(pong.event).toBe('chat-ack');
  expect(client.isOpen()).toBe(true);
}

async function messageCount(token: string, conversationId: string): Promise<number> {
  const response = await api.get(`/conversations/${conversationId}/messages`, token);
  expect(response.status).toBe(200);
  return response.body.messages.length;
}

describe('sizes', () => {
  it('closes the connection with 1009 when a frame is over 32 KB, as API Gateway does', async () => {
    const { token, conversationId } = await customerWithConversation(30);
    // A raw socket: the frame is too large for the gateway before any handler sees it.
    const client = await openRawSocket(runtime.wsUrl, token);
    const frame = JSON.stringify({ action: 'chat-send-message', data: { conversationId, content: 'x'.repeat(32 * 1024) } });
    expect(Buffer.byteLength(frame)).toBeGreaterThan(32 * 1024);
    client.send(frame);
    expect((await client.closed).code).toBe(1009);
    expect(await messageCount(token, conversationId)).toBe(0);
  });

  it('answers PAYLOAD_TOO_LARGE to content over CHAT_MAX_CONTENT_LENGTH, and the connection stays open', async () => {
    const { token, conversationId } = await customerWithConversation(31);
    const client = await openChat(runtime, token);

    const tooLong = await client.request('chat-send-message', { conversationId, content: 'a'.repeat(MAX_CONTENT_LENGTH + 1) });
    expect(tooLong).toMatchObject({ event: 'chat-error', data: { code: 'PAYLOAD_TOO_LARGE', details: { maxLength: MAX_CONTENT_LENGTH, length: MAX_CONTENT_LENGTH + 1 } } });
    await stillServes(client);

    // Characters, not bytes: 4000 emoji are 4000 characters (16 000 bytes, under the 32 KB frame).
    const longest = await client.ack('chat-send-message', { conversationId, content: '🚗'.repeat(MAX_CONTENT_LENGTH) });
    expect(longest.message.content).toHaveLength(MAX_CONTENT_LENGTH * 2);

    const rest = await api.post(`/conversations/${conversationId}/messages`, token, { content: 'a'.repeat(MAX_CONTENT_LENGTH + 1) });
    expect(rest.status).toBe(413);
    expect(rest.body.error.code).toBe('PAYLOAD_TOO_LARGE');
    expect(await messageCount(token, conversationId)).toBe(1);
  });
});

describe('bad frames', () => {
  it('answers VALIDATION_ERROR to bad JSON, unknown actions and invalid data, and the connection keeps working', async () => {
    const { token, conversationId } = await customerWithConversation(32);
    const client = await openChat(runtime, token);
    // Frames no client library sends, over a raw socket of the same user …
    const raw = await openRawSocket(runtime.wsUrl, token);
    for (const bad of ['not json', '{"action":', '[1,2,3]', '42', 'null', '{"data":{}}', '{"action":"chat-dance","data":{}}', '{"action":"","data":{}}']) {
      raw.send(bad);
      expect((await raw.nextEvent('chat-error')).data, bad).toMatchObject({ code: 'VALIDATION_ERROR', message: expect.any(String) });
    }
    raw.send({ action: 'chat-ping', data: {}, requestId: 'after-bad-json' });
    expect((await raw.nextFrame(answerTo('after-bad-json'))).event).toBe('chat-ack');

    // … and well-formed frames with invalid data, through the SDK.

    const invalid: [string, unknown][] = [
      ['chat-send-message', { content: 'no conversation' }],
      ['sendMessage', { conversationId, content: 42 }],
      ['chat-send-message', { conversationId, content: 'hi', messageType: 'SYSTEM' }],
      ['chat-typing', { conversationId, isTyping: 'yes' }],
      ['chat-update-message-status', { messageId: 'm1', status: 'SENT' }],
      ['chat-join-conversation', 'not an object'],
      ['chat-authenticate', {}],
    ];
    for (const [action, data] of invalid) {
      const answer = await client.request(action, data, `bad-${action}`);
      expect(answer, `${action} ${JSON.stringify(data)}`).toMatchObject({ event: 'chat-error', requestId: `bad-${action}`, data: { code: 'VALIDATION_ERROR', requestId: `bad-${action}` } });
    }

    await stillServes(client);
    client.post('chat-ping', {});
    expect((await client.nextEvent('chat-pong')).data).toEqual({ at: expect.any(String) });
    const sent = await client.ack('chat-send-message', { conversationId, content: 'Still here' });
    expect(sent.message.seq).toBe(1);
  });
});

describe('send rate', () => {
  it('answers RATE_LIMITED past CHAT_SEND_RATE_LIMIT sends per window, over WebSocket and REST; the connection stays open', async () => {
    const { token, conversationId } = await customerWithConversation(40);
    const client = await openChat(runtime, token);
    // The limit is a fixed window: start well inside one, so the burst cannot straddle two.
    const windowStart = Math.floor(Date.now() / SEND_RATE_WINDOW_MS) * SEND_RATE_WINDOW_MS;
    if (Date.now() - windowStart > SEND_RATE_WINDOW_MS - 5_000) await until(windowStart + SEND_RATE_WINDOW_MS + 10);

    for (let i = 1; i <= SEND_RATE_LIMIT; i++) {
      expect((await client.ack('chat-send-message', { conversationId, content: `wash #${i}?` })).message.seq).toBe(i);
    }
    const refused = await client.request('chat-send-message', { conversationId, content: 'one too many' });
    expect(refused).toMatchObject({ event: 'chat-error', data: { code: 'RATE_LIMITED', details: { retryAfterMs: expect.any(Number), resetAt: expect.any(String) } } });
    expect(refused.data.details.retryAfterMs).toBeGreaterThan(0);

    const rest = await api.post(`/conversations/${conversationId}/messages`, token, { content: 'and over REST' });
    expect(rest.status).toBe(429);
    expect(rest.body.error.code).toBe('RATE_LIMITED');

    await stillServes(client);
    expect(await messageCount(token, conversationId)).toBe(SEND_RATE_LIMIT);
    // Per user: the business can still answer.
    expect((await api.post(`/conversations/${conversationId}/messages`, staff, { content: 'Slow down :)' })).status).toBe(201);
  });
});

describe('connections', () => {
  it('closes a user’s oldest connection when a fourth opens (CHAT_MAX_CONNECTIONS_PER_USER = 3)', async () => {
    const { token, conversationId } = await customerWithConversation(41);
    const devices: ChatClient[] = [];
    for (let i = 0; i < 3; i++) devices.push(await openChat(runtime, token));
    for (const device of devices) await stillServes(device);

    const fourth = await openChat(runtime, token);
    expect((await devices[0]!.closed).code).toBe(1000);
    for (const device of [...devices.slice(1), fourth]) await stillServes(device);

    // The three left still receive what is sent.
    const message = (await fourth.ack('chat-send-message', { conversationId, content: 'from the fourth' })).message;
    for (const device of [...devices.slice(1), fourth]) await device.nextEvent('chat-new-message', (data: Json) => data.message.id === message.id);
  });

  it('closes a connection idle for the idle timeout (1001 Going away); chat-ping keeps another alive', async () => {
    const { token } = await customerWithConversation(42);
    const opened = Date.now();
    const [idle, busy] = await Promise.all([openChat(runtime, token), openChat(runtime, staff)]);
    const pinging = setInterval(() => busy.post('chat-ping', {}), IDLE_TIMEOUT_MS / 3);
    try {
      const closed = await idle.closed;
      expect(closed).toEqual({ code: 1001, reason: 'Going away' });
      expect(Date.now() - opened).toBeGreaterThanOrEqual(IDLE_TIMEOUT_MS - 50);
      await until(opened + IDLE_TIMEOUT_MS + 500);
      await stillServes(busy);
    } finally {
      clearInterval(pinging);
    }
  });

  it('closes a bare connection that does not authenticate within CHAT_AUTH_TIMEOUT_MS, saying why', async () => {
    const opened = Date.now();
    // Bare connections (the seed's connect, then chat-authenticate): raw sockets.
    const [silent, signedIn] = await Promise.all([openRawSocket(runtime.wsUrl), openRawSocket(runtime.wsUrl)]);
    signedIn.send({ action: 'chat-authenticate', data: { token: staff }, requestId: 'sign-in' });
    expect((await signedIn.nextFrame(answerTo('sign-in'))).event).toBe('chat-ack');

    const closed = await silent.closed;
    expect(Date.now() - opened).toBeGreaterThanOrEqual(AUTH_TIMEOUT_MS - 50);
    expect(closed.code).toBe(1000);
    expect(silent.frames).toEqual([{ event: 'chat-error', data: { code: 'UNAUTHORIZED', message: expect.any(String) } }]);

    // The one that signed in is not touched by the sweep.
    await until(opened + AUTH_TIMEOUT_MS + 2 * SWEEP_EVERY_SECONDS * 1000);
    signedIn.send({ action: 'chat-ping', data: {}, requestId: 'after-sweep' });
    expect((await signedIn.nextFrame(answerTo('after-sweep'))).event).toBe('chat-ack');
    expect(signedIn.isOpen()).toBe(true);
  });

  it('closes a connection whose token has expired on its next frame, after a chat-error', async () => {
    const { conversationId } = await customerWithConversation(43);
    // exp is in whole seconds: minted at the start of a second, the token lives about 2 s.
    await until(Math.ceil(Date.now() / 1000) * 1000 + 20);
    const token = await api.devToken({ userId: 43, role: 'customer' }, 2);
    const { exp } = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { exp: number };
    const client = await openChat(runtime, token);
    // Accepted while the token is valid …
    await client.ack('chat-join-conversation', { conversationId });

    // … and closed on the first frame after it expired.
    await until(exp * 1000 + 50);
    const answer = await client.request('chat-send-message', { conversationId, content: 'still me?' });
    expect(answer).toMatchObject({ event: 'chat-error', data: { code: 'UNAUTHORIZED' } });
    expect((await client.closed).code).toBe(1000);
    expect(await messageCount(staff, conversationId)).toBe(0);
  });
});
