import type { SubscriptionStore } from '#core/ports';

export interface LeaveConversationDeps {
  subscriptions: Pick<SubscriptionStore, 'unsubscribe'>;
}

export interface LeaveConversationInput {
  connectionId: string;
  conversationId: string;
}

/**
 * `chat-leave-conversation`: leaves the conversation's room. Leaving a room the connection is
 * not in (or a conversation that does not exist) is not an error, so no access check and no
 * Postgres: the route runs outside the VPC.
 *
 * @returns `{conversationId}`, the `chat-left-conversation` data.
 */
export function makeLeaveConversation({ subscriptions }: LeaveConversationDeps) {
  return async ({ connectionId, conversationId }: LeaveConversationInput): Promise<{ conversationId: string }> => {
    await subscriptions.unsubscribe(conversationId, connectionId);
    return { conversationId };
  };
}
