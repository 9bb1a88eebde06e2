/**
 * Closing a connection the server will no longer serve, telling the client why first.
 */
import { UnauthorizedError } from '#core/errors';
import type { Broadcaster, ConnectionStore, Logger } from '#core/ports';
import { frame } from './wire.ts';

/**
 * UNAUTHORIZED, and the connection has been closed: its `chat-error` frame was already posted
 * (with the request's requestId), so a handler need not answer on the connection again.
 */
export class ConnectionClosedError extends UnauthorizedError {
  readonly connectionClosed = true;
}

/** Posts `chat-error {code: "UNAUTHORIZED", message, requestId?}`, then closes. Best-effort: never throws. */
export async function closeWithError(
  deps: { broadcaster: Broadcaster; logger: Logger },
  connectionId: string,
  message: string,
  requestId?: string,
): Promise<ConnectionClosedError> {
  const data = { code: 'UNAUTHORIZED' as const, message, ...(requestId !== undefined ? { requestId } : {}) };
  try {
    await deps.broadcaster.send([connectionId], { ...frame('chat-error', data), ...(requestId !== undefined ? { requestId } : {}) });
    await deps.broadcaster.close(connectionId);
  } catch (error) {
    deps.logger.warn('Could not close a connection', { connectionId, error: String(error) });
  }
  deps.logger.info('Closed a connection', { connectionId, reason: message });
  return new ConnectionClosedError(message);
}

/** `chat-error` details on a connection closed for the per-user cap. */
export interface ConnectionLimitDetails {
  reason: 'connection_limit';
  maxConnections: number;
}

/**
 * Waits between attempts to reach an evicted connection that API Gateway still answers 410 for:
 * a connection is not reachable until its own `$connect` has returned, and under a burst of
 * connects the one evicted often still runs it. About 3 s in all.
 */
export const EVICTION_RETRY_DELAYS_MS = [50, 100, 200, 400, 800, 1500] as const;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Closes a connection evicted by the per-user cap, telling it why first:
 * `chat-error {code: "CONFLICT", message, details: {reason: "connection_limit", maxConnections}}`,
 * then DELETE @connections (which cannot carry a close code: the client sees 1000, so the frame is
 * what says why). While the post answers 410 and the connection's record still exists (it is
 * still in `$connect`), tries again after {@link EVICTION_RETRY_DELAYS_MS}. Best-effort: never
 * throws; answers whether the frame reached the connection.
 */
export async function closeOverLimit(
  deps: { broadcaster: Broadcaster; connections: Pick<ConnectionStore, 'get'>; logger: Logger; pause?: (ms: number) => Promise<void> },
  connectionId: string,
  maxConnections: number,
): Promise<boolean> {
  const pause = deps.pause ?? sleep;
  const details: ConnectionLimitDetails = { reason: 'connection_limit', maxConnections };
  const error = frame('chat-error', {
    code: 'CONFLICT' as const,
    message: `This user has more than ${maxConnections} connections open: the newest ${maxConnections} stay, this one is closed`,
    details,
  });
  try {
    for (let attempt = 0; ; attempt++) {
      const report = await deps.broadcaster.send([connectionId], error);
      if (!report.gone.includes(connectionId)) {
        await deps.broadcaster.close(connectionId);
        return report.delivered.includes(connectionId);
      }
      const delay = EVICTION_RETRY_DELAYS_MS[attempt];
      // Gone for good: no record any more (its $disconnect ran), or retried long enough.
      if (delay === undefined || !(await deps.connections.get(connectionId))) return false;
      await pause(delay);
    }
  } catch (failure) {
    deps.logger.warn('Could not close an evicted connection', { connectionId, error: String(failure) });
    return false;
  }
}
