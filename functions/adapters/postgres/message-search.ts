/**
 * MessageSearch on Postgres full-text search: one statement per page.
 *
 * Each message's `searchVector` is a stored generated column (`to_tsvector('simple', content)`,
 * GIN-indexed), so an edit re-indexes its message in the statement that edits it and a deleted
 * message (content "") matches nothing. A query is its words joined by `&`, the last one a
 * prefix (`'wash':*`); each word is made of letters and digits only (searchWords), so it is
 * quoted as a lexeme and user input never reaches the tsquery syntax.
 *
 * A party's search goes through the participant index (side, partyId, …): one range scan gives
 * every conversation of the customer or provider, however many there are, joined to the
 * messages that match. Results are best match first (ts_rank), then newest, keyset-paged on
 * (rank, createdAt, id); the cursor is bound to the words and scope it was issued for.
 */
import { createHash } from 'node:crypto';
import { ValidationError } from '#core/errors';
import type { MessageSearch, SearchScope } from '#core/ports';
import { Prisma, type PrismaClient } from './generated/client.ts';
import { decodeCursor, encodeCursor } from './conversation-store.ts';
import { messageColumns, T, toMessage, type MessageRow } from './rows.ts';

/** `'word1' & 'word2':*`: every word, the last as a prefix. */
export function toTsQuery(words: readonly string[]): string {
  return words.map((word, i) => `'${word}'${i === words.length - 1 ? ':*' : ''}`).join(' & ');
}

function scopeKey(scope: SearchScope): string {
  switch (scope.kind) {
    case 'party': return `${scope.side}:${scope.partyId}`;
    case 'conversation': return `conversation:${scope.conversationId}`;
    case 'everywhere': return 'everywhere';
  }
}

/** Which search a cursor belongs to: a page of one search never continues another. */
function fingerprint(words: readonly string[], scope: SearchScope): string {
  return createHash('sha256').update(JSON.stringify([words, scopeKey(scope)])).digest('base64url').slice(0, 16);
}

interface SearchCursor {
  rank: string;
  at: Date;
  id: string;
}

const RANK = /^[0-9.eE+-]{1,32}$/;

function encodeSearchCursor(of: string, { rank, at, id }: SearchCursor): string {
  return `${of}~${rank}~${encodeCursor({ at, id })}`;
}

function decodeSearchCursor(value: string, of: string): SearchCursor {
  const [issuedFor, rank, position, ...rest] = value.split('~');
  if (issuedFor !== of || rest.length > 0 || !rank || !RANK.test(rank) || !Number.isFinite(Number(rank)) || !position) {
    throw new ValidationError('cursor is not a value this API returned for this search', { field: 'cursor' });
  }
  return { rank, ...decodeCursor(position) };
}

/** The messages a scope looks through, and the condition that confines them to it. */
function scoped(scope: SearchScope): { from: Prisma.Sql; where: Prisma.Sql } {
  switch (scope.kind) {
    case 'party':
      return {
        from: Prisma.sql`${T.participants} p JOIN ${T.messages} m ON m."conversationId" = p."conversationId"`,
        where: Prisma.sql`p.side = ${scope.side}::"ChatSide" AND p."partyId" = ${scope.partyId}::int`,
      };
    case 'conversation':
      return { from: Prisma.sql`${T.messages} m`, where: Prisma.sql`m."conversationId" = ${scope.conversationId}` };
    case 'everywhere':
      return { from: Prisma.sql`${T.messages} m`, where: Prisma.sql`true` };
  }
}

export function makeMessageSearch({ prisma }: { prisma: PrismaClient }): MessageSearch {
  return {
    async search({ scope, words, limit, cursor }) {
      const of = fingerprint(words, scope);
      const after = cursor ? decodeSearchCursor(cursor, of) : null;
      const { from, where } = scoped(scope);
      const rows = await prisma.$queryRaw<(MessageRow & { rank: string })[]>`
        WITH query AS (SELECT to_tsquery('simple', ${toTsQuery(words)}) AS q),
        hits AS (
          SELECT ${messageColumns('m')}, ts_rank(m."searchVector", query.q)::float8 AS rank
            FROM ${from} CROSS JOIN query
           WHERE ${where} AND m."searchVector" @@ query.q AND m."deletedAt" IS NULL
        )
        SELECT ${messageColumns()}, rank::text AS rank
          FROM hits
         WHERE ${after ? Prisma.sql`(rank, "createdAt", id) < (${after.rank}::float8, ${after.at}, ${after.id})` : Prisma.sql`true`}
         ORDER BY hits.rank DESC, "createdAt" DESC, id DESC
         LIMIT ${limit + 1}::int`;
      const page = rows.slice(0, limit);
      const last = page.at(-1);
      return {
        messages: page.map(({ rank: _rank, ...row }) => toMessage(row)),
        nextCursor: rows.length > limit && last ? encodeSearchCursor(of, { rank: last.rank, at: last.createdAt, id: last.id }) : null,
      };
    },
  };
}
