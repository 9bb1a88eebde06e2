/** WebSocket route `leaveConversation`, the seed's `chat-leave-conversation` (declared in WS_ACTIONS). */
import { action, wsActionHandler } from '#handlers/shared/ws';
import { useCase } from '#handlers/shared/use-cases';
import { makeLeaveConversation } from '#core/use-cases/leave-conversation';

export const leaveConversation = action('leaveConversation', ({ connectionId, data }) =>
  useCase(makeLeaveConversation)({ connectionId, conversationId: data.conversationId }),
);

export const handler = wsActionHandler(leaveConversation);
