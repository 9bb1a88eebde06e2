/**
 * The local API Gateway's WebSocket API and @connections against fixture handlers, with real `ws`
 * clients and the real AWS SDK management client.
 */
import { randomUUID } from 'node:crypto';
import {
  ApiGatewayManagementApiClient,
  DeleteConnectionCommand,
  GetConnectionCommand,
  GoneException,
  PayloadTooLargeException,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startEmulator, type Emulator, type EmulatorOptions } from '#lib/local/emulator';
import { silentLog } from '#lib/local/log';
import type { ConnectionPost } from '#lib/local/websocket-api';
import { recordings, waitForRecording } from './fixtures/recorder.ts';
import { FIXTURE_HANDLERS_DIR } from './fixtures/routes.ts';
import { openClient, type TestClient } from './fixtures/ws-client.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

const posts: ConnectionPost[] = [];
let emulator: Emulator;
let management: ApiGatewayManagementApiClient;
const clients: TestClient[] = [];

function start(options: EmulatorOptions = {}): Promise<Emulator> {
  return startEmulator({ httpPort: 0, wsPort: 0, handlersDir: FIXTURE_HANDLERS_DIR, log: silentLog, ...options });
}

beforeAll(async () => {
  emulator = await start({ onPost: (post) => posts.push(post) });
  management = new ApiGatewayManagementApiClient({
    endpoint: emulator.callbackUrl,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
});

afterAll(async () => {
  for (const client of clients) client.ws.terminate();
  management?.destroy();
  await emulator?.stop();
});

/** Connects with a unique tag and resolves with the client and the connection id $connect saw. */
async function connect(query = '', target = emulator, protocols?: string | string[]): Promise<{ client: TestClient; connectionId: string; tag: string }> {
  const tag = randomUUID();
  const client = await openClient(`${target.wsUrl}/chat?tag=${tag}${query}`, protocols);
  clients.push(client);
  const connected = await waitForRecording((entry) => entry.route === '$connect' && entry.event.queryStringParameters?.tag === tag);
  return { client, connectionId: connected.event.requestContext.connectionId as string, tag };
}

const disconnectsOf = (connectionId: string) =>
  recordings().filter((entry) => entry.route === '$disconnect' && entry.event.requestContext.connectionId === connectionId);

const waitForDisconnect = (connectionId: string, timeoutMs?: number) =>
  waitForRecording((entry) => entry.route === '$disconnect' && entry.event.requestContext.connectionId === connectionId, timeoutMs);

describe('$connect', () => {
  it('gets the headers in their original case, the query string and an API Gateway request context', async () => {
    const tag = randomUUID();
    const client = await openClient(`${emulator.wsUrl}/any/path?tag=${tag}&token=abc&token=def`, undefined, { headers: { 'X-Custom-Header': 'Yes' } });
    clients.push(client);
    const { event } = await waitForRecording((entry) => entry.route === '$connect' && entry.event.queryStringParameters?.tag === tag);

    expect(event.headers).toMatchObject({ 'X-Custom-Header': 'Yes', 'Sec-WebSocket-Version': '13', Host: new URL(emulator.wsUrl).host });
    expect(event.headers['X-Forwarded-For']).toBe('127.0.0.1');
    expect(event.multiValueHeaders['X-Custom-Header']).toEqual(['Yes']);
    expect(event.queryStringParameters).toEqual({ tag, token: 'def' });
    expect(event.multiValueQueryStringParameters).toEqual({ tag: [tag], token: ['abc', 'def'] });
    expect(event.isBase64Encoded).toBe(false);
    expect(event.requestContext).toMatchObject({
      routeKey: '$connect',
      eventType: 'CONNECT',
      messageDirection: 'IN',
      connectionId: expect.stringMatching(/^[A-Za-z0-9]{15}=$/),
      requestId: expect.stringMatching(/^[A-Za-z0-9]{15}=$/),
      extendedRequestId: expect.any(String),
      domainName: new URL(emulator.wsUrl).host,
      stage: 'local',
      apiId: expect.any(String),
      connectedAt: expect.any(Number),
      requestTimeEpoch: expect.any(Number),
      requestTime: expect.stringMatching(/^\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} \+0000$/),
      identity: { sourceIp: '127.0.0.1', userAgent: expect.any(String) },
    });
  });

  it('refuses the upgrade with the status $connect answered, and 500 when $connect throws; no $disconnect follows', async () => {
    const refused = await openClient(`${emulator.wsUrl}/?refuse=401`).catch((error: { statusCode: number; body: string }) => error);
    expect(refused).toMatchObject({ statusCode: 401 });
    const failed = await openClient(`${emulator.wsUrl}/?throw=1`).catch((error: { statusCode: number }) => error);
    expect(failed).toMatchObject({ statusCode: 500 });

    const ids = recordings()
      .filter((entry) => entry.route === '$connect' && (entry.event.queryStringParameters?.refuse || entry.event.queryStringParameters?.throw))
      .map((entry) => entry.event.requestContext.connectionId as string);
    expect(ids).toHaveLength(2);
    await new Promise((resolve) => setTimeout(resolve, 100));
    for (const id of ids) expect(disconnectsOf(id)).toHaveLength(0);
  });

  it('has no connection to post to while $connect runs (410 GoneException, as in API Gateway)', async () => {
    const { client } = await connect('&selfpost=1');
    const connected = await waitForRecording((entry) => entry.route === '$connect' && entry.event.selfPost !== undefined);
    expect(connected.event.selfPost).toBe('GoneException');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(client.frames).toEqual([]);
  });

  it('selects the subprotocol $connect answered in Sec-WebSocket-Protocol', async () => {
    const { client } = await connect('&protocol=chat.v1', emulator, ['chat.v1', 'other']);
    expect(client.ws.protocol).toBe('chat.v1');
  });
});

describe('messages', () => {
  it('routes on $request.body.action and falls back to $default', async () => {
    const { client, connectionId } = await connect();
    client.send({ action: 'ping', data: {}, requestId: 'r1' });
    const pong = await client.next<Json>((frame) => frame.event === 'chat-pong' && frame.requestId === 'r1');
    expect(pong.data.functionName).toBe('wsPing');
    expect(pong.data.event.body).toBe('{"action":"ping","data":{},"requestId":"r1"}');
    expect(pong.data.event.isBase64Encoded).toBe(false);
    expect(pong.data.event.requestContext).toMatchObject({
      routeKey: 'ping',
      eventType: 'MESSAGE',
      messageDirection: 'IN',
      messageId: expect.stringMatching(/^[A-Za-z0-9]{15}=$/),
      connectionId,
      stage: 'local',
    });
    expect(pong.data.event.headers).toBeUndefined();

    // The seed's event name is not a route key: $default (the protocol shim) gets it, as do non-JSON and special keys.
    for (const body of ['{"action":"chat-ping","data":{}}', 'not json at all', '{"action":"$disconnect"}', '{"action":42}', '[1,2]']) {
      client.send(body);
      const echoed = await client.next<Json>((frame) => frame.route === '$default' && frame.body === body);
      expect(echoed.event.requestContext.routeKey).toBe('$default');
      expect(echoed.functionName).toBe('wsDefault');
    }
  });

  it('does not send what a route returns: handlers answer through @connections', async () => {
    const { client } = await connect();
    client.send({ action: 'joinConversation', data: { conversationId: 'c1' } });
    client.send({ action: 'ping', requestId: 'after-join' });
    await client.next<Json>((frame) => frame.requestId === 'after-join');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(client.frames.some((frame) => frame.includes('route-response') || frame.includes('API Gateway does not send'))).toBe(false);
  });

  it('answers chat-error when a handler throws, fails to load or is missing, and the connection keeps working', async () => {
    const { client } = await connect();
    for (const [action, requestId] of [
      ['sendMessage', 'throws'],
      ['authenticate', 'init-error'],
      ['typing', 'missing'],
    ]) {
      client.send({ action, data: {}, requestId });
      const error = await client.next<Json>((frame) => frame.event === 'chat-error' && frame.requestId === requestId);
      expect(error.data).toMatchObject({ code: 'INTERNAL', requestId });
    }
    client.send({ action: 'ping', requestId: 'still-alive' });
    await client.next<Json>((frame) => frame.event === 'chat-pong' && frame.requestId === 'still-alive');
    expect(client.ws.readyState).toBe(client.ws.OPEN);
  });
});

describe('@connections through the AWS SDK', () => {
  it('POST sends the bytes as a text frame, GET describes, DELETE closes and fires $disconnect once', async () => {
    const { client, connectionId } = await connect();
    const text = JSON.stringify({ event: 'chat-new-message', data: { content: 'héllo ✓' } });
    await management.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: Buffer.from(text) }));
    await client.next((frame) => frame.event === 'chat-new-message');
    expect(client.frames).toContain(text);
    expect(posts).toContainEqual(expect.objectContaining({ connectionId, data: text, outcome: 'delivered' }));

    const described = await management.send(new GetConnectionCommand({ ConnectionId: connectionId }));
    expect(described.ConnectedAt).toBeInstanceOf(Date);
    expect(described.LastActiveAt).toBeInstanceOf(Date);
    expect(described.Identity).toEqual({ SourceIp: '127.0.0.1', UserAgent: expect.any(String) });

    await management.send(new DeleteConnectionCommand({ ConnectionId: connectionId }));
    expect((await client.closed).code).toBe(1000);
    const disconnect = await waitForDisconnect(connectionId);
    expect(disconnect.event.requestContext).toMatchObject({ routeKey: '$disconnect', eventType: 'DISCONNECT', disconnectStatusCode: 1000, connectionId });

    await expect(management.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: Buffer.from('late') }))).rejects.toBeInstanceOf(GoneException);
    expect(posts).toContainEqual(expect.objectContaining({ connectionId, data: 'late', outcome: 'gone' }));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(disconnectsOf(connectionId)).toHaveLength(1);
  });

  it('answers 413 PayloadTooLargeException for a post over 128 KB', async () => {
    const { client, connectionId } = await connect();
    const error = await management
      .send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: Buffer.alloc(128 * 1024 + 1, 120) }))
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(PayloadTooLargeException);
    expect(posts).toContainEqual(expect.objectContaining({ connectionId, outcome: 'too-large' }));
    await management.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: Buffer.alloc(128 * 1024, 120) }));
    await vi.waitFor(() => expect(client.frames).toHaveLength(1));
    expect(client.frames[0]).toHaveLength(128 * 1024);
  });

  it('answers 410 GoneException for unknown ids to POST, GET and DELETE', async () => {
    const unknown = 'Zz9UnknownConn1=';
    for (const command of [
      new PostToConnectionCommand({ ConnectionId: unknown, Data: Buffer.from('x') }),
      new GetConnectionCommand({ ConnectionId: unknown }),
      new DeleteConnectionCommand({ ConnectionId: unknown }),
    ]) {
      const error = await management.send(command as PostToConnectionCommand).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(GoneException);
      expect((error as GoneException).$metadata.httpStatusCode).toBe(410);
    }
    const raw = await fetch(`${emulator.callbackUrl}/@connections/${encodeURIComponent(unknown)}`);
    expect(raw.status).toBe(410);
    expect(raw.headers.get('x-amzn-errortype')).toBe('GoneException');
  });

  it('answers 410 once the client closed, after $disconnect ran with the client’s code and reason', async () => {
    const { client, connectionId } = await connect();
    client.ws.close(4000, 'bye');
    const disconnect = await waitForDisconnect(connectionId);
    expect(disconnect.event.requestContext).toMatchObject({ disconnectStatusCode: 4000, disconnectReason: 'bye' });
    await expect(management.send(new GetConnectionCommand({ ConnectionId: connectionId }))).rejects.toBeInstanceOf(GoneException);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(disconnectsOf(connectionId)).toHaveLength(1);
  });
});

describe('limits', () => {
  it('closes with 1009 when a frame is over 32 KB', async () => {
    const { client, connectionId } = await connect();
    client.send(JSON.stringify({ action: 'ping', pad: 'x'.repeat(33 * 1024) }));
    expect((await client.closed).code).toBe(1009);
    const disconnect = await waitForDisconnect(connectionId);
    expect(disconnect.event.requestContext.disconnectStatusCode).toBe(1009);
  });

  it('accepts a message of several frames up to 128 KB, and closes with 1009 beyond', async () => {
    const { client } = await connect();
    const part = 'y'.repeat(15 * 1024);
    client.ws.send(`{"pad":"${part}`, { fin: false });
    client.ws.send(part, { fin: false });
    client.ws.send(`${part}"}`, { fin: true });
    const echoed = await client.next<Json>((frame) => frame.route === '$default');
    expect(echoed.body).toHaveLength(45 * 1024 + 10);

    for (let i = 0; i < 9; i++) client.ws.send(part, { fin: i === 8 });
    expect((await client.closed).code).toBe(1009);
  });

  it('closes with 1003 on a binary frame', async () => {
    const { client } = await connect();
    client.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    expect((await client.closed).code).toBe(1003);
  });
});

describe('timeouts', () => {
  it('closes an idle connection with 1001 Going away and fires $disconnect; messages keep it alive', async () => {
    const short = await start({ idleTimeoutMs: 400 });
    try {
      const busy = await connect('', short);
      const idle = await connect('', short);
      const keepAlive = setInterval(() => busy.client.send({ action: 'ping' }), 100);
      const closed = await idle.client.closed;
      expect(closed).toEqual({ code: 1001, reason: 'Going away' });
      const disconnect = await waitForDisconnect(idle.connectionId);
      expect(disconnect.event.requestContext).toMatchObject({ disconnectStatusCode: 1001, disconnectReason: 'Going away' });
      await new Promise((resolve) => setTimeout(resolve, 300));
      clearInterval(keepAlive);
      expect(busy.client.ws.readyState).toBe(busy.client.ws.OPEN);
    } finally {
      await short.stop();
    }
  });

  it('closes a connection at its maximum duration even when it is busy', async () => {
    const short = await start({ maxConnectionMs: 500 });
    try {
      const { client, connectionId } = await connect('', short);
      const keepAlive = setInterval(() => client.send({ action: 'ping' }), 50);
      const started = Date.now();
      expect((await client.closed).code).toBe(1001);
      clearInterval(keepAlive);
      expect(Date.now() - started).toBeLessThan(2_000);
      await waitForDisconnect(connectionId);
    } finally {
      await short.stop();
    }
  });

  it('stop() closes open connections with 1001 and waits for their $disconnect', async () => {
    const other = await start();
    const { client, connectionId } = await connect('', other);
    await other.stop();
    expect((await client.closed).code).toBe(1001);
    expect(disconnectsOf(connectionId)).toHaveLength(1);
  });
});

describe('the WebSocket port without an upgrade', () => {
  it('answers 426 Upgrade Required', async () => {
    const response = await fetch(`${emulator.callbackUrl}/`);
    expect(response.status).toBe(426);
  });
});
