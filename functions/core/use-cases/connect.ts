import type { Settings } from '#config/settings';
import { iso, type AuthenticatedData } from './wire.ts';
import { signIn, verifyToken, type SignInDeps } from './authenticate.ts';

export type ConnectLimits = Pick<Settings, 'CHAT_AUTH_TIMEOUT_MS' | 'CHAT_CONNECTION_TTL_SECONDS' | 'CHAT_MAX_CONNECTIONS_PER_USER'>;

export interface ConnectDeps extends SignInDeps {
  limits: ConnectLimits;
}

export interface ConnectInput {
  connectionId: string;
  /** `?token=`; absent or empty: a bare connection. */
  token?: string | null;
}

export interface ConnectResult {
  connectionId: string;
  /** Who signed in with `?token`, or null for a bare connection. */
  authenticated: AuthenticatedData | null;
  /** When a bare connection must have sent `chat-authenticate` (ISO); null when authenticated. */
  authDeadline: string | null;
}

/**
 * `$connect`. With `?token=`: the token is verified first, so a refused one stores nothing and
 * answers UnauthorizedError (the handler answers 401 and API Gateway refuses the connection);
 * then the connection is recorded and signed in exactly as `chat-authenticate` does (eviction,
 * presence, `chat-user-online`). Without a token: the connection is recorded bare, and must
 * authenticate within `CHAT_AUTH_TIMEOUT_MS`.
 *
 * The record lives `CHAT_CONNECTION_TTL_SECONDS` (API Gateway's 2-hour maximum plus a margin).
 */
export function makeConnect(deps: ConnectDeps) {
  const { connections, clock, limits } = deps;
  return async ({ connectionId, token }: ConnectInput): Promise<ConnectResult> => {
    const verified = token ? await verifyToken(deps, token) : null;
    const now = clock.now().getTime();
    const authDeadline = now + limits.CHAT_AUTH_TIMEOUT_MS;
    await connections.put({
      connectionId,
      connectedAt: now,
      expiresAt: now + limits.CHAT_CONNECTION_TTL_SECONDS * 1000,
      identity: null,
      authDeadline,
    });
    if (!verified) return { connectionId, authenticated: null, authDeadline: iso(authDeadline) };
    const authenticated = await signIn(deps, connectionId, verified, limits.CHAT_MAX_CONNECTIONS_PER_USER);
    return { connectionId, authenticated, authDeadline: null };
  };
}
