/**
 * Query parameters, headers and path parameters named like members of Object.prototype
 * (`constructor`, `__proto__`, `toString`, `hasOwnProperty`, `valueOf`) are data like any other:
 * the WebSocket handshake is accepted and the HTTP request answered, and the handler sees them as
 * own properties of its event, as it would in the JSON Lambda parses.
 */
import { request } from 'node:http';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '#lib/local/emulator';
import { silentLog } from '#lib/local/log';
import { waitForRecording } from './fixtures/recorder.ts';
import { FIXTURE_HANDLERS_DIR, FIXTURE_HTTP_ROUTES } from './fixtures/routes.ts';
import { openClient, type TestClient } from './fixtures/ws-client.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

const NAMES = ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf'] as const;

let emulator: Emulator;
const clients: TestClient[] = [];

beforeAll(async () => {
  emulator = await startEmulator({
    httpPort: 0,
    wsPort: 0,
    handlersDir: FIXTURE_HANDLERS_DIR,
    httpRoutes: FIXTURE_HTTP_ROUTES,
    log: silentLog,
  });
});

afterAll(async () => {
  for (const client of clients) client.ws.terminate();
  await emulator?.stop();
});

const own = (object: Json, name: string) => (object !== null && typeof object === 'object' ? Object.hasOwn(object, name) : false);

/** A raw HTTP GET with headers given as [name, value] pairs (so `__proto__` is a real header). */
function get(path: string, headers: [string, string][]): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const all = [['Host', new URL(emulator.httpUrl).host], ...headers];
    const req = request(`${emulator.httpUrl}${path}`, { method: 'GET', headers: all.flat() }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe.each(NAMES)('a name like Object.prototype’s %s', (name) => {
  it('is an ordinary query parameter and header on the WebSocket handshake', async () => {
    const tag = randomUUID();
    const headers = Object.fromEntries([[name, 'header-value']]);
    const client = await openClient(
      `${emulator.wsUrl}/chat?tag=${tag}&${encodeURIComponent(name)}=one&${encodeURIComponent(name)}=two`,
      undefined,
      { headers },
    );
    clients.push(client);
    const { event } = await waitForRecording((entry) => entry.route === '$connect' && entry.event.queryStringParameters?.tag === tag);

    expect(own(event.queryStringParameters, name)).toBe(true);
    expect(event.queryStringParameters[name]).toBe('two');
    expect(own(event.multiValueQueryStringParameters, name)).toBe(true);
    expect(event.multiValueQueryStringParameters[name]).toEqual(['one', 'two']);
    expect(own(event.headers, name)).toBe(true);
    expect(event.headers[name]).toBe('header-value');
    expect(event.multiValueHeaders[name]).toEqual(['header-value']);
    // Nothing leaked onto the prototype chain of the event's maps.
    expect(Object.getPrototypeOf(event.headers)).toBe(Object.prototype);
    expect(Object.getPrototypeOf(event.queryStringParameters)).toBe(Object.prototype);
    client.ws.close();
  });

  it('is an ordinary query parameter, header and path parameter on HTTP', async () => {
    const encoded = encodeURIComponent(name);
    const { status, body } = await get(`/items/${encoded}?${encoded}=a&${encoded}=b`, [[name, 'header-value']]);
    expect(status).toBe(200);
    const { event } = JSON.parse(body) as Json;
    expect(event.pathParameters).toEqual({ itemId: name });
    expect(own(event.queryStringParameters, name)).toBe(true);
    expect(event.queryStringParameters[name]).toBe('a,b');
    const header = name.toLowerCase();
    expect(own(event.headers, header)).toBe(true);
    expect(event.headers[header]).toBe('header-value');
  });

  it('is a path parameter of a greedy route too', async () => {
    const { status, body } = await get(`/files/${encodeURIComponent(name)}/${encodeURIComponent(name)}`, []);
    expect(status).toBe(200);
    expect((JSON.parse(body) as Json).event.pathParameters).toEqual({ path: `${name}/${name}` });
  });
});

describe('emulator maps built in the handler’s event', () => {
  it('keep duplicate headers named like prototype members joined, as format 2.0 does', async () => {
    const { status, body } = await get('/items/x', [
      ['constructor', 'a'],
      ['constructor', 'b'],
    ]);
    expect(status).toBe(200);
    expect((JSON.parse(body) as Json).event.headers.constructor).toBe('a,b');
  });
});
