/**
 * What an app does against the running product, for the end-to-end suites: dev tokens and REST
 * calls with `fetch`, and WebSocket clients (real `ws`) that keep every frame they receive.
 *
 *   const api = restApi(runtime.httpUrl);
 *   const token = await api.devToken({ userId: 2, role: 'customer' });
 *   const phone = await openChat(runtime.wsUrl, token);
 *   const ack = await phone.ack('chat-send-message', { conversationId, content: 'Hi' });
 *   await phone.nextFrame((f) => f.event === 'chat-new-message' && f.data.message.id === ack.message.id);
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

const ROUTE_PATTERNS = HTTP_ROUTES.map((route) => ({
  route,
  pattern: new RegExp(`^${route.path.split(/\{\w+\}/).map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('[^/]+')}$`),
}));

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

export function restApi(httpUrl: string): RestApi {
  const call = async (method: string, path: string, token?: string, body?: unknown): Promise<RestResponse> => {
    const url = path.startsWith('/conversations') || path.startsWith('/online-users') ? `${httpUrl}${API}${path}` : `${httpUrl}${path}`;
    const headers: Record<string, string> = {};
    if (token) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await response.text();
    let parsed: Json;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    const answer = { status: response.status, body: parsed, headers: response.headers, text };
    checkRestResponse(method, url, answer);
    return answer;
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

export interface ChatClient {
  ws: WebSocket;
  /** Every parsed frame received so far, in order. */
  frames: Frame[];
  /** Frames that were not JSON. */
  rawFrames: string[];
  /** Frames that did not match the protocol (each also fails the client's next wait). */
  violations: ContractViolation[];
  /** Resolves when the connection closed (by either side). */
  closed: Promise<{ code: number; reason: string }>;
  isOpen(): boolean;
  /** Sends a frame (an object is sent as JSON, a string as is). */
  send(frame: unknown): void;
  /**
   * The first frame, received so far or later, that matches and was not returned by an earlier
   * nextFrame: waiting twice for `chat-new-message` yields the first, then the second.
   */
  nextFrame(predicate: (frame: Frame) => boolean, timeoutMs?: number): Promise<Frame>;
  /** nextFrame for one event, optionally narrowed by its data. */
  nextEvent(event: string, where?: (data: Json) => boolean, timeoutMs?: number): Promise<Frame>;
  /** Frames received so far that match (consumed or not). */
  received(predicate: (frame: Frame) => boolean): Frame[];
  /** Sends `{action, data, requestId}` and resolves with the `chat-ack` or `chat-error` carrying that requestId. */
  request(action: string, data: unknown, requestId?: string): Promise<Frame>;
  /** request(), and the ack's data; a `chat-error` rejects. */
  ack(action: string, data: unknown): Promise<Json>;
  /** Pings and waits for the pong: every frame posted to this connection before is now in `frames`. */
  settle(): Promise<void>;
  /** Closes from the client side and waits for the close to complete. */
  close(): Promise<{ code: number; reason: string }>;
}

const open = new Set<ChatClient>();

/** Refused upgrades reject with this, carrying the HTTP status. */
export class UpgradeRefused extends Error {
  constructor(
    readonly statusCode: number,
    readonly body: string,
  ) {
    super(`upgrade refused: ${statusCode} ${body}`);
  }
}

/** Connects (with `?token=` when given) and resolves once the connection is open. */
export function openChat(wsUrl: string, token?: string, timeoutMs = 10_000): Promise<ChatClient> {
  const url = token === undefined ? `${wsUrl}/` : `${wsUrl}/?token=${encodeURIComponent(token)}`;
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    const frames: Frame[] = [];
    const rawFrames: string[] = [];
    const violations: ContractViolation[] = [];
    /** Acks expected for requests in flight: requestId → the action's route key. */
    const pendingAcks = new Map<string, NonNullable<ReturnType<typeof routeKeyOf>>>();
    const record = (what: string, run: () => void) => {
      try {
        run();
      } catch (error) {
        if (error instanceof ContractViolation) violations.push(error);
        else violations.push(new ContractViolation(what, [{ path: '', message: String(error) }], undefined));
      }
    };
    const consumed = new WeakSet<Frame>();
    const waiters = new Set<() => void>();
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error(`no connection to ${wsUrl} within ${timeoutMs} ms`));
    }, timeoutMs);

    ws.on('message', (data) => {
      const text = data.toString();
      let received: Frame;
      try {
        received = JSON.parse(text) as Frame;
      } catch {
        rawFrames.push(text);
        record('a frame', () => assertConforms('a frame that is not JSON', [{ path: '', message: 'not JSON' }], text));
        for (const wake of [...waiters]) wake();
        return;
      }
      frames.push(received);
      record(`a ${String(received?.event)} frame`, () => assertConforms(`a ${String(received?.event)} frame`, checkServerFrame(received), received));
      const ackFor = received?.event === 'chat-ack' ? pendingAcks.get(received.data?.requestId) : undefined;
      if (ackFor) {
        pendingAcks.delete(received.data.requestId);
        record(`the chat-ack of ${ackFor}`, () => assertConforms(`the chat-ack of ${ackFor}`, checkAck(ackFor, received.data.data), received.data.data));
      }
      for (const wake of [...waiters]) wake();
    });
    const closed = new Promise<{ code: number; reason: string }>((done) =>
      ws.on('close', (code, reason) => {
        done({ code, reason: reason.toString() });
        for (const wake of [...waiters]) wake();
      }),
    );
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
      let requests = 0;
      const client: ChatClient = {
        ws,
        frames,
        rawFrames,
        violations,
        closed,
        isOpen: () => ws.readyState === WebSocket.OPEN,
        send: (frame) => ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame)),
        nextFrame(predicate, wait = 5_000) {
          return new Promise<Frame>((found, fail) => {
            const check = () => {
              const match = frames.find((frame) => !consumed.has(frame) && predicate(frame));
              if (violations.length > 0) {
                done();
                fail(violations[0]);
              } else if (match) {
                consumed.add(match);
                done();
                found(match);
              } else if (ws.readyState === WebSocket.CLOSED) {
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
              waiters.delete(check);
            };
            waiters.add(check);
            check();
          });
        },
        nextEvent(event, where = () => true, wait) {
          return client.nextFrame((frame) => frame.event === event && where(frame.data), wait);
        },
        received: (predicate) => frames.filter(predicate),
        request(action, data, requestId = `r${++requests}-${randomUUID().slice(0, 8)}`) {
          const routeKey = routeKeyOf(action);
          if (routeKey) pendingAcks.set(requestId, routeKey);
          const answer = client.nextFrame((frame) => (frame.event === 'chat-ack' || frame.event === 'chat-error') && frame.data?.requestId === requestId);
          client.send({ action, data, requestId });
          return answer;
        },
        async ack(action, data) {
          const answer = await client.request(action, data);
          if (answer.event !== 'chat-ack') throw new Error(`${action} answered ${JSON.stringify(answer)}`);
          return answer.data.data;
        },
        async settle() {
          const answer = await client.request('chat-ping', {});
          if (answer.event !== 'chat-ack') throw new Error(`chat-ping answered ${JSON.stringify(answer)}`);
        },
        async close() {
          if (ws.readyState !== WebSocket.CLOSED) ws.close(1000);
          const result = await closed;
          if (violations.length > 0) throw violations[0];
          return result;
        },
      };
      open.add(client);
      void closed.then(() => open.delete(client));
      resolve(client);
    });
  });
}

/** Closes every client still open (an afterEach for files that open many). */
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
