/**
 * Reading messages: GET /conversations/:id/messages (history by page, 1 = newest, or keyset
 * after/before a seq) and GET /search/messages (full-text search over what the caller may read).
 */
import { authorizedHttpHandler, routeHandlers } from '#handlers/shared/http';
import { useCase } from '#handlers/shared/use-cases';
import { makeGetHistory } from '#core/use-cases/get-history';
import { makeSearchMessages } from '#core/use-cases/search-messages';
import { conversationIdParam, historyQuery, searchMessagesQuery } from '#core/protocol';
import '#handlers/shared/ports/postgres';
import '#handlers/shared/ports/realtime';

export const handler = routeHandlers({
  getMessages: authorizedHttpHandler({ params: conversationIdParam, query: historyQuery }, async ({ identity, params, query }) => ({
    status: 200,
    body: await useCase(makeGetHistory)({ identity, conversationId: params.conversationId, ...query }),
  })),
  searchMessages: authorizedHttpHandler({ query: searchMessagesQuery }, async ({ identity, query }) => ({
    status: 200,
    body: await useCase(makeSearchMessages)({ identity, ...query }),
  })),
});
