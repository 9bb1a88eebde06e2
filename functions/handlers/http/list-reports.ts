/** GET /moderation/reports: the admins' review queue, oldest first. */
import { authorizedHttpHandler } from '#handlers/shared/http';
import { useCases } from '#handlers/shared/use-cases';
import { listReportsQuery } from '#core/protocol';

export const handler = authorizedHttpHandler({ query: listReportsQuery }, async ({ identity, query }) => ({
  status: 200,
  body: await useCases().listReports({ identity, ...query }),
}));
