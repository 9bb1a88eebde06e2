/**
 * PushRegistry on Postgres: the device registry and conversation mutes. Every operation is one
 * statement (recording a round of pushes is one transaction), so the push consumer's cost per
 * message does not grow with the number of devices.
 */
import { createId } from '@paralleldrive/cuid2';
import type { ConversationMute, Device, Party } from '#core/model';
import { partyKey, type PushRegistry } from '#core/ports';
import { Prisma, type PrismaClient } from './generated/client.ts';
import { T } from './rows.ts';

type DeviceRow = Device & { updatedAt: Date };

function toDevice(row: DeviceRow): Device {
  return {
    id: row.id,
    userId: row.userId,
    side: row.side,
    partyId: row.partyId,
    platform: row.platform,
    token: row.token,
    appId: row.appId,
    locale: row.locale,
    endpointArn: row.endpointArn,
    createdAt: row.createdAt,
    lastPushedAt: row.lastPushedAt,
  };
}

/** `(side, partyId) IN (…)` for a non-empty list of parties. */
function partyIn(alias: Prisma.Sql, parties: readonly Party[]): Prisma.Sql {
  const pairs = parties.map((party) => Prisma.sql`(${party.side}::"ChatSide", ${party.partyId}::integer)`);
  return Prisma.sql`(${alias}.side, ${alias}."partyId") IN (${Prisma.join(pairs)})`;
}

export function makePushRegistry({ prisma }: { prisma: PrismaClient }): PushRegistry {
  return {
    async register(input) {
      const id = createId();
      // The same user refreshes their row; another user's token moves to the caller as a new
      // device (new id, no push history) and forgets its endpoint, so the next push re-binds the
      // endpoint to its new owner.
      const rows = await prisma.$queryRaw<DeviceRow[]>`
        INSERT INTO ${T.devices} AS d (id, "userId", side, "partyId", platform, token, "appId", locale, "createdAt", "updatedAt")
        VALUES (${id}, ${input.userId}, ${input.side}::"ChatSide", ${input.partyId}, ${input.platform}::"PushPlatform",
                ${input.token}, ${input.appId}, ${input.locale}, now(), now())
        ON CONFLICT (platform, token) DO UPDATE SET
          id = CASE WHEN d."userId" = EXCLUDED."userId" THEN d.id ELSE EXCLUDED.id END,
          "createdAt" = CASE WHEN d."userId" = EXCLUDED."userId" THEN d."createdAt" ELSE EXCLUDED."createdAt" END,
          "lastPushedAt" = CASE WHEN d."userId" = EXCLUDED."userId" THEN d."lastPushedAt" END,
          "endpointArn" = CASE WHEN d."userId" = EXCLUDED."userId" THEN d."endpointArn" END,
          "userId" = EXCLUDED."userId", side = EXCLUDED.side, "partyId" = EXCLUDED."partyId",
          "appId" = EXCLUDED."appId", locale = EXCLUDED.locale, "updatedAt" = now()
        RETURNING *`;
      const row = rows[0]!;
      return { device: toDevice(row), created: row.id === id };
    },

    async devicesOf(userId) {
      const rows = await prisma.device.findMany({ where: { userId }, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] });
      return rows.map(toDevice);
    },

    async remove(deviceId, userId) {
      const { count } = await prisma.device.deleteMany({ where: { id: deviceId, userId } });
      return count > 0;
    },

    async setMute(conversationId, userId, mute): Promise<ConversationMute | null> {
      if (!mute) {
        await prisma.conversationMute.deleteMany({ where: { conversationId, userId } });
        return null;
      }
      const row = await prisma.conversationMute.upsert({
        where: { conversationId_userId: { conversationId, userId } },
        create: { conversationId, userId, mutedUntil: mute.mutedUntil },
        update: { mutedUntil: mute.mutedUntil },
      });
      return { conversationId: row.conversationId, userId: row.userId, mutedUntil: row.mutedUntil };
    },

    async recipients(conversationId, parties, now) {
      if (parties.length === 0) return [];
      const rows = await prisma.$queryRaw<DeviceRow[]>`
        SELECT d.* FROM ${T.devices} d
         WHERE ${partyIn(Prisma.raw('d'), parties)}
           AND NOT EXISTS (
             SELECT 1 FROM ${T.mutes} m
              WHERE m."conversationId" = ${conversationId} AND m."userId" = d."userId"
                AND (m."mutedUntil" IS NULL OR m."mutedUntil" > ${now}))
         ORDER BY d."createdAt", d.id`;
      return rows.map(toDevice);
    },

    async badges(parties) {
      const badges = new Map(parties.map((party) => [partyKey(party), 0]));
      if (parties.length === 0) return badges;
      const rows = await prisma.$queryRaw<{ side: Party['side']; partyId: number; unread: bigint }[]>`
        SELECT p.side, p."partyId", COALESCE(SUM(p."unreadCount"), 0)::bigint AS unread
          FROM ${T.participants} p
          JOIN ${T.conversations} c ON c.id = p."conversationId"
         WHERE ${partyIn(Prisma.raw('p'), parties)} AND c.status = 'ACTIVE' AND p."archivedAt" IS NULL
         GROUP BY p.side, p."partyId"`;
      for (const row of rows) badges.set(partyKey(row), Number(row.unread));
      return badges;
    },

    async recordPushes({ pushed, removed, at }) {
      if (pushed.length === 0 && removed.length === 0) return;
      const statements: Prisma.PrismaPromise<unknown>[] = [];
      if (pushed.length) {
        const values = pushed.map((entry) => Prisma.sql`(${entry.deviceId}, ${entry.endpointArn})`);
        statements.push(prisma.$executeRaw`
          UPDATE ${T.devices} d SET "lastPushedAt" = ${at}, "endpointArn" = v.arn, "updatedAt" = now()
            FROM (VALUES ${Prisma.join(values)}) AS v(id, arn)
           WHERE d.id = v.id`);
      }
      if (removed.length) statements.push(prisma.device.deleteMany({ where: { id: { in: removed } } }));
      await prisma.$transaction(statements);
    },
  };
}
