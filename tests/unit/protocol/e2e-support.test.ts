/**
 * The end-to-end helpers check what the product answers against the protocol: a REST answer of
 * the wrong shape throws from the call, and a frame of the wrong shape fails the client's next
 * wait. Proven here against a tiny server that answers wrongly on purpose.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import { ContractViolation } from '#core/protocol';
import { openChat, restApi, routeFor } from '#tests/e2e/support/chat';

let server: Server;
let sockets: WebSocketServer;
let baseUrl: string;
let wsUrl: string;
/** What the next WebSocket connection is sent once it opens. */
let toSend: unknown[] = [];

beforeAll(async () => {
  server = createServer((request, response) => {
    const json = (status: number, body: unknown) => response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (request.url?.endsWith('/read')) return json(200, { conversationId: 'c', lastReadSeq: 3, updated: 2 });
    if (request.url?.endsWith('/archive')) return json(409, { error: { code: 'CONFLICT', message: 'archive never conflicts' } });
    if (request.url?.endsWith('/typing')) return json(200, { conversationId: 'c', typing: [] });
    if (request.url === '/dev/token') return json(200, { token: 't' });
    return json(404, { message: 'Not Found' });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  sockets = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  sockets.on('connection', (socket: WebSocket) => {
    for (const frame of toSend) socket.send(JSON.stringify(frame));
  });
  await new Promise<void>((resolve) => sockets.once('listening', resolve));
  wsUrl = `ws://127.0.0.1:${(sockets.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => sockets.close(() => resolve()));
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

describe('restApi', () => {
  it('matches paths to manifest routes', () => {
    expect(routeFor('PATCH', '/api/provider-customer-chat/conversations/abc/read')?.name).toBe('markRead');
    expect(routeFor('PUT', '/api/provider-customer-chat/conversations/abc/messages/m1/reactions/%F0%9F%91%8D')?.name).toBe('addReaction');
    expect(routeFor('GET', '/api/provider-customer-chat/conversations/abc/read')).toBeUndefined();
    expect(routeFor('POST', '/dev/token')).toBeUndefined();
  });

  it('throws on a body that is not the route’s declared shape, and on a status the route cannot answer', async () => {
    const api = restApi(baseUrl);
    await expect(api.patch('/conversations/c/read', 't')).rejects.toThrow(ContractViolation);
    await expect(api.patch('/conversations/c/read', 't')).rejects.toThrow(/updated/);
    await expect(api.patch('/conversations/c/archive', 't')).rejects.toThrow(/does not declare/);
  });

  it('passes answers that match, paths outside the contract and API Gateway’s own answers', async () => {
    const api = restApi(baseUrl);
    expect((await api.get('/conversations/c/typing', 't')).status).toBe(200);
    expect(await api.devToken({ userId: 2, role: 'customer' })).toBe('t');
    // getMessages, answered by the gateway itself ({"message"} alone): not the API's answer.
    expect((await api.get('/conversations/c/messages', 't')).status).toBe(404);
  });
});

describe('openChat', () => {
  it('fails the next wait when a frame does not match its event’s schema', async () => {
    toSend = [{ event: 'chat-pong', data: { at: 'yesterday' } }];
    const client = await openChat({ httpUrl: baseUrl, wsUrl }, 't');
    await expect(client.nextEvent('chat-pong')).rejects.toThrow(ContractViolation);
    expect(client.violations[0]!.issues).toEqual([expect.objectContaining({ path: 'data.at' })]);
    await expect(client.close()).rejects.toThrow(ContractViolation);
  });

  it('accepts frames that match', async () => {
    toSend = [{ event: 'chat-pong', data: { at: '2030-01-01T00:00:00.000Z' } }];
    const client = await openChat({ httpUrl: baseUrl, wsUrl }, 't');
    expect((await client.nextEvent('chat-pong')).data.at).toBe('2030-01-01T00:00:00.000Z');
    expect(client.violations).toEqual([]);
    await client.close();
  });
});
