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
 * source map aside). docs/benchmarks.md, "Per-function bundles", has the figures.
 */
const BUDGETS: Record<'withoutDatabase' | 'withDatabase' | 'media', { bytes: number; gzipBytes?: number }> = {
  withoutDatabase: { bytes: 0.5 * MiB },
  withDatabase: { bytes: 3 * MiB, gzipBytes: 1.2 * MiB },
  // The attachments' processor: a database function that also carries file-type and the HEIC
  // decoder (libheif compiled to WebAssembly, 1.9 MiB of the JavaScript); sharp is a native
  // module installed beside the bundle for linux-arm64 (tests/infra/attachments-bundle.test.ts).
  media: { bytes: 5 * MiB, gzipBytes: 1.8 * MiB },
};

/** Functions that carry the media libraries (the media port group). */
const MEDIA_ENTRIES = new Set(['queue/process-attachments']);

/**
 * The functions that read message text for contact details (libphonenumber-js and its metadata,
 * a fifth of a megabyte, and linkify-it): sending and editing, by either API, the shim, and the
 * consumer that files flagged messages.
 */
const TEXT_READERS = new Set(['http/send-message', 'http/edit-message', 'ws/send-message', 'ws/edit-message', 'ws/default', 'queue/file-flagged-messages']);

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

  it('keeps the media libraries (sharp, file-type, the HEIC decoder) in the attachments processor alone', () => {
    for (const bundle of bundles.filter((one) => !MEDIA_ENTRIES.has(one.entry))) {
      expect(sources(bundle).filter((source) => ['libheif-js', 'heic-decode', 'file-type', 'sharp'].includes(source)), bundle.entry).toEqual([]);
    }
    for (const entry of MEDIA_ENTRIES) expect(sources(bundles.find((bundle) => bundle.entry === entry)!), entry).toContain('libheif-js');
  });

  it('keeps the contact-details detectors in the functions that read message text', () => {
    for (const bundle of bundles) {
      const detectors = sources(bundle).filter((source) => ['libphonenumber-js', 'linkify-it', 'tlds'].includes(source));
      expect(detectors, bundle.entry).toEqual(TEXT_READERS.has(bundle.entry) ? expect.arrayContaining(['libphonenumber-js', 'linkify-it', 'tlds']) : []);
    }
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
      if (!MEDIA_ENTRIES.has(bundle.entry)) expect(bundle.files[0]!.bytes, bundle.entry).toBeLessThan(1.6 * MiB);
    }
  });

  it('keeps every function within its size budget', () => {
    const over = bundles.flatMap((bundle) => {
      const budget = MEDIA_ENTRIES.has(bundle.entry) ? BUDGETS.media : bundle.database ? BUDGETS.withDatabase : BUDGETS.withoutDatabase;
      const problems: string[] = [];
      if (bundle.bytes > budget.bytes) problems.push(`${bundle.entry}: ${mib(bundle.bytes)} > ${mib(budget.bytes)}`);
      if (budget.gzipBytes !== undefined && bundle.gzipBytes > budget.gzipBytes) problems.push(`${bundle.entry}: ${mib(bundle.gzipBytes)} gzipped > ${mib(budget.gzipBytes)}`);
      return problems;
    });
    expect(over).toEqual([]);
  });
});
