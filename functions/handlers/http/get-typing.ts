/** GET /conversations/:id/typing: who is typing now (states older than CHAT_TYPING_TIMEOUT never appear). */
import { authorizedHttpHandler } from '#handlers/shared/http';
import { useCase } from '#handlers/shared/use-cases';
import { makeGetTyping } from '#core/use-cases/get-typing';
import { conversationIdParam } from '#core/protocol';
import '#handlers/shared/ports/postgres';
import '#handlers/shared/ports/realtime';

export const handler = authorizedHttpHandler({ params: conversationIdParam }, async ({ identity, params }) => ({
  status: 200,
  body: await useCase(makeGetTyping)({ identity, conversationId: params.conversationId }),
}));
