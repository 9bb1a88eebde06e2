/**
 * Closing a connection the server will no longer serve, telling the client why first.
 */
import { UnauthorizedError } from '#core/errors';
import type { Broadcaster, Logger } from '#core/ports';
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
