/**
 * ProviderStatistics on Postgres: one statement over data the append keeps up to date.
 *
 * - `conversations`: an index range of the provider's conversations by `createdAt`;
 * - `messagesReceived` / `messagesSent`: for each of the provider's conversations, an index
 *   range of its messages by `createdAt` (SYSTEM messages are neither);
 * - `firstResponseSeconds`: percentiles over `chatFirstResponses`, one row per answered wait,
 *   written by the answer's own append, by `askedAt`;
 * - `unanswered`: the provider's conversations whose running wait (`awaitingReplySince`) began
 *   in the range.
 *
 * Its cost grows with the provider's conversations and with what happened in the range, never
 * with the table's size nor the conversations' history.
 */
import type { ProviderStatistics } from '#core/ports';
import type { PrismaClient } from './generated/client.ts';
import { T } from './rows.ts';

interface StatsRow {
  conversations: bigint;
  received: bigint;
  sent: bigint;
  median: number | null;
  p90: number | null;
  unanswered: bigint;
}

/** Seconds as the API answers them: to the millisecond. */
const seconds = (value: number | null) => (value === null ? null : Math.round(Number(value) * 1000) / 1000);

export function makeProviderStatistics({ prisma }: { prisma: PrismaClient }): ProviderStatistics {
  return {
    async stats(providerId, from, to) {
      const [row] = await prisma.$queryRaw<StatsRow[]>`
        WITH messages AS (
          SELECT count(*) FILTER (WHERE m."senderRole" = 'customer') AS received,
                 count(*) FILTER (WHERE m."senderRole" = 'provider') AS sent
            FROM ${T.conversations} c
            JOIN ${T.messages} m ON m."conversationId" = c.id AND m."createdAt" >= ${from} AND m."createdAt" < ${to}
           WHERE c."providerId" = ${providerId}
        ), waits AS (
          SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY waited) AS median,
                 percentile_cont(0.9) WITHIN GROUP (ORDER BY waited) AS p90
            FROM (SELECT EXTRACT(EPOCH FROM "answeredAt" - "askedAt")::float8 AS waited
                    FROM ${T.firstResponses}
                   WHERE "providerId" = ${providerId} AND "askedAt" >= ${from} AND "askedAt" < ${to}) answered
        )
        SELECT (SELECT count(*) FROM ${T.conversations}
                 WHERE "providerId" = ${providerId} AND "createdAt" >= ${from} AND "createdAt" < ${to}) AS conversations,
               messages.received, messages.sent, waits.median, waits.p90,
               (SELECT count(*) FROM ${T.conversations}
                 WHERE "providerId" = ${providerId} AND "awaitingReplySince" >= ${from} AND "awaitingReplySince" < ${to}) AS unanswered
          FROM messages, waits`;
      return {
        conversations: Number(row!.conversations),
        messagesReceived: Number(row!.received),
        messagesSent: Number(row!.sent),
        firstResponseSeconds: { median: seconds(row!.median), p90: seconds(row!.p90) },
        unanswered: Number(row!.unanswered),
      };
    },
  };
}
