/** PATCH /conversations/:id/archive: archived for the caller's side only; a new message un-archives it. */
import { authorizedHttpHandler } from '#handlers/shared/http';
import { useCase } from '#handlers/shared/use-cases';
import { makeArchiveConversation } from '#core/use-cases/archive-conversation';
import { conversationIdParam } from '#core/protocol';
import '#handlers/shared/ports/postgres';
import '#handlers/shared/ports/realtime';

export const handler = authorizedHttpHandler({ params: conversationIdParam }, async ({ identity, params }) => ({
  status: 200,
  body: await useCase(makeArchiveConversation)({ identity, conversationId: params.conversationId }),
}));
