import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RateLimiter } from '#core/ports';
import { makeRateLimiter } from '#adapters/dynamodb/rate-limiter';
import { createTestTables, type TestTables } from '#tests/support/dynamodb';

const WINDOW = 10_000;
const WINDOW_START = Date.UTC(2030, 0, 1); // a multiple of WINDOW

let tables: TestTables;
let limiter: RateLimiter;

beforeAll(async () => {
  tables = await createTestTables();
  limiter = makeRateLimiter({ doc: tables.doc, tableName: tables.names.rateLimits });
});
afterAll(() => tables.drop());

describe('DynamoDB RateLimiter', () => {
  it('lets exactly the limit through when many requests arrive at once, then lets more through in the next window', async () => {
    const limit = 5;
    const burst = await Promise.all(
      Array.from({ length: 20 }, (_, i) => limiter.consume('user:1:send', limit, WINDOW, WINDOW_START + 100 + i)),
    );
    const allowed = burst.filter((d) => d.allowed);
    expect(allowed).toHaveLength(limit);
    expect(allowed.map((d) => d.remaining).sort()).toEqual([0, 1, 2, 3, 4]);
    expect(burst.filter((d) => !d.allowed).every((d) => d.remaining === 0)).toBe(true);
    expect(new Set(burst.map((d) => d.resetAt))).toEqual(new Set([WINDOW_START + WINDOW]));

    const next = await limiter.consume('user:1:send', limit, WINDOW, WINDOW_START + WINDOW);
    expect(next).toEqual({ allowed: true, remaining: limit - 1, resetAt: WINDOW_START + 2 * WINDOW });
  });

  it('counts each user separately', async () => {
    expect((await limiter.consume('user:2:send', 1, WINDOW, WINDOW_START)).allowed).toBe(true);
    expect((await limiter.consume('user:2:send', 1, WINDOW, WINDOW_START + 1)).allowed).toBe(false);
    expect((await limiter.consume('user:3:send', 1, WINDOW, WINDOW_START + 2)).allowed).toBe(true);
  });

  it('refuses with the time the window ends, so the client knows when to retry', async () => {
    await limiter.consume('user:4:send', 1, WINDOW, WINDOW_START + 2_500);
    expect(await limiter.consume('user:4:send', 1, WINDOW, WINDOW_START + 9_999)).toEqual({
      allowed: false,
      remaining: 0,
      resetAt: WINDOW_START + WINDOW,
    });
  });
});
