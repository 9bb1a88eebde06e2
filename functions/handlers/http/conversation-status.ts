/**
 * POST /conversations/:id/block, /unblock and /end, and PATCH /conversations/:id/assignee: one
 * function for the changes to a conversation's state (see functions/core/use-cases/
 * conversation-status.ts and assign-conversation.ts for who may, and what each changes).
 */
import { authorizedHttpHandler, routeHandlers } from '#handlers/shared/http';
import { useCases } from '#handlers/shared/use-cases';
import { assignConversationBody, conversationIdParam } from '#core/protocol';
import '#handlers/shared/ports/postgres';
import '#handlers/shared/ports/realtime';

const statusChange = (change: 'blockConversation' | 'unblockConversation' | 'endConversation') =>
  authorizedHttpHandler({ params: conversationIdParam }, async ({ identity, params }) => ({
    status: 200,
    body: await useCases()[change]({ identity, conversationId: params.conversationId }),
  }));

export const handler = routeHandlers({
  blockConversation: statusChange('blockConversation'),
  unblockConversation: statusChange('unblockConversation'),
  endConversation: statusChange('endConversation'),
  assignConversation: authorizedHttpHandler({ params: conversationIdParam, body: assignConversationBody }, async ({ identity, params, body }) => ({
    status: 200,
    body: await useCases().assignConversation({ identity, conversationId: params.conversationId, userId: body.userId }),
  })),
});
