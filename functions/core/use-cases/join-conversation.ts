import type { AuthenticatedConnection, ConversationStore, SubscriptionStore } from '#core/ports';
import { loadConversation, requireReader } from './access.ts';

export interface JoinConversationDeps {
  conversations: Pick<ConversationStore, 'get'>;
  subscriptions: Pick<SubscriptionStore, 'subscribe'>;
}

export interface JoinConversationInput {
  /** The caller's connection, from requireAuthenticatedConnection. */
  connection: AuthenticatedConnection;
  conversationId: string;
}

/**
 * `chat-join-conversation`: subscribes the connection to the conversation's room, so it hears
 * typing (and, for admins, who are no side, the conversation's messages and receipts). The
 * membership lives as long as the connection. Joining twice keeps one membership.
 *
 * Participants may join; admins may join read-only (they still cannot type or send).
 *
 * @returns `{conversationId}`, the `chat-joined-conversation` data.
 * @throws NotFoundError when the conversation does not exist.
 * @throws ForbiddenError for non-participants.
 */
export function makeJoinConversation({ conversations, subscriptions }: JoinConversationDeps) {
  return async ({ connection, conversationId }: JoinConversationInput): Promise<{ conversationId: string }> => {
    requireReader(connection.identity, await loadConversation(conversations, conversationId));
    await subscriptions.subscribe({
      conversationId,
      connectionId: connection.connectionId,
      userId: connection.identity.userId,
      expiresAt: connection.expiresAt,
    });
    return { conversationId };
  };
}
