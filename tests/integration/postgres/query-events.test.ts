/**
 * The Prisma client reports every statement it runs, for the tracer's Postgres subsegments:
 * its SQL with placeholders (never the values), when it started and how long it took, against
 * a real Postgres.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPrismaClient, type SqlQuery } from '#adapters/postgres/prisma-client';
import { createTestDatabase, type TestDatabase } from '#tests/support/postgres';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db.drop());

describe('query events', () => {
  it('reports each statement with its placeholders, start and duration', async () => {
    const queries: SqlQuery[] = [];
    const prisma = createPrismaClient(db.url, { poolSize: 1, onQuery: (query) => queries.push(query) });
    try {
      const before = Date.now();
      const rows = await prisma.$queryRaw<{ answer: number }[]>`SELECT ${'secret value'}::text AS value, 42::int AS answer`;
      await prisma.conversation.count();
      const after = Date.now();
      expect(rows[0]!.answer).toBe(42);
      expect(queries).toHaveLength(2);
      expect(queries[0]!.sql).toContain('$1');
      expect(queries.map((query) => query.sql).join('\n')).not.toContain('secret value');
      expect(queries[1]!.sql).toMatch(/COUNT/i);
      for (const query of queries) {
        expect(query.durationMs).toBeGreaterThanOrEqual(0);
        expect(query.startedAtMs).toBeGreaterThanOrEqual(before - 1);
        expect(query.startedAtMs + query.durationMs).toBeLessThanOrEqual(after + 1);
      }
    } finally {
      await prisma.$disconnect();
    }
  });
});
