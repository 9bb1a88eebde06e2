/**
 * The Broadcaster port on API Gateway's `@connections` management API: PostToConnection for
 * every connection of a fan-out, DeleteConnection to close one. Locally the same client talks to
 * the emulator's `@connections` endpoint.
 */
import {
  ApiGatewayManagementApiClient,
  DeleteConnectionCommand,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import type { DeliveryReport, Broadcaster, Logger } from '#core/ports';
import type { ServerFrame } from '#core/protocol';

export interface BroadcasterOptions {
  /** One client per container (see createManagementClient). */
  client: ApiGatewayManagementApiClient;
  /** Posts in flight at once (default 20). */
  concurrency?: number;
  /** Further attempts after a throttled, 5xx or network failure (default 2). */
  retries?: number;
  /** First backoff step in ms (default 50); doubles each retry, with jitter. */
  baseDelayMs?: number;
  /** Ceiling of one backoff step in ms (default 1000). */
  maxDelayMs?: number;
  /** Told about connections that could not be reached (never the frame itself). */
  logger?: Logger;
  /** A number in [0, 1) for jitter; Math.random by default. */
  random?: () => number;
}

type Outcome = 'delivered' | 'gone' | 'failed';

/** What to do after a failed call. */
type Verdict = 'gone' | 'retry' | 'fail';

/**
 * A Broadcaster that posts frames with bounded concurrency. Each connection ends up in exactly
 * one list of the report: 410 GoneException → `gone` (no retry); throttling, 5xx and network
 * errors are retried with exponential backoff and jitter, then `failed`; any other 4xx (413
 * PayloadTooLarge, 403 Forbidden…) → `failed` at once. `send` never throws for a delivery.
 */
export function makeBroadcaster(options: BroadcasterOptions): Broadcaster {
  const {
    client,
    concurrency = 20,
    retries = 2,
    baseDelayMs = 50,
    maxDelayMs = 1000,
    logger,
    random = Math.random,
  } = options;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new Error('concurrency must be a positive integer');
  if (!Number.isInteger(retries) || retries < 0) throw new Error('retries must be a non-negative integer');

  /** Runs `call` until it succeeds, is gone, fails for good, or runs out of attempts. */
  async function attempt(call: () => Promise<unknown>, connectionId: string, operation: string): Promise<Outcome> {
    for (let tries = 0; ; tries++) {
      try {
        await call();
        return 'delivered';
      } catch (error) {
        const verdict = classify(error);
        if (verdict === 'gone') return 'gone';
        if (verdict === 'retry' && tries < retries) {
          await sleep(backoff(tries, baseDelayMs, maxDelayMs, random));
          continue;
        }
        logger?.warn(`${operation} failed`, { connectionId, attempts: tries + 1, ...describe(error) });
        return 'failed';
      }
    }
  }

  return {
    async send(connectionIds, frame: ServerFrame): Promise<DeliveryReport> {
      const ids = [...new Set(connectionIds)];
      const data = Buffer.from(JSON.stringify(frame), 'utf8');
      const outcomes = new Array<Outcome>(ids.length);
      await forEachLimited(ids, concurrency, async (connectionId, index) => {
        try {
          outcomes[index] = await attempt(
            () => client.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: data })),
            connectionId,
            'PostToConnection',
          );
        } catch (error) {
          // Only a bug in this module gets here; the report must still account for the connection.
          logger?.error('PostToConnection crashed', { connectionId, ...describe(error) });
          outcomes[index] = 'failed';
        }
      });
      const report: DeliveryReport = { delivered: [], gone: [], failed: [] };
      ids.forEach((connectionId, index) => report[outcomes[index] ?? 'failed'].push(connectionId));
      return report;
    },

    async close(connectionId) {
      let failure: unknown;
      const outcome = await attempt(
        async () => {
          try {
            await client.send(new DeleteConnectionCommand({ ConnectionId: connectionId }));
          } catch (error) {
            failure = error;
            throw error;
          }
        },
        connectionId,
        'DeleteConnection',
      );
      if (outcome === 'failed') throw failure;
    },
  };
}

/**
 * The management API client for one stage. `callbackUrl` is the stage's https URL
 * (`https://{api-id}.execute-api.{region}.amazonaws.com/{stage}`, or a custom domain's); locally
 * `http://127.0.0.1:$WS_PORT`, which gets dummy credentials (the emulator accepts any signature).
 */
export function createManagementClient(callbackUrl: string, region: string): ApiGatewayManagementApiClient {
  const url = new URL(callbackUrl);
  const local = url.protocol === 'http:' || ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
  return new ApiGatewayManagementApiClient({
    endpoint: callbackUrl.replace(/\/+$/, ''),
    region,
    // The broadcaster retries by itself, knowing which failures are worth it (never a 410) and
    // bounding a whole fan-out's time. The SDK's own retries (3 attempts by default) would
    // multiply with them: 3 SDK attempts × 3 broadcaster attempts per connection.
    maxAttempts: 1,
    // A post that hangs would hold a worker of the pool and the Lambda invocation with it.
    requestHandler: { connectionTimeout: 1000, requestTimeout: 3000, throwOnRequestTimeout: true },
    // The middleware stack is resolved once per command class instead of on every post (the
    // tracer adds its middleware when the client is made, before any post): about 0.06 ms of
    // CPU less per post, and a send makes one per recipient connection.
    cacheMiddleware: true,
    ...(local ? { credentials: { accessKeyId: 'local', secretAccessKey: 'local' } } : {}),
  });
}

// ─── Failure classification and backoff ────────────────────────────────────────────────

interface SdkErrorShape {
  name?: unknown;
  code?: unknown;
  $fault?: unknown;
  $retryable?: unknown;
  $metadata?: { httpStatusCode?: unknown };
}

const THROTTLING_NAMES = new Set([
  'LimitExceededException',
  'ThrottlingException',
  'TooManyRequestsException',
  'Throttling',
  'RequestLimitExceeded',
]);

function statusOf(error: SdkErrorShape): number | undefined {
  const status = error.$metadata?.httpStatusCode;
  return typeof status === 'number' ? status : undefined;
}

/** Gone (410), worth retrying (throttled, 5xx, network), or failed for good (other 4xx). */
export function classify(error: unknown): Verdict {
  if (typeof error !== 'object' || error === null) return 'retry';
  const shape = error as SdkErrorShape;
  const status = statusOf(shape);
  if (shape.name === 'GoneException' || status === 410) return 'gone';
  if (typeof shape.name === 'string' && THROTTLING_NAMES.has(shape.name)) return 'retry';
  if (status === 429 || shape.$retryable) return 'retry';
  if (status !== undefined && status >= 500) return 'retry';
  if (status !== undefined && status >= 400) return 'fail';
  if (shape.$fault === 'client') return 'fail';
  // No HTTP answer at all: a timeout, a reset or a refused connection.
  return 'retry';
}

/** Exponential backoff with "equal jitter": half the step fixed, half random. */
function backoff(retry: number, baseMs: number, maxMs: number, random: () => number): number {
  const step = Math.min(maxMs, baseMs * 2 ** retry);
  return step / 2 + random() * (step / 2);
}

function sleep(ms: number): Promise<void> {
  return ms <= 0 ? Promise.resolve() : new Promise((resolve) => setTimeout(resolve, ms));
}

function describe(error: unknown): Record<string, unknown> {
  if (typeof error !== 'object' || error === null) return { error: String(error) };
  const shape = error as SdkErrorShape & { message?: unknown };
  return {
    error: typeof shape.name === 'string' ? shape.name : 'Error',
    status: statusOf(shape),
    message: typeof shape.message === 'string' ? shape.message : undefined,
  };
}

/** Runs `work` over `items` with at most `limit` calls in flight; resolves when all are done. */
export async function forEachLimited<T>(
  items: readonly T[],
  limit: number,
  work: (item: T, index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      await work(items[index] as T, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
