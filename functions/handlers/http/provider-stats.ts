/** GET /providers/:providerId/stats: a provider's volumes and first-response times over a range. */
import { authorizedHttpHandler } from '#handlers/shared/http';
import { useCase } from '#handlers/shared/use-cases';
import { makeProviderStats } from '#core/use-cases/provider-stats';
import { providerIdParam, providerStatsQuery } from '#core/protocol';
import '#handlers/shared/ports/postgres';
import '#handlers/shared/ports/realtime';

export const handler = authorizedHttpHandler({ params: providerIdParam, query: providerStatsQuery }, async ({ identity, params, query }) => ({
  status: 200,
  body: await useCase(makeProviderStats)({ identity, providerId: params.providerId, ...query }),
}));
