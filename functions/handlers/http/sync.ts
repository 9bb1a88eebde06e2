/** GET /sync?since=<cursor>&limit=: the caller's changes since a cursor, each exactly once. */
import { authorizedHttpHandler } from '#handlers/shared/http';
import { useCase } from '#handlers/shared/use-cases';
import { makeSync } from '#core/use-cases/sync';
import { syncQuery } from '#core/protocol';
import '#handlers/shared/ports/postgres';
import '#handlers/shared/ports/realtime';

export const handler = authorizedHttpHandler({ query: syncQuery }, async ({ identity, query }) => ({
  status: 200,
  body: await useCase(makeSync)({ identity, since: query.since, limit: query.limit }),
}));
