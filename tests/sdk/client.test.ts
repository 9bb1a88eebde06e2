/**
 * The client against a fake socket and a fake fetch: backoff, tokens, the outbox, de-duplication,
 * gap detection, catch-up and the typing helper, without a server.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { backoffDelay, ChatClient, memoryStorage, TypingIndicator, type ChatClientOptions, type ChatEvents, type Message } from '../../sdk/src/index.ts';
import { FakeServer, fakeFetch, fakeJwt, makeMessage, until, type FakeRequest } from './support/fake-socket.ts';

const clients: ChatClient[] = [];
afterEach(() => {
  for (const client of clients.splice(0)) void client.close();
});

function setup(options: Partial<ChatClientOptions> & { routes?: (request: FakeRequest) => { status: number; body: unknown } | undefined } = {}) {
  const server = new FakeServer();
  const fetch = fakeFetch(options.routes ?? (() => undefined));
  let tokens = 0;
  const client = new ChatClient({
    httpUrl: 'http://chat.test',
    wsUrl: 'ws://chat.test/ws',
    getToken: () => `token-${++tokens}`,
    WebSocket: server.WebSocket,
    fetch,
    backoff: { baseMs: 5, maxMs: 20 },
    ...options,
  });
  clients.push(client);
  const events: { [K in keyof ChatEvents]?: ChatEvents[K][] } = {};
  const record = <K extends keyof ChatEvents>(name: K) => {
    const list: ChatEvents[K][] = (events[name] = []);
    client.on(name, (payload) => list.push(payload));
    return list;
  };
  return { server, fetch, client, record, tokens: () => tokens };
}

describe('backoff', () => {
  it('waits a random time below an exponentially growing cap (full jitter)', () => {
    expect(backoffDelay(0, { baseMs: 100, random: () => 0.999 })).toBe(99);
    expect(backoffDelay(3, { baseMs: 100, random: () => 0.999 })).toBe(799);
    expect(backoffDelay(20, { baseMs: 100, maxMs: 5000, random: () => 0.999 })).toBe(4995);
    expect(backoffDelay(5, { baseMs: 100, random: () => 0 })).toBe(0);
    const delays = Array.from({ length: 200 }, () => backoffDelay(4, { baseMs: 100 }));
    expect(Math.max(...delays)).toBeLessThan(1600);
    expect(new Set(delays).size).toBeGreaterThan(50);
  });
});

describe('connection', () => {
  it('asks for a token on every connect and reconnects with backoff after a drop', async () => {
    const { server, client, record, tokens } = setup();
    const states = record('state');
    await client.connect();
    expect(server.current?.token).toBe('token-1');
    server.current?.drop(1006);
    await until(() => server.sockets.length === 2 && client.state === 'online');
    expect(server.current?.token).toBe('token-2');
    expect(tokens()).toBe(2);
    const waiting = states.find((change) => change.state === 'waiting');
    expect(waiting?.retryInMs).toBeGreaterThanOrEqual(0);
    expect(waiting?.retryInMs).toBeLessThan(5);
    expect(states.map((change) => change.state)).toEqual(['connecting', 'syncing', 'online', 'waiting', 'connecting', 'syncing', 'online']);
  });

  it('keeps trying while the server is unreachable, with growing delays', async () => {
    const { server, client, record } = setup();
    const states = record('state');
    server.reachable = false;
    void client.connect();
    await until(() => server.sockets.length >= 4);
    server.reachable = true;
    await until(() => client.state === 'online');
    const attempts = states.filter((change) => change.state === 'waiting').map((change) => change.attempt);
    expect(attempts.slice(0, 3)).toEqual([1, 2, 3]);
  });

  it('reconnects with a fresh token before the current one expires', async () => {
    let n = 0;
    const { server, client } = setup({ getToken: () => fakeJwt(Math.floor(Date.now() / 1000) + 2, ++n), tokenRefreshMarginMs: 60_000 });
    await client.connect();
    expect(server.sockets).toHaveLength(1);
    // A 2-second token is refreshed a fifth of its lifetime early: at about 1.6 s.
    await until(() => server.sockets.length === 2 && client.state === 'online', 4000);
    expect(server.sockets[1]?.token).not.toBe(server.sockets[0]?.token);
    expect(server.sockets[0]?.readyState).toBe(3);
  });

  it('pings, and takes a connection whose pong does not come for dead', async () => {
    const { server, client } = setup({ pingIntervalMs: 30, requestTimeoutMs: 50 });
    await client.connect();
    await until(() => (server.current?.sent.filter((frame) => frame.action === 'ping').length ?? 0) >= 2);
    server.handler = () => {};
    await until(() => server.sockets.length === 2, 2000);
  });

  it('reconnects proactively before the connection lifetime cap', async () => {
    const { server, client } = setup({ maxConnectionMs: 50 });
    await client.connect();
    await until(() => server.sockets.length >= 2);
  });

  it('stops reconnecting when the connection was closed for the connection cap', async () => {
    const { server, client, record } = setup();
    const states = record('state');
    await client.connect();
    server.current?.error(undefined, 'CONFLICT', 'too many', { reason: 'connection_limit', maxConnections: 3 });
    await new Promise((resolve) => setTimeout(resolve, 10));
    server.current?.drop(1000);
    await until(() => client.state === 'closed');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(server.sockets).toHaveLength(1);
    expect(states.at(-1)?.reason).toMatch(/connection_limit/);
  });

  it('with reconnect: false, ends at the first close, telling its code, and connect() rejects when it never opened', async () => {
    const { server, client, record } = setup({ reconnect: false });
    const states = record('state');
    await client.connect();
    server.current?.drop(4001, 'token expired');
    await until(() => client.state === 'closed');
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(server.sockets).toHaveLength(1);
    expect(states.at(-1)).toMatchObject({ state: 'closed', code: 4001, closeReason: 'token expired', reason: 'closed (4001: token expired)' });

    // No planned reconnect either: a token about to expire is the server's to act on.
    const expiring = setup({ reconnect: false, getToken: () => fakeJwt(Math.floor(Date.now() / 1000) + 1) });
    await expiring.client.connect();
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect(expiring.server.sockets).toHaveLength(1);
    expect(expiring.client.state).toBe('online');

    const offline = setup({ reconnect: false });
    offline.server.reachable = false;
    await expect(offline.client.connect()).rejects.toMatchObject({ code: 'CLOSED', message: 'closed (1006)' });
    expect(offline.server.sockets).toHaveLength(1);
  });

  it('sends a request with the requestId the app gives', async () => {
    const { server, client } = setup();
    await client.connect();
    await expect(client.request('ping', {}, { requestId: 'app-7' })).resolves.toMatchObject({ at: expect.any(String) });
    expect(server.current?.sent.at(-1)).toMatchObject({ action: 'ping', requestId: 'app-7' });
  });

  it('close() resolves once the socket has closed, and stops reconnecting', async () => {
    const { server, client } = setup();
    await client.connect();
    const socket = server.current!;
    let done = false;
    const closing = client.close().then(() => (done = true));
    expect(socket.readyState).toBe(3);
    expect(done).toBe(false);
    await closing;
    expect(client.state).toBe('closed');
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(server.sockets).toHaveLength(1);
    await expect(client.close()).resolves.toBeUndefined();
  });

  it('re-joins the rooms the app joined after a reconnect', async () => {
    const { server, client } = setup();
    await client.connect();
    await client.join('c1');
    await client.join('c2');
    await client.leave('c2');
    server.current?.drop();
    await until(() => server.sockets.length === 2 && client.state === 'online');
    expect(server.current?.sent.filter((frame) => frame.action === 'joinConversation').map((frame) => frame.data.conversationId)).toEqual(['c1']);
  });
});

describe('outbox', () => {
  it('answers at once with a pending message, and sends it with the same clientMessageId until acknowledged', async () => {
    const { server, client, record } = setup();
    const outboxEvents = record('outbox');
    let dropFirst = true;
    server.handler = (frame, socket) => {
      if (frame.action === 'sendMessage' && dropFirst) {
        dropFirst = false;
        // Stored, but the answer is lost with the connection.
        const key = String(frame.data.clientMessageId);
        server.stored.set(key, makeMessage({ seq: ++server.seq, conversationId: 'c1', content: String(frame.data.content), clientMessageId: key }));
        socket.readyState = 3;
        queueMicrotask(() => (socket.onclose as ((event: unknown) => void) | null)?.({ code: 1006 }));
        return;
      }
      server.standard(frame, socket);
    };
    const outgoing = client.send('c1', { content: 'Hello' });
    expect(outgoing.state).toBe('pending');
    expect(outgoing.clientMessageId).toMatch(/^[0-9a-f-]{36}$/);
    void client.connect();
    const stored = await outgoing.sent;
    expect(stored.clientMessageId).toBe(outgoing.clientMessageId);
    expect(server.stored.size).toBe(1);
    const attempts = server.sockets.flatMap((socket) => socket.sent.filter((frame) => frame.action === 'sendMessage'));
    expect(attempts).toHaveLength(2);
    expect(new Set(attempts.map((frame) => frame.data.clientMessageId))).toEqual(new Set([outgoing.clientMessageId]));
    expect(outgoing.state).toBe('sent');
    expect(client.outbox.list()).toHaveLength(0);
    expect(outboxEvents.map((entry) => entry.state)).toContain('sent');
  });

  it('sends in order, one at a time', async () => {
    const { server, client } = setup();
    const sends = Array.from({ length: 20 }, (_, i) => client.send('c1', { content: `m${i}` }));
    await client.connect();
    const stored = await Promise.all(sends.map((send) => send.sent));
    expect(stored.map((message) => message.content)).toEqual(sends.map((_, i) => `m${i}`));
    expect(stored.map((message) => message.seq)).toEqual(stored.map((_, i) => i + 1));
    expect(server.stored.size).toBe(20);
  });

  it('marks a permanent refusal failed with its error, and retry() sends it again', async () => {
    const { server, client } = setup();
    let refuse = true;
    server.handler = (frame, socket) => {
      if (frame.action === 'sendMessage' && refuse && frame.data.content === ' ') return socket.error(frame.requestId, 'VALIDATION_ERROR', 'content is required');
      server.standard(frame, socket);
    };
    await client.connect();
    const outgoing = client.send('c1', { content: ' ' });
    const next = client.send('c1', { content: 'next' });
    await next.sent;
    expect(outgoing.state).toBe('failed');
    expect(outgoing.error?.code).toBe('VALIDATION_ERROR');
    expect(client.outbox.list()).toEqual([outgoing]);
    refuse = false;
    outgoing.retry();
    await outgoing.sent;
    expect(outgoing.state).toBe('sent');
  });

  it('waits out RATE_LIMITED and sends again', async () => {
    const { server, client } = setup();
    let limited = 2;
    server.handler = (frame, socket) => {
      if (frame.action === 'sendMessage' && limited-- > 0) return socket.error(frame.requestId, 'RATE_LIMITED', 'slow down', { retryAfterMs: 20 });
      server.standard(frame, socket);
    };
    await client.connect();
    const outgoing = client.send('c1', { content: 'Hi' });
    await outgoing.sent;
    expect(server.current?.sent.filter((frame) => frame.action === 'sendMessage')).toHaveLength(3);
  });

  it('survives an app restart through the storage', async () => {
    const storage = memoryStorage();
    const first = setup({ storage });
    first.server.reachable = false;
    void first.client.connect();
    const a = first.client.send('c1', { content: 'one' });
    first.client.send('c1', { content: 'two' });
    await until(() => (storage.data.get('chat:outbox') ?? '').includes('two'));
    first.client.close();

    const second = setup({ storage });
    await second.client.outbox.load();
    expect(second.client.outbox.list().map((entry) => entry.input.content)).toEqual(['one', 'two']);
    expect(second.client.outbox.list()[0]?.clientMessageId).toBe(a.clientMessageId);
    await second.client.connect();
    await Promise.all(second.client.outbox.list().map((entry) => entry.sent));
    expect([...second.server.stored.values()].map((message) => message.content)).toEqual(['one', 'two']);
    await until(() => !storage.data.has('chat:outbox'));
  });
});

describe('de-duplication, gaps and catch-up', () => {
  it('emits a message once however often its frame arrives', async () => {
    const { server, client, record } = setup();
    const messages = record('message');
    await client.connect();
    const message = makeMessage({ conversationId: 'c1', seq: 1 });
    for (let i = 0; i < 3; i++) server.current?.push('chat-new-message', { message });
    await until(() => messages.length === 1);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(messages).toHaveLength(1);
  });

  it('fetches the messages a seq gap shows missing and emits them first, in order', async () => {
    const history: Message[] = [1, 2, 3, 4].map((seq) => makeMessage({ conversationId: 'c1', seq }));
    const { server, client, record } = setup({
      routes: (request) => {
        if (request.url.pathname.endsWith('/conversations/c1/messages')) {
          const after = Number(request.url.searchParams.get('after'));
          return { status: 200, body: { messages: history.filter((message) => message.seq > after), pagination: { limit: 100, total: 4, hasMore: false, after } } };
        }
        return undefined;
      },
    });
    const messages = record('message');
    const gaps = record('gap');
    await client.connect();
    server.current?.push('chat-new-message', { message: history[0] });
    server.current?.push('chat-new-message', { message: history[3] });
    await until(() => messages.length === 4);
    expect(messages.map(({ message }) => message.seq)).toEqual([1, 2, 3, 4]);
    expect(messages.map(({ source }) => source)).toEqual(['live', 'gap', 'gap', 'live']);
    expect(gaps).toEqual([{ conversationId: 'c1', fromSeq: 2, toSeq: 3 }]);
  });

  it('catches up through /sync after a reconnect, from the stored cursor, as the same events', async () => {
    const storage = memoryStorage();
    const missed = makeMessage({ conversationId: 'c1', seq: 2 });
    let page = 0;
    const { server, client, record, fetch } = setup({
      storage,
      routes: (request) => {
        if (!request.url.pathname.endsWith('/sync')) return undefined;
        const since = request.url.searchParams.get('since');
        if (since === null) return { status: 200, body: { changes: [], cursor: 'c-start', hasMore: false } };
        if (since === 'c-start' && page++ === 1) {
          return {
            status: 200,
            body: {
              changes: [
                { cursor: 'c-1', conversationId: 'c1', type: 'message.created', at: missed.createdAt, data: { message: missed } },
                { cursor: 'c-2', conversationId: 'c1', type: 'message.status', at: missed.createdAt, data: { messageId: 'x', status: 'READ', upToSeq: 1 } },
              ],
              cursor: 'c-2',
              hasMore: false,
            },
          };
        }
        return { status: 200, body: { changes: [], cursor: since, hasMore: false } };
      },
    });
    const messages = record('message');
    const statuses = record('status');
    await client.connect();
    expect(storage.data.get('chat:cursor')).toBe('c-start');
    server.current?.drop();
    await until(() => server.sockets.length === 2 && client.state === 'online');
    expect(messages.map(({ message, source }) => [message.id, source])).toEqual([[missed.id, 'sync']]);
    expect(statuses).toEqual([{ conversationId: 'c1', messageId: 'x', status: 'READ', upToSeq: 1, source: 'sync' }]);
    expect(storage.data.get('chat:cursor')).toBe('c-2');
    const syncs = fetch.requests.filter((request) => request.url.pathname.endsWith('/sync'));
    expect(syncs.every((request) => request.headers.authorization?.startsWith('Bearer token-'))).toBe(true);
    // The live frame of the message caught up is not emitted again.
    server.current?.push('chat-new-message', { message: missed });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(messages).toHaveLength(1);
  });

  it('tries a failed catch-up again while connected', async () => {
    const missed = makeMessage({ conversationId: 'c1', seq: 1 });
    let calls = 0;
    const { client, record } = setup({
      storage: memoryStorage({ 'chat:cursor': 'c-start' }),
      routes: (request) => {
        if (!request.url.pathname.endsWith('/sync')) return undefined;
        if (++calls === 1) return { status: 503, body: { error: { code: 'UNAVAILABLE', message: 'not yet' } } };
        if (request.url.searchParams.get('since') === 'c-start') {
          return { status: 200, body: { changes: [{ cursor: 'c-1', conversationId: 'c1', type: 'message.created', at: missed.createdAt, data: { message: missed } }], cursor: 'c-1', hasMore: false } };
        }
        return undefined;
      },
    });
    const messages = record('message');
    const errors = record('error');
    await client.connect();
    await until(() => messages.length === 1);
    expect(errors.map((error) => error.code)).toEqual(['UNAVAILABLE']);
  });

  it('starts over when the cursor expired', async () => {
    const storage = memoryStorage({ 'chat:cursor': 'old' });
    const { client, record } = setup({
      storage,
      routes: (request) => {
        if (!request.url.pathname.endsWith('/sync')) return undefined;
        if (request.url.searchParams.get('since') === 'old') return { status: 410, body: { error: { code: 'CURSOR_EXPIRED', message: 'expired' } } };
        return { status: 200, body: { changes: [], cursor: 'fresh', hasMore: false } };
      },
    });
    const resets = record('reset');
    await client.connect();
    expect(resets).toHaveLength(1);
    expect(storage.data.get('chat:cursor')).toBe('fresh');
  });
});

describe('helpers', () => {
  it('types: start once while keystrokes come, stop after a pause of 1 s', async () => {
    let now = 0;
    const timers: { at: number; callback: () => void; id: number }[] = [];
    let ids = 0;
    const clock = {
      now: () => now,
      setTimeout: (callback: () => void, ms: number) => {
        timers.push({ at: now + ms, callback, id: ++ids });
        return ids;
      },
      clearTimeout: (id: unknown) => {
        const index = timers.findIndex((timer) => timer.id === id);
        if (index >= 0) timers.splice(index, 1);
      },
    };
    const advance = (ms: number) => {
      now += ms;
      for (const timer of timers.filter((candidate) => candidate.at <= now)) {
        timers.splice(timers.indexOf(timer), 1);
        timer.callback();
      }
    };
    const posts: boolean[] = [];
    const typing = new TypingIndicator(async (isTyping) => posts.push(isTyping), clock);
    typing.input();
    advance(300);
    typing.input();
    advance(900);
    typing.input();
    expect(posts).toEqual([true]);
    advance(999);
    expect(posts).toEqual([true]);
    advance(1);
    expect(posts).toEqual([true, false]);
    typing.input();
    typing.stop();
    typing.stop();
    expect(posts).toEqual([true, false, true, false]);
  });

  it('calls every REST route with its method and path, and raises the contract error', async () => {
    const { client, fetch } = setup({
      routes: (request) =>
        request.method === 'PUT' ? { status: 409, body: { error: { code: 'CONFLICT', message: 'deleted', details: { a: 1 } } } } : { status: 200, body: { ok: true } },
    });
    await client.api.markRead({ params: { conversationId: 'c 1' } });
    await client.api.getMessages({ params: { conversationId: 'c1' }, query: { after: 5, limit: 10 } });
    await client.api.sendMessage({ params: { conversationId: 'c1' }, body: { content: 'Hi', clientMessageId: 'k' } });
    await expect(client.api.addReaction({ params: { conversationId: 'c1', messageId: 'm1', emoji: '👍' } })).rejects.toMatchObject({ code: 'CONFLICT', status: 409, details: { a: 1 } });
    expect(fetch.requests.map((request) => `${request.method} ${request.url.pathname}${request.url.search}`)).toEqual([
      'PATCH /api/provider-customer-chat/conversations/c%201/read',
      'GET /api/provider-customer-chat/conversations/c1/messages?after=5&limit=10',
      'POST /api/provider-customer-chat/conversations/c1/messages',
      `PUT /api/provider-customer-chat/conversations/c1/messages/m1/reactions/${encodeURIComponent('👍')}`,
    ]);
    expect(fetch.requests[2]?.body).toEqual({ content: 'Hi', clientMessageId: 'k' });
  });
});
