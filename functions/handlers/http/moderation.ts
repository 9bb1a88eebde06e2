/**
 * The admins' review queue: GET /moderation/reports (oldest first) and
 * POST /moderation/reports/:reportId/resolve (the action takes effect as the admin's own route
 * would, then the report is RESOLVED).
 */
import { authorizedHttpHandler, routeHandlers } from '#handlers/shared/http';
import { useCase } from '#handlers/shared/use-cases';
import { makeListReports } from '#core/use-cases/reports';
import { makeModeratedResolveReport } from '#core/use-cases/wiring';
import { listReportsQuery, reportIdParam, resolveReportBody } from '#core/protocol';
import '#handlers/shared/ports/postgres';
import '#handlers/shared/ports/realtime';

export const handler = routeHandlers({
  listReports: authorizedHttpHandler({ query: listReportsQuery }, async ({ identity, query }) => ({
    status: 200,
    body: await useCase(makeListReports)({ identity, ...query }),
  })),
  resolveReport: authorizedHttpHandler({ params: reportIdParam, body: resolveReportBody }, async ({ identity, params, body }) => ({
    status: 200,
    body: await useCase(makeModeratedResolveReport)({ identity, reportId: params.reportId, ...body }),
  })),
});
