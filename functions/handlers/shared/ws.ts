/**
 * The one middy stack of the WebSocket handlers: Powertools tracer, logger and metrics, then the
 * frame pipeline: parse JSON, map the action (route key or the seed's `chat-*` name) through the
 * protocol shim, validate its data with zod, require a signed-in connection where the action
 * needs one, run it, and answer on the caller's connection (`chat-ack`, the action's event, or
 * `chat-error`). A bad frame never crashes the connection: every failure becomes `chat-error`.
 */
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { APIGatewayProxyResultV2, APIGatewayProxyWebsocketEventV2 } from 'aws-lambda';
import { ValidationError } from '#core/errors';
import { ACTIONS, clientFrame, jsonTooDeep, MAX_JSON_DEPTH, routeKeyOf, ROUTE_KEYS, WS_ACTIONS, type RouteKey, type ServerFrame } from '#core/protocol';
import { ConnectionClosedError, frame } from '#core/use-cases/index';
import { ACTION_IMPLEMENTATIONS, type ActionContext, type ActionRun } from '#handlers/ws/actions';
import { container } from './container.ts';
import { describeError } from './errors.ts';
import { logger, publishMetrics, traceHandler } from './observability.ts';
import './ports/realtime.ts';
import { useCases } from './use-cases.ts';

/** `$connect` carries the query string, which the v2 WebSocket event type leaves out. */
export type WebSocketEvent = APIGatewayProxyWebsocketEventV2 & {
  queryStringParameters?: Record<string, string | undefined> | null;
  headers?: Record<string, string | undefined>;
};

const OK = { statusCode: 200 };

export function withWebSocketStack(run: (event: WebSocketEvent) => Promise<APIGatewayProxyResultV2>) {
  return middy<WebSocketEvent, APIGatewayProxyResultV2>()
    .use(traceHandler())
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

const withRequestId = (error: Error, requestId: string | undefined) => Object.assign(error, { requestId });

function parseFrame(body: string | undefined): { routeKey: RouteKey; data: unknown; requestId?: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body ?? '');
  } catch {
    throw new ValidationError('The frame is not valid JSON; send {"action":NAME,"data":{…},"requestId"?}');
  }
  // The client's requestId is echoed even when the frame is refused, so it can match the error.
  const claimedRequestId = (parsed as { requestId?: unknown } | null)?.requestId;
  const requestId = typeof claimedRequestId === 'string' ? claimedRequestId : undefined;
  if (jsonTooDeep(parsed)) throw withRequestId(new ValidationError(`The frame nests deeper than ${MAX_JSON_DEPTH} levels`), requestId);
  const envelope = clientFrame.safeParse(parsed);
  if (!envelope.success) {
    const issues = envelope.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
    throw withRequestId(new ValidationError('A frame is {"action":NAME,"data":{…},"requestId"?}', { issues }), requestId);
  }
  const routeKey = routeKeyOf(envelope.data.action);
  if (!routeKey) {
    throw withRequestId(
      new ValidationError(`Unknown action "${envelope.data.action.slice(0, 64)}"`, { actions: ROUTE_KEYS.flatMap((key) => [key, ACTIONS[key]]) }),
      envelope.data.requestId,
    );
  }
  return { routeKey, data: envelope.data.data ?? {}, requestId: envelope.data.requestId };
}

/**
 * Handles one client frame. `served` is the route key whose function this is (API Gateway only
 * routes that action's frames to it), or `$default`, the shim that serves every action.
 */
async function handleFrame(event: WebSocketEvent, served: RouteKey | '$default'): Promise<APIGatewayProxyResultV2> {
  const { connectionId } = event.requestContext;
  let requestId: string | undefined;
  try {
    const parsedFrame = parseFrame(event.body);
    requestId = parsedFrame.requestId;
    const { routeKey } = parsedFrame;
    logger.appendKeys({ action: routeKey });
    if (served !== '$default' && routeKey !== served) {
      throw new ValidationError(`This route serves "${served}", not "${routeKey}"`);
    }
    const declaration = WS_ACTIONS[routeKey];
    const data: unknown = declaration.data.parse(parsedFrame.data);
    const cases = useCases();
    const connection = declaration.signedIn ? await cases.requireAuthenticatedConnection({ connectionId, requestId }) : undefined;
    const context = { connectionId, data, requestId, useCases: cases, connection } as ActionContext<typeof routeKey>;
    const run = ACTION_IMPLEMENTATIONS[routeKey] as ActionRun<typeof routeKey>;
    const ack = await run(context);
    const frames: ServerFrame[] = [];
    const replyEvent = 'reply' in declaration ? declaration.reply : undefined;
    if (replyEvent) {
      const replyFrame: ServerFrame = { event: replyEvent, data: ack };
      frames.push(requestId ? { ...replyFrame, requestId } : replyFrame);
    }
    if (requestId !== undefined) frames.push({ ...frame('chat-ack', { requestId, data: ack }), requestId });
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

/**
 * The handler of a message route: a route key's function serves that action only; `$default`
 * (the protocol shim) serves every action, by route key or by the seed's event name.
 */
export function wsActionHandler(served: RouteKey | '$default') {
  return withWebSocketStack((event) => handleFrame(event, served));
}
