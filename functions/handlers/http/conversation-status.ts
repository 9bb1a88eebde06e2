/**
 * POST /conversations/:id/block, /unblock and /end: one function for the three status changes
 * (see functions/core/use-cases/conversation-status.ts for who may, and what each changes).
 */
import { authorizedHttpHandler, routeHandlers } from '#handlers/shared/http';
import { useCases } from '#handlers/shared/use-cases';
import { conversationIdParam } from '#core/protocol';

const statusChange = (change: 'blockConversation' | 'unblockConversation' | 'endConversation') =>
  authorizedHttpHandler({ params: conversationIdParam }, async ({ identity, params }) => ({
    status: 200,
    body: await useCases()[change]({ identity, conversationId: params.conversationId }),
  }));

export const handler = routeHandlers({
  blockConversation: statusChange('blockConversation'),
  unblockConversation: statusChange('unblockConversation'),
  endConversation: statusChange('endConversation'),
});
