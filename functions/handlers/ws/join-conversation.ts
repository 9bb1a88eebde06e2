/** WebSocket route `joinConversation`, the seed's `chat-join-conversation` (declared in WS_ACTIONS). */
import { action, wsActionHandler } from '#handlers/shared/ws';
import { useCase } from '#handlers/shared/use-cases';
import { makeJoinConversation } from '#core/use-cases/join-conversation';
import '#handlers/shared/ports/postgres';

export const joinConversation = action('joinConversation', ({ connection, data }) =>
  useCase(makeJoinConversation)({ connection, conversationId: data.conversationId }),
);

export const handler = wsActionHandler(joinConversation);
