/** GET /providers/:providerId/stats: a provider's volumes and first-response times over a range. */
import { authorizedHttpHandler } from '#handlers/shared/http';
import { useCases } from '#handlers/shared/use-cases';
import { providerIdParam, providerStatsQuery } from '#core/protocol';

export const handler = authorizedHttpHandler({ params: providerIdParam, query: providerStatsQuery }, async ({ identity, params, query }) => ({
  status: 200,
  body: await useCases().providerStats({ identity, providerId: params.providerId, ...query }),
}));
