/** GET /providers/:providerId/stats: a provider's volumes and first-response times over a range. */
import { authorizedHttpHandler } from '#handlers/shared/http';
import { useCases } from '#handlers/shared/use-cases';
import { providerIdParam, providerStatsQuery } from '#core/protocol';
import '#handlers/shared/ports/postgres';
import '#handlers/shared/ports/realtime';

export const handler = authorizedHttpHandler({ params: providerIdParam, query: providerStatsQuery }, async ({ identity, params, query }) => ({
  status: 200,
  body: await useCases().providerStats({ identity, providerId: params.providerId, ...query }),
}));
