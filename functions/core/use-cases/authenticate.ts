import type { Settings } from '#config/settings';
import { NotFoundError, UnauthorizedError } from '#core/errors';
import { partyOf, type Identity } from '#core/model';
import type {
  Broadcaster,
  Clock,
  ConnectionStore,
  ConversationStore,
  Logger,
  Metrics,
  PresenceStore,
  SubscriptionStore,
  TokenVerifier,
} from '#core/ports';
import { announcePresence } from './announce.ts';
import { closeOverLimit, closeWithError } from './closing.ts';
import type { Deliver } from './deliver.ts';
import { toAuthenticatedData, type AuthenticatedData } from './wire.ts';

export interface SignInDeps {
  verifier: TokenVerifier;
  connections: ConnectionStore;
  subscriptions: Pick<SubscriptionStore, 'removeConnection'>;
  presence: Pick<PresenceStore, 'connected' | 'disconnected'>;
  conversations: Pick<ConversationStore, 'counterpartsOf'>;
  broadcaster: Broadcaster;
  deliver: Deliver;
  clock: Clock;
  metrics: Metrics;
  logger: Logger;
  /** Waits between attempts to reach an evicted connection (tests pass a fake); setTimeout by default. */
  pause?: (ms: number) => Promise<void>;
}

export interface AuthenticateDeps extends SignInDeps {
  limits: Pick<Settings, 'CHAT_MAX_CONNECTIONS_PER_USER'>;
}

export interface AuthenticateInput {
  connectionId: string;
  token: string;
}

/** Verifies a token, counting refusals as `AuthFailures`. */
export async function verifyToken(deps: Pick<SignInDeps, 'verifier' | 'clock' | 'metrics' | 'logger'>, token: string) {
  try {
    const verified = await deps.verifier.verify(token);
    if (verified.identity.role === 'provider' && partyOf(verified.identity) === null) {
      throw new UnauthorizedError('A provider token must name the business (providerId)');
    }
    if (verified.expiresAt <= deps.clock.now().getTime()) throw new UnauthorizedError('The token has expired');
    return verified;
  } catch (error) {
    if (error instanceof UnauthorizedError) {
      deps.metrics.count('AuthFailures');
      deps.logger.info('Token refused', { reason: error.message });
    }
    throw error;
  }
}

/**
 * Attaches a verified identity to a recorded connection: closes the user's connections beyond the
 * newest `maxPerUser` (this one is the newest; see ConnectionStore.authenticate), each after a
 * `chat-error` `CONFLICT` `{reason: "connection_limit", maxConnections}`, adds the connection to
 * the user's presence, and when that brought the user online announces `chat-user-online` to their counterparts. Shared by authenticate and connect.
 */
export async function signIn(
  deps: SignInDeps,
  connectionId: string,
  verified: { identity: Identity; expiresAt: number },
  maxPerUser: number,
): Promise<AuthenticatedData> {
  const { connections, presence, clock, metrics, logger } = deps;
  const { identity } = verified;
  const { connection, evicted } = await connections.authenticate(connectionId, identity, verified.expiresAt, maxPerUser);

  // Each evicted connection gets a chat-error saying why, then is closed; its own $disconnect
  // forgets it. Closing may wait for an evicted connection's $connect to end, so presence goes on meanwhile.
  let closing: Promise<unknown> = Promise.resolve();
  if (evicted.length > 0) {
    metrics.count('ConnectionsEvicted', evicted.length);
    logger.info('Closing the connections of a user beyond the newest maximum', { userId: identity.userId, evicted, maxPerUser });
    closing = Promise.all(evicted.map((id) => closeOverLimit(deps, id, maxPerUser)));
  }

  const { presence: now, changed } = await presence.connected({
    userId: identity.userId,
    role: identity.role,
    providerId: identity.providerId,
    connectionId,
    at: clock.now().getTime(),
    expiresAt: connection.expiresAt,
  });
  if (changed) await announcePresence(deps, 'chat-user-online', identity, now);
  await closing;
  return toAuthenticatedData(identity, connectionId);
}

function sameIdentity(a: Identity, b: Identity): boolean {
  return a.userId === b.userId && a.role === b.role && a.providerId === b.providerId && a.serviceId === b.serviceId;
}

/**
 * `chat-authenticate {token}`: signs a connection in.
 *
 * - A refused token answers UnauthorizedError (counted as `AuthFailures`); the connection stays
 *   open and may try again until its deadline.
 * - The user's connections beyond the newest `CHAT_MAX_CONNECTIONS_PER_USER` are closed after a
 *   `chat-error` `CONFLICT` (counted as `ConnectionsEvicted`); this one, the newest, never is.
 *   This holds under any number of concurrent sign-ins of one user.
 * - The user's first connection announces `chat-user-online {userId, role, providerId?, lastSeen}`
 *   to the connections of everyone on the other side of a conversation with them.
 * - Signing in again as the same user refreshes the token expiry. Signing in as someone else
 *   first takes the previous user off the connection: out of its rooms (joined under the old
 *   identity's access) and out of its presence.
 * - A connection whose record is gone (closed, expired) is closed: ConnectionClosedError.
 *
 * @returns the `chat-authenticated` data `{userId, role, providerId?, connectionId}`.
 */
export function makeAuthenticate(deps: AuthenticateDeps) {
  const { connections, subscriptions, presence, clock, limits } = deps;
  return async ({ connectionId, token }: AuthenticateInput): Promise<AuthenticatedData> => {
    const verified = await verifyToken(deps, token);
    const previous = await connections.get(connectionId);
    if (!previous) throw await closeWithError(deps, connectionId, 'This connection is closed; reconnect');

    if (previous.identity && !sameIdentity(previous.identity, verified.identity)) {
      const old = previous.identity;
      await subscriptions.removeConnection(connectionId);
      const left = await presence.disconnected({ userId: old.userId, connectionId, at: clock.now().getTime(), role: old.role, providerId: old.providerId });
      if (left.changed) await announcePresence(deps, 'chat-user-offline', old, left.presence);
    }

    try {
      return await signIn(deps, connectionId, verified, limits.CHAT_MAX_CONNECTIONS_PER_USER);
    } catch (error) {
      if (error instanceof NotFoundError) throw await closeWithError(deps, connectionId, 'This connection is closed; reconnect');
      throw error;
    }
  };
}
