/**
 * AttachmentStore on Postgres: the `chatAttachments` table.
 *
 * Round trips: creating, reading and each sweep step are one statement each. Finishing is one
 * statement too: it moves the attachment out of PENDING (only from PENDING, so a repeated
 * delivery of the same upload changes nothing) and records its `attachment.updated` change for
 * the uploader alone (`userId` = the uploader, `side` = the uploader's side), in the same
 * transaction. Claiming by a message is the message store's append (message-store.ts).
 */
import type { Attachment } from '#core/model';
import type { AttachmentStore, ProcessingOutcome } from '#core/ports';
import { type PrismaClient } from './generated/client.ts';
import { recorded } from './change-log.ts';
import { CURRENT_TXID, T, toAttachment } from './rows.ts';

type FinishedRow = Attachment & { changeId: bigint | null };

/** The columns an outcome sets: READY records what processing stored, REJECTED only why. */
function outcomeColumns(outcome: ProcessingOutcome) {
  return outcome.status === 'READY'
    ? { size: outcome.size, contentType: outcome.contentType, width: outcome.width, height: outcome.height, hasThumbnail: outcome.hasThumbnail, reason: null }
    : { size: null, contentType: null, width: null, height: null, hasThumbnail: false, reason: outcome.reason };
}

export function makeAttachmentStore({ prisma }: { prisma: PrismaClient }): AttachmentStore {
  return {
    async create(input) {
      const row = await prisma.attachment.create({
        data: {
          conversationId: input.conversationId,
          uploaderId: input.uploaderId,
          uploaderSide: input.uploaderSide,
          fileName: input.fileName,
          contentType: input.contentType,
          size: input.size,
        },
      });
      return toAttachment(row as unknown as Attachment);
    },

    async get(attachmentId) {
      const row = await prisma.attachment.findUnique({ where: { id: attachmentId } });
      return row ? toAttachment(row as unknown as Attachment) : null;
    },

    async finish(attachmentId, outcome, at) {
      const c = outcomeColumns(outcome);
      const rows = await prisma.$queryRaw<FinishedRow[]>`
        WITH updated AS (
          UPDATE ${T.attachments} a
             SET status = ${outcome.status}::"AttachmentStatus",
                 size = COALESCE(${c.size}::int, a.size),
                 "contentType" = COALESCE(${c.contentType}::text, a."contentType"),
                 width = ${c.width}::int, height = ${c.height}::int, "hasThumbnail" = ${c.hasThumbnail},
                 "rejectedReason" = ${c.reason}::text, "processedAt" = ${at}, "updatedAt" = ${at}
           WHERE a.id = ${attachmentId} AND a.status = 'PENDING'
          RETURNING a.*
        ), change AS (
          INSERT INTO ${T.changes} (txid, "conversationId", "customerId", "providerId", side, "userId", type, data, at)
          SELECT ${CURRENT_TXID}, u."conversationId", cv."customerId", cv."providerId", u."uploaderSide", u."uploaderId",
                 'attachment.updated', jsonb_build_object('attachmentId', u.id), ${at}
            FROM updated u JOIN ${T.conversations} cv ON cv.id = u."conversationId"
          RETURNING id
        )
        SELECT updated.*, (SELECT id FROM change) AS "changeId" FROM updated`;
      const row = rows[0];
      if (!row) return null;
      const { changeId, ...attachment } = row;
      return {
        attachment: toAttachment(attachment),
        changes: recorded(changeId, 'attachment.updated', attachment.conversationId, at, { attachmentId: attachment.id }),
      };
    },

    async orphans(before, limit) {
      const rows = await prisma.attachment.findMany({
        where: { messageId: null, createdAt: { lt: before } },
        orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
        take: limit,
      });
      return rows.map((row) => toAttachment(row as unknown as Attachment));
    },

    async ofDeletedMessages(limit) {
      const rows = await prisma.$queryRaw<Attachment[]>`
        SELECT a.* FROM ${T.attachments} a JOIN ${T.messages} m ON m.id = a."messageId"
         WHERE m."deletedAt" IS NOT NULL
         ORDER BY m."deletedAt", a.id
         LIMIT ${limit}::int`;
      return rows.map(toAttachment);
    },

    async removeUnclaimed(attachmentIds) {
      if (attachmentIds.length === 0) return [];
      const rows = await prisma.$queryRaw<{ id: string }[]>`
        DELETE FROM ${T.attachments} a
         WHERE a.id = ANY(${[...attachmentIds]}::text[])
           AND (a."messageId" IS NULL
                OR EXISTS (SELECT 1 FROM ${T.messages} m WHERE m.id = a."messageId" AND m."deletedAt" IS NOT NULL))
        RETURNING a.id`;
      return rows.map((row) => row.id);
    },
  };
}
