/**
 * Runs the real Lambda handler modules in-process with the events API Gateway would send them,
 * against real backing services: a Postgres database and DynamoDB tables of this test file's own,
 * and a capturing `@connections` endpoint on 127.0.0.1 that the real management API client posts
 * to.
 *
 *   const h = await startHandlerHarness({ env: { CHAT_SEND_RATE_LIMIT: '5' } });
 *   const created = await h.http('startConversation', { identity: people.customer, body: { providerId: 1, customerId: 2 } });
 *   await h.ws.connect('conn-1', { token: h.token(people.staff) });
 *   await h.ws.send('conn-1', { action: 'chat-ping', data: {} });
 *   h.framesFor('conn-1'); // [{ event: 'chat-pong', data: { at } }]
 *   await h.stop();
 *
 * Settings are parsed once per process (as once per Lambda container) and the observability
 * module reads its environment when first imported, so the environment is set before any handler
 * module is imported: the handlers are imported lazily, on their first invocation. vitest runs
 * each test file in its own fork, so start one harness per file (beforeAll).
 *
 * What API Gateway does around the handlers is done here too:
 * - HTTP: payload format 2.0. With `token`, the JWT authorizer runs first (a refused token answers
 *   401 `{"message":"Unauthorized"}` and the handler is not invoked); with `identity` a token is
 *   minted and goes the same way; the handler gets `requestContext.authorizer.jwt.claims` with
 *   every claim value a string, as API Gateway passes them.
 * - WebSocket: `$connect` with the query string; route selection on `$request.body.action` (an
 *   action equal to a route key goes to that route, anything else to `$default`); a frame over
 *   32 KB closes the connection (1009) without reaching a handler; DeleteConnection closes the
 *   connection and invokes `$disconnect`, as API Gateway does.
 * - `@connections`: POST to a live connection records the frame; to one that never connected,
 *   was closed or is marked gone answers 410 GoneException.
 *
 * Everything the handlers answer is checked against the protocol (functions/core/protocol), so a
 * drift between the API and its declared contract fails the test that caused it:
 * - every HTTP response body against HTTP_CONTRACT[route].responses[status] (a status the route
 *   does not declare fails too; error bodies against the error schema);
 * - every frame posted to `@connections` against SERVER_EVENT_SCHEMAS, and every `chat-ack`
 *   answering a frame sent with `ws.send` against its action's ack schema (WS_ACTIONS).
 * A mismatch throws a ContractViolation listing the zod issues (and keys no schema declares).
 *
 * The handlers log nothing unless HANDLER_TEST_LOG_LEVEL is set (e.g. `ERROR`, `INFO`).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { readBody } from '#lib/local/net';
import { apiGatewayId, requestTime, webSocketRequestContext, type WebSocketEventType } from '#lib/local/ids';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Context } from 'aws-lambda';
import { inject } from 'vitest';
import { makeDevIssuerInMemory, type DevIssuer, type DevSignOptions, type DevTokenSubject } from '#adapters/auth/dev-issuer';
import { HTTP_ROUTES, WEBSOCKET_ROUTES } from '#config/routes';
import { assertConforms, checkAck, checkHttpResponse, checkServerFrame, routeKeyOf } from '#core/protocol';
import { TABLE_KEYS, TABLES } from '#config/tables';
import { createJwtAuthorizer } from '#lib/local/jwt-authorizer';
import { createTestTables, type TestTables } from './dynamodb.ts';
import { createTestDatabase, type TestDatabase } from './postgres.ts';

// Frames and bodies are whatever JSON the handlers produced; tests pick into them freely.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Loose = any;

export type HttpRouteName = (typeof HTTP_ROUTES)[number]['name'];
export type WsRouteKey = (typeof WEBSOCKET_ROUTES)[number]['routeKey'];

/** The cast every test file uses: one conversation's two sides, and everyone who is not in it. */
export const people = {
  /** The conversation's customer. */
  customer: { userId: 2, role: 'customer' },
  /** Staff of provider 1, the conversation's provider. */
  staff: { userId: 7, role: 'provider', providerId: 1 },
  /** Another staff user of provider 1: the same shared business inbox. */
  staff2: { userId: 8, role: 'provider', providerId: 1 },
  /** A customer who is not in the conversation. */
  otherCustomer: { userId: 3, role: 'customer' },
  /** Staff of provider 2, who is not in the conversation. */
  otherStaff: { userId: 9, role: 'provider', providerId: 2 },
  admin: { userId: 99, role: 'admin' },
  /** A backend of the marketplace (bookings): in no conversation, acting in all. */
  service: { userId: 1000, role: 'service' },
} as const satisfies Record<string, DevTokenSubject>;

export interface ServerFrame {
  event: string;
  data: Loose;
  requestId?: string;
}

export interface ConnectionPost {
  method: 'POST' | 'DELETE' | 'GET';
  connectionId: string;
  /** What the endpoint answered: 200/204 for a live connection, 410 otherwise. */
  status: number;
  /** The parsed frame of a POST (the raw text when it is not JSON). */
  frame?: ServerFrame | string;
  at: number;
}

export interface HttpRequestOptions {
  /** Who calls: a token is minted for them and put through the JWT authorizer. */
  identity?: DevTokenSubject;
  /** A raw bearer token put through the JWT authorizer (refused ones answer 401 without invoking the handler). */
  token?: string;
  /** Authorizer claims exactly as given (bypasses the authorizer). */
  claims?: Record<string, string>;
  params?: Record<string, string>;
  query?: Record<string, string | readonly string[] | undefined>;
  /** A raw query string instead of `query` (decoded as API Gateway does). */
  rawQueryString?: string;
  /** A string is sent as is; anything else as JSON. */
  body?: unknown;
  /** Send the body base64-encoded (API Gateway does for non-text content types). */
  base64?: boolean;
  headers?: Record<string, string>;
}

export interface HttpReply {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** The parsed JSON body, or undefined when it is not JSON. */
  json: Loose;
  /** false when the authorizer refused and the handler never ran. */
  invoked: boolean;
}

export interface WsConnectOptions {
  token?: string;
  query?: Record<string, string>;
  headers?: Record<string, string>;
}

export interface WsConnectReply {
  statusCode: number;
  body?: string;
  /** Whether API Gateway would have opened the connection (a 2xx answer). */
  open: boolean;
}

export interface WsSendReply {
  /** The route API Gateway selected. */
  routeKey: string;
  statusCode?: number;
  /** Frames this connection received while the frame was handled. */
  frames: ServerFrame[];
  /** Set when API Gateway closed the connection instead of routing the frame (1009: over 32 KB). */
  closedWith?: number;
}

export interface HarnessOptions {
  /** More settings for the handlers (CHAT_SEND_RATE_LIMIT…). */
  env?: Record<string, string>;
}

const HANDLERS_DIR = fileURLToPath(new URL('../../functions/handlers/', import.meta.url));
const REGION = 'us-east-1';
const ACCOUNT_ID = '123456789012';
const HTTP_API_ID = 'httpapi01';
const WS_API_ID = 'wsapi0001';
const WS_STAGE = 'test';
/** API Gateway's WebSocket frame limit. */
export const MAX_FRAME_BYTES = 32 * 1024;
const SPECIAL_ROUTES = new Set(['$connect', '$disconnect', '$default']);

type Handler = (event: unknown, context: Context) => Promise<unknown>;

/** A Lambda context as the runtime passes it. */
export function lambdaContext(functionName = 'handler-test', timeoutMs = 30_000): Context {
  const deadline = Date.now() + timeoutMs;
  const requestId = randomUUID();
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${REGION}:${ACCOUNT_ID}:function:${functionName}`,
    memoryLimitInMB: '1024',
    awsRequestId: requestId,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: `2026/01/01/[$LATEST]${randomBytes(16).toString('hex')}`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
}

/** The payload of a JWT, decoded without checking it. */
export function decodeToken(token: string): Record<string, unknown> {
  const payload = token.split('.')[1] ?? '';
  return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
}

const LONE_SURROGATES = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** A URL carries UTF-8 bytes, so what API Gateway decodes from one is always well-formed text. */
function wellFormed(text: string): string {
  return text.replace(LONE_SURROGATES, '\ufffd');
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}


/**
 * The capturing `@connections` endpoint: every POST, DELETE and GET by connection id, 410 for
 * connections that are not open. `onDelete` runs after a DELETE of an open connection is answered.
 */
export interface ConnectionsEndpoint {
  url: string;
  posts: ConnectionPost[];
  open(connectionId: string): void;
  /** API Gateway knows the connection is gone; our stores may not yet. Posts answer 410. */
  markGone(connectionId: string): void;
  isOpen(connectionId: string): boolean;
  close(): Promise<void>;
}

export async function startConnectionsEndpoint(onDelete: (connectionId: string) => void): Promise<ConnectionsEndpoint> {
  const live = new Set<string>();
  const posts: ConnectionPost[] = [];
  const server: Server = createServer((request, response) => {
    void (async () => {
      const body = await readBody(request);
      const pathname = new URL(request.url ?? '/', 'http://127.0.0.1').pathname;
      const match = /^(?:\/[^@]*)?\/@connections\/([^/]+)$/.exec(pathname);
      const method = request.method as ConnectionPost['method'];
      if (!match?.[1] || !['POST', 'DELETE', 'GET'].includes(method)) {
        response.writeHead(404, { 'content-type': 'application/json' }).end('{"message":"Not Found"}');
        return;
      }
      const connectionId = decodeURIComponent(match[1]);
      const isLive = live.has(connectionId);
      const status = !isLive ? 410 : method === 'DELETE' ? 204 : 200;
      const text = body.toString('utf8');
      posts.push({
        method,
        connectionId,
        status,
        ...(method === 'POST' ? { frame: (parseJson(text) as ServerFrame | undefined) ?? text } : {}),
        at: Date.now(),
      });
      if (!isLive) {
        response.writeHead(410, { 'content-type': 'application/json', 'x-amzn-ErrorType': 'GoneException' });
        response.end('{"message":null}');
        return;
      }
      if (method === 'DELETE') {
        live.delete(connectionId);
        response.writeHead(204).end();
        onDelete(connectionId);
        return;
      }
      if (method === 'GET') {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ connectedAt: new Date().toISOString(), identity: { sourceIp: '127.0.0.1', userAgent: 'test' } }));
        return;
      }
      response.writeHead(200).end();
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/${WS_STAGE}`,
    posts,
    open: (connectionId) => void live.add(connectionId),
    markGone: (connectionId) => void live.delete(connectionId),
    isOpen: (connectionId) => live.has(connectionId),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface HandlerHarness {
  database: TestDatabase;
  tables: TestTables;
  /** The environment the handlers run with. */
  env: Record<string, string>;
  issuer: DevIssuer;
  endpoint: ConnectionsEndpoint;

  /** A valid token for `subject`. */
  token(subject: DevTokenSubject, options?: DevSignOptions): string;
  /** A token that expired a minute ago. */
  expiredToken(subject: DevTokenSubject): string;
  /** A token for another audience. */
  wrongAudienceToken(subject: DevTokenSubject): string;
  /** A token with the right issuer and audience, signed by a key nobody trusts. */
  otherKeyToken(subject: DevTokenSubject): string;
  /** The authorizer claims API Gateway would pass for `subject` (every value a string). */
  claimsFor(subject: DevTokenSubject): Record<string, string>;

  /** The payload 2.0 event API Gateway would send for a request to `route`. */
  httpEvent(route: HttpRouteName, request?: HttpRequestOptions): Record<string, unknown>;
  /** Calls the route's handler as API Gateway would (authorizer first). */
  http(route: HttpRouteName, request?: HttpRequestOptions): Promise<HttpReply>;
  /** Invokes a handler module (by manifest entry) with any event. */
  invoke(entry: string, event: unknown): Promise<unknown>;

  ws: {
    connect(connectionId: string, options?: WsConnectOptions): Promise<WsConnectReply>;
    /** A frame (object, sent as JSON) or a raw string; `routeKey` overrides route selection. */
    send(connectionId: string, frame: unknown, routeKey?: string): Promise<WsSendReply>;
    /** The client went away: `$disconnect`. */
    disconnect(connectionId: string, statusCode?: number): Promise<void>;
    /** The route API Gateway selects for a frame body. */
    selectRoute(body: string): string;
  };

  /** Every frame delivered to a connection, in order. */
  framesFor(connectionId: string): ServerFrame[];
  /** Frames of one event delivered to a connection. */
  eventsFor(connectionId: string, event: string): ServerFrame[];
  /** DELETE requests (closes) the handlers sent for a connection. */
  deletesFor(connectionId: string): ConnectionPost[];
  /** Marks now: the returned function lists the frames a connection received since. */
  mark(): (connectionId: string) => ServerFrame[];
  /** A fresh connection id. */
  newConnectionId(): string;
  /** Waits for the `$disconnect` invocations API Gateway runs after closes. */
  settled(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Creates this file's database and tables, the `@connections` endpoint and a token issuer, and
 * sets the handlers' environment. Call once per test file, before any handler runs.
 */
export async function startHandlerHarness(options: HarnessOptions = {}): Promise<HandlerHarness> {
  const [database, tables, keyDir] = await Promise.all([
    createTestDatabase(),
    createTestTables(),
    mkdtemp(path.join(tmpdir(), 'chat-handlers-')),
  ]);
  const issuer = makeDevIssuerInMemory();
  const stranger = makeDevIssuerInMemory();
  const jwksFile = path.join(keyDir, 'jwks.json');
  const authorizer = createJwtAuthorizer({ issuer: issuer.issuer, audience: issuer.audience, jwks: issuer.jwks });

  const pending = new Set<Promise<unknown>>();
  const connectedAt = new Map<string, number>();
  const handlers = new Map<string, Promise<Handler>>();

  let endpoint: ConnectionsEndpoint;
  try {
    await writeFile(jwksFile, JSON.stringify(issuer.jwks));
    endpoint = await startConnectionsEndpoint((connectionId) => {
      // API Gateway invokes $disconnect for a connection closed with DeleteConnection.
      const run = disconnect(connectionId, 1000, 'Connection closed by the server');
      pending.add(run);
      void run.finally(() => pending.delete(run));
    });
  } catch (error) {
    await Promise.allSettled([database.drop(), tables.drop(), rm(keyDir, { recursive: true, force: true })]);
    throw error;
  }

  const env: Record<string, string> = {
    POWERTOOLS_SERVICE_NAME: 'provider-customer-chat',
    POWERTOOLS_METRICS_DISABLED: 'true',
    POWERTOOLS_TRACE_ENABLED: 'false',
    POWERTOOLS_LOG_LEVEL: process.env.HANDLER_TEST_LOG_LEVEL ?? 'SILENT',
    AWS_REGION: REGION,
    AWS_DEFAULT_REGION: REGION,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    DATABASE_URL: database.url,
    DYNAMODB_ENDPOINT: inject('dynamoEndpoint'),
    WEBSOCKET_CALLBACK_URL: endpoint.url,
    AUTH_ISSUER: issuer.issuer,
    AUTH_AUDIENCE: issuer.audience,
    AUTH_JWKS_URI: pathToFileURL(jwksFile).href,
    // Presigning needs no bucket that answers: uploads and downloads are signed URLs only.
    ATTACHMENTS_BUCKET: 'chat-attachments-test',
    ...Object.fromEntries(TABLE_KEYS.map((key) => [TABLES[key].settingsKey, tables.names[key]])),
    ...options.env,
  };
  delete process.env.AWS_SESSION_TOKEN;
  delete process.env.AWS_PROFILE;
  Object.assign(process.env, env);

  function load(entry: string): Promise<Handler> {
    let loaded = handlers.get(entry);
    if (!loaded) {
      loaded = import(pathToFileURL(path.join(HANDLERS_DIR, `${entry}.ts`)).href).then((module: { handler: Handler }) => module.handler);
      handlers.set(entry, loaded);
    }
    return loaded;
  }

  async function invoke(entry: string, event: unknown): Promise<unknown> {
    const handler = await load(entry);
    return handler(event, lambdaContext(entry.replace(/\W/g, '-')));
  }

  async function settled(): Promise<void> {
    while (pending.size > 0) await Promise.allSettled([...pending]);
    checkPosts();
  }

  // ─── The protocol ────────────────────────────────────────────────────────────────────

  /** How many of the endpoint's posts have been checked against SERVER_EVENT_SCHEMAS. */
  let checkedPosts = 0;

  /** Checks every frame posted since the last check; throws a ContractViolation on the first bad one. */
  function checkPosts(): void {
    while (checkedPosts < endpoint.posts.length) {
      const post = endpoint.posts[checkedPosts++]!;
      if (post.method !== 'POST') continue;
      const event = typeof post.frame === 'object' ? String(post.frame.event) : 'non-JSON';
      assertConforms(`the ${event} frame posted to ${post.connectionId}`, checkServerFrame(post.frame), post.frame);
    }
  }

  function checkHttpReply(name: HttpRouteName, reply: HttpReply): HttpReply {
    // A body that is not JSON (the docs page) has no schema; one that should be JSON and is not fails.
    assertConforms(`${name}'s ${reply.status} response`, checkHttpResponse(name, reply.status, reply.json), reply.json ?? reply.body);
    return reply;
  }

  const token = (subject: DevTokenSubject, signOptions?: DevSignOptions) => issuer.sign(subject, signOptions);
  const claimsFor = (subject: DevTokenSubject) => {
    const decision = authorizer.authorize(`Bearer ${token(subject)}`);
    if (!decision.allowed) throw new Error('the harness authorizer refused its own token');
    return decision.jwt.claims;
  };

  // ─── HTTP ────────────────────────────────────────────────────────────────────────────

  function routeOf(name: HttpRouteName) {
    const route = HTTP_ROUTES.find((candidate) => candidate.name === name);
    if (!route) throw new Error(`No HTTP route named ${name}`);
    return route;
  }

  function queryOf(request: HttpRequestOptions): { raw: string; parameters?: Record<string, string> } {
    let raw = request.rawQueryString;
    if (raw === undefined) {
      const search = new URLSearchParams();
      for (const [name, value] of Object.entries(request.query ?? {})) {
        if (value === undefined) continue;
        for (const one of typeof value === 'string' ? [value] : value) search.append(wellFormed(name), wellFormed(one));
      }
      raw = search.toString();
    }
    if (raw === '') return { raw };
    const parameters: Record<string, string> = {};
    for (const [name, value] of new URLSearchParams(raw)) {
      // API Gateway joins repeated parameters with commas.
      parameters[name] = name in parameters ? `${parameters[name]},${value}` : value;
    }
    return Object.keys(parameters).length > 0 ? { raw, parameters } : { raw };
  }

  function httpEvent(name: HttpRouteName, request: HttpRequestOptions = {}, claims?: Record<string, string>): Record<string, unknown> {
    const route = routeOf(name);
    // Only the route's own path parameters exist (as API Gateway matches them from the path).
    const params = Object.fromEntries(
      Object.entries(request.params ?? {})
        .filter(([name]) => route.path.includes(`{${name}}`))
        .map(([name, value]) => [name, wellFormed(value)]),
    );
    const rawPath = route.path.replace(/\{(\w+)\}/g, (_, param: string) => encodeURIComponent(params[param] ?? ''));
    const routeKey = `${route.method} ${route.path}`;
    const { raw, parameters } = queryOf(request);
    const now = Date.now();
    const bodyText = request.body === undefined ? undefined : typeof request.body === 'string' ? request.body : JSON.stringify(request.body);
    const headers: Record<string, string> = {
      accept: '*/*',
      host: `${HTTP_API_ID}.execute-api.${REGION}.amazonaws.com`,
      'user-agent': 'handler-tests',
      'x-amzn-trace-id': `Root=1-${Math.floor(now / 1000).toString(16)}-${randomBytes(12).toString('hex')}`,
      'x-forwarded-for': '127.0.0.1',
      'x-forwarded-port': '443',
      'x-forwarded-proto': 'https',
      ...(bodyText !== undefined ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(bodyText)) } : {}),
      ...(request.token !== undefined ? { authorization: `Bearer ${request.token}` } : {}),
      ...Object.fromEntries(Object.entries(request.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v])),
    };
    const domainName = headers.host!;
    return {
      version: '2.0',
      routeKey,
      rawPath,
      rawQueryString: raw,
      headers,
      ...(parameters ? { queryStringParameters: parameters } : {}),
      requestContext: {
        accountId: ACCOUNT_ID,
        apiId: HTTP_API_ID,
        ...(claims ? { authorizer: { jwt: { claims, scopes: null } } } : {}),
        domainName,
        domainPrefix: domainName.split('.')[0],
        http: { method: route.method, path: rawPath, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'handler-tests' },
        requestId: apiGatewayId(),
        routeKey,
        stage: '$default',
        time: requestTime(now),
        timeEpoch: now,
      },
      ...(Object.keys(params).length > 0 ? { pathParameters: { ...params } } : {}),
      ...(bodyText !== undefined
        ? { body: request.base64 ? Buffer.from(bodyText, 'utf8').toString('base64') : bodyText, isBase64Encoded: request.base64 === true }
        : { isBase64Encoded: false }),
    };
  }

  async function http(name: HttpRouteName, request: HttpRequestOptions = {}): Promise<HttpReply> {
    const reply = await callHttp(name, request);
    checkPosts();
    return checkHttpReply(name, reply);
  }

  async function callHttp(name: HttpRouteName, request: HttpRequestOptions): Promise<HttpReply> {
    const route = routeOf(name);
    let claims = request.claims;
    const presented = request.token ?? (request.identity ? token(request.identity) : undefined);
    if (route.authorized && claims === undefined && presented !== undefined) {
      const decision = authorizer.authorize(`Bearer ${presented}`);
      if (!decision.allowed) {
        const body = '{"message":"Unauthorized"}';
        return { status: 401, headers: { 'content-type': 'application/json' }, body, json: JSON.parse(body), invoked: false };
      }
      claims = decision.jwt.claims;
    }
    const event = httpEvent(name, { ...request, ...(presented !== undefined ? { token: presented } : {}) }, route.authorized ? claims : undefined);
    const result = (await invoke(route.entry, event)) as { statusCode?: number; headers?: Record<string, string>; body?: string; isBase64Encoded?: boolean } | string;
    await settled();
    if (typeof result === 'string' || result === null || typeof result !== 'object' || result.statusCode === undefined) {
      // Payload 2.0: anything without a statusCode is a 200 JSON body.
      const body = typeof result === 'string' ? result : JSON.stringify(result);
      return { status: 200, headers: { 'content-type': 'application/json' }, body, json: parseJson(body), invoked: true };
    }
    const body = result.isBase64Encoded ? Buffer.from(result.body ?? '', 'base64').toString('utf8') : (result.body ?? '');
    const headers = Object.fromEntries(Object.entries(result.headers ?? {}).map(([k, v]) => [k.toLowerCase(), String(v)]));
    return { status: result.statusCode, headers, body, json: parseJson(body), invoked: true };
  }

  // ─── WebSocket ───────────────────────────────────────────────────────────────────────

  const wsRoutes = new Map<string, string>(WEBSOCKET_ROUTES.map((route) => [route.routeKey, route.entry]));

  function selectRoute(body: string): string {
    const parsed = parseJson(body);
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return '$default';
    const { action } = parsed as { action?: unknown };
    return typeof action === 'string' && wsRoutes.has(action) && !SPECIAL_ROUTES.has(action) ? action : '$default';
  }

  function wsContext(connectionId: string, routeKey: string, eventType: WebSocketEventType) {
    const now = Date.now();
    return webSocketRequestContext({
      connectionId,
      connectedAt: connectedAt.get(connectionId) ?? now,
      routeKey,
      eventType,
      now,
      stage: WS_STAGE,
      apiId: WS_API_ID,
      domainName: `${WS_API_ID}.execute-api.${REGION}.amazonaws.com`,
      sourceIp: '127.0.0.1',
      userAgent: 'handler-tests',
    });
  }

  function connectHeaders(extra: Record<string, string> = {}) {
    const headers: Record<string, string> = {
      Host: `${WS_API_ID}.execute-api.${REGION}.amazonaws.com`,
      'Sec-WebSocket-Extensions': 'permessage-deflate; client_max_window_bits',
      'Sec-WebSocket-Key': randomBytes(16).toString('base64'),
      'Sec-WebSocket-Version': '13',
      'X-Forwarded-For': '127.0.0.1',
      'X-Forwarded-Port': '443',
      'X-Forwarded-Proto': 'https',
      ...extra,
    };
    return { headers, multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])) };
  }

  async function connect(connectionId: string, connectOptions: WsConnectOptions = {}): Promise<WsConnectReply> {
    connectedAt.set(connectionId, Date.now());
    const query = { ...connectOptions.query, ...(connectOptions.token !== undefined ? { token: connectOptions.token } : {}) };
    const event = {
      ...connectHeaders(connectOptions.headers),
      ...(Object.keys(query).length > 0
        ? { queryStringParameters: query, multiValueQueryStringParameters: Object.fromEntries(Object.entries(query).map(([k, v]) => [k, [v]])) }
        : {}),
      requestContext: wsContext(connectionId, '$connect', 'CONNECT'),
      isBase64Encoded: false,
    };
    const result = (await invoke(wsRoutes.get('$connect')!, event)) as { statusCode?: number; body?: string } | undefined;
    const statusCode = result?.statusCode ?? 200;
    const open = statusCode >= 200 && statusCode < 300;
    if (open) endpoint.open(connectionId);
    else connectedAt.delete(connectionId);
    await settled();
    return { statusCode, ...(result?.body !== undefined ? { body: result.body } : {}), open };
  }

  async function disconnect(connectionId: string, statusCode = 1001, reason = 'Going away'): Promise<void> {
    endpoint.markGone(connectionId);
    const event = {
      ...connectHeaders(),
      requestContext: { ...wsContext(connectionId, '$disconnect', 'DISCONNECT'), disconnectStatusCode: statusCode, disconnectReason: reason },
      isBase64Encoded: false,
    };
    await invoke(wsRoutes.get('$disconnect')!, event);
  }

  async function send(connectionId: string, frame: unknown, routeKey?: string): Promise<WsSendReply> {
    const body = typeof frame === 'string' ? frame : JSON.stringify(frame);
    const selected = routeKey ?? selectRoute(body);
    const before = framesFor(connectionId).length;
    if (Buffer.byteLength(body, 'utf8') > MAX_FRAME_BYTES) {
      await disconnect(connectionId, 1009, 'Message too big');
      return { routeKey: selected, frames: [], closedWith: 1009 };
    }
    const entry = wsRoutes.get(selected);
    if (!entry) throw new Error(`No WebSocket route ${selected}`);
    const event = {
      requestContext: { ...wsContext(connectionId, selected, 'MESSAGE'), messageId: apiGatewayId() },
      body,
      isBase64Encoded: false,
    };
    const result = (await invoke(entry, event)) as { statusCode?: number } | undefined;
    await settled();
    const frames = framesFor(connectionId).slice(before);
    checkAcks(body, frames);
    return { routeKey: selected, statusCode: result?.statusCode, frames };
  }

  /** The `chat-ack` answering a sent frame carries its action's ack (WS_ACTIONS[key].ack). */
  function checkAcks(body: string, frames: ServerFrame[]): void {
    const sent = parseJson(body) as { action?: unknown; requestId?: unknown } | undefined;
    const routeKey = routeKeyOf(sent?.action);
    if (!routeKey || typeof sent?.requestId !== 'string') return;
    for (const frame of frames) {
      if (frame.event !== 'chat-ack' || frame.data?.requestId !== sent.requestId) continue;
      assertConforms(`the chat-ack of ${routeKey}`, checkAck(routeKey, frame.data.data), frame.data.data);
    }
  }

  // ─── Frames ──────────────────────────────────────────────────────────────────────────

  function framesFor(connectionId: string): ServerFrame[] {
    checkPosts();
    return endpoint.posts
      .filter((post) => post.method === 'POST' && post.status === 200 && post.connectionId === connectionId)
      .map((post) => post.frame as ServerFrame);
  }

  return {
    database,
    tables,
    env,
    issuer,
    endpoint,
    token,
    expiredToken: (subject) => issuer.sign(subject, { now: Date.now() - 2 * 3600_000, expiresInSeconds: 3600 }),
    wrongAudienceToken: (subject) => issuer.sign(subject, { claims: { aud: 'someone-else' } }),
    otherKeyToken: (subject) => stranger.sign(subject),
    claimsFor,
    httpEvent: (name, request) => {
      const route = routeOf(name);
      return httpEvent(name, request, route.authorized ? (request?.claims ?? (request?.identity ? claimsFor(request.identity) : undefined)) : undefined);
    },
    http,
    async invoke(entry, event) {
      const result = await invoke(entry, event);
      checkPosts();
      return result;
    },
    ws: { connect, send, disconnect: (connectionId, statusCode) => disconnect(connectionId, statusCode), selectRoute },
    framesFor,
    eventsFor: (connectionId, event) => framesFor(connectionId).filter((frame) => frame.event === event),
    deletesFor: (connectionId) => endpoint.posts.filter((post) => post.method === 'DELETE' && post.connectionId === connectionId),
    mark: () => {
      const from = endpoint.posts.length;
      return (connectionId) => {
        checkPosts();
        return endpoint.posts
          .slice(from)
          .filter((post) => post.method === 'POST' && post.status === 200 && post.connectionId === connectionId)
          .map((post) => post.frame as ServerFrame);
      };
    },
    newConnectionId: apiGatewayId,
    settled,
    async stop() {
      await settled();
      try {
        if (handlers.size > 0) {
          const { container } = await import('#handlers/shared/container');
          await (await container().prisma()).$disconnect();
        }
      } finally {
        await Promise.allSettled([endpoint.close(), database.drop(), tables.drop(), rm(keyDir, { recursive: true, force: true })]);
      }
    },
  };
}
