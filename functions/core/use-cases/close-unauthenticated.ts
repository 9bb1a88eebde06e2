import type { Broadcaster, Clock, ConnectionStore, Logger, Metrics } from '#core/ports';
import { closeWithError } from './closing.ts';

export interface CloseUnauthenticatedDeps {
  connections: Pick<ConnectionStore, 'awaitingAuthSince' | 'remove'>;
  broadcaster: Broadcaster;
  clock: Clock;
  metrics: Metrics;
  logger: Logger;
}

/**
 * Closes bare connections that never sent `chat-authenticate` within CHAT_AUTH_TIMEOUT_MS.
 * A connection that sends a frame late is closed by that frame; this sweep (run every minute in
 * AWS, every few seconds locally) closes the ones that stay silent. Each is told why first.
 */
export function makeCloseUnauthenticated(deps: CloseUnauthenticatedDeps) {
  const { connections, clock, metrics } = deps;
  return async (): Promise<{ closed: string[] }> => {
    const overdue = await connections.awaitingAuthSince(clock.now().getTime());
    await Promise.all(
      overdue.map(async (connectionId) => {
        await closeWithError(deps, connectionId, 'Authenticate within the time allowed after connecting; reconnect to try again');
        await connections.remove(connectionId);
      }),
    );
    if (overdue.length > 0) metrics.count('StaleConnectionsPruned', overdue.length);
    return { closed: overdue };
  };
}
