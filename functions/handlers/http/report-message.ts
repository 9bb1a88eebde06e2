/** POST /conversations/:id/messages/:messageId/report: 201 a new report, 200 the caller's earlier one. */
import { authorizedHttpHandler } from '#handlers/shared/http';
import { useCase } from '#handlers/shared/use-cases';
import { makeReportMessage } from '#core/use-cases/reports';
import { messageIdParam, reportMessageBody } from '#core/protocol';
import '#handlers/shared/ports/postgres';
import '#handlers/shared/ports/realtime';

export const handler = authorizedHttpHandler({ params: messageIdParam, body: reportMessageBody }, async ({ identity, params, body }) => {
  const { report, created } = await useCase(makeReportMessage)({ identity, ...params, ...body });
  return { status: created ? 201 : 200, body: { report } };
});
