/**
 * What an app does against the running product, for the end-to-end suites, through the SDK
 * (`@provider-customer-chat/client`): REST calls of the contract's routes through its typed API,
 * and WebSocket clients that are its ChatClient, every frame they receive kept for assertions.
 *
 *   const api = restApi(runtime.httpUrl);
 *   const token = await api.devToken({ userId: 2, role: 'customer' });
 *   const phone = await openChat(runtime, token);
 *   const ack = await phone.ack('chat-send-message', { conversationId, content: 'Hi' });
 *   await phone.nextFrame((f) => f.event === 'chat-new-message' && f.data.message.id === ack.message.id);
 *
 * Tests of what the server does with what no client library sends (frames that are not JSON or
 * too large, binary frames, the seed's bare connect + `chat-authenticate`, refused upgrades) use
 * `openRawSocket`: a bare `ws` socket that only sends what it is given.
 *
 * Waiting is always for a frame (`nextFrame`), never for a fixed time. To show that a frame did
 * NOT arrive, `settle()` pings and waits for the pong: frames on one connection arrive in the
 * order the server posted them, so anything posted before the ping was answered has arrived.
 *
 * Everything the product answers is checked against the protocol (functions/core/protocol):
 * every REST response of a manifest route against HTTP_CONTRACT for its status (answers of API
 * Gateway's own, `{"message"}` alone, are not the API's and are left alone), every frame received
 * against SERVER_EVENT_SCHEMAS, and the `chat-ack` of each `request()` against its action's ack
 * schema. A REST mismatch throws from the call; a frame mismatch makes the client's next wait
 * (`nextFrame`, `request`, `ack`, `settle`, `close`) reject with the zod issues.
 */
import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';
import { HTTP_ROUTES, type HttpMethod } from '#config/routes';
import { assertConforms, checkAck, checkHttpResponse, checkServerFrame, ContractViolation, routeKeyOf } from '#core/protocol';
import { ChatClient as SdkChatClient, createRestApi, type FetchLike, type RouteKey, type WebSocketConstructor } from '../../../sdk/src/index.ts';

// JSON from the wire: the tests assert on its shape.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = any;

export const API = '/api/provider-customer-chat';

/** A server → client frame. */
export interface Frame {
  event: string;
  data: Json;
  requestId?: string;
}

export type Subject =
  | { userId: number; role: 'customer' }
  | { userId: number; role: 'provider'; providerId: number }
  | { userId: number; role: 'admin' }
  | { userId: number; role: 'service' };

export interface RestResponse {
  status: number;
  body: Json;
  headers: Headers;
  text: string;
}

export interface RestApi {
  /** `POST /dev/token`: what the local runtime's developers and the apps' dev builds call. */
  devToken(subject: Subject, expiresIn?: number): Promise<string>;
  /** A request to the HTTP API; `path` under the base path when it starts with `/conversations` or `/online-users`. */
  call(method: string, path: string, token?: string, body?: unknown): Promise<RestResponse>;
  get(path: string, token?: string): Promise<RestResponse>;
  post(path: string, token: string, body: unknown): Promise<RestResponse>;
  patch(path: string, token: string, body?: unknown): Promise<RestResponse>;
}

const ROUTE_PATTERNS = HTTP_ROUTES.map((route) => {
  const parts = route.path.split(/\{\w+\}/).map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return { route, pattern: new RegExp(`^${parts.join('[^/]+')}$`), capture: new RegExp(`^${parts.join('([^/]+)')}$`) };
});

/** The manifest route a request reaches, or undefined for paths outside the contract (`/dev/token`, …). */
export function routeFor(method: string, pathname: string): (typeof HTTP_ROUTES)[number] | undefined {
  return ROUTE_PATTERNS.find(({ route, pattern }) => route.method === (method.toUpperCase() as HttpMethod) && pattern.test(pathname))?.route;
}

/** API Gateway's own answers (unknown route, payload too large, integration failure): `{"message"}` alone. */
const isGatewayAnswer = (body: Json) =>
  body !== null && typeof body === 'object' && !Array.isArray(body) && Object.keys(body).length === 1 && typeof body.message === 'string';

/** Checks a REST answer against the route's contract; throws a ContractViolation on a mismatch. */
export function checkRestResponse(method: string, url: string, response: Pick<RestResponse, 'status' | 'body' | 'text'>): void {
  const route = routeFor(method, new URL(url).pathname);
  if (!route || isGatewayAnswer(response.body)) return;
  assertConforms(`${route.name}'s ${response.status} response`, checkHttpResponse(route.name, response.status, response.body), response.body ?? response.text);
}

/** The route a request reaches and its path parameters, or undefined outside the contract. */
function routeCall(method: string, url: URL) {
  const route = routeFor(method, url.pathname);
  if (!route) return undefined;
  const names = [...route.path.matchAll(/\{(\w+)\}/g)].map((match) => match[1]!);
  const values = ROUTE_PATTERNS.find((candidate) => candidate.route === route)!.capture.exec(url.pathname)!.slice(1);
  const params = Object.fromEntries(names.map((name, i) => [name, decodeURIComponent(values[i]!)]));
  const query = Object.fromEntries(url.searchParams);
  return { route, params, query };
}

export function restApi(httpUrl: string): RestApi {
  const call = async (method: string, path: string, token?: string, body?: unknown): Promise<RestResponse> => {
    const url = path.startsWith('/conversations') || path.startsWith('/online-users') ? `${httpUrl}${API}${path}` : `${httpUrl}${path}`;
    const target = routeCall(method, new URL(url));
    let answer: Response | undefined;
    if (target && token) {
      // A route of the contract: called through the SDK's typed REST API (its URL, headers and
      // JSON body), the answer read off the fetch it was given.
      const recording: FetchLike = async (requestUrl, init) => {
        const response = await fetch(requestUrl, init);
        answer = response.clone();
        return response;
      };
      const api = createRestApi({ httpUrl, fetch: recording, token: async () => token });
      await (api[target.route.name] as (input: unknown) => Promise<unknown>)({ params: target.params, query: target.query, body }).catch(() => {});
      // A 401 is asked again once with a fresh token; the last answer is the one that counts.
    } else {
      // Outside the contract (`/dev/token`, unknown paths) or without a token: a plain request.
      const headers: Record<string, string> = {};
      if (token) headers.authorization = `Bearer ${token}`;
      if (body !== undefined) headers['content-type'] = 'application/json';
      answer = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    }
    if (!answer) throw new Error(`${method} ${path}: no answer`);
    const text = await answer.text();
    let parsed: Json;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    const result = { status: answer.status, body: parsed, headers: answer.headers, text };
    checkRestResponse(method, url, result);
    return result;
  };
  return {
    call,
    get: (path, token) => call('GET', path, token),
    post: (path, token, body) => call('POST', path, token, body),
    patch: (path, token, body) => call('PATCH', path, token, body),
    async devToken(subject, expiresIn) {
      const response = await call('POST', '/dev/token', undefined, expiresIn === undefined ? subject : { ...subject, expiresIn });
      if (response.status !== 200 || typeof response.body?.token !== 'string') {
        throw new Error(`POST /dev/token answered ${response.status}: ${response.text}`);
      }
      return response.body.token as string;
    },
  };
}

/** Waiting on the frames a connection received, in order; shared by SDK clients and raw sockets. */
export interface FrameWaits {
  /** Every parsed frame received so far, in order. */
  frames: Frame[];
  /** Frames that did not match the protocol (each also fails the next wait). */
  violations: ContractViolation[];
  /** Resolves when the connection closed (by either side), with the close frame's code and reason. */
  closed: Promise<{ code: number; reason: string }>;
  /**
   * The first frame, received so far or later, that matches and was not returned by an earlier
   * nextFrame: waiting twice for `chat-new-message` yields the first, then the second.
   */
  nextFrame(predicate: (frame: Frame) => boolean, timeoutMs?: number): Promise<Frame>;
  /** nextFrame for one event, optionally narrowed by its data. */
  nextEvent(event: string, where?: (data: Json) => boolean, timeoutMs?: number): Promise<Frame>;
  /** Frames received so far that match (consumed or not). */
  received(predicate: (frame: Frame) => boolean): Frame[];
}

/** A client of the product: the SDK's ChatClient (`chat`), every frame it received kept for assertions. */
export interface ChatClient extends FrameWaits {
  /** The SDK client itself (`@provider-customer-chat/client`), for what the fixture does not wrap. */
  chat: SdkChatClient;
  isOpen(): boolean;
  /** `chat.request()` with this requestId; resolves with the `chat-ack` or `chat-error` frame answering it. */
  request(action: string, data: unknown, requestId?: string): Promise<Frame>;
  /** request(), and the ack's data; a `chat-error` rejects. */
  ack(action: string, data: unknown): Promise<Json>;
  /** `chat.request()` without waiting for its answer (which still lands in `frames`). */
  post(action: string, data: unknown): void;
  /** Pings and waits for the pong: every frame posted to this connection before is now in `frames`. */
  settle(): Promise<void>;
  /** Closes (the SDK's `close()`) and waits for the socket to close. */
  close(): Promise<{ code: number; reason: string }>;
}

/**
 * A bare `ws` socket, for tests of the server's handling of what no client library sends: frames
 * that are not JSON or too large, binary and fragmented frames, connections without `?token=`
 * that sign in with the seed's `chat-authenticate` frame, refused upgrades. It only sends what it
 * is given; it keeps no requests and never reconnects.
 */
export interface RawSocket extends FrameWaits {
  ws: WebSocket;
  /** Frames that were not JSON. */
  rawFrames: string[];
  /** Sends a frame (an object as JSON, a string as is). */
  send(frame: unknown): void;
  /** Sends `chat-ping` with a requestId and waits for its answer: every frame posted before is now in `frames`. */
  settle(): Promise<void>;
  isOpen(): boolean;
  close(): Promise<{ code: number; reason: string }>;
}

/** The predicate of the `chat-ack` or `chat-error` answering `requestId`, for a raw socket's frames. */
export const answerTo = (requestId: string) => (frame: Frame) =>
  (frame.event === 'chat-ack' || frame.event === 'chat-error') && (frame.requestId ?? frame.data?.requestId) === requestId;

const open = new Set<{ close(): Promise<unknown> }>();

/** Refused upgrades reject with this, carrying the HTTP status. */
export class UpgradeRefused extends Error {
  constructor(
    readonly statusCode: number,
    readonly body: string,
  ) {
    super(`upgrade refused: ${statusCode} ${body}`);
  }
}

/** The frames of one connection, each checked against the protocol, and the waits on them. */
function frameLog(closed: Promise<{ code: number; reason: string }>, isClosed: () => boolean) {
  const frames: Frame[] = [];
  const violations: ContractViolation[] = [];
  /** Acks expected for requests in flight: requestId → the action's route key. */
  const pendingAcks = new Map<string, NonNullable<ReturnType<typeof routeKeyOf>>>();
  const consumed = new WeakSet<Frame>();
  const waiters = new Set<() => void>();
  const wake = () => {
    for (const check of [...waiters]) check();
  };
  const check = (what: string, run: () => void) => {
    try {
      run();
    } catch (error) {
      if (error instanceof ContractViolation) violations.push(error);
      else violations.push(new ContractViolation(what, [{ path: '', message: String(error) }], undefined));
    }
    wake();
  };
  void closed.then(wake);
  const waits: Omit<FrameWaits, 'closed'> = {
    frames,
    violations,
    nextFrame(predicate, wait = 5_000) {
      return new Promise<Frame>((found, fail) => {
        const test = () => {
          const match = frames.find((frame) => !consumed.has(frame) && predicate(frame));
          if (violations.length > 0) {
            done();
            fail(violations[0]);
          } else if (match) {
            consumed.add(match);
            done();
            found(match);
          } else if (isClosed()) {
            done();
            fail(new Error(`the connection closed before a matching frame arrived; got ${JSON.stringify(frames)}`));
          }
        };
        const deadline = setTimeout(() => {
          done();
          fail(new Error(`no matching frame within ${wait} ms; got ${JSON.stringify(frames)}`));
        }, wait);
        const done = () => {
          clearTimeout(deadline);
          waiters.delete(test);
        };
        waiters.add(test);
        test();
      });
    },
    nextEvent(event, where = () => true, wait) {
      return waits.nextFrame((frame) => frame.event === event && where(frame.data), wait);
    },
    received: (predicate) => frames.filter(predicate),
  };
  return {
    waits,
    violations,
    /** A frame received: kept, and checked against its event's schema (and a chat-ack against its action's). */
    record(received: Frame) {
      frames.push(received);
      check(`a ${String(received?.event)} frame`, () => assertConforms(`a ${String(received?.event)} frame`, checkServerFrame(received), received));
      const ackFor = received?.event === 'chat-ack' ? pendingAcks.get(received.data?.requestId) : undefined;
      if (ackFor) {
        pendingAcks.delete(received.data.requestId);
        check(`the chat-ack of ${ackFor}`, () => assertConforms(`the chat-ack of ${ackFor}`, checkAck(ackFor, received.data.data), received.data.data));
      }
    },
    notJson(text: string) {
      check('a frame', () => assertConforms('a frame that is not JSON', [{ path: '', message: 'not JSON' }], text));
    },
    expectAck(requestId: string, action: string) {
      const routeKey = routeKeyOf(action);
      if (routeKey) pendingAcks.set(requestId, routeKey);
    },
  };
}

export interface Endpoints {
  httpUrl: string;
  wsUrl: string;
}

/**
 * Connects an SDK client (`?token=`, `ws` as its WebSocket) and resolves once it is online. It
 * neither catches up through /sync nor reconnects: each test watches one connection's life, and a
 * close the server decides is what it asserts.
 */
export async function openChat(endpoints: Endpoints, token: string, timeoutMs = 10_000): Promise<ChatClient> {
  let closedWith: (close: { code: number; reason: string }) => void = () => {};
  const closed = new Promise<{ code: number; reason: string }>((resolve) => (closedWith = resolve));
  const chat = new SdkChatClient({
    httpUrl: endpoints.httpUrl,
    wsUrl: endpoints.wsUrl,
    getToken: () => token,
    WebSocket: WebSocket as unknown as WebSocketConstructor,
    sync: false,
    reconnect: false,
    connectTimeoutMs: timeoutMs,
  });
  const log = frameLog(closed, () => chat.state === 'closed');
  chat.on('frame', (frame) => log.record(frame as Frame));
  chat.on('state', (change) => {
    if (change.state === 'closed') closedWith({ code: change.code ?? 1000, reason: change.closeReason ?? '' });
  });
  await chat.connect();
  let requests = 0;
  const client: ChatClient = {
    ...log.waits,
    chat,
    closed,
    isOpen: () => chat.state === 'online' || chat.state === 'syncing',
    request(action, data, requestId = `r${++requests}-${randomUUID().slice(0, 8)}`) {
      log.expectAck(requestId, action);
      const answer = client.nextFrame(answerTo(requestId));
      // Any action name the server knows (the seed's `chat-…` aliases too), data as the test gives it.
      chat.request(action as RouteKey, data as never, { requestId, wait: false }).catch(() => {});
      return answer;
    },
    async ack(action, data) {
      const answer = await client.request(action, data);
      if (answer.event !== 'chat-ack') throw new Error(`${action} answered ${JSON.stringify(answer)}`);
      return answer.data.data;
    },
    post(action, data) {
      chat.request(action as RouteKey, data as never, { wait: false }).catch(() => {});
    },
    async settle() {
      await client.ack('ping', {});
    },
    async close() {
      await chat.close();
      const result = await closed;
      if (log.violations.length > 0) throw log.violations[0];
      return result;
    },
  };
  open.add(client);
  void closed.then(() => open.delete(client));
  return client;
}

/** Connects a raw socket (see RawSocket), with `?token=` when given; resolves once it is open. */
export function openRawSocket(wsUrl: string, token?: string, timeoutMs = 10_000): Promise<RawSocket> {
  const url = token === undefined ? `${wsUrl}/` : `${wsUrl}/?token=${encodeURIComponent(token)}`;
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    const rawFrames: string[] = [];
    const closed = new Promise<{ code: number; reason: string }>((done) => ws.on('close', (code, reason) => done({ code, reason: reason.toString() })));
    const log = frameLog(closed, () => ws.readyState === WebSocket.CLOSED);
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error(`no connection to ${wsUrl} within ${timeoutMs} ms`));
    }, timeoutMs);
    ws.on('message', (data) => {
      const text = data.toString();
      try {
        log.record(JSON.parse(text) as Frame);
      } catch {
        rawFrames.push(text);
        log.notJson(text);
      }
    });
    ws.once('unexpected-response', (_request, response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () => {
        clearTimeout(timer);
        reject(new UpgradeRefused(response.statusCode ?? 0, body));
      });
    });
    ws.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    ws.once('open', () => {
      clearTimeout(timer);
      ws.on('error', () => {});
      const socket: RawSocket = {
        ...log.waits,
        ws,
        rawFrames,
        closed,
        send: (frame) => ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame)),
        async settle() {
          const requestId = `settle-${randomUUID().slice(0, 8)}`;
          socket.send({ action: 'chat-ping', data: {}, requestId });
          await socket.nextFrame(answerTo(requestId));
        },
        isOpen: () => ws.readyState === WebSocket.OPEN,
        async close() {
          if (ws.readyState !== WebSocket.CLOSED) ws.close(1000);
          const result = await closed;
          if (log.violations.length > 0) throw log.violations[0];
          return result;
        },
      };
      open.add(socket);
      void closed.then(() => open.delete(socket));
      resolve(socket);
    });
  });
}

/** Closes every client and socket still open (an afterEach for files that open many). */
export async function closeAllChats(): Promise<void> {
  await Promise.all([...open].map((client) => client.close()));
}

/** Resolves once `predicate` holds, checking every `everyMs`; for state that changes with time rather than by a frame. */
export async function eventually<T>(probe: () => Promise<T>, predicate: (value: T) => boolean, timeoutMs = 5_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (predicate(value)) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms; last value ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/** Waits until `at` (epoch ms): for behaviour that is defined by elapsed time (timeouts, expiry). */
export function until(at: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, at - Date.now())));
}
