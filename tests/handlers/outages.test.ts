/**
 * Outages and stalls of Postgres and DynamoDB, for real: the handlers reach both through TCP
 * proxies on 127.0.0.1 that can refuse, reset, accept and never answer, or swallow the server's
 * replies (the statement runs and commits; its answer never arrives). Every route answers 503
 * `UNAVAILABLE` (HTTP) or `chat-error` `UNAVAILABLE` (WebSocket) within the configured timeouts,
 * never 500 and never a Lambda timeout; a send retried with its clientMessageId is stored exactly
 * once.
 */
import { createServer, Socket, type AddressInfo, type Server } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { people, startHandlerHarness, type HandlerHarness, type HttpReply, type Loose } from '#tests/support/handler-harness';
import { withClient } from '#tests/support/postgres';

const CONNECT_TIMEOUT_MS = 800;
const STATEMENT_TIMEOUT_MS = 1000;
/** pg's query_timeout: the statement timeout plus the client's margin (QUERY_TIMEOUT_MARGIN_MS). */
const QUERY_TIMEOUT_MS = STATEMENT_TIMEOUT_MS + 1000;
const DYNAMO_REQUEST_TIMEOUT_MS = 700;
const DYNAMO_MAX_ATTEMPTS = 2;
/** Room for the work around a stalled call (other queries, the rate limiter, JSON). */
const SLACK_MS = 1500;

type Mode =
  /** Bytes flow both ways. */
  | 'pass'
  /** Nothing listens on the port: connect() fails with ECONNREFUSED. */
  | 'refuse'
  /** New connections are accepted and closed at once; open ones are reset. */
  | 'reset'
  /** New connections are accepted and never answered; open ones are dropped first. */
  | 'blackhole'
  /** What the client sends reaches the server; nothing the server answers comes back. */
  | 'swallow-replies';

interface Proxy {
  port: number;
  mode: Mode;
  set(mode: Mode): Promise<void>;
  close(): Promise<void>;
}

/** A TCP proxy to `target` on 127.0.0.1 whose failure mode a test switches. */
async function startProxy(target: { host: string; port: number }): Promise<Proxy> {
  let mode: Mode = 'pass';
  const pairs = new Set<{ client: Socket; upstream?: Socket }>();
  const onConnection = (client: Socket) => {
    client.on('error', () => {});
    if (mode === 'reset') return void client.resetAndDestroy();
    if (mode === 'blackhole') {
      const pair = { client };
      pairs.add(pair);
      client.on('close', () => pairs.delete(pair));
      return;
    }
    const upstream = new Socket();
    const pair = { client, upstream };
    pairs.add(pair);
    upstream.on('error', () => client.destroy());
    client.on('close', () => {
      upstream.destroy();
      pairs.delete(pair);
    });
    upstream.on('close', () => client.destroy());
    upstream.connect(target.port, target.host);
    client.on('data', (chunk) => upstream.write(chunk));
    upstream.on('data', (chunk) => {
      if (mode !== 'swallow-replies') client.write(chunk);
    });
  };
  let server: Server = createServer(onConnection);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const listen = () =>
    new Promise<void>((resolve, reject) => {
      server = createServer(onConnection);
      server.once('error', reject);
      server.listen(port, '127.0.0.1', resolve);
    });
  const stopListening = () => new Promise<void>((resolve) => server.close(() => resolve()));
  const dropAll = () => {
    for (const pair of pairs) {
      pair.client.destroy();
      pair.upstream?.destroy();
    }
    pairs.clear();
  };
  return {
    port,
    get mode() {
      return mode;
    },
    async set(next) {
      if (next === mode) return;
      if (mode === 'refuse') await listen();
      mode = next;
      if (next === 'refuse' || next === 'reset' || next === 'blackhole') dropAll();
      // close() waits for open connections, so only after they are dropped.
      if (next === 'refuse') await stopListening();
    },
    async close() {
      dropAll();
      if (mode !== 'refuse') await stopListening();
    },
  };
}

let h: HandlerHarness;
let pg: Proxy;
let dynamo: Proxy;
let conversationId: string;
const CUSTOMER_WS = 'outage-customer=';

function expectUnavailable(reply: HttpReply): void {
  expect(reply.status, reply.body).toBe(503);
  expect(reply.json.error.code).toBe('UNAVAILABLE');
}

/** The one chat-error a WebSocket frame was answered with. */
function chatErrorOf(frames: { event: string; data: Loose }[]): Loose {
  const errors = frames.filter((frame) => frame.event === 'chat-error');
  expect(errors, JSON.stringify(frames)).toHaveLength(1);
  return errors[0]!.data;
}

async function timed<T>(work: () => Promise<T>): Promise<{ result: T; ms: number }> {
  const started = Date.now();
  const result = await work();
  return { result, ms: Date.now() - started };
}

const send = (body: unknown) => h.http('sendMessage', { identity: people.customer, params: { conversationId }, body });

async function storedCount(clientMessageId: string): Promise<number> {
  const rows = await h.database.prisma.$queryRaw<{ n: bigint }[]>`
    SELECT count(*) AS n FROM "providerCustomerMessages" WHERE "clientMessageId" = ${clientMessageId}`;
  return Number(rows[0]!.n);
}

beforeAll(async () => {
  const admin = new URL(inject('postgresAdminUrl'));
  const dynamoUrl = new URL(inject('dynamoEndpoint'));
  [pg, dynamo] = await Promise.all([
    startProxy({ host: admin.hostname, port: Number(admin.port || 5432) }),
    startProxy({ host: dynamoUrl.hostname, port: Number(dynamoUrl.port || 80) }),
  ]);
  h = await startHandlerHarness({
    env: {
      DYNAMODB_ENDPOINT: `http://127.0.0.1:${dynamo.port}`,
      DATABASE_CONNECT_TIMEOUT_MS: String(CONNECT_TIMEOUT_MS),
      DATABASE_STATEMENT_TIMEOUT_MS: String(STATEMENT_TIMEOUT_MS),
      DYNAMODB_CONNECT_TIMEOUT_MS: '500',
      DYNAMODB_REQUEST_TIMEOUT_MS: String(DYNAMO_REQUEST_TIMEOUT_MS),
      DYNAMODB_MAX_ATTEMPTS: String(DYNAMO_MAX_ATTEMPTS),
    },
  });
  // The handlers' Postgres goes through the proxy (settings are read on the first invocation).
  const proxied = new URL(h.database.url);
  proxied.hostname = '127.0.0.1';
  proxied.port = String(pg.port);
  process.env.DATABASE_URL = proxied.toString();

  const started = await h.http('startConversation', { identity: people.customer, body: { providerId: 1, customerId: 2 } });
  expect(started.status).toBeLessThan(300);
  conversationId = started.json.conversation.id as string;
  expect((await h.ws.connect(CUSTOMER_WS, { token: h.token(people.customer) })).open).toBe(true);
});

afterAll(async () => {
  await Promise.all([pg?.set('pass'), dynamo?.set('pass')]);
  await h?.stop();
  await Promise.all([pg?.close(), dynamo?.close()]);
});

beforeEach(async () => {
  await Promise.all([pg.set('pass'), dynamo.set('pass')]);
});

describe('Postgres down', () => {
  for (const mode of ['refuse', 'reset', 'blackhole'] as const) {
    it(`${mode}: every Postgres route answers 503 UNAVAILABLE, a WebSocket send chat-error UNAVAILABLE`, async () => {
      await pg.set(mode);
      const budget = CONNECT_TIMEOUT_MS + SLACK_MS;
      for (const [route, request] of [
        ['sendMessage', { params: { conversationId }, body: { content: `while ${mode}`, clientMessageId: `down-${mode}` } }],
        ['listConversations', {}],
        ['startConversation', { body: { providerId: 1, customerId: 2 } }],
        ['onlineUsers', {}],
        ['getMessages', { params: { conversationId } }],
      ] as const) {
        const { result, ms } = await timed(() => h.http(route, { identity: people.customer, ...request }));
        expect(result.status, `${route}: ${result.body}`).toBe(503);
        expectUnavailable(result);
        expect(ms, route).toBeLessThan(budget);
      }
      const { result, ms } = await timed(() =>
        h.ws.send(CUSTOMER_WS, { action: 'chat-send-message', data: { conversationId, content: `ws while ${mode}` }, requestId: `ws-${mode}` }),
      );
      const error = chatErrorOf(result.frames);
      expect(error.code).toBe('UNAVAILABLE');
      expect(error.requestId).toBe(`ws-${mode}`);
      expect(ms).toBeLessThan(budget);

      await pg.set('pass');
      expect((await h.http('listConversations', { identity: people.customer })).status).toBe(200);
      expect(await storedCount(`down-${mode}`)).toBe(0);
    });
  }
});

describe('Postgres stalls', () => {
  it('a send whose answer never comes back answers 503 within the query timeout; the retry gets the stored message once', async () => {
    await pg.set('swallow-replies');
    const clientMessageId = 'stalled-after-commit';
    const { result: first, ms } = await timed(() => send({ content: 'stored, answer lost', clientMessageId }));
    expectUnavailable(first);
    expect(ms).toBeGreaterThanOrEqual(QUERY_TIMEOUT_MS - 100);
    expect(ms).toBeLessThan(QUERY_TIMEOUT_MS + SLACK_MS);
    // The statement ran and committed on the server.
    expect(await storedCount(clientMessageId)).toBe(1);

    await pg.set('pass');
    const retry = await send({ content: 'stored, answer lost', clientMessageId });
    expect(retry.status, retry.body).toBe(200);
    expect(retry.json.message.clientMessageId).toBe(clientMessageId);
    expect(await storedCount(clientMessageId)).toBe(1);
  });

  it('a send stuck behind a lock answers 503 at the statement timeout; the retry stores it once', async () => {
    const clientMessageId = 'stalled-on-lock';
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let locked!: () => void;
    const isLocked = new Promise<void>((resolve) => (locked = resolve));
    // Another session holds the conversation row, so the send's UPDATE waits.
    const holder = withClient(h.database.url, async (client) => {
      await client.query('BEGIN');
      await client.query('SELECT 1 FROM "chatConversations" WHERE id = $1 FOR UPDATE', [conversationId]);
      locked();
      await released;
      await client.query('ROLLBACK');
    });
    await isLocked;
    try {
      const { result, ms } = await timed(() => send({ content: 'behind a lock', clientMessageId }));
      expectUnavailable(result);
      expect(ms).toBeGreaterThanOrEqual(STATEMENT_TIMEOUT_MS - 100);
      expect(ms).toBeLessThan(STATEMENT_TIMEOUT_MS + SLACK_MS);
    } finally {
      release();
      await holder;
    }
    expect(await storedCount(clientMessageId)).toBe(0);
    const retry = await send({ content: 'behind a lock', clientMessageId });
    expect(retry.status, retry.body).toBe(201);
    const again = await send({ content: 'behind a lock', clientMessageId });
    expect(again.status, again.body).toBe(200);
    expect(again.json.message.id).toBe(retry.json.message.id);
    expect(await storedCount(clientMessageId)).toBe(1);
  });

  it('a WebSocket send whose answer never comes back answers chat-error UNAVAILABLE; the retry acks the stored message', async () => {
    const clientMessageId = 'ws-stalled-after-commit';
    const frame = { action: 'chat-send-message', data: { conversationId, content: 'ws stored, answer lost', clientMessageId }, requestId: 'ws-stall' };
    await pg.set('swallow-replies');
    const { result, ms } = await timed(() => h.ws.send(CUSTOMER_WS, frame));
    expect(chatErrorOf(result.frames).code).toBe('UNAVAILABLE');
    expect(ms).toBeLessThan(QUERY_TIMEOUT_MS + SLACK_MS);
    await pg.set('pass');
    const retry = await h.ws.send(CUSTOMER_WS, { ...frame, requestId: 'ws-stall-retry' });
    const ack = retry.frames.find((f) => f.event === 'chat-ack');
    expect(ack?.data.data.created, JSON.stringify(retry.frames)).toBe(false);
    expect(ack?.data.data.message.clientMessageId).toBe(clientMessageId);
    expect(await storedCount(clientMessageId)).toBe(1);
  });
});

describe('DynamoDB down', () => {
  for (const mode of ['refuse', 'reset', 'blackhole'] as const) {
    it(`${mode}: an HTTP send is still stored once (live delivery waits for /sync); presence and WebSocket sends answer 503 / chat-error UNAVAILABLE within the request timeouts`, async () => {
      await dynamo.set(mode);
      const budget = DYNAMO_MAX_ATTEMPTS * DYNAMO_REQUEST_TIMEOUT_MS + SLACK_MS;
      const clientMessageId = `dynamo-${mode}`;
      // The send's rate is counted in the append's statement: only the fan-out needs DynamoDB, and
      // it runs after the message is stored, so an outage there costs live delivery, not the message.
      const sent = await timed(() => h.http('sendMessage', { identity: people.customer, params: { conversationId }, body: { content: `dynamo ${mode}`, clientMessageId } }));
      expect(sent.result.status, sent.result.body).toBe(201);
      expect(sent.ms).toBeLessThan(budget + DYNAMO_MAX_ATTEMPTS * DYNAMO_REQUEST_TIMEOUT_MS);
      const online = await timed(() => h.http('onlineUsers', { identity: people.customer }));
      expectUnavailable(online.result);
      expect(online.ms).toBeLessThan(budget);
      // A WebSocket frame needs the connection's identity, which lives in DynamoDB.
      const { result, ms } = await timed(() =>
        h.ws.send(CUSTOMER_WS, { action: 'chat-send-message', data: { conversationId, content: 'ws dynamo down' }, requestId: `dyn-${mode}` }),
      );
      expect(chatErrorOf(result.frames).code).toBe('UNAVAILABLE');
      expect(ms).toBeLessThan(budget);

      await dynamo.set('pass');
      const retry = await send({ content: `dynamo ${mode}`, clientMessageId });
      expect(retry.status, retry.body).toBe(200);
      expect(await storedCount(clientMessageId)).toBe(1);
    });
  }
});
