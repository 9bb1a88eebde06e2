/** POST /moderation/reports/:reportId/resolve: the action takes effect as the admin's own route would, then the report is RESOLVED. */
import { authorizedHttpHandler } from '#handlers/shared/http';
import { useCases } from '#handlers/shared/use-cases';
import { reportIdParam, resolveReportBody } from '#core/protocol';

export const handler = authorizedHttpHandler({ params: reportIdParam, body: resolveReportBody }, async ({ identity, params, body }) => ({
  status: 200,
  body: await useCases().resolveReport({ identity, reportId: params.reportId, ...body }),
}));
