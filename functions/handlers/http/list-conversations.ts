/** GET /conversations: the caller's side's conversations, newest activity first, keyset-paged. */
import { authorizedHttpHandler } from '#handlers/shared/http';
import { useCase } from '#handlers/shared/use-cases';
import { makeListConversations } from '#core/use-cases/list-conversations';
import { listConversationsQuery } from '#core/protocol';
import '#handlers/shared/ports/postgres';
import '#handlers/shared/ports/realtime';

export const handler = authorizedHttpHandler({ query: listConversationsQuery }, async ({ identity, query }) => ({
  status: 200,
  body: await useCase(makeListConversations)({ identity, ...query }),
}));
