/** GET /sync?since=<cursor>&limit=: the caller's changes since a cursor, each exactly once. */
import { authorizedHttpHandler } from '#handlers/shared/http';
import { useCases } from '#handlers/shared/use-cases';
import { syncQuery } from '#core/protocol';
import '#handlers/shared/ports/postgres';
import '#handlers/shared/ports/realtime';

export const handler = authorizedHttpHandler({ query: syncQuery }, async ({ identity, query }) => ({
  status: 200,
  body: await useCases().sync({ identity, since: query.since, limit: query.limit }),
}));
