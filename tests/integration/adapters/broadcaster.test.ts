/**
 * The real ApiGatewayManagementApiClient, built by createManagementClient, against a tiny
 * `@connections` endpoint on 127.0.0.1: proves the request path (encoding, stage prefix), the
 * SigV4 signing with local credentials, the body bytes and the 410 mapping, end to end.
 */
import { createServer, type Server } from 'node:http';
import { readBody } from '#lib/local/net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createManagementClient, makeBroadcaster } from '#adapters/apigateway/broadcaster';
import type { ServerFrame } from '#core/protocol';

interface Received {
  method: string;
  path: string;
  connectionId: string;
  authorization: string | undefined;
  body: Buffer;
}

/** Connection ids as API Gateway makes them (base64-ish, with `=`), plus awkward characters. */
const LIVE = ['L0SM9cOFvHcCIhw=', 'a+b/c=', 'plain'];

let server: Server;
let baseUrl: string;
let live: Set<string>;
let received: Received[];
/** Connection ids that answer 500 (an API Gateway hiccup). */
let broken: Set<string>;
/** Answer 410 without the x-amzn-ErrorType header, to prove the status alone is enough. */
let bareGone: boolean;


beforeAll(async () => {
  server = createServer((request, response) => {
    void (async () => {
      const body = await readBody(request);
      const path = new URL(request.url ?? '/', 'http://127.0.0.1').pathname;
      const match = /^(?:\/[^@]*)?\/@connections\/([^/]+)$/.exec(path);
      if (!match?.[1]) {
        response.writeHead(404).end();
        return;
      }
      const connectionId = decodeURIComponent(match[1]);
      received.push({ method: request.method ?? '', path, connectionId, authorization: request.headers.authorization, body });
      if (broken.has(connectionId)) {
        response.writeHead(500, { 'content-type': 'application/json', 'x-amzn-ErrorType': 'InternalServerErrorException' });
        response.end(JSON.stringify({ message: 'Internal server error' }));
        return;
      }
      if (!live.has(connectionId)) {
        response.writeHead(410, {
          'content-type': 'application/json',
          ...(bareGone ? {} : { 'x-amzn-ErrorType': 'GoneException' }),
        });
        response.end(JSON.stringify({ message: null }));
        return;
      }
      if (request.method === 'DELETE') live.delete(connectionId);
      response.writeHead(request.method === 'DELETE' ? 204 : 200).end();
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

beforeEach(() => {
  live = new Set(LIVE);
  received = [];
  broken = new Set();
  bareGone = false;
});

const frame: ServerFrame = {
  event: 'chat-new-message',
  data: { message: { id: 'm1', content: 'héllo 👋 "quoted" </script>' } },
  requestId: 'r-1',
};

describe('Broadcaster through the real management API client', () => {
  it('posts the exact frame bytes to each connection, signed, with ids encoded in the path', async () => {
    const broadcaster = makeBroadcaster({ client: createManagementClient(baseUrl, 'us-east-1') });
    const report = await broadcaster.send(LIVE, frame);

    expect(report).toEqual({ delivered: LIVE, gone: [], failed: [] });
    expect(received.map((r) => r.connectionId).sort()).toEqual([...LIVE].sort());
    for (const request of received) {
      expect(request.method).toBe('POST');
      expect(request.path).toBe(`/@connections/${encodeURIComponent(request.connectionId)}`);
      expect(request.body.equals(Buffer.from(JSON.stringify(frame), 'utf8'))).toBe(true);
      expect(request.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=local\/\d{8}\/us-east-1\/execute-api\/aws4_request/);
    }
  });

  it('maps 410 to gone, with or without the error type header', async () => {
    const broadcaster = makeBroadcaster({ client: createManagementClient(baseUrl, 'us-east-1') });
    expect(await broadcaster.send(['plain', 'unknown-1'], frame)).toEqual({
      delivered: ['plain'],
      gone: ['unknown-1'],
      failed: [],
    });
    bareGone = true;
    expect((await broadcaster.send(['unknown-2'], frame)).gone).toEqual(['unknown-2']);
    expect(received.filter((r) => r.connectionId.startsWith('unknown'))).toHaveLength(2);
  });

  it('keeps a stage path in the callback URL', async () => {
    const broadcaster = makeBroadcaster({ client: createManagementClient(`${baseUrl}/prod/`, 'eu-west-1') });
    expect((await broadcaster.send(['plain'], frame)).delivered).toEqual(['plain']);
    expect(received[0]?.path).toBe('/prod/@connections/plain');
  });

  it('retries a 500 itself: the SDK adds no attempts of its own', async () => {
    broken.add('plain');
    const broadcaster = makeBroadcaster({ client: createManagementClient(baseUrl, 'us-east-1'), retries: 2, baseDelayMs: 1 });
    expect(await broadcaster.send(['plain'], frame)).toEqual({ delivered: [], gone: [], failed: ['plain'] });
    expect(received).toHaveLength(3);
  });

  it('closes a connection with DELETE, and a gone one quietly', async () => {
    const broadcaster = makeBroadcaster({ client: createManagementClient(baseUrl, 'us-east-1') });
    await broadcaster.close('a+b/c=');
    expect(received).toMatchObject([{ method: 'DELETE', connectionId: 'a+b/c=' }]);
    await expect(broadcaster.close('a+b/c=')).resolves.toBeUndefined();
    expect((await broadcaster.send(['a+b/c='], frame)).gone).toEqual(['a+b/c=']);
  });

  it('reports failed, without throwing, when nothing listens at the endpoint', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));

    const broadcaster = makeBroadcaster({ client: createManagementClient(`http://127.0.0.1:${port}`, 'us-east-1'), baseDelayMs: 1 });
    expect(await broadcaster.send(['plain'], frame)).toEqual({ delivered: [], gone: [], failed: ['plain'] });
  });
});
