/**
 * Generates the Prisma client into functions/adapters/postgres/generated.
 *
 * `prisma generate` does not use the schema engine, but the CLI looks for one at start and
 * tries to download it when it is missing, which fails without internet access. Pointing
 * PRISMA_SCHEMA_ENGINE_BINARY at any existing file skips that look-up.
 *
 * Then the query compiler's WebAssembly is made a file. For Node.js, Prisma 7's generated client
 * imports it as a base64 string (1.8 MB of WebAssembly becomes 2.4 MB of JavaScript, which
 * neither minifies nor gzips well, and every database function's bundle carried it); its only
 * file form is for the edge runtimes (`import … from "….wasm?module"`, which Node cannot load).
 * So the step below writes the WebAssembly beside the generated client
 * (generated/internal/query_compiler_<build>_bg.wasm) and has the client read it from beside
 * itself (`new URL(…, import.meta.url)`): from the sources in the local runtime and the tests,
 * from beside index.mjs in a bundle, where lib/constructs/chat-function.ts copies it.
 */
import { spawnSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
// The generated client's module that loads the query compiler.
const GENERATED_CLASS = fileURLToPath(new URL('../functions/adapters/postgres/generated/internal/class.ts', import.meta.url));

const env = {
  ...process.env,
  PRISMA_SCHEMA_ENGINE_BINARY: process.env.PRISMA_SCHEMA_ENGINE_BINARY ?? fileURLToPath(import.meta.url),
  PRISMA_HIDE_UPDATE_MESSAGE: '1',
  CHECKPOINT_DISABLE: '1',
};
const result = spawnSync('npx', ['prisma', 'generate'], { cwd: root, env, stdio: 'inherit' });
if (result.status !== 0) process.exit(result.status ?? 1);

const LOADER = /getQueryCompilerWasmModule: async \(\) => \{\s*const \{ wasm \} = await import\("(@prisma\/client\/runtime\/(query_compiler_\w+_bg)\.\w+\.wasm-base64\.mjs)"\)\s*return await decodeBase64AsWasm\(wasm\)\s*\}/;
const source = await readFile(GENERATED_CLASS, 'utf8');
const match = LOADER.exec(source);
if (!match) {
  console.error(`${GENERATED_CLASS}: the query compiler loader is not the one this script rewrites; check bin/prisma-generate.ts against this Prisma version`);
  process.exit(1);
}
const [loader, base64Module, compiler] = match as unknown as [string, string, string];
const { wasm } = (await import(createRequire(GENERATED_CLASS).resolve(base64Module))) as { wasm: string };
const wasmFile = `${compiler}.wasm`;
await writeFile(new URL(wasmFile, `file://${GENERATED_CLASS}`), Buffer.from(wasm, 'base64'));
await writeFile(
  GENERATED_CLASS,
  source.replace(
    loader,
    [
      'getQueryCompilerWasmModule: async () => {',
      "    // Rewritten by bin/prisma-generate.ts: the WebAssembly is a file beside this module (or beside the bundle).",
      "    const { readFile } = await import('node:fs/promises')",
      `    return await WebAssembly.compile(await readFile(new URL(${JSON.stringify(`./${wasmFile}`)}, import.meta.url)))`,
      '  }',
    ].join('\n'),
  ),
);
console.log(`Query compiler WebAssembly: functions/adapters/postgres/generated/internal/${wasmFile}`);
