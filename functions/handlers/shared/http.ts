/**
 * The one middy stack every HTTP handler uses, in a fixed order: the X-Ray tracer, Powertools
 * logger and metrics; then JSON body parsing, zod validation of path, query and body; then one
 * error mapper. A handler supplies its schemas and a function from the validated request to a
 * result.
 */
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { APIGatewayProxyEventV2, APIGatewayProxyEventV2WithJWTAuthorizer, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import type { z } from 'zod';
import { identityFromClaims } from '#core/identity';
import { NotFoundError, UnauthorizedError, ValidationError } from '#core/errors';
import { HTTP_ROUTES } from '#config/routes';
import { jsonTooDeep, MAX_JSON_DEPTH } from '#core/protocol';
import type { Identity } from '#core/model';
import { container, type Container } from './container.ts';
import { describeError, errorBody, retryAfterSeconds } from './errors.ts';
import { logger, publishMetrics, traceHandler } from './observability.ts';

export type HttpEvent = APIGatewayProxyEventV2 | APIGatewayProxyEventV2WithJWTAuthorizer;
export type HttpResponse = APIGatewayProxyStructuredResultV2;

export interface HttpRequest<P, Q, B> {
  params: P;
  query: Q;
  body: B;
  event: HttpEvent;
  container: Container;
}

export interface AuthorizedRequest<P, Q, B> extends HttpRequest<P, Q, B> {
  identity: Identity;
}

export interface HttpResult {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8' };

export function json(status: number, body: unknown, headers: Record<string, string> = {}): HttpResponse {
  return { statusCode: status, headers: { ...JSON_HEADERS, ...headers }, body: JSON.stringify(body) };
}

/** `application/json`, with parameters (`; charset=utf-8`) allowed; any other charset is not. */
const JSON_CONTENT_TYPE = /^application\/json\s*(;\s*charset\s*=\s*"?utf-8"?\s*)?$/i;

function parseBody(event: HttpEvent): unknown {
  if (event.body === undefined || event.body === null || event.body === '') return undefined;
  // A body is JSON and says so: no form posts or text/plain read as JSON by accident.
  const contentType = event.headers?.['content-type'] ?? event.headers?.['Content-Type'];
  if (contentType === undefined || !JSON_CONTENT_TYPE.test(contentType.trim())) {
    throw new ValidationError(
      contentType === undefined
        ? 'A request body needs content-type: application/json'
        : `The request body must be application/json, not ${contentType.slice(0, 100)}`,
      { field: 'content-type', expected: 'application/json' },
    );
  }
  const text = event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new ValidationError('The request body is not valid JSON');
  }
  if (jsonTooDeep(parsed)) throw new ValidationError(`The request body nests deeper than ${MAX_JSON_DEPTH} levels`);
  return parsed;
}

/** The verified caller, from the claims API Gateway's JWT authorizer put on the request. */
export function identityOf(event: HttpEvent, config = container().settings): Identity {
  const claims = (event as APIGatewayProxyEventV2WithJWTAuthorizer).requestContext?.authorizer?.jwt?.claims;
  if (!claims) throw new UnauthorizedError();
  return identityFromClaims(claims, {
    userId: config.AUTH_CLAIM_USER_ID,
    role: config.AUTH_CLAIM_ROLE,
    providerId: config.AUTH_CLAIM_PROVIDER_ID,
  }, { serviceScope: config.AUTH_SERVICE_SCOPE });
}

interface Schemas<P, Q, B> {
  params?: z.ZodType<P>;
  query?: z.ZodType<Q>;
  body?: z.ZodType<B>;
}

function withStack(run: (event: HttpEvent, context: Context) => Promise<HttpResponse>) {
  return middy<HttpEvent, HttpResponse>()
    .use(traceHandler())
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(publishMetrics())
    .use({
      onError: async (request) => {
        const described = describeError(request.error);
        if (described.internal) logger.error('request failed', { error: request.error as Error });
        else logger.info('request refused', { code: described.code, message: described.message });
        // RFC 9110: a 429 says when to come back, in whole seconds.
        const headers: Record<string, string> = described.status === 429 ? { 'retry-after': String(retryAfterSeconds(described.details)) } : {};
        request.response = json(described.status, errorBody(described), headers);
      },
    })
    .handler(run);
}

function validate<P, Q, B>(schemas: Schemas<P, Q, B>, event: HttpEvent) {
  return {
    params: (schemas.params ? schemas.params.parse(event.pathParameters ?? {}) : {}) as P,
    query: (schemas.query ? schemas.query.parse(event.queryStringParameters ?? {}) : {}) as Q,
    body: (schemas.body ? schemas.body.parse(parseBody(event) ?? {}) : undefined) as B,
  };
}

function toResponse(result: HttpResult): HttpResponse {
  return result.body === undefined
    ? { statusCode: result.status, headers: result.headers ?? {} }
    : json(result.status, result.body, result.headers);
}

/** An HTTP handler behind the JWT authorizer: the caller's identity comes only from verified claims. */
export function authorizedHttpHandler<P = Record<string, never>, Q = Record<string, never>, B = undefined>(
  schemas: Schemas<P, Q, B>,
  run: (request: AuthorizedRequest<P, Q, B>) => Promise<HttpResult>,
) {
  return withStack(async (event) => {
    const identity = identityOf(event);
    const input = validate(schemas, event);
    return toResponse(await run({ ...input, identity, event, container: container() }));
  });
}

/** An HTTP handler open to anyone (health, docs). */
export function publicHttpHandler<P = Record<string, never>, Q = Record<string, never>, B = undefined>(
  schemas: Schemas<P, Q, B>,
  run: (request: HttpRequest<P, Q, B>) => Promise<HttpResult | HttpResponse>,
) {
  return withStack(async (event) => {
    const input = validate(schemas, event);
    const result = await run({ ...input, event, container: container() });
    return 'statusCode' in result ? result : toResponse(result as HttpResult);
  });
}

type RouteHandler = (event: HttpEvent, context: Context) => Promise<HttpResponse>;

/**
 * One function serving several routes of the manifest (a CloudFormation stack holds at most 500
 * resources, and each function brings eight): each route keeps its own handler, schemas and
 * middleware, picked by API Gateway's route key (`POST /path/{param}`).
 */
export function routeHandlers(handlers: Partial<Record<(typeof HTTP_ROUTES)[number]['name'], RouteHandler>>): RouteHandler {
  const byRouteKey = new Map<string, RouteHandler>(HTTP_ROUTES.flatMap((route) => (handlers[route.name] ? [[`${route.method} ${route.path}`, handlers[route.name]!] as const] : [])));
  return async (event, context) => {
    const handle = byRouteKey.get(event.routeKey);
    if (!handle) return json(404, errorBody(describeError(new NotFoundError(`No handler for ${event.routeKey}`))));
    return handle(event, context);
  };
}
