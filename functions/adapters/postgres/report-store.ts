/**
 * ReportStore on Postgres: filing is one upsert (a reporter reports a message once, however many
 * times they ask), the queue one keyset range over (status, createdAt, id) joined to the
 * message as it is now, resolving one conditional update.
 */
import { createId } from '@paralleldrive/cuid2';
import type { Report } from '#core/model';
import type { ReportStore } from '#core/ports';
import { Prisma, type PrismaClient } from './generated/client.ts';
import { CURRENT_TXID, T, messageFromJson, messageJson } from './rows.ts';
import { recorded } from './change-log.ts';
import { decodeCursor as decode, encodeCursor as encode } from './conversation-store.ts';

type ReportRow = Report;

function toReport(row: ReportRow): Report {
  return {
    id: row.id,
    conversationId: row.conversationId,
    messageId: row.messageId,
    reporterId: row.reporterId,
    reason: row.reason,
    note: row.note,
    status: row.status,
    createdAt: row.createdAt,
    resolvedAt: row.resolvedAt,
    resolvedBy: row.resolvedBy,
    resolution: row.resolution,
    resolutionNote: row.resolutionNote,
  };
}

export function makeReportStore({ prisma }: { prisma: PrismaClient }): ReportStore {
  return {
    async file(input) {
      const id = createId();
      // A product report (no reporter) is one per message too: NULLs are distinct in a unique
      // index, so it is found by the partial match below before inserting.
      if (input.reporterId === null) {
        const existing = await prisma.report.findFirst({ where: { messageId: input.messageId, reporterId: null } });
        if (existing) return { report: toReport(existing), created: false, changes: [] };
      }
      // A new report records its report.created change (for the event pipeline only: never in
      // /sync) in the same statement.
      const rows = await prisma.$queryRaw<(ReportRow & { changeId: bigint | null })[]>`
        WITH report AS (
          INSERT INTO ${T.reports} (id, "conversationId", "messageId", "reporterId", reason, note)
          VALUES (${id}, ${input.conversationId}, ${input.messageId}, ${input.reporterId}, ${input.reason}::"ReportReason", ${input.note})
          ON CONFLICT ("messageId", "reporterId") DO UPDATE SET "messageId" = EXCLUDED."messageId"
          RETURNING *
        ), change AS (
          INSERT INTO ${T.changes} (txid, "conversationId", "customerId", "providerId", type, "messageId", data, at)
          SELECT ${CURRENT_TXID}, c.id, c."customerId", c."providerId", 'report.created', report."messageId",
                 jsonb_build_object('reportId', report.id), report."createdAt"
            FROM report JOIN ${T.conversations} c ON c.id = report."conversationId"
           WHERE report.id = ${id}
          RETURNING id
        )
        SELECT report.*, (SELECT id FROM change) AS "changeId" FROM report`;
      const { changeId, ...row } = rows[0]!;
      const report = toReport(row);
      return { report, created: row.id === id, changes: recorded(changeId, 'report.created', report.conversationId, report.createdAt, { reportId: report.id }) };
    },

    async get(reportId) {
      const row = await prisma.report.findUnique({ where: { id: reportId } });
      return row ? toReport(row) : null;
    },

    async list(status, limit, cursor) {
      const after = cursor ? decode(cursor) : null;
      const rows = await prisma.$queryRaw<(ReportRow & { message: Record<string, unknown> })[]>`
        SELECT r.*, ${messageJson('m')} AS message
          FROM ${T.reports} r
          JOIN ${T.messages} m ON m.id = r."messageId"
         WHERE r.status = ${status}::"ReportStatus"
           ${after ? Prisma.sql`AND (r."createdAt", r.id) > (${after.at}, ${after.id})` : Prisma.empty}
         ORDER BY r."createdAt", r.id
         LIMIT ${limit + 1}`;
      const page = rows.slice(0, limit);
      const last = page.at(-1);
      return {
        reports: page.map((row) => ({ report: toReport(row), message: messageFromJson(row.message) })),
        nextCursor: rows.length > limit && last ? encode({ at: last.createdAt, id: last.id }) : null,
      };
    },

    async resolve(reportId, { resolution, resolvedBy, resolutionNote, at }) {
      const { count } = await prisma.report.updateMany({
        where: { id: reportId, status: 'OPEN' },
        data: { status: 'RESOLVED', resolution, resolvedBy, resolutionNote, resolvedAt: at },
      });
      if (count === 0) return null;
      return toReport((await prisma.report.findUniqueOrThrow({ where: { id: reportId } })));
    },
  };
}
