/**
 * ConversationStore on Postgres. Each operation is one SQL statement, so one round trip.
 */
import { createId } from '@paralleldrive/cuid2';
import type { ConversationKey, ConversationPage, ConversationStore, ListConversationsQuery } from '#core/ports';
import type { Party, Side } from '#core/model';
import { ConflictError, ValidationError } from '#core/errors';
import { Prisma, type PrismaClient } from './generated/client.ts';
import { recorded } from './change-log.ts';
import { CURRENT_TXID, messageJson, T, toConversation, toSummary, type ConversationRow, type SummaryRow } from './rows.ts';

/** The unique key of the one ACTIVE conversation per (provider, customer, order). */
export function activeKeyOf({ providerId, customerId, orderId }: ConversationKey): string {
  return `${providerId}:${customerId}:${orderId ?? '-'}`;
}

interface Cursor {
  at: Date;
  id: string;
}

export function encodeCursor(cursor: Cursor): string {
  return Buffer.from(JSON.stringify({ at: cursor.at.toISOString(), id: cursor.id })).toString('base64url');
}

/** Years 1 to 9999: inside Postgres' timestamp range, and every time a cursor can carry. */
const EARLIEST_CURSOR = Date.parse('0001-01-01T00:00:00.000Z');
const LATEST_CURSOR = Date.parse('9999-12-31T23:59:59.999Z');

export function decodeCursor(value: string): Cursor {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(value, 'base64url').toString('utf8'));
    if (parsed && typeof parsed === 'object' && 'at' in parsed && 'id' in parsed) {
      const at = new Date(String(parsed.at));
      // Only what encodeCursor can produce: a time Postgres can compare with, an id it can hold.
      const storable = at.getTime() >= EARLIEST_CURSOR && at.getTime() <= LATEST_CURSOR;
      if (storable && typeof parsed.id === 'string' && !parsed.id.includes('\u0000')) return { at, id: parsed.id };
    }
  } catch {
    // fall through to the validation error
  }
  throw new ValidationError('cursor is not a value this API returned', { field: 'cursor' });
}

/** One side's view of conversations: the conversation, that side's participant row and the last message. */
function summarySelect(where: Prisma.Sql, tail: Prisma.Sql = Prisma.empty): Prisma.Sql {
  return Prisma.sql`
    SELECT c.*, p."unreadCount", p."lastReadSeq", p."archivedAt", p."lastActivityAt",
           ${messageJson('m')} AS "lastMessage"
      FROM ${T.participants} p
      JOIN ${T.conversations} c ON c.id = p."conversationId"
      LEFT JOIN ${T.messages} m ON m."conversationId" = c.id AND m.seq = c."lastSeq"
     WHERE ${where}
     ${tail}`;
}

export function makeConversationStore({ prisma }: { prisma: PrismaClient }): ConversationStore {
  return {
    async startOrGet(key) {
      const now = new Date();
      // ON CONFLICT DO UPDATE (not DO NOTHING) so the statement returns the existing row even
      // when a concurrent call created it after this statement's snapshot; xmax = 0 marks an insert.
      const rows = await prisma.$queryRaw<(ConversationRow & { created: boolean; changeId: bigint | null })[]>`
        WITH conv AS (
          INSERT INTO ${T.conversations}
                 (id, "customerId", "providerId", "orderId", "activeKey", "createdAt", "updatedAt")
          VALUES (${createId()}, ${key.customerId}, ${key.providerId}, ${key.orderId}, ${activeKeyOf(key)}, ${now}, ${now})
          ON CONFLICT ("activeKey") DO UPDATE SET "activeKey" = EXCLUDED."activeKey"
          RETURNING *, (xmax = 0) AS created
        ), participants AS (
          INSERT INTO ${T.participants} (id, "conversationId", side, "partyId", "lastActivityAt", "createdAt", "updatedAt")
          SELECT ids.id, conv.id, ids.side::"ChatSide", ids."partyId", ${now}, ${now}, ${now}
            FROM conv,
                 (VALUES (${createId()}, 'customer', ${key.customerId}::int),
                         (${createId()}, 'provider', ${key.providerId}::int)) AS ids(id, side, "partyId")
           WHERE conv.created
        ), change AS (
          INSERT INTO ${T.changes} (txid, "conversationId", "customerId", "providerId", type, at)
          SELECT ${CURRENT_TXID}, conv.id, conv."customerId", conv."providerId", 'conversation.created', ${now}
            FROM conv WHERE conv.created
          RETURNING id
        )
        SELECT *, (SELECT id FROM change) AS "changeId" FROM conv`;
      const row = rows[0];
      if (!row) throw new Error('start-or-get returned no conversation');
      return { conversation: toConversation(row), created: row.created, changes: recorded(row.changeId, 'conversation.created', row.id, now) };
    },

    async get(conversationId) {
      const row = await prisma.conversation.findUnique({ where: { id: conversationId } });
      return row ? toConversation(row) : null;
    },

    async listForParty(party: Party, query: ListConversationsQuery): Promise<ConversationPage> {
      const cursor = query.cursor ? decodeCursor(query.cursor) : null;
      const after = cursor
        ? Prisma.sql`AND (p."lastActivityAt", p."conversationId") < (${cursor.at}, ${cursor.id})`
        : Prisma.empty;
      const archived = query.archived ? Prisma.sql`p."archivedAt" IS NOT NULL` : Prisma.sql`p."archivedAt" IS NULL`;
      const assignee =
        query.assignee === undefined ? Prisma.empty
        : query.assignee === null ? Prisma.sql`AND c."assigneeId" IS NULL`
        : Prisma.sql`AND c."assigneeId" = ${query.assignee}::int`;
      const rows = await prisma.$queryRaw<SummaryRow[]>(
        summarySelect(
          Prisma.sql`p.side = ${party.side}::"ChatSide" AND p."partyId" = ${party.partyId} AND ${archived} ${assignee} ${after}`,
          Prisma.sql`ORDER BY p."lastActivityAt" DESC, p."conversationId" DESC LIMIT ${query.limit + 1}`,
        ),
      );
      const page = rows.slice(0, query.limit);
      const last = page.at(-1);
      return {
        conversations: page.map(toSummary),
        nextCursor: rows.length > query.limit && last ? encodeCursor({ at: last.lastActivityAt, id: last.id }) : null,
      };
    },

    async summaryFor(conversationId: string, side: Side) {
      const rows = await prisma.$queryRaw<SummaryRow[]>(
        summarySelect(Prisma.sql`p."conversationId" = ${conversationId} AND p.side = ${side}::"ChatSide"`),
      );
      return rows[0] ? toSummary(rows[0]) : null;
    },

    async archive(conversationId: string, side: Side, at: Date) {
      // Only a side that was not archived yet records a change: archiving twice changes nothing.
      const rows = await prisma.$queryRaw<(SummaryRow & { changeId: bigint | null })[]>`
        WITH before AS (
          SELECT "archivedAt" FROM ${T.participants} WHERE "conversationId" = ${conversationId} AND side = ${side}::"ChatSide"
        ), archived AS (
          UPDATE ${T.participants}
             SET "archivedAt" = COALESCE("archivedAt", ${at}), "updatedAt" = ${at}
           WHERE "conversationId" = ${conversationId} AND side = ${side}::"ChatSide"
          RETURNING *
        ), change AS (
          INSERT INTO ${T.changes} (txid, "conversationId", "customerId", "providerId", side, type, data, at)
          SELECT ${CURRENT_TXID}, c.id, c."customerId", c."providerId", ${side}::"ChatSide", 'conversation.archived',
                 '{"archived":true}'::jsonb, ${at}
            FROM ${T.conversations} c, before
           WHERE c.id = ${conversationId} AND before."archivedAt" IS NULL
          RETURNING id
        )
        SELECT c.*, p."unreadCount", p."lastReadSeq", p."archivedAt", p."lastActivityAt",
               ${messageJson('m')} AS "lastMessage", (SELECT id FROM change) AS "changeId"
          FROM archived p
          JOIN ${T.conversations} c ON c.id = p."conversationId"
          LEFT JOIN ${T.messages} m ON m."conversationId" = c.id AND m.seq = c."lastSeq"`;
      const row = rows[0];
      if (!row) return null;
      return { summary: toSummary(row), changes: recorded(row.changeId, 'conversation.archived', conversationId, at, { archived: true }) };
    },

    async assign(conversationId, assigneeId, at) {
      // One statement: the row is locked by the update, so racing assignments apply one after
      // the other and each records its change; assigning the same user again changes nothing.
      const rows = await prisma.$queryRaw<(ConversationRow & { changeId: bigint | null })[]>`
        WITH target AS (
          SELECT id, "assigneeId" IS NOT DISTINCT FROM ${assigneeId}::int AS unchanged
            FROM ${T.conversations} WHERE id = ${conversationId} AND status <> 'ENDED'
             FOR UPDATE
        ), assigned AS (
          UPDATE ${T.conversations} c SET "assigneeId" = ${assigneeId}::int, "updatedAt" = ${at}
            FROM target WHERE c.id = target.id AND NOT target.unchanged
          RETURNING c.*
        ), change AS (
          INSERT INTO ${T.changes} (txid, "conversationId", "customerId", "providerId", type, at)
          SELECT ${CURRENT_TXID}, assigned.id, assigned."customerId", assigned."providerId", 'conversation.updated', ${at} FROM assigned
          RETURNING id
        )
        SELECT *, (SELECT id FROM change) AS "changeId" FROM assigned
        UNION ALL
        SELECT c.*, NULL::bigint AS "changeId" FROM ${T.conversations} c JOIN target ON target.id = c.id WHERE target.unchanged`;
      const row = rows[0];
      if (!row) return null;
      const { changeId, ...conversation } = row;
      return { conversation: toConversation(conversation), changes: recorded(changeId, 'conversation.updated', conversationId, at) };
    },

    async transition(conversationId, { from, to, blockedBy, at }) {
      // One statement: the status moves only from an allowed one (so a block and a send, which
      // both lock the row, never interleave), the ACTIVE key is released or taken back, and the
      // change is recorded.
      const rows = await prisma.$queryRaw<(ConversationRow & { changeId: bigint | null })[]>`
        WITH moved AS (
          UPDATE ${T.conversations} c
             SET status = ${to}::"ChatConversationStatus",
                 "blockedBy" = ${blockedBy}::"ChatActor",
                 "activeKey" = CASE WHEN ${to} = 'ACTIVE'
                                    THEN c."providerId" || ':' || c."customerId" || ':' || COALESCE(c."orderId"::text, '-')
                               END,
                 "updatedAt" = ${at}
           WHERE c.id = ${conversationId} AND c.status::text = ANY(${[...from]}::text[])
          RETURNING c.*
        ), change AS (
          INSERT INTO ${T.changes} (txid, "conversationId", "customerId", "providerId", type, at)
          SELECT ${CURRENT_TXID}, moved.id, moved."customerId", moved."providerId", 'conversation.updated', ${at} FROM moved
          RETURNING id
        )
        SELECT *, (SELECT id FROM change) AS "changeId" FROM moved`.catch((error: unknown) => {
        // Taking the ACTIVE key back failed: another conversation of this order is ACTIVE now.
        if (String((error as { message?: string }).message).includes('activeKey')) {
          throw new ConflictError('Another conversation for this provider, customer and order is ACTIVE');
        }
        throw error;
      });
      const row = rows[0];
      if (!row) return null;
      return { conversation: toConversation(row), changes: recorded(row.changeId, 'conversation.updated', conversationId, at) };
    },

    async blockedPair(providerId, customerId) {
      const row = await prisma.conversation.findFirst({ where: { providerId, customerId, status: 'BLOCKED' }, select: { id: true } });
      return row?.id ?? null;
    },

    async counterpartsOf(party: Party) {
      const column = party.side === 'customer' ? Prisma.raw('"customerId"') : Prisma.raw('"providerId"');
      const other = party.side === 'customer' ? Prisma.raw('"providerId"') : Prisma.raw('"customerId"');
      const rows = await prisma.$queryRaw<{ partyId: number }[]>`
        SELECT DISTINCT ${other} AS "partyId" FROM ${T.conversations} WHERE ${column} = ${party.partyId}`;
      const side: Side = party.side === 'customer' ? 'provider' : 'customer';
      return rows.map((row) => ({ side, partyId: row.partyId }));
    },
  };
}
