/**
 * POST /conversations/:id/block, /unblock and /end, and PATCH /conversations/:id/assignee: one
 * function for the changes to a conversation's state (see functions/core/use-cases/
 * conversation-status.ts and assign-conversation.ts for who may, and what each changes).
 */
import { authorizedHttpHandler, routeHandlers } from '#handlers/shared/http';
import { useCase } from '#handlers/shared/use-cases';
import { makeAssignConversation } from '#core/use-cases/assign-conversation';
import { makeBlockConversation, makeEndConversation, makeUnblockConversation } from '#core/use-cases/conversation-status';
import { assignConversationBody, conversationIdParam } from '#core/protocol';
import '#handlers/shared/ports/postgres';
import '#handlers/shared/ports/realtime';

const statusChange = (make: typeof makeBlockConversation | typeof makeUnblockConversation | typeof makeEndConversation) =>
  authorizedHttpHandler({ params: conversationIdParam }, async ({ identity, params }) => ({
    status: 200,
    body: await useCase(make)({ identity, conversationId: params.conversationId }),
  }));

export const handler = routeHandlers({
  blockConversation: statusChange(makeBlockConversation),
  unblockConversation: statusChange(makeUnblockConversation),
  endConversation: statusChange(makeEndConversation),
  assignConversation: authorizedHttpHandler({ params: conversationIdParam, body: assignConversationBody }, async ({ identity, params, body }) => ({
    status: 200,
    body: await useCase(makeAssignConversation)({ identity, conversationId: params.conversationId, userId: body.userId }),
  })),
});
