import type { Settings } from '#config/settings';
import { UnauthorizedError } from '#core/errors';
import type { AuthenticatedConnection, Broadcaster, Clock, ConnectionStore, Logger } from '#core/ports';
import { closeWithError } from './closing.ts';

export interface RequireAuthenticatedConnectionDeps {
  connections: Pick<ConnectionStore, 'get'>;
  broadcaster: Broadcaster;
  clock: Clock;
  logger: Logger;
  limits: Pick<Settings, 'CHAT_AUTH_TIMEOUT_MS'>;
}

export interface RequireAuthenticatedConnectionInput {
  connectionId: string;
  /** The request's requestId, echoed on the `chat-error` sent before a close. */
  requestId?: string;
}

/**
 * The gate in front of every WebSocket action except `authenticate` and `ping`: answers the
 * connection (with its verified identity) or refuses.
 *
 * - bare, within its sign-in deadline: UnauthorizedError ("authenticate first"); stays open;
 * - bare, past its deadline (`authDeadline`, else `connectedAt + CHAT_AUTH_TIMEOUT_MS`): closed;
 * - signed in with a token that has since expired: closed (reconnect with a fresh token);
 * - no record (closed, expired): closed, so the client reconnects.
 *
 * "Closed" means: a `chat-error {code: "UNAUTHORIZED", message, requestId?}` frame is posted,
 * the connection is closed, and ConnectionClosedError (an UnauthorizedError) is thrown.
 */
export function makeRequireAuthenticatedConnection(deps: RequireAuthenticatedConnectionDeps) {
  const { connections, clock, limits } = deps;
  return async ({ connectionId, requestId }: RequireAuthenticatedConnectionInput): Promise<AuthenticatedConnection> => {
    const connection = await connections.get(connectionId);
    if (!connection) throw await closeWithError(deps, connectionId, 'This connection is closed; reconnect', requestId);
    const now = clock.now().getTime();
    if (connection.identity === null) {
      const deadline = connection.authDeadline ?? connection.connectedAt + limits.CHAT_AUTH_TIMEOUT_MS;
      if (now >= deadline) {
        throw await closeWithError(deps, connectionId, 'No chat-authenticate in time; reconnect and authenticate', requestId);
      }
      throw new UnauthorizedError('Authenticate first: send chat-authenticate with your token');
    }
    if (connection.tokenExpiresAt !== undefined && connection.tokenExpiresAt <= now) {
      throw await closeWithError(deps, connectionId, 'Your token has expired; reconnect with a fresh one', requestId);
    }
    return connection as AuthenticatedConnection;
  };
}
