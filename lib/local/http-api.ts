/**
 * The HTTP API half of the emulator: API Gateway HTTP API (payload format 2.0, Lambda proxy
 * integrations) in front of the handlers named in the route manifest.
 *
 * Faithful to API Gateway where a handler or client could tell the difference:
 * - Routing on method + path with `{param}` and greedy `{param+}` segments; the most specific
 *   route wins. No match: `404 {"message":"Not Found"}`.
 * - Events in format 2.0: lower-cased headers (duplicates joined with commas, `cookie` moved to
 *   `cookies`), `rawQueryString`, `queryStringParameters` (duplicates joined with commas) and
 *   `pathParameters` only when there are some, `body` only when there is one (base64 with
 *   `isBase64Encoded: true` unless the content type is text-like), and a full `requestContext`.
 * - Results in format 2.0: `{statusCode, headers, cookies, body, isBase64Encoded}`; anything else
 *   (an object without `statusCode`, a string, a number) becomes 200 `application/json` with
 *   that value as the body. A malformed result (a bad statusCode, a body that is not a string),
 *   a handler that throws or times out: `500 {"message":"Internal Server Error"}`.
 * - The JWT authorizer on `authorized` routes (see jwt-authorizer.ts).
 * - CORS as configured on the API: API Gateway answers preflight requests itself (204) and adds
 *   `access-control-allow-origin` to responses of requests that carry an `Origin`.
 * - `apigw-requestid` on every response; request bodies over 10 MB answer 413.
 *
 * Local-only additions: `POST /dev/token` (mint a token from the local issuer),
 * `GET /.well-known/jwks.json` (its public keys) and the runtime's own `devRoutes`
 * (`GET /dev/pushes`). A handler module that is missing or fails to
 * load answers `500 {"error":{"code":"INTERNAL",…}}` (the contract's shape): that cannot happen
 * in AWS, where a deployed function always has its code.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import type { DevIssuer } from '#adapters/auth/dev-issuer';
import type { HttpRoute } from '#config/routes';
import { ROLES } from '#core/model';
import { apiGatewayId, requestTime, traceId } from './ids.ts';
import type { JwtAuthorization, JwtAuthorizer } from './jwt-authorizer.ts';
import type { LambdaHost } from './lambda.ts';
import type { EmulatorLog } from './log.ts';
import { BodyTooLarge, readBody } from './net.ts';

export interface CorsConfig {
  /** `*` or exact origins. */
  allowOrigins: readonly string[];
  allowHeaders: readonly string[];
  allowMethods: readonly string[];
  exposeHeaders?: readonly string[];
  maxAgeSeconds?: number;
  allowCredentials?: boolean;
}

/** The local API's CORS configuration: any origin, the headers and methods the API uses. */
export const LOCAL_CORS: CorsConfig = {
  allowOrigins: ['*'],
  allowHeaders: ['authorization', 'content-type'],
  allowMethods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'],
  maxAgeSeconds: 600,
};

export interface HttpApiOptions {
  routes: readonly HttpRoute[];
  lambdas: LambdaHost;
  /** Guards `authorized` routes. Without one, those routes answer 401 to everyone. */
  authorizer?: JwtAuthorizer;
  /** Serves `POST /dev/token` and `GET /.well-known/jwks.json` when set. */
  issuer?: Pick<DevIssuer, 'jwks' | 'sign'>;
  /** Local-only routes beside `/dev/token` (`GET /dev/pushes`), matched before the manifest's. */
  devRoutes?: readonly DevRoute[];
  cors: CorsConfig | false;
  apiId: string;
  accountId: string;
  /** Largest request body; API Gateway's HTTP API limit is 10 MB. */
  maxBodyBytes?: number;
  log: EmulatorLog;
}

/** A local-only route: answers JSON from the query string. */
export interface DevRoute {
  method: 'GET';
  path: string;
  handle(query: Record<string, string>): { status: number; body: unknown };
}

interface Segment {
  kind: 'literal' | 'param' | 'greedy';
  value: string;
}

interface CompiledRoute {
  route: HttpRoute;
  routeKey: string;
  segments: Segment[];
}

const TEXT_TYPES = /^(text\/|application\/(json|[\w.+-]*\+json|xml|[\w.+-]*\+xml|javascript|x-www-form-urlencoded|graphql))/i;

const MESSAGES: Record<number, string> = {
  401: 'Unauthorized',
  404: 'Not Found',
  413: 'Request Entity Too Large',
  500: 'Internal Server Error',
};

function compile(route: HttpRoute): CompiledRoute {
  const segments = route.path
    .split('/')
    .slice(1)
    .map((part): Segment => {
      const param = /^\{([^}]+?)(\+)?\}$/.exec(part);
      if (!param) return { kind: 'literal', value: part };
      return { kind: param[2] ? 'greedy' : 'param', value: param[1]! };
    });
  return { route, routeKey: `${route.method} ${route.path}`, segments };
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** Path parameters when `parts` match `segments`, else null. An own-property map: any name or value is data. */
function matchPath(segments: Segment[], parts: string[]): Record<string, string> | null {
  const params = new Map<string, string>();
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i]!;
    if (segment.kind === 'greedy') {
      const rest = parts.slice(i);
      if (rest.length === 0 || rest.every((part) => part === '')) return null;
      params.set(segment.value, safeDecode(rest.join('/')));
      return Object.fromEntries(params);
    }
    const part = parts[i];
    if (part === undefined) return null;
    if (segment.kind === 'literal') {
      if (safeDecode(part) !== segment.value) return null;
    } else {
      if (part === '') return null;
      params.set(segment.value, safeDecode(part));
    }
  }
  return parts.length === segments.length ? Object.fromEntries(params) : null;
}

/** Literal segments first, then single params, then greedy: API Gateway's "most specific" order. */
function specificity(route: CompiledRoute): number[] {
  return route.segments.map((segment) => (segment.kind === 'literal' ? 2 : segment.kind === 'param' ? 1 : 0));
}

function moreSpecific(a: CompiledRoute, b: CompiledRoute): boolean {
  const sa = specificity(a);
  const sb = specificity(b);
  for (let i = 0; i < Math.max(sa.length, sb.length); i++) {
    const x = sa[i] ?? -1;
    const y = sb[i] ?? -1;
    if (x !== y) return x > y;
  }
  return false;
}

/**
 * Lower-cased headers with duplicates joined by commas, as format 2.0 has them. Collected in a Map
 * so that names such as `__proto__`, `constructor` or `toString` are headers like any other.
 */
function lowerCaseHeaders(rawHeaders: string[]): Map<string, string> {
  const headers = new Map<string, string>();
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!.toLowerCase();
    const value = rawHeaders[i + 1]!;
    const seen = headers.get(name);
    headers.set(name, seen === undefined ? value : `${seen},${value}`);
  }
  return headers;
}

/** The query string with duplicates joined by commas; any name (`__proto__` included) is data. */
function queryParameters(rawQueryString: string): Record<string, string> | undefined {
  if (!rawQueryString) return undefined;
  const result = new Map<string, string>();
  for (const [name, value] of new URLSearchParams(rawQueryString)) {
    const seen = result.get(name);
    result.set(name, seen === undefined ? value : `${seen},${value}`);
  }
  return result.size > 0 ? Object.fromEntries(result) : undefined;
}

export function sourceIpOf(req: IncomingMessage): string {
  return (req.socket.remoteAddress ?? '127.0.0.1').replace(/^::ffff:/, '');
}

interface Reply {
  status: number;
  headers: [string, string][];
  body: Buffer;
}

function jsonReply(status: number, body: unknown, headers: [string, string][] = []): Reply {
  return { status, headers: [['content-type', 'application/json'], ...headers], body: Buffer.from(JSON.stringify(body)) };
}

function gatewayReply(status: number, headers: [string, string][] = []): Reply {
  return jsonReply(status, { message: MESSAGES[status] ?? 'Error' }, headers);
}

/**
 * The authorizer's 401. API Gateway answers `{"message":"Unauthorized"}`; the wire contract
 * promises `{"error":{"code":"UNAUTHORIZED",…}}`. Locally both keys are sent, so clients written
 * against either read it (see README: in AWS only `message` comes back, so key on the status).
 */
function unauthorizedReply(headers: [string, string][]): Reply {
  return jsonReply(401, { message: MESSAGES[401], error: { code: 'UNAUTHORIZED', message: 'A valid bearer token is required' } }, headers);
}

function contractError(status: number, code: string, message: string, details?: unknown): Reply {
  return jsonReply(status, { error: { code, message, ...(details === undefined ? {} : { details }) } });
}

/** A handler's result as API Gateway turns it into an HTTP response (format 2.0), or null when malformed. */
export function toReply(result: unknown): Reply | null {
  if (result !== null && typeof result === 'object' && !Array.isArray(result) && 'statusCode' in result) {
    const structured = result as { statusCode: unknown; headers?: unknown; cookies?: unknown; body?: unknown; isBase64Encoded?: unknown };
    const status = structured.statusCode;
    if (typeof status !== 'number' || !Number.isInteger(status) || status < 100 || status > 599) return null;
    if (structured.body !== undefined && structured.body !== null && typeof structured.body !== 'string') return null;
    const headers: [string, string][] = [];
    if (structured.headers !== undefined && structured.headers !== null) {
      if (typeof structured.headers !== 'object') return null;
      for (const [name, value] of Object.entries(structured.headers as Record<string, unknown>)) {
        if (/^(content-length|transfer-encoding|connection)$/i.test(name) || value === undefined || value === null) continue;
        headers.push([name.toLowerCase(), String(value)]);
      }
    }
    if (Array.isArray(structured.cookies)) {
      for (const cookie of structured.cookies) headers.push(['set-cookie', String(cookie)]);
    }
    const text = (structured.body as string | undefined | null) ?? '';
    const body = structured.isBase64Encoded === true ? Buffer.from(text, 'base64') : Buffer.from(text, 'utf8');
    return { status, headers, body };
  }
  const text = typeof result === 'string' ? result : (JSON.stringify(result) ?? 'null');
  return { status: 200, headers: [['content-type', 'application/json']], body: Buffer.from(text, 'utf8') };
}

const devTokenRequest = z
  .object({
    userId: z.number().int().min(1).max(2_147_483_647),
    role: z.enum(ROLES),
    providerId: z.number().int().min(1).max(2_147_483_647).optional(),
    expiresIn: z.number().int().min(1).max(30 * 24 * 3600).optional(),
  })
  .strict()
  .refine((request) => request.role !== 'provider' || request.providerId !== undefined, {
    message: 'providerId is required for a provider',
    path: ['providerId'],
  });

export interface HttpApi {
  handle(req: IncomingMessage, res: ServerResponse): void;
}

export function createHttpApi(options: HttpApiOptions): HttpApi {
  const { lambdas, log, cors } = options;
  const routes = options.routes.map(compile);
  const maxBodyBytes = options.maxBodyBytes ?? 10 * 1024 * 1024;

  function corsHeaders(req: IncomingMessage, preflight: boolean): [string, string][] {
    if (!cors) return [];
    const origin = req.headers.origin;
    if (!origin) return [];
    const wildcard = cors.allowOrigins.includes('*');
    if (!wildcard && !cors.allowOrigins.includes(origin)) return [];
    const headers: [string, string][] = [
      ['access-control-allow-origin', wildcard && !cors.allowCredentials ? '*' : origin],
    ];
    if (cors.allowCredentials) headers.push(['access-control-allow-credentials', 'true']);
    if (preflight) {
      headers.push(['access-control-allow-methods', cors.allowMethods.join(',')]);
      headers.push(['access-control-allow-headers', cors.allowHeaders.join(',')]);
      if (cors.maxAgeSeconds !== undefined) headers.push(['access-control-max-age', String(cors.maxAgeSeconds)]);
    } else if (cors.exposeHeaders?.length) {
      headers.push(['access-control-expose-headers', cors.exposeHeaders.join(',')]);
    }
    return headers;
  }

  function send(req: IncomingMessage, res: ServerResponse, requestId: string, reply: Reply, preflight = false): void {
    if (res.headersSent) return;
    const headers = new Map<string, string[]>();
    for (const [name, value] of reply.headers) {
      const seen = headers.get(name);
      if (seen && name === 'set-cookie') seen.push(value);
      else headers.set(name, [value]);
    }
    // With CORS configured, API Gateway ignores the integration's CORS headers and sends its own.
    if (cors) for (const name of [...headers.keys()]) if (name.startsWith('access-control-')) headers.delete(name);
    for (const [name, value] of corsHeaders(req, preflight)) headers.set(name, [value]);
    headers.set('apigw-requestid', [requestId]);
    if (reply.status !== 204 && reply.status !== 304) headers.set('content-length', [String(reply.body.length)]);
    res.writeHead(reply.status, Object.fromEntries([...headers].map(([name, values]) => [name, values.length === 1 ? values[0]! : values])));
    res.end(req.method === 'HEAD' ? undefined : reply.body);
  }

  function findRoute(method: string, parts: string[]): { compiled: CompiledRoute; params: Record<string, string> } | null {
    let best: { compiled: CompiledRoute; params: Record<string, string> } | null = null;
    for (const compiled of routes) {
      if (compiled.route.method !== method) continue;
      const params = matchPath(compiled.segments, parts);
      if (params && (!best || moreSpecific(compiled, best.compiled))) best = { compiled, params };
    }
    return best;
  }

  async function devToken(body: Buffer): Promise<Reply> {
    if (!options.issuer) return gatewayReply(404);
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8') || 'null');
    } catch {
      return contractError(400, 'VALIDATION_ERROR', 'The request body is not valid JSON');
    }
    const request = devTokenRequest.safeParse(parsed);
    if (!request.success) {
      return contractError(
        400,
        'VALIDATION_ERROR',
        'The request is not valid',
        request.error.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message })),
      );
    }
    const { userId, role, providerId, expiresIn = 3600 } = request.data;
    const token = options.issuer.sign(
      { userId, role, ...(role === 'provider' ? { providerId } : {}) },
      { expiresInSeconds: expiresIn },
    );
    return jsonReply(200, { token, expiresIn });
  }

  function buildEvent(
    req: IncomingMessage,
    compiled: CompiledRoute,
    params: Record<string, string>,
    rawPath: string,
    rawQueryString: string,
    body: Buffer,
    requestId: string,
    jwt: JwtAuthorization | undefined,
  ) {
    const now = Date.now();
    const headerMap = lowerCaseHeaders(req.rawHeaders);
    const cookies = headerMap
      .get('cookie')
      ?.split(/;\s*/)
      .map((cookie) => cookie.trim())
      .filter(Boolean);
    headerMap.delete('cookie');
    const sourceIp = sourceIpOf(req);
    const setDefault = (name: string, value: string) => {
      if (!headerMap.has(name)) headerMap.set(name, value);
    };
    setDefault('x-forwarded-for', sourceIp);
    setDefault('x-forwarded-port', String(req.socket.localPort ?? ''));
    setDefault('x-forwarded-proto', 'http');
    setDefault('x-amzn-trace-id', traceId(now));
    const headers: Record<string, string> = Object.fromEntries(headerMap);
    const domainName = headerMap.get('host') ?? '127.0.0.1';
    const contentType = headerMap.get('content-type');
    const text = contentType === undefined || TEXT_TYPES.test(contentType);
    const queryStringParameters = queryParameters(rawQueryString);
    return {
      version: '2.0',
      routeKey: compiled.routeKey,
      rawPath,
      rawQueryString,
      ...(cookies?.length ? { cookies } : {}),
      headers,
      ...(queryStringParameters ? { queryStringParameters } : {}),
      requestContext: {
        accountId: options.accountId,
        apiId: options.apiId,
        ...(jwt ? { authorizer: { jwt } } : {}),
        domainName,
        domainPrefix: domainName.split('.')[0]!,
        http: {
          method: req.method ?? 'GET',
          path: rawPath,
          protocol: `HTTP/${req.httpVersion}`,
          sourceIp,
          userAgent: headerMap.get('user-agent') ?? '',
        },
        requestId,
        routeKey: compiled.routeKey,
        stage: '$default',
        time: requestTime(now),
        timeEpoch: now,
      },
      ...(Object.keys(params).length > 0 ? { pathParameters: params } : {}),
      ...(body.length > 0 ? { body: text ? body.toString('utf8') : body.toString('base64') } : {}),
      isBase64Encoded: body.length > 0 && !text,
    };
  }

  async function respond(req: IncomingMessage, res: ServerResponse, requestId: string): Promise<void> {
    const method = (req.method ?? 'GET').toUpperCase();
    const url = req.url ?? '/';
    const queryAt = url.indexOf('?');
    const rawPath = queryAt === -1 ? url : url.slice(0, queryAt);
    const rawQueryString = queryAt === -1 ? '' : url.slice(queryAt + 1);

    // API Gateway answers CORS preflight requests itself, for any path, when CORS is configured.
    if (cors && method === 'OPTIONS') {
      send(req, res, requestId, { status: 204, headers: [], body: Buffer.alloc(0) }, true);
      return;
    }

    let body: Buffer;
    try {
      body = await readBody(req, maxBodyBytes);
    } catch (error) {
      if (error instanceof BodyTooLarge) {
        res.setHeader('connection', 'close');
        send(req, res, requestId, gatewayReply(413));
        return;
      }
      throw error;
    }

    if (options.issuer && method === 'POST' && rawPath === '/dev/token') {
      send(req, res, requestId, await devToken(body));
      return;
    }
    if (options.issuer && method === 'GET' && rawPath === '/.well-known/jwks.json') {
      send(req, res, requestId, jsonReply(200, options.issuer.jwks));
      return;
    }

    const devRoute = options.devRoutes?.find((route) => route.method === method && route.path === rawPath);
    if (devRoute) {
      const answer = devRoute.handle(Object.fromEntries(new URLSearchParams(rawQueryString)));
      send(req, res, requestId, jsonReply(answer.status, answer.body));
      return;
    }

    const found = findRoute(method, rawPath.split('/').slice(1));
    if (!found) {
      send(req, res, requestId, gatewayReply(404));
      return;
    }
    const { compiled, params } = found;

    let jwt: JwtAuthorization | undefined;
    if (compiled.route.authorized) {
      const decision = options.authorizer?.authorize(req.headers.authorization) ?? { allowed: false as const };
      if (!decision.allowed) {
        send(req, res, requestId, unauthorizedReply(decision.wwwAuthenticate ? [['www-authenticate', decision.wwwAuthenticate]] : []));
        return;
      }
      jwt = decision.jwt;
    }

    const event = buildEvent(req, compiled, params, rawPath, rawQueryString, body, requestId, jwt);
    const outcome = await lambdas.invoke(compiled.route, event);
    switch (outcome.status) {
      case 'missing':
        log.warn(`${compiled.routeKey}: no handler module at ${outcome.file}`);
        send(req, res, requestId, contractError(500, 'INTERNAL', 'This route has no handler yet'));
        return;
      case 'init-error':
        send(req, res, requestId, contractError(500, 'INTERNAL', 'Something went wrong on our side'));
        return;
      case 'error':
      case 'timeout':
        send(req, res, requestId, gatewayReply(500));
        return;
      case 'ok': {
        const reply = toReply(outcome.result);
        if (!reply) log.error(`${compiled.route.name}: malformed Lambda proxy response`, outcome.result);
        send(req, res, requestId, reply ?? gatewayReply(500));
        return;
      }
    }
  }

  return {
    handle(req, res) {
      const requestId = apiGatewayId();
      respond(req, res, requestId).catch((error: unknown) => {
        log.error(`${req.method} ${req.url}: the emulator failed`, error);
        send(req, res, requestId, gatewayReply(500));
      });
    },
  };
}
