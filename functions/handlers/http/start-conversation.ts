/** POST /conversations: start a conversation, or get the ACTIVE one (201 created / 200 existing). */
import { authorizedHttpHandler } from '#handlers/shared/http';
import { useCase } from '#handlers/shared/use-cases';
import { makeStartConversation } from '#core/use-cases/start-conversation';
import { startConversationBody } from '#core/protocol';
import '#handlers/shared/ports/postgres';
import '#handlers/shared/ports/realtime';

export const handler = authorizedHttpHandler({ body: startConversationBody }, async ({ identity, body }) => {
  const { conversation, created } = await useCase(makeStartConversation)({ identity, ...body });
  return { status: created ? 201 : 200, body: { conversation } };
});
