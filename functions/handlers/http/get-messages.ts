/** GET /conversations/:id/messages: history by page (1 = newest), or keyset after/before a seq. */
import { authorizedHttpHandler } from '#handlers/shared/http';
import { useCases } from '#handlers/shared/use-cases';
import { conversationIdParam, historyQuery } from '#core/protocol';

export const handler = authorizedHttpHandler({ params: conversationIdParam, query: historyQuery }, async ({ identity, params, query }) => ({
  status: 200,
  body: await useCases().getHistory({ identity, conversationId: params.conversationId, ...query }),
}));
