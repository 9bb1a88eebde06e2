/**
 * Each Lambda function carries only what its route uses: bundled with esbuild exactly as the
 * stack bundles them (bench/bundles.ts shares the options with lib/constructs/chat-function.ts),
 * a function whose route never touches Postgres (its `database` flag in functions/config/routes.ts)
 * holds no Prisma, pg or Secrets Manager, a database function holds Prisma with the query compiler
 * as a WebAssembly file beside index.mjs (not base64 in the JavaScript), and every function stays
 * within its size budget. Sizes are deterministic for a lockfile, so the budgets are exact.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleAll, type BundleFigures } from '../../bench/bundles.ts';
import { HANDLER_ENTRIES } from '#config/routes';
import { DATABASE_ENTRIES } from '#lib/constructs/chat-function';

const MiB = 1024 * 1024;

/**
 * What a function may ship (index.mjs, plus the query compiler for a database function; the
 * source map aside). docs/benchmarks.md, "Per-function bundles", has the figures and the targets
 * these do not reach yet (0.5 MiB without a database; 3 MiB with one).
 */
const BUDGETS: Record<'withoutDatabase' | 'withDatabase', { bytes: number; gzipBytes?: number }> = {
  withoutDatabase: { bytes: 0.85 * MiB },
  withDatabase: { bytes: 3.1 * MiB, gzipBytes: 1.2 * MiB },
};

/** Packages that only a function reaching Postgres may hold. */
const POSTGRES_ONLY = ['@prisma/client', '@prisma/adapter-pg', 'pg', '@aws-sdk/client-secrets-manager'];

let outDir: string;
let bundles: BundleFigures[];

beforeAll(async () => {
  outDir = await mkdtemp(path.join(tmpdir(), 'chat-bundle-budgets-'));
  bundles = await bundleAll('deployed', outDir);
}, 120_000);

afterAll(() => rm(outDir, { recursive: true, force: true }));

const sources = (bundle: BundleFigures) => bundle.composition.map((part) => part.source);
const mib = (bytes: number) => `${(bytes / MiB).toFixed(2)} MiB`;

describe('per-function bundles', () => {
  it('bundles every handler entry of the route manifest, and some need no database', () => {
    expect(bundles.map((bundle) => bundle.entry).sort()).toEqual([...HANDLER_ENTRIES].sort());
    expect(bundles.filter((bundle) => !bundle.database).map((bundle) => bundle.entry).sort()).toEqual(
      ['http/api-docs', 'scheduled/close-unauthenticated', 'ws/leave-conversation', 'ws/ping'].sort(),
    );
    for (const bundle of bundles) expect(bundle.database).toBe(DATABASE_ENTRIES.has(bundle.entry));
  });

  it('leaves Prisma, pg and Secrets Manager out of the functions that never touch Postgres', () => {
    for (const bundle of bundles.filter((one) => !one.database)) {
      expect(sources(bundle).filter((source) => POSTGRES_ONLY.includes(source)), bundle.entry).toEqual([]);
      expect(bundle.files.map((file) => file.name), bundle.entry).toEqual(['index.mjs']);
    }
  });

  it('gives every database function Prisma, with the small query compiler as a WebAssembly file', () => {
    for (const bundle of bundles.filter((one) => one.database)) {
      expect(sources(bundle), bundle.entry).toContain('@prisma/client');
      expect(bundle.files.map((file) => file.name), bundle.entry).toEqual(['index.mjs', 'query_compiler_small_bg.wasm']);
      // The base64 form of the WebAssembly is megabytes of JavaScript; the bundle is far smaller.
      expect(bundle.files[0]!.bytes, bundle.entry).toBeLessThan(1.5 * MiB);
    }
  });

  it('keeps every function within its size budget', () => {
    const over = bundles.flatMap((bundle) => {
      const budget = bundle.database ? BUDGETS.withDatabase : BUDGETS.withoutDatabase;
      const problems: string[] = [];
      if (bundle.bytes > budget.bytes) problems.push(`${bundle.entry}: ${mib(bundle.bytes)} > ${mib(budget.bytes)}`);
      if (budget.gzipBytes !== undefined && bundle.gzipBytes > budget.gzipBytes) problems.push(`${bundle.entry}: ${mib(bundle.gzipBytes)} gzipped > ${mib(budget.gzipBytes)}`);
      return problems;
    });
    expect(over).toEqual([]);
  });
});
