import type { ConnectionStore, ConversationStore, Clock, Logger, PresenceStore, SubscriptionStore } from '#core/ports';
import { announcePresence } from './announce.ts';
import type { Deliver } from './deliver.ts';

export interface DisconnectDeps {
  connections: ConnectionStore;
  subscriptions: SubscriptionStore;
  presence: PresenceStore;
  conversations: Pick<ConversationStore, 'counterpartsOf'>;
  deliver: Deliver;
  clock: Clock;
  logger: Logger;
}

export interface DisconnectInput {
  connectionId: string;
}

export interface DisconnectResult {
  /** Whether the connection was still recorded (false for a repeated disconnect). */
  removed: boolean;
  /** Conversations whose rooms it left. */
  leftConversations: string[];
  /** Whether this was the user's last connection, so they were announced offline. */
  wentOffline: boolean;
}

/**
 * Forgets a connection: its record, its room subscriptions and its share of the user's presence.
 * When it was the user's last connection, `chat-user-offline {userId, role, providerId?, lastSeen}`
 * goes to the connections of the user's counterparts.
 *
 * Serves `$disconnect`, and the pruning of connections API Gateway reports gone. Idempotent: a
 * second call for the same connection changes nothing and announces nothing. The announcement is
 * best-effort; the state is removed even when it cannot be sent.
 */
export function makeDisconnect(deps: DisconnectDeps): (input: DisconnectInput) => Promise<DisconnectResult> {
  const { connections, subscriptions, presence, clock } = deps;
  return async ({ connectionId }) => {
    const [removed, leftConversations] = await Promise.all([
      connections.remove(connectionId),
      subscriptions.removeConnection(connectionId),
    ]);
    const identity = removed?.identity ?? null;
    if (!identity) return { removed: removed !== null, leftConversations, wentOffline: false };

    const { presence: after, changed } = await presence.disconnected({
      userId: identity.userId,
      connectionId,
      at: clock.now().getTime(),
      role: identity.role,
      providerId: identity.providerId,
    });
    if (changed) await announcePresence(deps, 'chat-user-offline', identity, after);
    return { removed: true, leftConversations, wentOffline: changed };
  };
}
