/**
 * Builds the package: dist/index.js (one ESM file, no dependencies at run time) with esbuild, and
 * the type declarations with tsc into dist/types. The declarations keep the repository's layout
 * (dist/types/sdk/src/… beside dist/types/functions/core/protocol/…) because the client's types
 * are inferred from the server's protocol schemas, so those are emitted with them; the
 * repository's `#core/*` and `#config/*` import aliases are rewritten to relative paths so the
 * declarations resolve wherever the package is installed.
 */
import { spawnSync } from 'node:child_process';
import console from 'node:console';
import process from 'node:process';
import { existsSync } from 'node:fs';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const sdkDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = path.join(sdkDir, 'dist');
const require = createRequire(import.meta.url);

// esbuild and typescript come from the repository's own install (the root `npm install`).
let esbuild;
let tsc;
try {
  esbuild = await import('esbuild');
  tsc = require.resolve('typescript/bin/tsc');
} catch {
  if (existsSync(path.join(dist, 'index.js'))) {
    console.warn('@provider-customer-chat/client: esbuild or typescript not installed; keeping the existing dist/');
    process.exit(0);
  }
  console.error('@provider-customer-chat/client: run `npm install` at the repository root first (it builds sdk/dist)');
  process.exit(1);
}

await rm(dist, { recursive: true, force: true });
await esbuild.build({
  entryPoints: [path.join(sdkDir, 'src/index.ts')],
  outfile: path.join(dist, 'index.js'),
  bundle: true,
  format: 'esm',
  platform: 'neutral',
  target: 'es2020',
  sourcemap: true,
  legalComments: 'none',
  logLevel: 'warning',
});

const result = spawnSync(process.execPath, [tsc, '-p', path.join(sdkDir, 'tsconfig.build.json')], { stdio: 'inherit' });
if (result.status !== 0) process.exit(result.status ?? 1);

const aliases = { '#core/': 'functions/core/', '#config/': 'functions/config/', '#adapters/': 'functions/adapters/', '#lib/': 'lib/' };
const typesDir = path.join(dist, 'types');
async function* walk(dir) {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) yield* walk(full);
    else if (entry.name.endsWith('.d.ts')) yield full;
  }
}
for await (const file of walk(typesDir)) {
  const text = await readFile(file, 'utf8');
  const rewritten = text.replace(/(from |import\()(['"])(#(?:core|config|adapters|lib)\/)([^'"]+)\2/g, (_all, lead, quote, alias, rest) => {
    const target = path.join(typesDir, aliases[alias], `${rest}.ts`);
    let relative = path.relative(path.dirname(file), target).split(path.sep).join('/');
    if (!relative.startsWith('.')) relative = `./${relative}`;
    return `${lead}${quote}${relative}${quote}`;
  });
  // The server modules the schemas sit beside import types of server packages (the AWS SDK,
  // libphonenumber) that no client type reaches: each becomes `unknown`, so the declarations need
  // nothing installed but zod.
  const standalone = rewritten.replace(/^import (?:type )?\{([^}]*)\} from '([^.'][^']*)';$/gm, (all, names, from) => {
    if (from === 'zod' || from.startsWith('zod/')) return all;
    const locals = names
      .split(',')
      .map((name) => name.trim().replace(/^type\s+/, ''))
      .filter(Boolean)
      .map((name) => name.split(/\s+as\s+/).pop());
    return locals.map((local) => `type ${local} = unknown; // from ${from}, not needed by the client`).join('\n');
  });
  if (standalone !== text) await writeFile(file, standalone);
}
