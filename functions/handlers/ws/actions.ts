/**
 * What each WebSocket action does, by route key: one use case call, plus the event the contract
 * sends back to the caller's own connection. The route-key handlers and the `$default` shim both
 * dispatch here, so either spelling of an action reaches the same code.
 */
import type { ActionData, RouteKey } from '#core/protocol';
import type { AuthenticatedConnection } from '#core/ports';
import type { ServerFrame } from '#core/protocol';
import { frame } from '#core/use-cases/index';
import type { UseCases } from '#core/use-cases/index';

export interface ActionContext<K extends RouteKey> {
  connectionId: string;
  data: ActionData<K>;
  requestId?: string;
  useCases: UseCases;
  /** The signed-in connection; absent only for actions that need no sign-in. */
  connection: AuthenticatedConnection;
}

export interface ActionResult {
  /** `chat-ack` data for a request that carried a requestId. */
  ack: unknown;
  /** An event for the caller's own connection, sent whether or not there is a requestId. */
  reply?: ServerFrame;
}

interface Action<K extends RouteKey> {
  /** Whether the connection must have authenticated first. */
  signedIn: boolean;
  run(context: ActionContext<K>): Promise<ActionResult>;
}

const withReply = (event: Parameters<typeof frame>[0], data: unknown): ActionResult => ({ ack: data, reply: frame(event, data) });

export const ACTION_IMPLEMENTATIONS: { [K in RouteKey]: Action<K> } = {
  authenticate: {
    signedIn: false,
    run: async ({ connectionId, data, useCases }) =>
      withReply('chat-authenticated', await useCases.authenticate({ connectionId, token: data.token })),
  },
  ping: {
    signedIn: false,
    run: async ({ useCases }) => withReply('chat-pong', await useCases.ping()),
  },
  joinConversation: {
    signedIn: true,
    run: async ({ connection, data, useCases }) =>
      withReply('chat-joined-conversation', await useCases.joinConversation({ connection, conversationId: data.conversationId })),
  },
  leaveConversation: {
    signedIn: true,
    run: async ({ connectionId, data, useCases }) =>
      withReply('chat-left-conversation', await useCases.leaveConversation({ connectionId, conversationId: data.conversationId })),
  },
  sendMessage: {
    signedIn: true,
    // The sender's own connections receive chat-new-message through the fan-out.
    run: async ({ connection, data, useCases }) => {
      const { message, created } = await useCases.sendMessage({ identity: connection.identity, ...data });
      return { ack: { message, created } };
    },
  },
  typing: {
    signedIn: true,
    run: async ({ connectionId, connection, data, useCases }) => ({
      ack: await useCases.typing({ identity: connection.identity, connectionId, ...data }),
    }),
  },
  updateMessageStatus: {
    signedIn: true,
    run: async ({ connection, data, useCases }) => ({
      ack: await useCases.updateMessageStatus({ identity: connection.identity, ...data }),
    }),
  },
  markRead: {
    signedIn: true,
    run: async ({ connection, data, useCases }) => ({
      ack: await useCases.markRead({ identity: connection.identity, conversationId: data.conversationId }),
    }),
  },
};
