/**
 * The client against the real local runtime (started in-process, on ports of its own, against the
 * test run's Postgres and DynamoDB), with real WebSockets (`ws`): a connection dropped in the
 * middle of a send, the runtime restarted under connected clients, tokens that expire, and 200
 * messages sent while offline. What arrives is counted: every message stored once, in order, and
 * emitted once to the other side.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, inject } from 'vitest';
import WebSocket from 'ws';
import { makeDevIssuerInMemory, type DevIssuer, type DevTokenSubject } from '#adapters/auth/dev-issuer';
import { startLocalRuntime, type LocalRuntime } from '#lib/local/runtime';
import { createTestTables, type TestTables } from '#tests/support/dynamodb';
import { createTestDatabase, type TestDatabase } from '#tests/support/postgres';
import { ChatClient, type ChatClientOptions, type FetchLike, type Message } from '../../sdk/src/index.ts';

const CUSTOMER: DevTokenSubject = { userId: 2, role: 'customer' };
const STAFF: DevTokenSubject = { userId: 7, role: 'provider', providerId: 1 };

let database: TestDatabase;
let tables: TestTables;
let dataDir: string;
let issuer: DevIssuer;
let runtime: LocalRuntime;
let ports: { httpPort: number; wsPort: number } = { httpPort: 0, wsPort: 0 };
let nextOrderId = 9000;

async function startRuntime(): Promise<void> {
  runtime = await startLocalRuntime({
    ...ports,
    migrate: false,
    issuer,
    dataDir,
    databaseUrl: database.url,
    dynamoEndpoint: inject('dynamoEndpoint'),
    tableNames: tables.names,
    // Above the default (30 per 10 s) to keep the file quick, below 200 so the offline burst meets the limit.
    env: { CHAT_SEND_RATE_LIMIT: '120' },
  });
  ports = { httpPort: Number(new URL(runtime.httpUrl).port), wsPort: Number(new URL(runtime.wsUrl).port) };
}

beforeAll(async () => {
  [database, tables, dataDir] = await Promise.all([createTestDatabase(), createTestTables(), mkdtemp(path.join(tmpdir(), 'chat-sdk-'))]);
  issuer = makeDevIssuerInMemory();
  await startRuntime();
});

const clients: ChatClient[] = [];
afterEach(() => {
  for (const client of clients.splice(0)) client.close();
});

afterAll(async () => {
  await runtime?.stop();
  await Promise.allSettled([database?.drop(), tables?.drop(), dataDir && rm(dataDir, { recursive: true, force: true })]);
});

/** A network the test controls: offline refuses sockets and requests; dropNextSend cuts the connection right after a send leaves. */
function network() {
  const state = { offline: false, dropNextSend: false, sockets: 0 };
  class ControlledWebSocket extends WebSocket {
    constructor(url: string) {
      super(state.offline ? 'ws://127.0.0.1:9' : url);
      state.sockets++;
    }
    override send(data: string): void {
      if (state.dropNextSend && data.includes('"sendMessage"')) {
        state.dropNextSend = false;
        // The frame leaves, and the connection is gone before its answer can come back.
        super.send(data, () => setTimeout(() => this.terminate(), 0));
        return;
      }
      super.send(data);
    }
  }
  const fetchThrough: FetchLike = async (url, init) => {
    if (state.offline) throw new TypeError('fetch failed: offline');
    return fetch(url, init);
  };
  return { state, WebSocket: ControlledWebSocket, fetch: fetchThrough };
}

interface Recorded {
  client: ChatClient;
  net: ReturnType<typeof network>;
  messages: Message[];
  tokens: string[];
}

function chat(subject: DevTokenSubject, options: Partial<ChatClientOptions> & { expiresInSeconds?: number } = {}): Recorded {
  const net = network();
  const tokens: string[] = [];
  const client = new ChatClient({
    httpUrl: `http://127.0.0.1:${ports.httpPort}`,
    wsUrl: `ws://127.0.0.1:${ports.wsPort}`,
    getToken: () => {
      const token = issuer.sign(subject, { expiresInSeconds: options.expiresInSeconds ?? 3600 });
      tokens.push(token);
      return token;
    },
    WebSocket: net.WebSocket,
    fetch: net.fetch,
    backoff: { baseMs: 100, maxMs: 1000 },
    requestTimeoutMs: 5000,
    ...options,
  });
  clients.push(client);
  const messages: Message[] = [];
  client.on('message', ({ message }) => messages.push(message));
  return { client, net, messages, tokens };
}

async function newConversation(): Promise<string> {
  const token = issuer.sign(STAFF);
  const response = await fetch(`${runtime.httpUrl}/api/provider-customer-chat/conversations`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ providerId: 1, customerId: 2, orderId: nextOrderId++ }),
  });
  expect(response.status).toBe(201);
  return ((await response.json()) as { conversation: { id: string } }).conversation.id;
}

/** The conversation's whole history, as stored. */
async function history(client: ChatClient, conversationId: string): Promise<Message[]> {
  const all: Message[] = [];
  for (let after = 0; ; ) {
    const page = await client.api.getMessages({ params: { conversationId }, query: { after, limit: 100 } });
    all.push(...page.messages);
    if (!page.pagination.hasMore || page.messages.length === 0) return all;
    after = page.messages.at(-1)!.seq;
  }
}

async function eventually(check: () => void, timeoutMs = 30_000): Promise<void> {
  const started = Date.now();
  for (;;) {
    try {
      check();
      return;
    } catch (error) {
      if (Date.now() - started > timeoutMs) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

const contents = (messages: Message[], conversationId: string) => messages.filter((message) => message.conversationId === conversationId).map((message) => message.content);

describe('the client against the local runtime', () => {
  it('delivers a message exactly once when the connection drops in the middle of its send', { timeout: 60_000 }, async () => {
    const conversationId = await newConversation();
    const phone = chat(CUSTOMER);
    const desk = chat(STAFF);
    await Promise.all([phone.client.connect(), desk.client.connect()]);

    phone.net.state.dropNextSend = true;
    const outgoing = phone.client.send(conversationId, { content: 'through a dropped connection' });
    expect(outgoing.state).toBe('pending');
    const stored = await outgoing.sent;
    expect(stored.clientMessageId).toBe(outgoing.clientMessageId);
    expect(phone.net.state.sockets).toBeGreaterThanOrEqual(2);
    expect(outgoing.attempts).toBeGreaterThanOrEqual(2);
    // Usually the first attempt was stored and its ack lost: the retry is answered `created: false`.

    const after = phone.client.send(conversationId, { content: 'after it' });
    await after.sent;
    await eventually(() => expect(contents(desk.messages, conversationId)).toEqual(['through a dropped connection', 'after it']));
    expect(contents(phone.messages, conversationId)).toEqual(['through a dropped connection', 'after it']);
    expect((await history(phone.client, conversationId)).map((message) => message.content)).toEqual(['through a dropped connection', 'after it']);
  });

  it('reconnects by itself after the runtime restarts, and receives what was sent meanwhile', { timeout: 90_000 }, async () => {
    const conversationId = await newConversation();
    const phone = chat(CUSTOMER);
    const desk = chat(STAFF);
    await Promise.all([phone.client.connect(), desk.client.connect()]);
    await desk.client.join(conversationId);
    await phone.client.send(conversationId, { content: 'before the restart' }).sent;
    await eventually(() => expect(contents(desk.messages, conversationId)).toEqual(['before the restart']));

    const deskStates: string[] = [];
    desk.client.on('state', ({ state }) => deskStates.push(state));
    await runtime.stop();
    await eventually(() => expect(desk.client.state).not.toBe('online'));
    // Sent while the runtime is down: kept in the phone's outbox.
    const pendingSend = phone.client.send(conversationId, { content: 'while it was down' });
    await startRuntime();
    // Sent through the REST API once it is back, perhaps before the desk has reconnected.
    await fetch(`${runtime.httpUrl}/api/provider-customer-chat/conversations/${conversationId}/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${issuer.sign(CUSTOMER)}`, 'content-type': 'application/json' },
      body: JSON.stringify({ content: 'right after it came back' }),
    });
    await pendingSend.sent;
    await eventually(() => expect(desk.client.state).toBe('online'));
    await eventually(() => expect(new Set(contents(desk.messages, conversationId))).toEqual(new Set(['before the restart', 'while it was down', 'right after it came back'])));
    expect(contents(desk.messages, conversationId)).toHaveLength(3);
    expect(deskStates).toContain('waiting');

    // Live again: a new message arrives as a frame.
    await phone.client.send(conversationId, { content: 'live again' }).sent;
    await eventually(() => expect(contents(desk.messages, conversationId).at(-1)).toBe('live again'));
    expect((await history(desk.client, conversationId)).map((message) => message.content)).toHaveLength(4);
  });

  it('reconnects with a fresh token when the current one is about to expire', { timeout: 60_000 }, async () => {
    const conversationId = await newConversation();
    const desk = chat(STAFF, { expiresInSeconds: 3 });
    const phone = chat(CUSTOMER);
    await Promise.all([desk.client.connect(), phone.client.connect()]);
    const first = desk.tokens[0];
    // Past the first token's expiry.
    await new Promise((resolve) => setTimeout(resolve, 4500));
    await eventually(() => expect(desk.client.state).toBe('online'));
    expect(desk.tokens.length).toBeGreaterThanOrEqual(2);
    expect(desk.tokens.at(-1)).not.toBe(first);
    expect(desk.net.state.sockets).toBeGreaterThanOrEqual(2);

    await phone.client.send(conversationId, { content: 'to a refreshed connection' }).sent;
    await eventually(() => expect(contents(desk.messages, conversationId)).toEqual(['to a refreshed connection']));
    const reply = desk.client.send(conversationId, { content: 'from a refreshed connection' });
    await reply.sent;
    await eventually(() => expect(contents(phone.messages, conversationId)).toEqual(['to a refreshed connection', 'from a refreshed connection']));
  });

  it('stores 200 messages sent while offline once each, in order', { timeout: 120_000 }, async () => {
    const conversationId = await newConversation();
    const desk = chat(STAFF);
    await desk.client.connect();
    const phone = chat(CUSTOMER);
    phone.net.state.offline = true;
    void phone.client.connect();
    const sends = Array.from({ length: 200 }, (_, i) => phone.client.send(conversationId, { content: `offline ${i + 1}` }));
    expect(sends.every((send) => send.state === 'pending')).toBe(true);
    expect(new Set(sends.map((send) => send.clientMessageId)).size).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(phone.client.state).not.toBe('online');

    phone.net.state.offline = false;
    phone.client.reconnectNow();
    const stored = await Promise.all(sends.map((send) => send.sent));
    const expected = sends.map((_, i) => `offline ${i + 1}`);
    expect(stored.map((message) => message.content)).toEqual(expected);

    const all = await history(desk.client, conversationId);
    expect(all.map((message) => message.content)).toEqual(expected);
    expect(all.map((message) => message.seq)).toEqual(expected.map((_, i) => i + 1));
    await eventually(() => expect(contents(desk.messages, conversationId)).toEqual(expected), 60_000);
    expect(phone.client.outbox.list()).toEqual([]);
  });
});
