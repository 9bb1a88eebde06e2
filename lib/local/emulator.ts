/**
 * The local API Gateway: the HTTP API and the WebSocket API (with `@connections`) in front of the
 * handlers of the route manifest, each on its own port. See http-api.ts and websocket-api.ts for
 * what is emulated and how faithfully; lib/local/README.md for the whole picture.
 */
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';
import type { DevIssuer } from '#adapters/auth/dev-issuer';
import type { QueueKey } from '#config/queues';
import {
  HTTP_ROUTES,
  QUEUE_CONSUMERS,
  SCHEDULED_TASKS,
  WEBSOCKET_ROUTES,
  type HttpRoute,
  type QueueConsumer,
  type ScheduledTask,
  type WebSocketRoute,
} from '#config/routes';
import { startEventSource, type EventSourceMapping } from './event-source.ts';
import { startScheduler } from './scheduler.ts';
import { createHttpApi, LOCAL_CORS, type CorsConfig, type DevRoute } from './http-api.ts';
import { createJwtAuthorizer } from './jwt-authorizer.ts';
import { createLambdaHost, DEFAULT_FUNCTION_TIMEOUT_MS } from './lambda.ts';
import { consoleLog, type EmulatorLog } from './log.ts';
import { closeServer, listen, trackSockets } from './net.ts';
import { API_GATEWAY_LIMITS, createWebSocketApi, type ConnectionInfo, type ConnectionPost, type WebSocketLimits } from './websocket-api.ts';

/** functions/handlers in this repository. */
export const DEFAULT_HANDLERS_DIR = fileURLToPath(new URL('../../functions/handlers', import.meta.url));

export interface EmulatorOptions extends Partial<WebSocketLimits> {
  /** Interface to bind; 127.0.0.1 by default. */
  host?: string;
  /** HTTP API port; 3000 by default, 0 for any free port. */
  httpPort?: number;
  /** WebSocket API (and @connections) port; 3001 by default, 0 for any free port. */
  wsPort?: number;
  /** Where handler modules live (`<dir>/<entry>.ts`); functions/handlers by default. */
  handlersDir?: string;
  /** The route manifest; the real one by default. */
  httpRoutes?: readonly HttpRoute[];
  webSocketRoutes?: readonly WebSocketRoute[];
  /**
   * The token issuer: the JWT authorizer trusts it, and `POST /dev/token` signs with it. Without
   * one, authorized routes answer 401 and `/dev/token` does not exist.
   */
  issuer?: Pick<DevIssuer, 'issuer' | 'audience' | 'jwks' | 'sign'>;
  /** Local-only HTTP routes beside `/dev/token` (the runtime's `GET /dev/pushes`). */
  devRoutes?: readonly DevRoute[];
  /** Lambda function timeout; 30 s by default. */
  functionTimeoutMs?: number;
  /** The HTTP API's CORS configuration, or false for none; any origin by default. */
  cors?: CorsConfig | false;
  /** Scheduled tasks to run on timers; the manifest's by default, [] for none. */
  scheduledTasks?: readonly ScheduledTask[];
  /**
   * Queue-triggered handlers, polled like Lambda's SQS event source mappings; the manifest's by
   * default, [] for none. To add one (a test's probe), pass `[...QUEUE_CONSUMERS, probe]`; an
   * absolute `entry` (without `.ts`) serves a module outside handlersDir.
   */
  queueConsumers?: readonly QueueConsumer[];
  /** The SQS the consumers poll: its endpoint and the queues' URLs. Without it no consumer runs. */
  sqs?: { endpoint: string; queueUrls: Partial<Record<QueueKey, string>> };
  /** How long each consumer's receive long-polls (1–20 s); 20 by default, as Lambda's pollers. */
  queueWaitTimeSeconds?: number;
  /** Sees every `POST @connections/{id}` (tests). */
  onPost?: (post: ConnectionPost) => void;
  /** Where the emulator reports failures; stderr by default. */
  log?: EmulatorLog;
  /** For event fields: requestContext.apiId, accountId, region, WebSocket stage. */
  apiId?: string;
  accountId?: string;
  region?: string;
  stage?: string;
}

export interface Emulator {
  httpUrl: string;
  wsUrl: string;
  /** The `@connections` endpoint (WEBSOCKET_CALLBACK_URL). */
  callbackUrl: string;
  httpPort: number;
  wsPort: number;
  /** Open WebSocket connections. */
  connections(): ConnectionInfo[];
  /** Stops the queue consumers (after the batch under way), closes every WebSocket (1001, firing $disconnect), then both servers. */
  stop(): Promise<void>;
}

export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const host = options.host ?? '127.0.0.1';
  const log = options.log ?? consoleLog();
  const lambdas = createLambdaHost({
    handlersDir: options.handlersDir ?? DEFAULT_HANDLERS_DIR,
    timeoutMs: options.functionTimeoutMs ?? DEFAULT_FUNCTION_TIMEOUT_MS,
    region: options.region,
    accountId: options.accountId,
    log,
  });
  const accountId = options.accountId ?? '000000000000';
  const issuer = options.issuer;

  const httpApi = createHttpApi({
    routes: options.httpRoutes ?? HTTP_ROUTES,
    lambdas,
    authorizer: issuer ? createJwtAuthorizer({ issuer: issuer.issuer, audience: issuer.audience, jwks: issuer.jwks }) : undefined,
    issuer,
    devRoutes: options.devRoutes,
    cors: options.cors ?? LOCAL_CORS,
    apiId: options.apiId ?? 'localhttp',
    accountId,
    log,
  });
  const webSocketApi = createWebSocketApi({
    routes: options.webSocketRoutes ?? WEBSOCKET_ROUTES,
    lambdas,
    apiId: options.apiId ?? 'localws',
    stage: options.stage ?? 'local',
    idleTimeoutMs: options.idleTimeoutMs ?? API_GATEWAY_LIMITS.idleTimeoutMs,
    maxConnectionMs: options.maxConnectionMs ?? API_GATEWAY_LIMITS.maxConnectionMs,
    maxFrameBytes: options.maxFrameBytes ?? API_GATEWAY_LIMITS.maxFrameBytes,
    maxMessageBytes: options.maxMessageBytes ?? API_GATEWAY_LIMITS.maxMessageBytes,
    onPost: options.onPost,
    log,
  });

  const httpServer = createServer((req, res) => httpApi.handle(req, res));
  const wsServer = createServer();
  webSocketApi.attach(wsServer);
  const httpSockets = trackSockets(httpServer);
  const wsSockets = trackSockets(wsServer);

  let httpPort: number;
  let wsPort: number;
  try {
    httpPort = await listen(httpServer, options.httpPort ?? 3000, host);
    wsPort = await listen(wsServer, options.wsPort ?? 3001, host);
  } catch (error) {
    await Promise.all([closeServer(httpServer), closeServer(wsServer)]);
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') {
      throw new Error(`${(error as Error).message}: another process uses the port (set PORT / WS_PORT to others)`, { cause: error });
    }
    throw error;
  }

  const scheduler = startScheduler({
    tasks: options.scheduledTasks ?? SCHEDULED_TASKS,
    lambdas,
    log,
    region: options.region ?? 'us-east-1',
    accountId,
  });

  const mappings: EventSourceMapping[] = [];
  for (const consumer of options.sqs ? (options.queueConsumers ?? QUEUE_CONSUMERS) : []) {
    const queueUrl = options.sqs?.queueUrls[consumer.queue];
    if (!queueUrl) {
      log.warn(`queue consumer ${consumer.name}: no URL for queue "${consumer.queue}"; it will not run`);
      continue;
    }
    mappings.push({
      function: { name: consumer.name, entry: consumer.entry },
      queueUrl,
      batchSize: consumer.batchSize,
      maxBatchingWindowSeconds: consumer.maxBatchingWindowSeconds,
    });
  }
  const eventSource = options.sqs
    ? startEventSource({
        mappings,
        lambdas,
        endpoint: options.sqs.endpoint,
        region: options.region ?? 'us-east-1',
        log,
        waitTimeSeconds: options.queueWaitTimeSeconds,
      })
    : undefined;

  let stopped: Promise<void> | undefined;
  return {
    httpUrl: `http://${host}:${httpPort}`,
    wsUrl: `ws://${host}:${wsPort}`,
    callbackUrl: `http://${host}:${wsPort}`,
    httpPort,
    wsPort,
    connections: () => webSocketApi.connections(),
    stop() {
      scheduler.stop();
      stopped ??= (async () => {
        // Queue consumers finish the batch they hold (and delete what they handled) while everything still answers.
        await eventSource?.stop();
        // WebSockets first, while @connections still answers: $disconnect handlers may post to others.
        await webSocketApi.closeAll();
        const closing = [closeServer(httpServer), closeServer(wsServer)];
        for (const socket of [...httpSockets, ...wsSockets]) socket.destroy();
        await Promise.all(closing);
      })();
      return stopped;
    },
  };
}
