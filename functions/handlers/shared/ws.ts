/**
 * The one middy stack of the WebSocket handlers: the X-Ray tracer, Powertools logger and metrics,
 * then the frame pipeline: parse JSON, map the action (route key or the seed's `chat-*` name)
 * through the protocol shim, validate its data with zod, require a signed-in connection where the
 * action needs one, run it, and answer on the caller's connection (`chat-ack`, the action's event,
 * or `chat-error`). A bad frame never crashes the connection: every failure becomes `chat-error`.
 */
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { APIGatewayProxyResultV2, APIGatewayProxyWebsocketEventV2 } from 'aws-lambda';
import type { AuthenticatedConnection } from '#core/ports';
import { ValidationError } from '#core/errors';
import {
  ACTIONS,
  clientFrame,
  jsonTooDeep,
  MAX_JSON_DEPTH,
  routeKeyOf,
  ROUTE_KEYS,
  WS_ACTIONS,
  type AckData,
  type ActionData,
  type RouteKey,
  type ServerFrame,
  type SignedIn,
} from '#core/protocol';
import { ConnectionClosedError } from '#core/use-cases/closing';
import { makeRequireAuthenticatedConnection } from '#core/use-cases/require-authenticated-connection';
import { frame } from '#core/use-cases/wire';
import { container } from './container.ts';
import { describeError } from './errors.ts';
import { logger, publishMetrics, traceHandler } from './observability.ts';
import './ports/realtime.ts';
import { useCase } from './use-cases.ts';

/** `$connect` carries the query string, which the v2 WebSocket event type leaves out. */
export type WebSocketEvent = APIGatewayProxyWebsocketEventV2 & {
  queryStringParameters?: Record<string, string | undefined> | null;
  headers?: Record<string, string | undefined>;
};

/** What an action is given: the caller's connection, the validated data and the frame's requestId. */
export interface ActionContext<K extends RouteKey> {
  connectionId: string;
  data: ActionData<K>;
  requestId?: string;
  /** The signed-in connection, for the actions that need sign-in (WS_ACTIONS[key].signedIn). */
  connection: SignedIn<K> extends true ? AuthenticatedConnection : undefined;
}

/** Runs one action; resolves with its ack (also the data of its reply event, when it has one). */
export type ActionRun<K extends RouteKey> = (context: ActionContext<K>) => Promise<AckData<K>>;

/** One action: its route key and what it does. */
export interface Action<K extends RouteKey> {
  routeKey: K;
  run: ActionRun<K>;
}

/** Declares one action. */
export const action = <K extends RouteKey>(routeKey: K, run: ActionRun<K>): Action<K> => ({ routeKey, run });

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

/** The actions a function serves, by route key. */
type ActionTable = { [K in RouteKey]?: Action<K> };

/**
 * Handles one client frame. `served` is the route key whose function this is (API Gateway only
 * routes that action's frames to it), or `$default`, the shim that serves every action.
 */
async function handleFrame(event: WebSocketEvent, actions: ActionTable, served: RouteKey | '$default'): Promise<APIGatewayProxyResultV2> {
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
    const connection = declaration.signedIn ? await useCase(makeRequireAuthenticatedConnection)({ connectionId, requestId }) : undefined;
    const context = { connectionId, data, requestId, connection } as ActionContext<typeof routeKey>;
    const run = actions[routeKey]!.run as ActionRun<typeof routeKey>;
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

/** The handler of a route key's function: it serves that action only. */
export function wsActionHandler<K extends RouteKey>(served: Action<K>) {
  const actions: ActionTable = { [served.routeKey]: served };
  return withWebSocketStack((event) => handleFrame(event, actions, served.routeKey));
}

/** The handler of `$default`, the protocol shim: every action, by route key or by the seed's event name. */
export function wsShimHandler(actions: { [K in RouteKey]: Action<K> }) {
  return withWebSocketStack((event) => handleFrame(event, actions, '$default'));
}
