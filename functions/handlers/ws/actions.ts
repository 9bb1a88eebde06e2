/**
 * What each WebSocket action does, by route key: one use case call, whose result is the action's
 * ack (its schema is WS_ACTIONS[key].ack). The actions' names, data, sign-in rule and reply
 * event are declared once, in WS_ACTIONS (functions/core/protocol/actions.ts); the type below
 * makes this table list exactly those actions, each returning its declared ack. The route-key
 * handlers and the `$default` shim both dispatch here, so either spelling reaches the same code.
 */
import type { AckData, ActionData, RouteKey, SignedIn } from '#core/protocol';
import type { AuthenticatedConnection } from '#core/ports';
import type { UseCases } from '#core/use-cases/index';

export interface ActionContext<K extends RouteKey> {
  connectionId: string;
  data: ActionData<K>;
  requestId?: string;
  useCases: UseCases;
  /** The signed-in connection, for the actions that need sign-in (WS_ACTIONS[key].signedIn). */
  connection: SignedIn<K> extends true ? AuthenticatedConnection : undefined;
}

/** Runs one action; resolves with its ack (also the data of its reply event, when it has one). */
export type ActionRun<K extends RouteKey> = (context: ActionContext<K>) => Promise<AckData<K>>;

export const ACTION_IMPLEMENTATIONS: { [K in RouteKey]: ActionRun<K> } = {
  authenticate: ({ connectionId, data, useCases }) => useCases.authenticate({ connectionId, token: data.token }),
  ping: ({ useCases }) => useCases.ping(),
  joinConversation: ({ connection, data, useCases }) => useCases.joinConversation({ connection, conversationId: data.conversationId }),
  leaveConversation: ({ connectionId, data, useCases }) => useCases.leaveConversation({ connectionId, conversationId: data.conversationId }),
  // The sender's own connections receive chat-new-message through the fan-out.
  sendMessage: async ({ connection, data, useCases }) => {
    const { message, created } = await useCases.sendMessage({ identity: connection.identity, ...data });
    return { message, created };
  },
  typing: ({ connectionId, connection, data, useCases }) => useCases.typing({ identity: connection.identity, connectionId, ...data }),
  updateMessageStatus: async ({ connection, data, useCases }) => {
    const { message, changed } = await useCases.updateMessageStatus({ identity: connection.identity, ...data });
    return { message, changed };
  },
  markRead: async ({ connection, data, useCases }) => {
    const { conversationId, lastReadSeq, unreadCount, readCount } = await useCases.markRead({ identity: connection.identity, conversationId: data.conversationId });
    return { conversationId, lastReadSeq, unreadCount, readCount };
  },
  editMessage: async ({ connection, data, useCases }) => {
    const { message } = await useCases.editMessage({ identity: connection.identity, ...data });
    return { message };
  },
  deleteMessage: async ({ connection, data, useCases }) => {
    const { message } = await useCases.deleteMessage({ identity: connection.identity, ...data });
    return { message };
  },
  react: async ({ connection, data, useCases }) => {
    const { message } = await useCases.react({ identity: connection.identity, ...data });
    return { message };
  },
};
