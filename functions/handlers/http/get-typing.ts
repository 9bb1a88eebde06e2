/** GET /conversations/:id/typing: who is typing now (states older than CHAT_TYPING_TIMEOUT never appear). */
import { authorizedHttpHandler } from '#handlers/shared/http';
import { useCases } from '#handlers/shared/use-cases';
import { conversationIdParam } from '#core/protocol';
import '#handlers/shared/ports/postgres';
import '#handlers/shared/ports/realtime';

export const handler = authorizedHttpHandler({ params: conversationIdParam }, async ({ identity, params }) => ({
  status: 200,
  body: await useCases().getTyping({ identity, conversationId: params.conversationId }),
}));
