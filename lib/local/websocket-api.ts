/**
 * The WebSocket half of the emulator: API Gateway WebSocket API (Lambda proxy integrations) and
 * its `@connections` management API, on one port.
 *
 * Faithful to API Gateway where a handler or client could tell the difference:
 * - Any path upgrades. `$connect` runs before the handshake completes: a result with a non-2xx
 *   `statusCode` refuses the upgrade with that HTTP status, a throwing `$connect` with 500. Its
 *   event has the request's headers in their original case (plus `multiValueHeaders`) and the
 *   query string (`queryStringParameters`, `multiValueQueryStringParameters`). While `$connect`
 *   runs the connection does not exist yet: `@connections` answers 410 for it.
 * - Route selection on `$request.body.action`: a JSON object whose `action` is a route key goes to
 *   that route, anything else (other actions, non-JSON) to `$default`. Handlers run concurrently,
 *   as Lambda invocations do. What a route returns is NOT sent to the client (no route responses
 *   are configured); handlers answer through `@connections`.
 * - Limits: a frame over 32 KB or a message over 128 KB closes with 1009; a binary frame closes
 *   with 1003; no message from the client for 10 minutes (idle) or 2 hours since connecting closes
 *   with 1001 "Going away". Pings do not count as activity.
 * - `$disconnect` runs once per connection, after it closed for any reason, with
 *   `disconnectStatusCode` and `disconnectReason`.
 * - `POST|GET|DELETE /@connections/{id}` (an optional stage prefix is accepted): POST sends the body
 *   as one text frame (over 128 KB: 413 PayloadTooLargeException), GET describes the connection
 *   (`{connectedAt, identity: {sourceIp, userAgent}, lastActiveAt}` on the wire),
 *   DELETE closes it (1000). An unknown or closed id answers 410 with `x-amzn-errortype:
 *   GoneException`, so the AWS SDK raises `GoneException`. SigV4 signatures are accepted unchecked.
 *
 * Local-only: when a message route's handler module is missing, fails to load, throws or times
 * out, the client gets a `chat-error` frame (code INTERNAL, with the frame's requestId) so that a
 * client of the wire contract sees an error it understands; API Gateway itself would send
 * `{"message":"Internal server error",…}`. A missing `$connect` module accepts the connection
 * (as an API without a `$connect` route does).
 */
import { randomUUID } from 'node:crypto';
import { STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import type { WebSocketRoute } from '#config/routes';
import { FrameSizeGuard } from './frames.ts';
import { sourceIpOf } from './http-api.ts';
import { apiGatewayId, traceId, webSocketRequestContext, type WebSocketEventType } from './ids.ts';
import type { Invocation, LambdaHost } from './lambda.ts';
import type { EmulatorLog } from './log.ts';
import { BodyTooLarge, readBody } from './net.ts';

export interface WebSocketLimits {
  /** API Gateway: 10 minutes. */
  idleTimeoutMs: number;
  /** API Gateway: 2 hours. */
  maxConnectionMs: number;
  /** API Gateway: 32 KB. */
  maxFrameBytes: number;
  /** API Gateway: 128 KB. */
  maxMessageBytes: number;
}

export const API_GATEWAY_LIMITS: WebSocketLimits = {
  idleTimeoutMs: 10 * 60 * 1000,
  maxConnectionMs: 2 * 60 * 60 * 1000,
  maxFrameBytes: 32 * 1024,
  maxMessageBytes: 128 * 1024,
};

/** One `POST @connections/{id}`, as the capture hook sees it. */
export interface ConnectionPost {
  connectionId: string;
  /** The body, as the text frame the client received (or would have). */
  data: string;
  at: Date;
  /** `delivered`: sent to the client; `gone`: answered 410; `too-large`: answered 413. */
  outcome: 'delivered' | 'gone' | 'too-large';
}

export interface ConnectionInfo {
  connectionId: string;
  connectedAt: Date;
  lastActiveAt: Date;
  sourceIp: string;
  userAgent: string;
}

export interface WebSocketApiOptions extends WebSocketLimits {
  routes: readonly WebSocketRoute[];
  lambdas: LambdaHost;
  apiId: string;
  stage: string;
  /** Called for every `POST @connections/{id}`. */
  onPost?: (post: ConnectionPost) => void;
  log: EmulatorLog;
}

export interface WebSocketApi {
  /** Serves upgrades and `@connections` on `server`. */
  attach(server: Server): void;
  connections(): ConnectionInfo[];
  /** Closes every connection (1001 Going away) and waits for their `$disconnect` invocations. */
  closeAll(timeoutMs?: number): Promise<void>;
}

interface Connection {
  id: string;
  ws: WebSocket;
  connectedAt: number;
  lastActiveAt: number;
  sourceIp: string;
  userAgent: string;
  domainName: string;
  idleTimer?: NodeJS.Timeout;
  maxTimer?: NodeJS.Timeout;
  /** Set when the server decided to close: the code and reason it closed with. */
  closing?: { code: number; reason: string };
  closed: boolean;
  whenClosed: Promise<void>;
  markClosed: () => void;
}

const REASONS: Record<number, string> = {
  1000: 'Connection Closed Normally',
  1001: 'Going away',
  1003: 'Unsupported data',
  1005: 'Client-side close frame status not set',
  1006: 'Connection closed abnormally',
  1009: 'Message too big',
};

const SPECIAL_ROUTES = new Set(['$connect', '$disconnect', '$default']);
const WEBSOCKET_KEY = /^[+/0-9A-Za-z]{22}==$/;
const CONNECTIONS_PATH = /^(?:\/[^/]+)?\/@connections\/([^/]+)\/?$/;


function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

/**
 * Headers in their original case (last value wins) and all values per name, hop-by-hop ones left
 * out. Collected in Maps and turned into ordinary objects with own properties only, so a header
 * named `__proto__`, `constructor` or `toString` is a header like any other (as in the JSON
 * event Lambda parses), never a prototype's member.
 */
function connectHeaders(req: IncomingMessage, sourceIp: string, now: number) {
  const headers = new Map<string, string>();
  const multiValueHeaders = new Map<string, string[]>();
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i]!;
    if (/^(connection|upgrade)$/i.test(name)) continue;
    const value = req.rawHeaders[i + 1]!;
    headers.set(name, value);
    const values = multiValueHeaders.get(name);
    if (values) values.push(value);
    else multiValueHeaders.set(name, [value]);
  }
  const has = (name: string) => [...headers.keys()].some((key) => key.toLowerCase() === name.toLowerCase());
  const add = (name: string, value: string) => {
    if (has(name)) return;
    headers.set(name, value);
    multiValueHeaders.set(name, [value]);
  };
  add('X-Amzn-Trace-Id', traceId(now));
  add('X-Forwarded-For', sourceIp);
  add('X-Forwarded-Port', String(req.socket.localPort ?? ''));
  add('X-Forwarded-Proto', 'http');
  return { headers: Object.fromEntries(headers), multiValueHeaders: Object.fromEntries(multiValueHeaders) };
}

/** The query string, single (last value wins) and multi-valued; any name, `__proto__` included. */
function queryOf(url: string) {
  const at = url.indexOf('?');
  if (at === -1 || at === url.length - 1) return {};
  const single = new Map<string, string>();
  const multi = new Map<string, string[]>();
  for (const [name, value] of new URLSearchParams(url.slice(at + 1))) {
    single.set(name, value);
    const values = multi.get(name);
    if (values) values.push(value);
    else multi.set(name, [value]);
  }
  return single.size === 0
    ? {}
    : { queryStringParameters: Object.fromEntries(single), multiValueQueryStringParameters: Object.fromEntries(multi) };
}

function abortHandshake(socket: Duplex, status: number, body = '', headers: Record<string, string> = {}): void {
  if (socket.destroyed) return;
  const lines = [
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}`,
    'Connection: close',
    'Content-Type: application/json',
    `Content-Length: ${Buffer.byteLength(body)}`,
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
  ];
  socket.once('finish', () => socket.destroy());
  socket.end(`${lines.join('\r\n')}\r\n\r\n${body}`);
}

/** The action's route key when the body is a JSON object naming a non-special route, else `$default`. */
function selectRoute(body: string, routeKeys: Set<string>): { routeKey: string; clientRequestId?: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return { routeKey: '$default' };
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return { routeKey: '$default' };
  const { action, requestId } = parsed as { action?: unknown; requestId?: unknown };
  const clientRequestId = typeof requestId === 'string' ? requestId : undefined;
  if (typeof action === 'string' && routeKeys.has(action) && !SPECIAL_ROUTES.has(action)) {
    return { routeKey: action, clientRequestId };
  }
  return { routeKey: '$default', clientRequestId };
}

export function createWebSocketApi(options: WebSocketApiOptions): WebSocketApi {
  const { lambdas, log } = options;
  const routes = new Map(options.routes.map((route) => [route.routeKey, route]));
  const routeKeys = new Set(routes.keys());
  const open = new Map<string, Connection>();
  const pendingDisconnects = new Set<Promise<unknown>>();
  const chosenProtocols = new WeakMap<IncomingMessage, string>();
  const warnedMissing = new Set<string>();
  let stopping = false;

  const wss = new WebSocketServer({
    noServer: true,
    clientTracking: false,
    perMessageDeflate: false,
    maxPayload: options.maxMessageBytes,
    // Only what $connect answered in Sec-WebSocket-Protocol; nothing otherwise (the client then fails, as with API Gateway).
    handleProtocols: (_protocols, req) => chosenProtocols.get(req) ?? false,
  });

  function warnMissing(routeKey: string, outcome: Invocation): void {
    if (outcome.status !== 'missing' || warnedMissing.has(routeKey)) return;
    warnedMissing.add(routeKey);
    log.warn(`${routeKey}: no handler module at ${outcome.file}`);
  }

  function context(
    conn: Pick<Connection, 'id' | 'connectedAt' | 'sourceIp' | 'userAgent' | 'domainName'>,
    routeKey: string,
    eventType: WebSocketEventType,
    now: number,
  ) {
    return webSocketRequestContext({
      connectionId: conn.id,
      connectedAt: conn.connectedAt,
      routeKey,
      eventType,
      now,
      stage: options.stage,
      apiId: options.apiId,
      domainName: conn.domainName,
      sourceIp: conn.sourceIp,
      userAgent: conn.userAgent,
    });
  }

  function sendFrame(conn: Connection, frame: unknown): void {
    if (conn.closed || conn.closing || conn.ws.readyState !== conn.ws.OPEN) return;
    conn.ws.send(JSON.stringify(frame));
  }

  function closeConnection(conn: Connection, code: number, reason: string): void {
    if (conn.closing || conn.closed) return;
    conn.closing = { code, reason };
    clearTimeout(conn.idleTimer);
    clearTimeout(conn.maxTimer);
    conn.ws.close(code, reason);
    // A client that never answers the close frame is cut off rather than waited for (ws would wait 30 s).
    setTimeout(() => {
      if (!conn.closed) conn.ws.terminate();
    }, 2_000).unref();
  }

  function armIdle(conn: Connection): void {
    clearTimeout(conn.idleTimer);
    conn.idleTimer = setTimeout(() => closeConnection(conn, 1001, 'Going away'), options.idleTimeoutMs);
  }

  function onMessage(conn: Connection, data: RawData, isBinary: boolean): void {
    if (conn.closing || conn.closed) return;
    if (isBinary) {
      closeConnection(conn, 1003, 'Binary frames are not supported');
      return;
    }
    conn.lastActiveAt = Date.now();
    armIdle(conn);
    const body = toBuffer(data).toString('utf8');
    const { routeKey, clientRequestId } = selectRoute(body, routeKeys);
    const route = routes.get(routeKey);
    const now = Date.now();
    const requestContext = { ...context(conn, routeKey, 'MESSAGE', now), messageId: apiGatewayId() };
    if (!route) {
      // What API Gateway sends when no route (and no $default) matches.
      sendFrame(conn, { message: 'Forbidden', connectionId: conn.id, requestId: requestContext.requestId });
      return;
    }
    const event = { requestContext, body, isBase64Encoded: false };
    void lambdas.invoke(route, event).then((outcome) => {
      if (outcome.status === 'ok') return;
      warnMissing(routeKey, outcome);
      sendFrame(conn, {
        event: 'chat-error',
        data: {
          code: 'INTERNAL',
          message: outcome.status === 'missing' ? 'This action has no handler yet' : 'Something went wrong on our side',
          ...(clientRequestId === undefined ? {} : { requestId: clientRequestId }),
        },
        ...(clientRequestId === undefined ? {} : { requestId: clientRequestId }),
      });
    });
  }

  function onClose(conn: Connection, code: number, reason: string): void {
    if (conn.closed) return;
    conn.closed = true;
    clearTimeout(conn.idleTimer);
    clearTimeout(conn.maxTimer);
    open.delete(conn.id);
    const statusCode = conn.closing?.code ?? code;
    const disconnectReason = conn.closing?.reason || reason || REASONS[statusCode] || '';
    const route = routes.get('$disconnect');
    if (route) {
      const now = Date.now();
      const headers = { Host: conn.domainName, 'X-Forwarded-For': conn.sourceIp, 'x-api-key': '', 'x-restapi': '' };
      const event = {
        headers,
        multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, [value]])),
        requestContext: { ...context(conn, '$disconnect', 'DISCONNECT', now), disconnectStatusCode: statusCode, disconnectReason },
        isBase64Encoded: false,
      };
      const pending = lambdas.invoke(route, event).then((outcome) => warnMissing('$disconnect', outcome));
      pendingDisconnects.add(pending);
      void pending.finally(() => pendingDisconnects.delete(pending));
    }
    conn.markClosed();
  }

  function onOpen(ws: WebSocket, socket: Duplex, base: Omit<Connection, 'ws' | 'closed' | 'whenClosed' | 'markClosed' | 'lastActiveAt'>): void {
    let markClosed = () => {};
    const whenClosed = new Promise<void>((resolve) => (markClosed = resolve));
    const conn: Connection = { ...base, ws, lastActiveAt: base.connectedAt, closed: false, whenClosed, markClosed };
    open.set(conn.id, conn);
    const guard = new FrameSizeGuard(options.maxFrameBytes, () => closeConnection(conn, 1009, 'Message too big'));
    socket.on('data', (chunk: Buffer) => guard.feed(chunk));
    armIdle(conn);
    conn.maxTimer = setTimeout(() => closeConnection(conn, 1001, 'Going away'), options.maxConnectionMs);
    ws.on('message', (data, isBinary) => onMessage(conn, data, isBinary));
    ws.on('error', (error: Error & { code?: string }) => {
      // ws closes the connection itself (1009 for a message over maxPayload, 1002 for protocol errors).
      if (error.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') conn.closing ??= { code: 1009, reason: 'Message too big' };
      log.info(`${conn.id}: ${error.message}`);
    });
    ws.on('close', (code, reason) => onClose(conn, code, reason.toString('utf8')));
    if (stopping) closeConnection(conn, 1001, 'Going away');
  }

  async function onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    socket.on('error', () => {});
    if (stopping) return abortHandshake(socket, 503);
    const key = req.headers['sec-websocket-key'];
    const version = req.headers['sec-websocket-version'];
    if (
      req.method !== 'GET' ||
      req.headers.upgrade?.toLowerCase() !== 'websocket' ||
      !key ||
      !WEBSOCKET_KEY.test(key) ||
      (version !== '8' && version !== '13')
    ) {
      return abortHandshake(socket, 400);
    }

    const now = Date.now();
    const sourceIp = sourceIpOf(req);
    const base = {
      id: apiGatewayId(),
      connectedAt: now,
      sourceIp,
      userAgent: req.headers['user-agent'] ?? '',
      domainName: req.headers.host ?? '127.0.0.1',
    };
    const route = routes.get('$connect');
    if (route) {
      const event = {
        ...connectHeaders(req, sourceIp, now),
        ...queryOf(req.url ?? '/'),
        requestContext: context(base, '$connect', 'CONNECT', now),
        isBase64Encoded: false,
      };
      const outcome = await lambdas.invoke(route, event);
      if (socket.destroyed) return; // The client gave up while $connect ran: no connection, no $disconnect.
      warnMissing('$connect', outcome);
      if (outcome.status === 'init-error' || outcome.status === 'error' || outcome.status === 'timeout') {
        return abortHandshake(socket, 500, JSON.stringify({ message: 'Internal server error' }));
      }
      if (outcome.status === 'ok' && outcome.result !== null && typeof outcome.result === 'object' && 'statusCode' in outcome.result) {
        const result = outcome.result as { statusCode: unknown; body?: unknown; headers?: unknown };
        const status = Number(result.statusCode);
        if (!Number.isInteger(status) || status < 100 || status > 599) {
          log.error(`$connect: malformed Lambda proxy response`, result);
          return abortHandshake(socket, 500, JSON.stringify({ message: 'Internal server error' }));
        }
        if (status < 200 || status > 299) {
          return abortHandshake(socket, status, typeof result.body === 'string' ? result.body : '');
        }
        if (result.headers && typeof result.headers === 'object') {
          const protocol = Object.entries(result.headers).find(([name]) => name.toLowerCase() === 'sec-websocket-protocol')?.[1];
          if (typeof protocol === 'string') chosenProtocols.set(req, protocol);
        }
      }
    }
    if (stopping) return abortHandshake(socket, 503);
    wss.handleUpgrade(req, socket, head, (ws) => onOpen(ws, socket, base));
  }

  function amzReply(res: ServerResponse, status: number, body?: unknown, errorType?: string): void {
    const text = body === undefined ? '' : JSON.stringify(body);
    res.writeHead(status, {
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(text)),
      'x-amzn-requestid': randomUUID(),
      ...(errorType ? { 'x-amzn-errortype': errorType } : {}),
    });
    res.end(text);
  }

  function gone(res: ServerResponse, connectionId: string): void {
    amzReply(res, 410, { __type: 'GoneException', message: `Connection ${connectionId} is gone` }, 'GoneException');
  }

  async function manage(req: IncomingMessage, res: ServerResponse, connectionId: string): Promise<void> {
    const conn = open.get(connectionId);
    const live = conn && !conn.closing && !conn.closed ? conn : undefined;
    switch (req.method) {
      case 'POST': {
        let body: Buffer;
        try {
          body = await readBody(req, options.maxMessageBytes);
        } catch (error) {
          if (!(error instanceof BodyTooLarge)) throw error;
          options.onPost?.({ connectionId, data: '', at: new Date(), outcome: 'too-large' });
          res.setHeader('connection', 'close');
          amzReply(res, 413, { __type: 'PayloadTooLargeException', message: 'Request entity too large' }, 'PayloadTooLargeException');
          return;
        }
        const data = body.toString('utf8');
        // Looked up again: the connection may have closed while the body arrived.
        const target = live && !live.closing && !live.closed ? live : undefined;
        options.onPost?.({ connectionId, data, at: new Date(), outcome: target ? 'delivered' : 'gone' });
        if (!target) return gone(res, connectionId);
        target.ws.send(data);
        return amzReply(res, 200);
      }
      case 'GET':
        req.resume();
        if (!live) return gone(res, connectionId);
        // The wire names (the SDK turns them into ConnectedAt, Identity.SourceIp…).
        return amzReply(res, 200, {
          connectedAt: new Date(live.connectedAt).toISOString(),
          identity: { sourceIp: live.sourceIp, userAgent: live.userAgent },
          lastActiveAt: new Date(live.lastActiveAt).toISOString(),
        });
      case 'DELETE':
        req.resume();
        if (!live) return gone(res, connectionId);
        closeConnection(live, 1000, '');
        res.writeHead(204, { 'x-amzn-requestid': randomUUID() });
        res.end();
        return;
      default:
        req.resume();
        return amzReply(res, 403, { message: 'Forbidden' }, 'ForbiddenException');
    }
  }

  function onRequest(req: IncomingMessage, res: ServerResponse): void {
    const pathname = (req.url ?? '/').split('?')[0]!;
    const match = CONNECTIONS_PATH.exec(pathname);
    if (!match) {
      req.resume();
      res.writeHead(426, { 'content-type': 'application/json', upgrade: 'websocket', connection: 'Upgrade' });
      res.end(JSON.stringify({ message: 'Upgrade Required' }));
      return;
    }
    let connectionId: string;
    try {
      connectionId = decodeURIComponent(match[1]!);
    } catch {
      connectionId = match[1]!;
    }
    manage(req, res, connectionId).catch((error: unknown) => {
      log.error(`${req.method} ${pathname}: the emulator failed`, error);
      if (!res.headersSent) amzReply(res, 500, { message: 'Internal server error' }, 'InternalServerErrorException');
    });
  }

  return {
    attach(server) {
      server.on('request', onRequest);
      server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
        onUpgrade(req, socket, head).catch((error: unknown) => {
          log.error('WebSocket upgrade failed', error);
          abortHandshake(socket, 500);
        });
      });
    },
    connections() {
      return [...open.values()]
        .filter((conn) => !conn.closed)
        .map((conn) => ({
          connectionId: conn.id,
          connectedAt: new Date(conn.connectedAt),
          lastActiveAt: new Date(conn.lastActiveAt),
          sourceIp: conn.sourceIp,
          userAgent: conn.userAgent,
        }));
    },
    async closeAll(timeoutMs = 10_000) {
      stopping = true;
      const all = [...open.values()];
      for (const conn of all) closeConnection(conn, 1001, 'Going away');
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
      });
      await Promise.race([
        (async () => {
          await Promise.all(all.map((conn) => conn.whenClosed));
          await Promise.allSettled([...pendingDisconnects]);
        })(),
        deadline,
      ]);
      clearTimeout(timer);
      wss.close();
    },
  };
}
