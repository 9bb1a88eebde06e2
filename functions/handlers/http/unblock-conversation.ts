/** POST /conversations/:id/unblock: see functions/core/use-cases/conversation-status.ts for who may, and what it changes. */
import { authorizedHttpHandler } from '#handlers/shared/http';
import { useCases } from '#handlers/shared/use-cases';
import { conversationIdParam } from '#core/protocol';

export const handler = authorizedHttpHandler({ params: conversationIdParam }, async ({ identity, params }) => ({
  status: 200,
  body: await useCases().unblockConversation({ identity, conversationId: params.conversationId }),
}));
