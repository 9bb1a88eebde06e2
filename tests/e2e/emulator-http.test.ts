/**
 * The local API Gateway's HTTP API against fixture handlers: payload format 2.0 in and out, the
 * JWT authorizer, /dev/token, CORS, and failures isolated to the route that failed.
 */
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDevIssuerInMemory } from '#adapters/auth/dev-issuer';
import { startEmulator, type Emulator } from '#lib/local/emulator';
import { silentLog } from '#lib/local/log';
import { FIXTURE_HANDLERS_DIR, FIXTURE_HTTP_ROUTES } from './fixtures/routes.ts';

const FUNCTION_TIMEOUT_MS = 500;
const issuer = makeDevIssuerInMemory();
let emulator: Emulator;
let base: string;

beforeAll(async () => {
  emulator = await startEmulator({
    httpPort: 0,
    wsPort: 0,
    handlersDir: FIXTURE_HANDLERS_DIR,
    httpRoutes: FIXTURE_HTTP_ROUTES,
    issuer,
    functionTimeoutMs: FUNCTION_TIMEOUT_MS,
    log: silentLog,
  });
  base = emulator.httpUrl;
});

afterAll(async () => {
  await emulator?.stop();
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

async function echo(path: string, init: RequestInit = {}): Promise<{ response: Response; event: Json; context: Json }> {
  const response = await fetch(`${base}${path}`, init);
  expect(response.status).toBe(200);
  const { event, context } = (await response.json()) as Json;
  return { response, event, context };
}

describe('HTTP API events (payload format 2.0)', () => {
  it('passes method, route key, raw path and query, decoded parameters, lower-cased headers, cookies and body', async () => {
    // Two X-Custom header lines (fetch would fold them into one), sent with node:http.
    const raw = await new Promise<{ status: number; requestId: string; text: string }>((resolve, reject) => {
      const req = request(
        `${base}/items/abc%20d?x=1&x=2&y=z%21`,
        {
          method: 'POST',
          headers: ['Host', new URL(base).host, 'Content-Type', 'application/json', 'X-Custom', 'one', 'X-Custom', 'two', 'Cookie', 'c1=v1; c2=v2'],
        },
        (res) => {
          let text = '';
          res.on('data', (chunk: Buffer) => (text += chunk.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, requestId: String(res.headers['apigw-requestid']), text }));
        },
      );
      req.on('error', reject);
      req.end(JSON.stringify({ hello: 'there' }));
    });
    expect(raw.status).toBe(200);
    const { event, context } = JSON.parse(raw.text) as Json;

    expect(event).toMatchObject({
      version: '2.0',
      routeKey: 'POST /items/{itemId}',
      rawPath: '/items/abc%20d',
      rawQueryString: 'x=1&x=2&y=z%21',
      queryStringParameters: { x: '1,2', y: 'z!' },
      pathParameters: { itemId: 'abc d' },
      cookies: ['c1=v1', 'c2=v2'],
      body: '{"hello":"there"}',
      isBase64Encoded: false,
    });
    expect(event.headers).toMatchObject({ 'content-type': 'application/json', 'x-custom': 'one,two', 'x-forwarded-for': '127.0.0.1' });
    expect(event.headers.cookie).toBeUndefined();
    expect(Object.keys(event.headers).every((name: string) => name === name.toLowerCase())).toBe(true);

    const rc = event.requestContext;
    expect(rc).toMatchObject({
      accountId: expect.stringMatching(/^\d{12}$/),
      apiId: expect.any(String),
      domainName: new URL(base).host,
      http: { method: 'POST', path: '/items/abc%20d', protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: expect.any(String) },
      requestId: expect.stringMatching(/^[A-Za-z0-9]{15}=$/),
      routeKey: 'POST /items/{itemId}',
      stage: '$default',
      time: expect.stringMatching(/^\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} \+0000$/),
      timeEpoch: expect.any(Number),
    });
    expect(rc.authorizer).toBeUndefined();
    expect(raw.requestId).toBe(rc.requestId);

    expect(context.functionName).toBe('echoPost');
    expect(context.awsRequestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(context.remainingMs).toBeGreaterThan(0);
    expect(context.remainingMs).toBeLessThanOrEqual(FUNCTION_TIMEOUT_MS);
    expect(context.callbackWaitsForEmptyEventLoop).toBe(true);
  });

  it('leaves out queryStringParameters, pathParameters and body when there are none', async () => {
    const { event } = await echo('/plain');
    expect(event.rawQueryString).toBe('');
    expect(event).not.toHaveProperty('queryStringParameters');
    expect(event).not.toHaveProperty('pathParameters');
    expect(event).not.toHaveProperty('body');
    expect(event).not.toHaveProperty('cookies');
    expect(event.isBase64Encoded).toBe(false);
  });

  it('base64-encodes a binary body', async () => {
    const bytes = Buffer.from([0, 1, 2, 250, 251, 252]);
    const { event } = await echo('/upload', { method: 'PUT', headers: { 'content-type': 'application/octet-stream' }, body: bytes });
    expect(event.isBase64Encoded).toBe(true);
    expect(Buffer.from(event.body, 'base64')).toEqual(bytes);
  });

  it('prefers a literal route over a parameter, and matches greedy parameters', async () => {
    const special = await fetch(`${base}/items/special`);
    expect(await special.json()).toEqual({ hello: 'world' });
    const { event } = await echo('/files/a/b/c.txt');
    expect(event.routeKey).toBe('GET /files/{path+}');
    expect(event.pathParameters).toEqual({ path: 'a/b/c.txt' });
  });
});

describe('HTTP API results', () => {
  it('turns a result without statusCode into 200 application/json, and a string into the body', async () => {
    const object = await fetch(`${base}/bare`);
    expect(object.status).toBe(200);
    expect(object.headers.get('content-type')).toBe('application/json');
    expect(await object.text()).toBe('{"hello":"world"}');

    const text = await fetch(`${base}/bare?kind=string`);
    expect(text.status).toBe(200);
    expect(await text.text()).toBe('plain words');
  });

  it('passes statusCode and headers, and makes each cookie a set-cookie header', async () => {
    const response = await fetch(`${base}/plain?status=418&cookie=1`);
    expect(response.status).toBe(418);
    expect(response.headers.get('x-fixture')).toBe('echo');
    expect(response.headers.getSetCookie()).toEqual(['a=1; Path=/', 'b=2; Path=/']);
  });

  it('supports callback-style handlers', async () => {
    const response = await fetch(`${base}/callback`);
    expect(response.status).toBe(202);
    expect(await response.text()).toBe('called back');
  });

  it('answers 404 {"message":"Not Found"} for unknown paths and for a known path with another method', async () => {
    for (const [method, path] of [
      ['GET', '/nowhere'],
      ['DELETE', '/plain'],
      ['GET', '/plain/'],
    ] as const) {
      const response = await fetch(`${base}${path}`, { method });
      expect(response.status).toBe(404);
      expect(await response.text()).toBe('{"message":"Not Found"}');
    }
  });
});

describe('HTTP API failures stay in their route', () => {
  it('answers 500 {"message":"Internal Server Error"} when a handler throws, and other routes keep working', async () => {
    const failed = await fetch(`${base}/throws`);
    expect(failed.status).toBe(500);
    expect(await failed.text()).toBe('{"message":"Internal Server Error"}');
    expect((await fetch(`${base}/plain`)).status).toBe(200);
    expect((await fetch(`${base}/throws`)).status).toBe(500);
  });

  it('answers 500 when a handler outlives the function timeout or returns a malformed result', async () => {
    const slow = await fetch(`${base}/slow`);
    expect(slow.status).toBe(500);
    expect(await slow.json()).toEqual({ message: 'Internal Server Error' });
    const malformed = await fetch(`${base}/malformed`);
    expect(malformed.status).toBe(500);
    expect(await malformed.json()).toEqual({ message: 'Internal Server Error' });
  });

  it('answers 500 INTERNAL in the contract shape when the handler module is missing or fails to load', async () => {
    for (const path of ['/missing', '/broken']) {
      const response = await fetch(`${base}${path}`);
      expect(response.status).toBe(500);
      expect(((await response.json()) as Json).error.code).toBe('INTERNAL');
    }
    expect((await fetch(`${base}/plain`)).status).toBe(200);
  });
});

describe('JWT authorizer', () => {
  const providerToken = () => issuer.sign({ userId: 7, role: 'provider', providerId: 1 });

  const UNAUTHORIZED_BODY = { message: 'Unauthorized', error: { code: 'UNAUTHORIZED', message: 'A valid bearer token is required' } };

  it("answers 401 with API Gateway's message and the contract's error, without invoking the handler", async () => {
    const response = await fetch(`${base}/secure`);
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual(UNAUTHORIZED_BODY);
  });

  it('answers 401 with a www-authenticate reason for bad, expired, foreign and wrong-audience tokens', async () => {
    const other = makeDevIssuerInMemory();
    const cases: [string, RegExp][] = [
      ['not-a-jwt', /malformed|invalid/],
      [issuer.sign({ userId: 2, role: 'customer' }, { now: Date.now() - 7_200_000, expiresInSeconds: 60 }), /expired/],
      [other.sign({ userId: 2, role: 'customer' }), /signature/],
      [issuer.sign({ userId: 2, role: 'customer' }, { claims: { aud: 'someone-else' } }), /audience/],
      [issuer.sign({ userId: 2, role: 'customer' }, { claims: { iss: 'someone-else' } }), /issuer/],
    ];
    for (const [token, reason] of cases) {
      const response = await fetch(`${base}/secure`, { headers: { authorization: `Bearer ${token}` } });
      expect(response.status).toBe(401);
      expect(await response.json()).toEqual(UNAUTHORIZED_BODY);
      expect(response.headers.get('www-authenticate')).toMatch(/^Bearer scope="" error="invalid_token" error_description="/);
      expect(response.headers.get('www-authenticate')).toMatch(reason);
    }
  });

  it('passes the claims as API Gateway does: every value a string, scopes null without a scope claim', async () => {
    const { event } = await echo('/secure', { headers: { authorization: `Bearer ${providerToken()}` } });
    const { claims, scopes } = event.requestContext.authorizer.jwt;
    expect(claims).toMatchObject({
      userId: '7',
      role: 'provider',
      providerId: '1',
      iss: issuer.issuer,
      aud: issuer.audience,
      sub: '7',
      iat: expect.stringMatching(/^\d+$/),
      exp: expect.stringMatching(/^\d+$/),
    });
    expect(Object.values(claims).every((value) => typeof value === 'string')).toBe(true);
    expect(scopes).toBeNull();
  });

  it('accepts the token without the Bearer prefix and splits a scope claim', async () => {
    const token = issuer.sign({ userId: 2, role: 'customer' }, { claims: { scope: 'chat.read chat.write', groups: ['a', 'b'] } });
    const { event } = await echo('/secure', { headers: { authorization: token } });
    expect(event.requestContext.authorizer.jwt.scopes).toEqual(['chat.read', 'chat.write']);
    expect(event.requestContext.authorizer.jwt.claims.groups).toBe('[a b]');
  });
});

describe('POST /dev/token', () => {
  const post = (body: unknown) =>
    fetch(`${base}/dev/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });

  it('signs tokens the authorizer accepts, for every role', async () => {
    for (const request of [
      { userId: 2, role: 'customer' },
      { userId: 7, role: 'provider', providerId: 1 },
      { userId: 99, role: 'admin' },
    ]) {
      const response = await post(request);
      expect(response.status).toBe(200);
      const { token, expiresIn } = (await response.json()) as { token: string; expiresIn: number };
      expect(expiresIn).toBe(3600);
      const { event } = await echo('/secure', { headers: { authorization: `Bearer ${token}` } });
      expect(event.requestContext.authorizer.jwt.claims).toMatchObject({ userId: String(request.userId), role: request.role });
    }
  });

  it('honours expiresIn', async () => {
    const { token, expiresIn } = (await (await post({ userId: 2, role: 'customer', expiresIn: 60 })).json()) as Json;
    expect(expiresIn).toBe(60);
    const payload = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()) as { iat: number; exp: number };
    expect(payload.exp - payload.iat).toBe(60);
  });

  it('answers 400 VALIDATION_ERROR in the contract shape for bad requests', async () => {
    for (const body of ['{not json', { userId: 7, role: 'provider' }, { userId: 'x', role: 'customer' }, { userId: 2, role: 'owner' }, { userId: 2, role: 'customer', expiresIn: -1 }]) {
      const response = await post(body);
      expect(response.status).toBe(400);
      const { error } = (await response.json()) as Json;
      expect(error.code).toBe('VALIDATION_ERROR');
      expect(typeof error.message).toBe('string');
    }
    const { error } = (await (await post({ userId: 7, role: 'provider' })).json()) as Json;
    expect(error.details).toEqual([expect.objectContaining({ path: 'providerId' })]);
  });

  it('publishes the issuer keys at /.well-known/jwks.json', async () => {
    const response = await fetch(`${base}/.well-known/jwks.json`);
    expect(await response.json()).toEqual(issuer.jwks);
  });
});

describe('CORS', () => {
  it('answers preflight requests itself, on any path', async () => {
    for (const path of ['/secure', '/nowhere']) {
      const response = await fetch(`${base}${path}`, {
        method: 'OPTIONS',
        headers: { origin: 'http://localhost:5173', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' },
      });
      expect(response.status).toBe(204);
      expect(response.headers.get('access-control-allow-origin')).toBe('*');
      expect(response.headers.get('access-control-allow-methods')).toContain('PATCH');
      expect(response.headers.get('access-control-allow-headers')).toBe('authorization,content-type');
    }
  });

  it('adds access-control-allow-origin to responses for requests with an Origin, replacing the handler’s own', async () => {
    const withOrigin = await fetch(`${base}/plain?cors=1`, { headers: { origin: 'http://localhost:5173' } });
    expect(withOrigin.headers.get('access-control-allow-origin')).toBe('*');
    const unauthorized = await fetch(`${base}/secure`, { headers: { origin: 'http://localhost:5173' } });
    expect(unauthorized.headers.get('access-control-allow-origin')).toBe('*');
    const withoutOrigin = await fetch(`${base}/plain`);
    expect(withoutOrigin.headers.get('access-control-allow-origin')).toBeNull();
  });
});
