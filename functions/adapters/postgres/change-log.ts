/**
 * ChangeLog on Postgres: the `chatChanges` table.
 *
 * Ordering without gaps. Change ids come from a sequence, and sequences hand out numbers before
 * their transactions commit, so a reader that paged by id alone would skip a change that commits
 * after a higher one it already saw. Each row therefore carries the writing transaction's id
 * (`pg_current_xact_id()`), readers order by (txid, id), and a page only holds changes whose
 * txid is below the oldest transaction still running (`pg_snapshot_xmin`): those transactions
 * are all finished, and every later change gets a txid at least that. Paging from the last
 * position seen then yields each change exactly once.
 *
 * Round trips: a page, the horizon, a claim, a confirmation and a purge batch are one statement
 * each. A page is one range scan of the reader's (party, txid, id) index plus a primary-key
 * lookup per change for the message and conversation it refers to, so its cost does not grow
 * with how deep in the log it starts.
 */
import { INTERNAL_CHANGE_TYPES, type EventType } from '#core/events';
import type { Json, Side } from '#core/model';
import type { ChangeLog, ChangePage, ChangePosition, ChangeReader, RecordedChange, StoredChange } from '#core/ports';
import { Prisma, type PrismaClient } from './generated/client.ts';
import { attachmentFromJson, conversationFromJson, messageFromJson, messageJson, reportFromJson, T } from './rows.ts';

/** A change a store's statement just wrote, as the use case publishes it. */
export function recorded(
  id: bigint | string | null | undefined,
  type: EventType,
  conversationId: string,
  at: Date,
  data: Record<string, Json> = {},
): RecordedChange[] {
  return id === null || id === undefined ? [] : [{ id: String(id), type, conversationId, at, data }];
}

interface StoredChangeRow {
  id: bigint;
  txid: bigint;
  conversationId: string;
  type: string;
  side: Side | null;
  data: Record<string, never>;
  at: Date;
  message: Record<string, unknown> | null;
  conversation: Record<string, unknown>;
  report: Record<string, unknown> | null;
  attachment: Record<string, unknown> | null;
}

/** Renders a row of {@link withReferences} as a StoredChange. */
function toStoredChange(row: StoredChangeRow): StoredChange {
  return {
    id: String(row.id),
    txid: BigInt(row.txid),
    conversationId: row.conversationId,
    type: row.type as EventType,
    side: row.side,
    data: row.data ?? {},
    at: row.at,
    message: row.message ? messageFromJson(row.message) : null,
    conversation: conversationFromJson(row.conversation),
    report: row.report ? reportFromJson(row.report) : null,
    attachment: row.attachment ? attachmentFromJson(row.attachment) : null,
  };
}

/**
 * Selects `source`'s changes with the current state of their message, conversation, report and
 * attachment: one
 * primary-key lookup each per change (as subqueries, so a young, small table is not read whole
 * and hash-joined for a page of 100).
 */
function withReferences(source: Prisma.Sql): Prisma.Sql {
  return Prisma.sql`
    SELECT ch.id, ch.txid, ch."conversationId", ch.type, ch.side, ch.data, ch.at,
           (SELECT ${messageJson('m')} FROM ${T.messages} m WHERE m.id = ch."messageId") AS message,
           (SELECT row_to_json(c.*) FROM ${T.conversations} c WHERE c.id = ch."conversationId") AS conversation,
           (SELECT row_to_json(r.*) FROM ${T.reports} r WHERE r.id = ch.data->>'reportId') AS report,
           (SELECT row_to_json(a.*) FROM ${T.attachments} a WHERE a.id = ch.data->>'attachmentId') AS attachment
      FROM ${source} ch
     ORDER BY ch.txid, ch.id`;
}

const HORIZON = Prisma.sql`pg_snapshot_xmin(pg_current_snapshot())::text::bigint`;

/** The longest the sweeper waits before it tries a change's event again. */
const MAX_REPUBLISH_BACKOFF = Prisma.sql`interval '1 hour'`;
const FIRST_REPUBLISH_BACKOFF_SECONDS = 30;

export function makeChangeLog({ prisma }: { prisma: PrismaClient }): ChangeLog {
  return {
    async page(reader: ChangeReader, after: ChangePosition | null, limit: number): Promise<ChangePage> {
      const partyColumn = reader.party.side === 'customer' ? Prisma.raw('"customerId"') : Prisma.raw('"providerId"');
      const [txid, id] = after ? [after.txid, after.id] : [-1n, -1n];
      const rows = await prisma.$queryRaw<(StoredChangeRow & { horizon: bigint; more: boolean })[]>`
        WITH h AS (SELECT ${HORIZON} AS horizon),
        page AS (
          SELECT ch.* FROM ${T.changes} ch, h
           WHERE ch.${partyColumn} = ${reader.party.partyId}::int
             AND (ch.side IS NULL OR ch.side = ${reader.party.side}::"ChatSide")
             AND (ch."userId" IS NULL OR ch."userId" = ${reader.userId}::int)
             AND ch.type <> ALL(${[...INTERNAL_CHANGE_TYPES]}::text[])
             AND (ch.txid, ch.id) > (${txid}::bigint, ${id}::bigint)
             AND ch.txid < h.horizon
           ORDER BY ch.txid, ch.id
           LIMIT ${limit + 1}::int
        ),
        rendered AS (${withReferences(Prisma.sql`page`)})
        SELECT h.horizon, r.* FROM h LEFT JOIN rendered r ON true ORDER BY r.txid, r.id`;
      const horizon = BigInt(rows[0]?.horizon ?? 0n);
      const found = rows.filter((row) => row.id !== null).map(toStoredChange);
      return { changes: found.slice(0, limit), hasMore: found.length > limit, horizon };
    },

    async horizon() {
      const rows = await prisma.$queryRaw<{ horizon: bigint }[]>`SELECT ${HORIZON} AS horizon`;
      return BigInt(rows[0]!.horizon);
    },

    async claimUnpublished(olderThan: Date, limit: number, now: Date): Promise<StoredChange[]> {
      // SKIP LOCKED: two sweeps running at once claim different changes.
      const rows = await prisma.$queryRaw<StoredChangeRow[]>`
        WITH due AS (
          SELECT id FROM ${T.changes}
           WHERE "publishedAt" IS NULL AND at < ${olderThan}
             AND ("republishAt" IS NULL OR "republishAt" <= ${now})
           ORDER BY id
           LIMIT ${limit}::int
           FOR UPDATE SKIP LOCKED
        ), claimed AS (
          UPDATE ${T.changes} ch
             SET "republishCount" = ch."republishCount" + 1,
                 "republishAt" = ${now}::timestamp + LEAST(${MAX_REPUBLISH_BACKOFF},
                                   make_interval(secs => ${FIRST_REPUBLISH_BACKOFF_SECONDS}::int * power(2, LEAST(ch."republishCount", 16))))
            FROM due
           WHERE ch.id = due.id
          RETURNING ch.*
        )
        ${withReferences(Prisma.sql`claimed`)}`;
      return rows.map(toStoredChange);
    },

    async markPublished(ids: readonly string[], at: Date): Promise<number> {
      if (ids.length === 0) return 0;
      return prisma.$executeRaw`
        UPDATE ${T.changes} SET "publishedAt" = ${at}
         WHERE id = ANY(${[...ids]}::text[]::bigint[]) AND "publishedAt" IS NULL`;
    },

    async purge(before: Date, limit: number): Promise<number> {
      return prisma.$executeRaw`
        DELETE FROM ${T.changes}
         WHERE id IN (SELECT id FROM ${T.changes} WHERE at < ${before} ORDER BY at LIMIT ${limit}::int)`;
    },
  };
}
