/**
 * MessageStore on Postgres.
 *
 * Round trips: append is one statement (one round trip) that counts the sender's send rate,
 * takes the next seq, stores the message, and bumps both participant rows. A concurrent duplicate clientMessageId loses the
 * race on the unique index, the whole statement rolls back (so no seq is burnt), and one retry
 * returns the stored message: two round trips, only in that race. History, status updates and
 * mark-read are one statement each.
 */
import { createId } from '@paralleldrive/cuid2';
import type { AppendMessageInput, AppendResult, HistoryPage, RateRefusal, SendRate, HistoryQuery, MarkReadResult, MessageChange, MessageStore } from '#core/ports';
import type { Attachment, Reaction, Side } from '#core/model';
import { claimError, claimRefusals } from '#core/attachment-claims';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '#core/errors';
import { Prisma, type PrismaClient } from './generated/client.ts';
import { recorded } from './change-log.ts';
import { conversationFromJson, CURRENT_TXID, messageColumns, messageFromJson, messageJson, T, toAttachment, toMessage, type MessageRow } from './rows.ts';

type ChangedRow = MessageRow & { changeId: bigint | null };
type AppendedRow = ChangedRow & { created: boolean; answersWaitSince: Date | null; rateCount: number | null };

/**
 * The send-rate counter as a data-modifying CTE named `rate`: one row when the send is within the
 * rate (and counted), none when it is over. The sender's row holds its current window; a send in
 * a later window starts it again at 1, one in the same window counts only below the limit (the
 * upsert takes the row lock, so concurrent sends never together pass it). Without a rate, always
 * one row.
 */
function rateCte(rate: SendRate | undefined): Prisma.Sql {
  if (!rate) return Prisma.sql`rate AS (SELECT 1 AS count)`;
  if (!(rate.windowMs > 0)) throw new RangeError(`Rate limit window must be positive, got ${rate.windowMs}`);
  const windowStart = windowStartOf(rate);
  return Prisma.sql`rate AS (
        INSERT INTO ${T.sendRates} AS r (key, "windowStart", count)
        SELECT ${rate.key}, ${windowStart}::bigint, 1 WHERE ${rate.limit}::int >= 1
        ON CONFLICT (key) DO UPDATE
           SET count = CASE WHEN r."windowStart" < EXCLUDED."windowStart" THEN 1 ELSE r.count + 1 END,
               "windowStart" = GREATEST(r."windowStart", EXCLUDED."windowStart")
         WHERE r."windowStart" < EXCLUDED."windowStart" OR r.count < ${rate.limit}::int
        RETURNING count
      )`;
}

const windowStartOf = (rate: SendRate) => Math.floor(rate.now / rate.windowMs) * rate.windowMs;

const UNIQUE_VIOLATION = '23505';

/** The text of the error a failed attachment claim raises (see appendOnce's claim_check). */
const CLAIM_FAILED = 'attachments_not_claimable';

/** An attachment row (alias `a`) as the wire's Attachment object; absent fields are left out (jsonb_strip_nulls). */
const WIRE_ATTACHMENT = Prisma.sql`jsonb_strip_nulls(jsonb_build_object(
  'id', a.id, 'conversationId', a."conversationId", 'uploaderId', a."uploaderId", 'fileName', a."fileName",
  'contentType', a."contentType", 'size', a.size, 'status', a.status::text, 'width', a.width, 'height', a.height,
  'hasThumbnail', a."hasThumbnail", 'createdAt', to_char(a."createdAt", 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
  'rejectedReason', a."rejectedReason"))`;

function isClaimFailure(error: unknown): boolean {
  return String((error as { message?: unknown })?.message ?? '').includes(CLAIM_FAILED) ||
    JSON.stringify((error as { meta?: unknown })?.meta ?? {}).includes(CLAIM_FAILED);
}

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

/** Reactions as the jsonb column holds them: only emoji and userIds, in order. */
const reactionsJson = (reactions: readonly Reaction[]) => JSON.stringify(reactions.map(({ emoji, userIds }) => ({ emoji, userIds })));

export function makeMessageStore({ prisma }: { prisma: PrismaClient }): MessageStore {
  async function appendOnce(input: AppendMessageInput, rate: SendRate | undefined, at: Date): Promise<AppendedRow[]> {
    const clientMessageId = input.clientMessageId ?? null;
    const replyToId = input.replyToId ?? null;
    const messageId = createId();
    const attachmentIds = [...(input.attachmentIds ?? [])];
    const createdAfter = input.attachmentsCreatedAfter ?? new Date(0);
    return prisma.$queryRaw<AppendedRow[]>`
      WITH ${rateCte(rate)}, wanted AS (
        SELECT w.id, w.ord FROM unnest(${attachmentIds}::text[]) WITH ORDINALITY AS w(id, ord)
      ), previous AS (
        -- Locked first, so the wait it reads is the one this append replaces (the UPDATE's own
        -- RETURNING only sees new values). NO KEY UPDATE is the lock the UPDATE takes anyway:
        -- FOR UPDATE would also block the foreign-key checks of concurrent inserts and deadlock.
        SELECT id, "awaitingReplySince" FROM ${T.conversations} WHERE id = ${input.conversationId} FOR NO KEY UPDATE
      ), conv AS (
        UPDATE ${T.conversations} c
           SET "lastSeq" = c."lastSeq" + 1, "lastMessageAt" = ${at}, "updatedAt" = ${at},
               -- A customer's message starts a wait unless one is running; the provider's ends it.
               "awaitingReplySince" = CASE ${input.senderRole}
                                        WHEN 'customer' THEN COALESCE(c."awaitingReplySince", ${at})
                                        WHEN 'provider' THEN NULL
                                        ELSE c."awaitingReplySince" END
          FROM previous
         WHERE c.id = previous.id
           AND EXISTS (SELECT 1 FROM rate)
           AND status = 'ACTIVE'
           AND (${input.senderRole} = 'system'
                OR CASE WHEN ${input.senderRole} = 'customer' THEN "customerId" ELSE "providerId" END = ${input.senderPartyId}::int)
           AND NOT EXISTS (
                 SELECT 1 FROM ${T.messages}
                  WHERE "conversationId" = ${input.conversationId} AND "senderRole" = ${input.senderRole}::"ChatSender"
                    AND "senderId" = ${input.senderId} AND "clientMessageId" = ${clientMessageId}::text)
           AND (${replyToId}::text IS NULL OR EXISTS (
                 SELECT 1 FROM ${T.messages} WHERE id = ${replyToId}::text AND "conversationId" = ${input.conversationId}))
        RETURNING c."lastSeq", c."customerId", c."providerId", previous."awaitingReplySince" AS "waitedSince"
      ), claimed AS (
        -- The attachments it carries: READY, the sender's own upload into this conversation, on
        -- no other message, and not yet the sweep's. The conversation's lock (previous) orders
        -- racing sends; the loser finds messageId set on the latest row version and claims none.
        -- The row's foreign key to the message is checked at the end of the statement.
        UPDATE ${T.attachments} a
           SET "messageId" = ${messageId}, "updatedAt" = ${at}
          FROM conv, wanted
         WHERE a.id = wanted.id AND a."conversationId" = ${input.conversationId}
           AND a."uploaderId" = ${input.senderId} AND a."uploaderSide"::text = ${input.senderRole}::text
           AND a.status = 'READY' AND a."messageId" IS NULL AND a."createdAt" > ${createdAfter}
           AND starts_with(a."contentType", ${input.attachmentTypePrefix ?? ''})
        RETURNING a.*, wanted.ord
      ), claim_check AS (
        -- All or nothing: a claim short of every id fails the whole statement (nothing stored, no
        -- seq used), with an error naming it; the store then says which ids and why. The failing
        -- arm reads a row, so the planner cannot fold it into an error of every statement.
        SELECT CASE WHEN (SELECT count(*) FROM claimed) = ${attachmentIds.length}::int THEN true
                    ELSE (SELECT ${CLAIM_FAILED} || ' ' || ${input.conversationId} FROM conv)::boolean END AS ok
      ), inserted AS (
        INSERT INTO ${T.messages}
               (id, "conversationId", seq, "senderId", "senderRole", "receiverId", "messageType", content,
                attachments, "replyToId", metadata, "clientMessageId", "createdAt", "updatedAt")
        SELECT ${messageId}, ${input.conversationId}, conv."lastSeq", ${input.senderId}, ${input.senderRole}::"ChatSender",
               CASE WHEN ${input.senderRole} = 'customer' THEN conv."providerId" ELSE conv."customerId" END,
               ${input.messageType}::"ProviderChatMessageType", ${input.content},
               ${attachmentIds.length > 0 ? Prisma.sql`(SELECT jsonb_agg(${WIRE_ATTACHMENT} ORDER BY a.ord) FROM claimed a)` : Prisma.sql`${json(input.attachments)}::jsonb`},
               ${replyToId}::text, ${json(input.metadata)}::jsonb, ${clientMessageId}::text,
               ${at}, ${at}
          FROM conv
        RETURNING ${messageColumns()}
      ), participants AS (
        UPDATE ${T.participants} p
           SET "lastActivityAt" = ${at}, "updatedAt" = ${at}, "archivedAt" = NULL,
               "unreadCount" = p."unreadCount" + CASE WHEN p.side::text <> ${input.senderRole}::text THEN 1 ELSE 0 END
          FROM conv
         WHERE p."conversationId" = ${input.conversationId}
      ), change AS (
        INSERT INTO ${T.changes} (txid, "conversationId", "customerId", "providerId", type, "messageId", at)
        SELECT ${CURRENT_TXID}, ${input.conversationId}, conv."customerId", conv."providerId", 'message.created', inserted.id, ${at}
          FROM conv, inserted
        RETURNING id
      ), answered AS (
        INSERT INTO ${T.firstResponses} ("conversationId", "providerId", "askedAt", "answeredAt", "responderId")
        SELECT ${input.conversationId}, conv."providerId", conv."waitedSince", ${at}, ${input.senderId}
          FROM conv, inserted
         WHERE ${input.senderRole} = 'provider' AND conv."waitedSince" IS NOT NULL
        RETURNING "askedAt"
      )
      -- Always one row: the rate's count (NULL when over it) with the stored message, if any.
      SELECT (SELECT count FROM rate) AS "rateCount", result.* FROM (SELECT 1) AS one LEFT JOIN (
        SELECT *, true AS created, (SELECT id FROM change) AS "changeId", (SELECT "askedAt" FROM answered) AS "answersWaitSince" FROM inserted
         WHERE (SELECT ok FROM claim_check)
        UNION ALL
        SELECT ${messageColumns()}, false AS created, NULL::bigint AS "changeId", NULL::timestamp AS "answersWaitSince" FROM ${T.messages}
         WHERE "conversationId" = ${input.conversationId} AND "senderRole" = ${input.senderRole}::"ChatSender"
           AND "senderId" = ${input.senderId} AND "clientMessageId" = ${clientMessageId}::text
           AND EXISTS (SELECT 1 FROM rate)
      ) AS result ON true`;
  }

  /** Why an append stored nothing: the conversation is missing, not the sender's, not ACTIVE, or the reply target is foreign. */
  async function explainRefusal(input: AppendMessageInput): Promise<never> {
    const conversation = await prisma.conversation.findUnique({
      where: { id: input.conversationId },
      select: { status: true, customerId: true, providerId: true },
    });
    if (!conversation) throw new NotFoundError('Conversation not found');
    const sidePartyId = input.senderRole === 'customer' ? conversation.customerId : conversation.providerId;
    if (input.senderRole !== 'system' && sidePartyId !== input.senderPartyId) throw new ForbiddenError('You are not a participant of this conversation');
    if (conversation.status !== 'ACTIVE') {
      throw new ConflictError(`Conversation is ${conversation.status}; messages can only be sent to an ACTIVE conversation`);
    }
    throw new ValidationError('replyToId must name a message of the same conversation', { field: 'replyToId' });
  }

  /**
   * Why the attachments could not be claimed (the append rolled back whole): a second read, only
   * on this path. A retry of a send that was stored meanwhile answers the stored message.
   */
  async function explainClaim(input: AppendMessageInput): Promise<never> {
    const ids = [...(input.attachmentIds ?? [])];
    const rows = await prisma.attachment.findMany({ where: { id: { in: ids } } });
    const refused = claimRefusals(ids, rows.map((row) => toAttachment(row as unknown as Attachment)), {
      conversationId: input.conversationId,
      senderId: input.senderId,
      senderRole: input.senderRole,
      ...(input.attachmentsCreatedAfter ? { createdAfter: input.attachmentsCreatedAfter } : {}),
      ...(input.attachmentTypePrefix ? { typePrefix: input.attachmentTypePrefix } : {}),
    });
    // Every id claimable now: a racing send took one and was rolled back since. Say so plainly.
    throw claimError(refused.length > 0 ? refused : ids.map((id) => ({ id, reason: 'attached' as const })));
  }

  /**
   * One statement: updates a message where `condition` holds (over `m`, the message, and `c`,
   * its conversation, the message row locked) and records `type` in the change log.
   */
  async function changeMessage(messageId: string, type: 'message.updated' | 'message.deleted' | 'reaction.updated', at: Date, set: Prisma.Sql, condition: Prisma.Sql): Promise<MessageChange | null> {
    const rows = await prisma.$queryRaw<ChangedRow[]>`
      WITH target AS (
        SELECT m.id, c."customerId", c."providerId"
          FROM ${T.messages} m JOIN ${T.conversations} c ON c.id = m."conversationId"
         WHERE m.id = ${messageId} AND ${condition}
           FOR UPDATE OF m
      ), updated AS (
        UPDATE ${T.messages} m SET ${set}, "updatedAt" = ${at}
          FROM target WHERE m.id = target.id
        RETURNING ${messageColumns('m')}
      ), change AS (
        INSERT INTO ${T.changes} (txid, "conversationId", "customerId", "providerId", type, "messageId", at)
        SELECT ${CURRENT_TXID}, u."conversationId", target."customerId", target."providerId", ${type}, u.id, ${at}
          FROM updated u, target
        RETURNING id
      )
      SELECT *, (SELECT id FROM change) AS "changeId" FROM updated`;
    const row = rows[0];
    if (!row) return null;
    const { changeId, ...message } = row;
    return { message: toMessage(message), changes: recorded(changeId, type, message.conversationId, at) };
  }

  async function append(input: AppendMessageInput, rate?: SendRate): Promise<AppendResult | RateRefusal> {
    const at = new Date();
    let rows: AppendedRow[];
    try {
      rows = await appendOnce(input, rate, at);
    } catch (error) {
      if (isClaimFailure(error)) return explainClaim(input);
      // A concurrent send with the same clientMessageId committed first; this statement rolled
      // back whole. Running it again finds and returns the stored message.
      if (!input.clientMessageId || !isUniqueViolation(error)) throw error;
      try {
        rows = await appendOnce(input, rate, at);
      } catch (again) {
        if (isClaimFailure(again)) return explainClaim(input);
        throw again;
      }
    }
    const row = rows[0];
    if (rate && (!row || row.rateCount === null)) {
      return { rateLimited: true, resetAt: windowStartOf(rate) + rate.windowMs };
    }
    // The LEFT JOIN's columns are all NULL when nothing was stored or found.
    if (!row || (row.id as string | null) === null) return explainRefusal(input);
    const { created, changeId, answersWaitSince, rateCount: _rateCount, ...message } = row;
    return {
      message: toMessage(message),
      created,
      changes: recorded(changeId, 'message.created', input.conversationId, at),
      ...(answersWaitSince ? { firstResponseMs: at.getTime() - answersWaitSince.getTime() } : {}),
    };
  }

  return {
    append: append as MessageStore['append'],

    async context(messageId) {
      const rows = await prisma.$queryRaw<{ message: Record<string, unknown>; conversation: Record<string, unknown> }[]>`
        SELECT ${messageJson('m')} AS message, row_to_json(c.*) AS conversation
          FROM ${T.messages} m JOIN ${T.conversations} c ON c.id = m."conversationId"
         WHERE m.id = ${messageId}`;
      const row = rows[0];
      return row ? { message: messageFromJson(row.message), conversation: conversationFromJson(row.conversation) } : null;
    },

    async edit(messageId, content, at) {
      return changeMessage(
        messageId,
        'message.updated',
        at,
        Prisma.sql`content = ${content}, "editedAt" = ${at}`,
        Prisma.sql`m."deletedAt" IS NULL AND c.status = 'ACTIVE'`,
      );
    },

    async tombstone(messageId, at) {
      return changeMessage(
        messageId,
        'message.deleted',
        at,
        Prisma.sql`content = '', attachments = NULL, metadata = NULL, reactions = '[]'::jsonb, "deletedAt" = ${at}`,
        Prisma.sql`m."deletedAt" IS NULL`,
      );
    },

    async setReactions(messageId, expected, next, at) {
      return changeMessage(
        messageId,
        'reaction.updated',
        at,
        Prisma.sql`reactions = ${reactionsJson(next)}::jsonb`,
        Prisma.sql`m."deletedAt" IS NULL AND c.status = 'ACTIVE' AND m.reactions = ${reactionsJson(expected)}::jsonb`,
      );
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
            SELECT ${messageColumns()} FROM ${T.messages} WHERE "conversationId" = ${conversationId} AND ${range} ${order}
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

    async advanceStatus(messageId: string, status: 'DELIVERED' | 'READ', at: Date): Promise<MessageChange | null> {
      const from = status === 'READ' ? Prisma.sql`('SENT', 'DELIVERED')` : Prisma.sql`('SENT')`;
      const readAt = status === 'READ' ? Prisma.sql`COALESCE("readAt", ${at})` : Prisma.sql`"readAt"`;
      const rows = await prisma.$queryRaw<ChangedRow[]>`
        WITH updated AS (
          UPDATE ${T.messages}
             SET status = ${status}::"MessageStatus", "deliveredAt" = COALESCE("deliveredAt", ${at}),
                 "readAt" = ${readAt}, "updatedAt" = ${at}
           WHERE id = ${messageId} AND status::text IN ${from}
          RETURNING ${messageColumns()}
        ), unread AS (
          -- The reader's side reads in seq order: reading its oldest unread message moves its
          -- read position past every message from the other side that is READ by now (up to the
          -- next one that is not, or the newest seq), and its unread count drops by the messages
          -- it passed. A message read past a gap moves nothing until the gap is read (or a
          -- mark-read covers it). The count is lowered by messages counted from this statement's
          -- snapshot, which holds every message up to the seq it moves to; the row's latest
          -- version (locked) gives the base, so racing sends and mark-reads are never lost.
          -- A service's message was received by both sides: its receipt moves neither (mark-read does).
          UPDATE ${T.participants} p
             SET "lastReadSeq" = target.seq,
                 "unreadCount" = GREATEST(p."unreadCount" - (
                   SELECT count(*)::int FROM ${T.messages} m
                    WHERE m."conversationId" = p."conversationId" AND m."senderRole"::text <> p.side::text
                      AND m.seq > p."lastReadSeq" AND m.seq <= target.seq), 0),
                 "updatedAt" = ${at}
            FROM updated u
            CROSS JOIN LATERAL (
              SELECT COALESCE(
                       (SELECT min(m.seq) - 1 FROM ${T.messages} m
                         WHERE m."conversationId" = u."conversationId" AND m."senderRole" = u."senderRole"
                           AND m.seq > u.seq AND m.status IN ('SENT', 'DELIVERED')),
                       (SELECT c."lastSeq" FROM ${T.conversations} c WHERE c.id = u."conversationId")) AS seq
            ) target
           WHERE ${status} = 'READ' AND p."conversationId" = u."conversationId" AND u."senderRole" <> 'system'
             AND p.side::text <> u."senderRole"::text AND u.seq > p."lastReadSeq"
             AND NOT EXISTS (
                   SELECT 1 FROM ${T.messages} m
                    WHERE m."conversationId" = u."conversationId" AND m."senderRole" = u."senderRole"
                      AND m.seq > p."lastReadSeq" AND m.seq < u.seq AND m.status IN ('SENT', 'DELIVERED'))
        ), change AS (
          INSERT INTO ${T.changes} (txid, "conversationId", "customerId", "providerId", type, "messageId", data, at)
          SELECT ${CURRENT_TXID}, u."conversationId", c."customerId", c."providerId", 'message.status', u.id,
                 jsonb_build_object('status', ${status}::text), ${at}
            FROM updated u JOIN ${T.conversations} c ON c.id = u."conversationId"
          RETURNING id
        )
        SELECT *, (SELECT id FROM change) AS "changeId" FROM updated`;
      const row = rows[0];
      if (!row) return null;
      const { changeId, ...message } = row;
      return { message: toMessage(message), changes: recorded(changeId, 'message.status', message.conversationId, at, { status }) };
    },

    async markRead(conversationId: string, side: Side, at: Date): Promise<MarkReadResult> {
      // Messages at or below the side's previous lastReadSeq are already READ, so only the
      // range above it is touched.
      const rows = await prisma.$queryRaw<(MessageRow & { lastReadSeq: number; readChangeId: bigint | null; statusChangeId: bigint | null })[]>`
        WITH previous AS (
          SELECT p."lastReadSeq" FROM ${T.participants} p
           WHERE p."conversationId" = ${conversationId} AND p.side = ${side}::"ChatSide"
        ), conv AS (
          -- This statement's snapshot: it holds every message up to this lastSeq (a send commits
          -- its message and lastSeq together), and none above it.
          SELECT "lastSeq", "customerId", "providerId" FROM ${T.conversations} WHERE id = ${conversationId}
        ), updated AS (
          UPDATE ${T.messages} m
             SET status = 'READ', "readAt" = ${at}, "deliveredAt" = COALESCE(m."deliveredAt", ${at}), "updatedAt" = ${at}
            FROM previous
           WHERE m."conversationId" = ${conversationId} AND m.seq > previous."lastReadSeq"
             AND m."senderRole"::text <> ${side}::text AND m.status IN ('SENT', 'DELIVERED')
          RETURNING ${messageColumns('m')}
        ), participant AS (
          -- The read position moves to the snapshot's lastSeq. The unread count is not reset to 0:
          -- it drops by the messages from the other side between the row's latest read position
          -- and that seq (all in the snapshot), from the row's latest version (locked), so a send
          -- that committed after the snapshot stays counted and a racing receipt is not counted twice.
          -- Joining "updated" makes the messages' locks come before this row's, the order a single
          -- READ receipt takes them in (message, then participant): the two never deadlock.
          UPDATE ${T.participants} p
             SET "unreadCount" = GREATEST(p."unreadCount" - (
                   SELECT count(*)::int FROM ${T.messages} m
                    WHERE m."conversationId" = p."conversationId" AND m."senderRole"::text <> p.side::text
                      AND m.seq > p."lastReadSeq" AND m.seq <= conv."lastSeq"), 0),
                 "lastReadSeq" = GREATEST(p."lastReadSeq", conv."lastSeq"), "updatedAt" = ${at}
            FROM conv, (SELECT count(*) FROM updated) moved
           WHERE p."conversationId" = ${conversationId} AND p.side = ${side}::"ChatSide"
          RETURNING p."lastReadSeq"
        ), read_change AS (
          -- Only when the side's read position moved: a repeated mark-read records nothing.
          INSERT INTO ${T.changes} (txid, "conversationId", "customerId", "providerId", type, data, at)
          SELECT ${CURRENT_TXID}, ${conversationId}, conv."customerId", conv."providerId", 'conversation.read',
                 jsonb_build_object('side', ${side}::text, 'lastReadSeq', r."lastReadSeq"), ${at}
            FROM participant r, previous, conv
           WHERE r."lastReadSeq" > previous."lastReadSeq"
          RETURNING id
        ), status_change AS (
          INSERT INTO ${T.changes} (txid, "conversationId", "customerId", "providerId", type, "messageId", data, at)
          SELECT ${CURRENT_TXID}, ${conversationId}, conv."customerId", conv."providerId", 'message.status', newest.id,
                 jsonb_build_object('status', 'READ', 'upToSeq', r."lastReadSeq"), ${at}
            FROM (SELECT id FROM updated ORDER BY seq DESC LIMIT 1) newest, participant r, conv
          RETURNING id
        )
        SELECT r."lastReadSeq", u.*, (SELECT id FROM read_change) AS "readChangeId", (SELECT id FROM status_change) AS "statusChangeId"
          FROM participant r
          LEFT JOIN updated u ON true
         ORDER BY u.seq ASC`;
      const lastReadSeq = rows[0]?.lastReadSeq ?? 0;
      const messages = rows
        .filter((row) => row.id !== null)
        .map(({ lastReadSeq: _l, readChangeId: _r, statusChangeId: _s, ...row }) => toMessage(row));
      const newest = messages.at(-1);
      const changes = [
        ...recorded(rows[0]?.readChangeId, 'conversation.read', conversationId, at, { side, lastReadSeq }),
        ...(newest ? recorded(rows[0]?.statusChangeId, 'message.status', conversationId, at, { status: 'READ', upToSeq: lastReadSeq }) : []),
      ];
      return { messages, lastReadSeq, changes };
    },
  };
}
