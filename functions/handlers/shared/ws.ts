/**
 * The one middy stack of the WebSocket handlers: Powertools tracer, logger and metrics, then the
 * frame pipeline: parse JSON, map the action (route key or the seed's `chat-*` name) through the
 * protocol shim, validate its data with zod, require a signed-in connection where the action
 * needs one, run it, and answer on the caller's connection (`chat-ack`, the action's event, or
 * `chat-error`). A bad frame never crashes the connection: every failure becomes `chat-error`.
 */
import middy from '@middy/core';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { APIGatewayProxyResultV2, APIGatewayProxyWebsocketEventV2 } from 'aws-lambda';
import { ValidationError } from '#core/errors';
import { actionData, ACTIONS, clientFrame, jsonTooDeep, MAX_JSON_DEPTH, routeKeyOf, ROUTE_KEYS, type RouteKey, type ServerFrame } from '#core/protocol';
import { ConnectionClosedError, frame } from '#core/use-cases/index';
import { ACTION_IMPLEMENTATIONS, type ActionContext } from '#handlers/ws/actions';
import { container } from './container.ts';
import { describeError } from './errors.ts';
import { logger, publishMetrics, tracer } from './observability.ts';
import { useCases } from './use-cases.ts';

/** `$connect` carries the query string, which the v2 WebSocket event type leaves out. */
export type WebSocketEvent = APIGatewayProxyWebsocketEventV2 & {
  queryStringParameters?: Record<string, string | undefined> | null;
  headers?: Record<string, string | undefined>;
};

const OK = { statusCode: 200 };

export function withWebSocketStack(run: (event: WebSocketEvent) => Promise<APIGatewayProxyResultV2>) {
  return middy<WebSocketEvent, APIGatewayProxyResultV2>()
    .use(captureLambdaHandler(tracer))
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(publishMetrics())
    .handler(async (event) => {
      logger.appendKeys({ connectionId: event.requestContext.connectionId, routeKey: event.requestContext.routeKey });
      return run(event);
    });
}

async function reply(connectionId: string, frames: ServerFrame[]): Promise<void> {
  const { broadcaster } = container().ports;
  for (const out of frames) await broadcaster.send([connectionId], out);
}

function parseFrame(body: string | undefined): { routeKey: RouteKey; data: unknown; requestId?: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body ?? '');
  } catch {
    throw new ValidationError('The frame is not valid JSON; send {"action":NAME,"data":{…},"requestId"?}');
  }
  if (jsonTooDeep(parsed)) {
    const requestId = (parsed as { requestId?: unknown }).requestId;
    throw Object.assign(new ValidationError(`The frame nests deeper than ${MAX_JSON_DEPTH} levels`), {
      requestId: typeof requestId === 'string' ? requestId : undefined,
    });
  }
  const envelope = clientFrame.safeParse(parsed);
  if (!envelope.success) {
    const requestId = typeof (parsed as { requestId?: unknown })?.requestId === 'string' ? (parsed as { requestId: string }).requestId : undefined;
    throw Object.assign(new ValidationError('A frame is {"action":NAME,"data":{…},"requestId"?}', { issues: envelope.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })) }), { requestId });
  }
  const routeKey = routeKeyOf(envelope.data.action);
  if (!routeKey) {
    throw Object.assign(
      new ValidationError(`Unknown action "${envelope.data.action.slice(0, 64)}"`, {
        actions: ROUTE_KEYS.flatMap((key) => [key, ACTIONS[key]]),
      }),
      { requestId: envelope.data.requestId },
    );
  }
  return { routeKey, data: envelope.data.data ?? {}, requestId: envelope.data.requestId };
}

/** Handles one client frame on any message route (a route key or `$default`). */
async function handleFrame(event: WebSocketEvent): Promise<APIGatewayProxyResultV2> {
  const { connectionId } = event.requestContext;
  let requestId: string | undefined;
  try {
    const parsedFrame = parseFrame(event.body);
    requestId = parsedFrame.requestId;
    const { routeKey } = parsedFrame;
    logger.appendKeys({ action: routeKey });
    const action = ACTION_IMPLEMENTATIONS[routeKey] as (typeof ACTION_IMPLEMENTATIONS)[RouteKey];
    const data = actionData[routeKey].parse(parsedFrame.data);
    const cases = useCases();
    const connection = action.signedIn ? await cases.requireAuthenticatedConnection({ connectionId, requestId }) : undefined;
    const context = { connectionId, data, requestId, useCases: cases, connection } as ActionContext<typeof routeKey>;
    const result = await (action.run as (c: typeof context) => ReturnType<typeof action.run>)(context);
    const frames: ServerFrame[] = [];
    if (result.reply) frames.push(requestId ? { ...result.reply, requestId } : result.reply);
    if (requestId !== undefined) frames.push({ ...frame('chat-ack', { requestId, data: result.ack }), requestId });
    await reply(connectionId, frames);
  } catch (error) {
    requestId ??= (error as { requestId?: string }).requestId;
    if (error instanceof ConnectionClosedError) return OK;
    const described = describeError(error);
    if (described.internal) logger.error('action failed', { error: error as Error });
    else logger.info('action refused', { code: described.code, message: described.message });
    const data = {
      code: described.code,
      message: described.message,
      ...(described.details === undefined ? {} : { details: described.details }),
      ...(requestId === undefined ? {} : { requestId }),
    };
    await reply(connectionId, [{ ...frame('chat-error', data), ...(requestId === undefined ? {} : { requestId }) }]).catch((sendError: unknown) =>
      logger.warn('could not send chat-error', { error: String(sendError) }),
    );
  }
  return OK;
}

/** A message route's handler: the route keys and `$default` share it. */
export function wsMessageHandler() {
  return withWebSocketStack(handleFrame);
}
