/**
 * Bundle size and cold init time of every Lambda function.
 *
 * Each distinct handler entry of the route manifest (HTTP routes, WebSocket routes, scheduled
 * tasks) is bundled with esbuild the way `lib/constructs/chat-function.ts` has NodejsFunction
 * bundle it: platform node, target node22, ESM, minified, `mainFields: ['module', 'main']`, the
 * same `require`/`__filename`/`__dirname` banner. Source maps are left out (the deployed zip
 * carries a `.map` beside the bundle; it is not loaded at init). A database function ships the
 * query compiler's WebAssembly beside index.mjs (as the stack's bundling step copies it); its
 * size counts in the function's figures. Two variants:
 *
 * - `deployed`: what the stack ships: the AWS SDK bundled in, but for the credential providers a
 *   Lambda function never reaches (EXTERNAL_MODULES in lib/constructs/chat-function.ts);
 * - `sdk-external`: `@aws-sdk/*` left out, as it could be, since the Lambda Node.js 22 runtime
 *   provides AWS SDK v3 itself.
 *
 * Init time: each `deployed` bundle is imported in a fresh `node` process (from a directory with
 * no node_modules above it, proving the bundle is self-contained) with a Lambda-like environment
 * of dummy values; the time to import it is measured inside the process (module loading and
 * evaluation: what Lambda's Init phase spends on our code), and the whole process's wall time
 * beside it. Median of `runs`.
 */
import { DATABASE_ENTRIES, ESM_REQUIRE_BANNER, EXTERNAL_MODULES, QUERY_COMPILER_DIR } from '#lib/constructs/chat-function';
import { spawn } from 'node:child_process';
import { copyFile, mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { HANDLER_ENTRIES } from '#config/routes';
import { median } from './stats.ts';

const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));
const HANDLERS_DIR = path.join(PROJECT_ROOT, 'functions', 'handlers');



export type Variant = 'deployed' | 'sdk-external';

const EXTERNALS: Record<Variant, string[]> = {
  deployed: EXTERNAL_MODULES,
  'sdk-external': [...EXTERNAL_MODULES, '@aws-sdk/*'],
};

export interface BundleFigures {
  entry: string;
  /** Whether the function's route touches Postgres (functions/config/routes.ts). */
  database: boolean;
  /** Every file the function ships but the source map: index.mjs, and the query compiler for a database function. */
  bytes: number;
  gzipBytes: number;
  files: { name: string; bytes: number; gzipBytes: number }[];
  /** Bytes of the output by where they came from (an npm package, or a folder of the project), largest first. */
  composition: { source: string; bytes: number }[];
}

/** Groups an esbuild input path: `@scope/name` or `name` under node_modules, else the project folder. */
export function sourceOf(input: string): string {
  const modules = input.lastIndexOf('node_modules/');
  if (modules >= 0) {
    const parts = input.slice(modules + 'node_modules/'.length).split('/');
    return parts[0]?.startsWith('@') ? `${parts[0]}/${parts[1]}` : (parts[0] ?? input);
  }
  if (input.includes('adapters/postgres/generated/')) return 'functions/adapters/postgres/generated (Prisma client)';
  const [top, second] = input.split('/');
  return second ? `${top}/${second}` : input;
}

export interface InitFigures {
  entry: string;
  /** Median time to import the bundle, measured inside the process (ms). */
  importMs: number;
  /** Median wall time of the whole `node` process: start-up, import, exit (ms). */
  processMs: number;
  runs: number[];
}

/** The query compiler's WebAssembly that bin/prisma-generate.ts wrote beside the generated client. */
async function queryCompilerFiles(): Promise<string[]> {
  const names = (await readdir(QUERY_COMPILER_DIR)).filter((name) => /^query_compiler_\w+_bg\.wasm$/.test(name));
  if (names.length !== 1) throw new Error(`Expected one query compiler in ${QUERY_COMPILER_DIR}, found ${names.length}: run npm run prisma:generate`);
  return names;
}

/** Bundles every entry; answers the bundles' paths and sizes. */
export async function bundleAll(variant: Variant, outDir: string, entries: readonly string[] = HANDLER_ENTRIES): Promise<(BundleFigures & { file: string })[]> {
  await rm(outDir, { recursive: true, force: true });
  await mkdir(outDir, { recursive: true });
  // One esbuild run for all entries (it parses shared modules once); without code splitting
  // every output still stands alone, as each NodejsFunction's bundle does.
  const result = await build({
    entryPoints: entries.map((entry) => ({ in: path.join(HANDLERS_DIR, `${entry}.ts`), out: `${entry}/index` })),
    outdir: outDir,
    outExtension: { '.js': '.mjs' },
    absWorkingDir: PROJECT_ROOT,
    bundle: true,
    splitting: false,
    platform: 'node',
    target: 'node22',
    format: 'esm',
    minify: true,
    sourcemap: false,
    mainFields: ['module', 'main'],
    charset: 'utf8',
    banner: { js: ESM_REQUIRE_BANNER },
    external: EXTERNALS[variant],
    logLevel: 'error',
    metafile: true,
  });
  const figures: (BundleFigures & { file: string })[] = [];
  for (const entry of entries) {
    const file = path.join(outDir, entry, 'index.mjs');
    const output = result.metafile.outputs[path.relative(PROJECT_ROOT, file)];
    if (!output) throw new Error(`esbuild wrote no ${file}`);
    const bySource = new Map<string, number>();
    for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
      const source = sourceOf(input);
      bySource.set(source, (bySource.get(source) ?? 0) + bytesInOutput);
    }
    const composition = [...bySource].map(([source, bytes]) => ({ source, bytes })).sort((a, b) => b.bytes - a.bytes);
    const database = DATABASE_ENTRIES.has(entry);
    const names = ['index.mjs'];
    if (database) {
      for (const name of await queryCompilerFiles()) {
        await copyFile(path.join(QUERY_COMPILER_DIR, name), path.join(path.dirname(file), name));
        names.push(name);
      }
    }
    const files = await Promise.all(
      names.map(async (name) => {
        const contents = await readFile(path.join(path.dirname(file), name));
        return { name, bytes: contents.length, gzipBytes: gzipSync(contents).length };
      }),
    );
    const sum = (key: 'bytes' | 'gzipBytes') => files.reduce((total, one) => total + one[key], 0);
    figures.push({ entry, database, file, bytes: sum('bytes'), gzipBytes: sum('gzipBytes'), files, composition });
  }
  return figures;
}

/** What a deployed function sees at init, with dummy values (nothing is contacted while importing). */
function lambdaEnvironment(entry: string): Record<string, string> {
  const name = `chat-${entry.replace(/\W+/g, '-')}`;
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    TZ: 'UTC',
    LANG: 'en_US.UTF-8',
    AWS_REGION: 'us-east-1',
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_LAMBDA_FUNCTION_NAME: name,
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '512',
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x',
    AWS_ACCESS_KEY_ID: 'bench',
    AWS_SECRET_ACCESS_KEY: 'bench',
    AWS_EC2_METADATA_DISABLED: 'true',
    POWERTOOLS_SERVICE_NAME: 'provider-customer-chat',
    POWERTOOLS_METRICS_NAMESPACE: 'ProviderCustomerChat',
    POWERTOOLS_LOG_LEVEL: 'INFO',
    DATABASE_URL: 'postgresql://bench:bench@127.0.0.1:9/chat',
    WEBSOCKET_CALLBACK_URL: 'http://127.0.0.1:9/bench',
    AUTH_ISSUER: 'https://127.0.0.1/bench',
    AUTH_AUDIENCE: 'bench',
    AUTH_JWKS_URI: 'http://127.0.0.1:9/jwks.json',
  };
}

/**
 * Runs `script` (an ES module; the bundle's file URL is its process.argv[1]) in a fresh Node.js
 * process beside the bundle, with `env`; resolves with the last line it printed, parsed as JSON,
 * and the process's wall time.
 */
export function runBundleScript<T>(script: string, file: string, entry: string, env: NodeJS.ProcessEnv): Promise<{ result: T; processMs: number }> {
  return new Promise((resolve, reject) => {
    const began = performance.now();
    const child = spawn(process.execPath, ['--input-type=module', '-e', script, pathToFileURL(file).href], {
      cwd: path.dirname(file),
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const processMs = performance.now() - began;
      if (code !== 0) {
        reject(new Error(`${entry}: the bundle's script failed (${code}): ${stderr.trim().slice(0, 500)}`));
        return;
      }
      try {
        resolve({ result: JSON.parse(stdout.trim().split('\n').at(-1) ?? '') as T, processMs });
      } catch {
        reject(new Error(`${entry}: unexpected output ${stdout.slice(0, 200)} ${stderr.slice(0, 200)}`));
      }
    });
  });
}

/** Imports the bundle in a fresh process; the in-process import time and the process's wall time. */
async function importOnce(file: string, entry: string): Promise<{ importMs: number; processMs: number }> {
  const script = [
    'const started = performance.now();',
    'const module = await import(process.argv[1]);',
    'const importMs = performance.now() - started;',
    "if (typeof module.handler !== 'function') throw new Error('no handler export');",
    'process.stdout.write(JSON.stringify({ importMs }));',
    'process.exit(0);',
  ].join('\n');
  const { result, processMs } = await runBundleScript<{ importMs: number }>(script, file, entry, lambdaEnvironment(entry));
  return { importMs: result.importMs, processMs };
}

/** `runs` imports of each bundle, round-robin over the bundles so that a burst of load elsewhere spreads over many. */
export async function measureInit(bundles: readonly { entry: string; file: string }[], runs: number): Promise<InitFigures[]> {
  const results = new Map<string, { importMs: number; processMs: number }[]>(bundles.map(({ entry }) => [entry, []]));
  for (let run = 0; run < runs; run++) {
    for (const { entry, file } of bundles) results.get(entry)!.push(await importOnce(file, entry));
  }
  return bundles.map(({ entry }) => {
    const measured = results.get(entry)!;
    return {
      entry,
      importMs: median(measured.map((result) => result.importMs)),
      processMs: median(measured.map((result) => result.processMs)),
      runs: measured.map((result) => Math.round(result.importMs * 10) / 10),
    };
  });
}

export interface FirstQueryFigures {
  entry: string;
  /** Median time to import the bundle (ms), as in {@link InitFigures}. */
  importMs: number;
  /**
   * Median time of the first invocation (ms): GET /health, whose Postgres probe is the function's
   * first database call (the Prisma client made, its query compiler compiled, the pool's first
   * connection opened, SELECT 1). Its DynamoDB probe is refused at once (nothing listens).
   */
  firstCallMs: number;
  runs: { importMs: number; firstCallMs: number }[];
}

/** The health bundle imported and invoked once in a fresh process, against `databaseUrl`; `runs` times. */
export async function measureFirstQuery(bundle: { entry: string; file: string }, databaseUrl: string, runs: number): Promise<FirstQueryFigures> {
  const script = [
    'const started = performance.now();',
    'const module = await import(process.argv[1]);',
    'const importMs = performance.now() - started;',
    "const event = { version: '2.0', routeKey: 'GET /health', rawPath: '/health', headers: {}, requestContext: { http: { method: 'GET', path: '/health' } }, isBase64Encoded: false };",
    "const context = { functionName: 'health', awsRequestId: 'bench', getRemainingTimeInMillis: () => 10000 };",
    'const called = performance.now();',
    'const response = await module.handler(event, context);',
    'const firstCallMs = performance.now() - called;',
    "if (!JSON.parse(response.body).checks || JSON.parse(response.body).checks.postgres !== 'ok') throw new Error('postgres did not answer: ' + response.body);",
    "process.stdout.write('\\n' + JSON.stringify({ importMs, firstCallMs }));",
    'process.exit(0);',
  ].join('\n');
  const measured: { importMs: number; firstCallMs: number }[] = [];
  for (let run = 0; run < runs; run++) {
    const env = {
      ...lambdaEnvironment(bundle.entry),
      DATABASE_URL: databaseUrl,
      DYNAMODB_ENDPOINT: 'http://127.0.0.1:9',
      DYNAMODB_MAX_ATTEMPTS: '1',
      POWERTOOLS_METRICS_DISABLED: 'true',
      POWERTOOLS_LOG_LEVEL: 'SILENT',
    };
    measured.push((await runBundleScript<{ importMs: number; firstCallMs: number }>(script, bundle.file, bundle.entry, env)).result);
  }
  const round = (ms: number) => Math.round(ms * 10) / 10;
  return {
    entry: bundle.entry,
    importMs: round(median(measured.map((one) => one.importMs))),
    firstCallMs: round(median(measured.map((one) => one.firstCallMs))),
    runs: measured.map((one) => ({ importMs: round(one.importMs), firstCallMs: round(one.firstCallMs) })),
  };
}

/** A scratch directory with no node_modules above it. */
export function scratchDir(name: string): string {
  return path.join(tmpdir(), name);
}
