/**
 * MessageStore on Postgres.
 *
 * Round trips: append is one statement (one round trip) that takes the next seq, stores the
 * message, and bumps both participant rows. A concurrent duplicate clientMessageId loses the
 * race on the unique index, the whole statement rolls back (so no seq is burnt), and one retry
 * returns the stored message: two round trips, only in that race. History, status updates and
 * mark-read are one statement each.
 */
import { createId } from '@paralleldrive/cuid2';
import type { AppendMessageInput, HistoryPage, HistoryQuery, MarkReadResult, MessageStore } from '#core/ports';
import type { Message, Side } from '#core/model';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '#core/errors';
import { Prisma, type PrismaClient } from './generated/client.ts';
import { T, toMessage, type MessageRow } from './rows.ts';

const UNIQUE_VIOLATION = '23505';

function isUniqueViolation(error: unknown): boolean {
  if (!error || typeof error !== 'object') return false;
  const e = error as { code?: unknown; meta?: { code?: unknown; driverAdapterError?: { cause?: { originalCode?: unknown; kind?: unknown } } } };
  const cause = e.meta?.driverAdapterError?.cause;
  return (
    e.code === 'P2002' ||
    e.code === 'P2010' && (e.meta?.code === UNIQUE_VIOLATION || cause?.originalCode === UNIQUE_VIOLATION) ||
    cause?.kind === 'UniqueConstraintViolation' ||
    cause?.originalCode === UNIQUE_VIOLATION
  );
}

const json = (value: unknown) => (value === undefined || value === null ? null : JSON.stringify(value));

export function makeMessageStore({ prisma }: { prisma: PrismaClient }): MessageStore {
  async function appendOnce(input: AppendMessageInput, at: Date): Promise<(MessageRow & { created: boolean })[]> {
    const clientMessageId = input.clientMessageId ?? null;
    const replyToId = input.replyToId ?? null;
    return prisma.$queryRaw<(MessageRow & { created: boolean })[]>`
      WITH conv AS (
        UPDATE ${T.conversations}
           SET "lastSeq" = "lastSeq" + 1, "lastMessageAt" = ${at}, "updatedAt" = ${at}
         WHERE id = ${input.conversationId}
           AND status = 'ACTIVE'
           AND CASE WHEN ${input.senderRole} = 'customer' THEN "customerId" ELSE "providerId" END = ${input.senderPartyId}::int
           AND NOT EXISTS (
                 SELECT 1 FROM ${T.messages}
                  WHERE "conversationId" = ${input.conversationId} AND "senderRole" = ${input.senderRole}::"ChatSide"
                    AND "senderId" = ${input.senderId} AND "clientMessageId" = ${clientMessageId}::text)
           AND (${replyToId}::text IS NULL OR EXISTS (
                 SELECT 1 FROM ${T.messages} WHERE id = ${replyToId}::text AND "conversationId" = ${input.conversationId}))
        RETURNING "lastSeq", "customerId", "providerId"
      ), inserted AS (
        INSERT INTO ${T.messages}
               (id, "conversationId", seq, "senderId", "senderRole", "receiverId", "messageType", content,
                attachments, "replyToId", metadata, "clientMessageId", "createdAt", "updatedAt")
        SELECT ${createId()}, ${input.conversationId}, conv."lastSeq", ${input.senderId}, ${input.senderRole}::"ChatSide",
               CASE WHEN ${input.senderRole} = 'customer' THEN conv."providerId" ELSE conv."customerId" END,
               ${input.messageType}::"ProviderChatMessageType", ${input.content},
               ${json(input.attachments)}::jsonb, ${replyToId}::text, ${json(input.metadata)}::jsonb, ${clientMessageId}::text,
               ${at}, ${at}
          FROM conv
        RETURNING *
      ), participants AS (
        UPDATE ${T.participants} p
           SET "lastActivityAt" = ${at}, "updatedAt" = ${at}, "archivedAt" = NULL,
               "unreadCount" = p."unreadCount" + CASE WHEN p.side <> ${input.senderRole}::"ChatSide" THEN 1 ELSE 0 END
          FROM conv
         WHERE p."conversationId" = ${input.conversationId}
      )
      SELECT *, true AS created FROM inserted
      UNION ALL
      SELECT *, false AS created FROM ${T.messages}
       WHERE "conversationId" = ${input.conversationId} AND "senderRole" = ${input.senderRole}::"ChatSide"
         AND "senderId" = ${input.senderId} AND "clientMessageId" = ${clientMessageId}::text`;
  }

  /** Why an append stored nothing: the conversation is missing, not the sender's, not ACTIVE, or the reply target is foreign. */
  async function explainRefusal(input: AppendMessageInput): Promise<never> {
    const conversation = await prisma.conversation.findUnique({
      where: { id: input.conversationId },
      select: { status: true, customerId: true, providerId: true },
    });
    if (!conversation) throw new NotFoundError('Conversation not found');
    const sidePartyId = input.senderRole === 'customer' ? conversation.customerId : conversation.providerId;
    if (sidePartyId !== input.senderPartyId) throw new ForbiddenError('You are not a participant of this conversation');
    if (conversation.status !== 'ACTIVE') {
      throw new ConflictError(`Conversation is ${conversation.status}; messages can only be sent to an ACTIVE conversation`);
    }
    throw new ValidationError('replyToId must name a message of the same conversation', { field: 'replyToId' });
  }

  return {
    async append(input) {
      const at = new Date();
      let rows: (MessageRow & { created: boolean })[];
      try {
        rows = await appendOnce(input, at);
      } catch (error) {
        // A concurrent send with the same clientMessageId committed first; this statement rolled
        // back whole. Running it again finds and returns the stored message.
        if (!input.clientMessageId || !isUniqueViolation(error)) throw error;
        rows = await appendOnce(input, at);
      }
      const row = rows[0];
      if (!row) return explainRefusal(input);
      const { created, ...message } = row;
      return { message: toMessage(message), created };
    },

    async get(messageId) {
      const row = await prisma.message.findUnique({ where: { id: messageId } });
      return row ? toMessage(row as unknown as MessageRow) : null;
    },

    async history(conversationId: string, query: HistoryQuery): Promise<HistoryPage> {
      // seq has no gaps, so every kind of page is a range on the (conversationId, seq) index.
      const conv = Prisma.sql`(SELECT "lastSeq" FROM ${T.conversations} WHERE id = ${conversationId})`;
      let range: Prisma.Sql;
      let order: Prisma.Sql;
      let take: number;
      if (query.kind === 'page') {
        const upper = Prisma.sql`${conv} - ${(query.page - 1) * query.limit}::int`;
        range = Prisma.sql`seq <= ${upper} AND seq > ${upper} - ${query.limit}::int`;
        order = Prisma.sql`ORDER BY seq ASC`;
        take = query.limit;
      } else if (query.kind === 'after') {
        range = Prisma.sql`seq > ${query.afterSeq}::int`;
        order = Prisma.sql`ORDER BY seq ASC LIMIT ${query.limit + 1}::int`;
        take = query.limit + 1;
      } else {
        range = Prisma.sql`seq < ${query.beforeSeq}::int`;
        order = Prisma.sql`ORDER BY seq DESC LIMIT ${query.limit + 1}::int`;
        take = query.limit + 1;
      }
      const rows = await prisma.$queryRaw<(MessageRow & { total: number | null })[]>`
        SELECT m.*, t.total
          FROM (SELECT ${conv} AS total) t
          LEFT JOIN LATERAL (
            SELECT * FROM ${T.messages} WHERE "conversationId" = ${conversationId} AND ${range} ${order}
          ) m ON true`;
      const total = rows[0]?.total ?? 0;
      const found = rows.filter((row) => row.id !== null).map(({ total: _total, ...row }) => toMessage(row));
      if (query.kind === 'page') {
        const oldestSeq = total - query.page * query.limit;
        return { messages: found, hasMore: oldestSeq > 0, total };
      }
      const hasMore = found.length === take && take > query.limit;
      const page = found.slice(0, query.limit);
      return { messages: query.kind === 'before' ? page.reverse() : page, hasMore, total };
    },

    async advanceStatus(messageId: string, status: 'DELIVERED' | 'READ', at: Date): Promise<Message | null> {
      const from = status === 'READ' ? Prisma.sql`('SENT', 'DELIVERED')` : Prisma.sql`('SENT')`;
      const readAt = status === 'READ' ? Prisma.sql`COALESCE("readAt", ${at})` : Prisma.sql`"readAt"`;
      const rows = await prisma.$queryRaw<MessageRow[]>`
        WITH updated AS (
          UPDATE ${T.messages}
             SET status = ${status}::"MessageStatus", "deliveredAt" = COALESCE("deliveredAt", ${at}),
                 "readAt" = ${readAt}, "updatedAt" = ${at}
           WHERE id = ${messageId} AND status::text IN ${from}
          RETURNING *
        ), unread AS (
          UPDATE ${T.participants} p
             SET "unreadCount" = GREATEST(p."unreadCount" - 1, 0), "updatedAt" = ${at}
            FROM updated u
           WHERE ${status} = 'READ' AND p."conversationId" = u."conversationId"
             AND p.side <> u."senderRole" AND u.seq > p."lastReadSeq"
        )
        SELECT * FROM updated`;
      return rows[0] ? toMessage(rows[0]) : null;
    },

    async markRead(conversationId: string, side: Side, at: Date): Promise<MarkReadResult> {
      // Messages at or below the side's previous lastReadSeq are already READ, so only the
      // range above it is touched.
      const rows = await prisma.$queryRaw<(MessageRow & { lastReadSeq: number })[]>`
        WITH previous AS (
          SELECT p."lastReadSeq" FROM ${T.participants} p
           WHERE p."conversationId" = ${conversationId} AND p.side = ${side}::"ChatSide"
        ), participant AS (
          UPDATE ${T.participants} p
             SET "unreadCount" = 0, "lastReadSeq" = GREATEST(p."lastReadSeq", c."lastSeq"), "updatedAt" = ${at}
            FROM ${T.conversations} c
           WHERE c.id = p."conversationId" AND p."conversationId" = ${conversationId} AND p.side = ${side}::"ChatSide"
          RETURNING p."lastReadSeq"
        ), updated AS (
          UPDATE ${T.messages} m
             SET status = 'READ', "readAt" = ${at}, "deliveredAt" = COALESCE(m."deliveredAt", ${at}), "updatedAt" = ${at}
            FROM previous
           WHERE m."conversationId" = ${conversationId} AND m.seq > previous."lastReadSeq"
             AND m."senderRole" <> ${side}::"ChatSide" AND m.status IN ('SENT', 'DELIVERED')
          RETURNING m.*
        )
        SELECT r."lastReadSeq", u.*
          FROM participant r
          LEFT JOIN updated u ON true
         ORDER BY u.seq ASC`;
      const lastReadSeq = rows[0]?.lastReadSeq ?? 0;
      const messages = rows.filter((row) => row.id !== null).map(({ lastReadSeq: _l, ...row }) => toMessage(row));
      return { messages, lastReadSeq };
    },
  };
}
