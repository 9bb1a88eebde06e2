/**
 * The package as an app gets it: built (dist/index.js and its declarations), packed with npm,
 * installed into a clean directory outside the repository, imported from Node, and type-checked
 * by a strict consumer without Node's types (zod's own declarations need the DOM lib's URL);
 * its size budget; and its route table against the server's manifest.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HTTP_ROUTES } from '#config/routes';
import { ROUTES } from '../../sdk/src/routes.ts';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const sdk = path.join(repo, 'sdk');
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
/** The budget of the core, minified and gzipped (KB of 1024 bytes). */
const BUDGET_KB = 15;

let consumer: string;

beforeAll(async () => {
  execFileSync(process.execPath, [path.join(sdk, 'scripts/build.mjs')], { stdio: 'pipe' });
  consumer = await mkdtemp(path.join(tmpdir(), 'chat-sdk-consumer-'));
  execFileSync('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', consumer], { cwd: sdk, stdio: 'pipe' });
  const tarball = (await readdir(consumer)).find((name) => name.endsWith('.tgz'));
  expect(tarball).toBeDefined();
  await writeFile(path.join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  execFileSync('npm', ['install', `./${tarball}`, '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', '--silent'], { cwd: consumer, stdio: 'pipe' });
}, 240_000);

afterAll(async () => {
  if (consumer) await rm(consumer, { recursive: true, force: true });
});

describe('the packed package', () => {
  it('installs into a clean directory and imports as ESM from Node', async () => {
    const script = `
      import { createChatClient, ChatClient, backoffDelay, memoryStorage, ROUTES } from '@provider-customer-chat/client';
      class NoSocket { constructor() { this.readyState = 0; } send() {} close() {} }
      const client = createChatClient({ httpUrl: 'http://x', wsUrl: 'ws://x', getToken: () => 't', WebSocket: NoSocket, fetch: async () => ({ status: 200, text: async () => '{}', headers: { get: () => null } }) });
      console.log(JSON.stringify({ client: client instanceof ChatClient, state: client.state, backoff: typeof backoffDelay, storage: typeof memoryStorage().getItem, sync: ROUTES.sync }));
    `;
    const output = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: consumer, encoding: 'utf8' });
    expect(JSON.parse(output)).toEqual({ client: true, state: 'idle', backoff: 'function', storage: 'function', sync: ['GET', '/api/provider-customer-chat/sync'] });
    const files = execFileSync('find', ['node_modules/@provider-customer-chat/client', '-type', 'f'], { cwd: consumer, encoding: 'utf8' });
    expect(files).toMatch(/dist\/index\.js/);
    // Built files only: no TypeScript sources.
    expect(files.split('\n').filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts'))).toEqual([]);
  });

  it('type-checks a strict consumer without Node’s types, with the server schemas’ types', async () => {
    await writeFile(
      path.join(consumer, 'app.ts'),
      `import { createChatClient, type Message, type OutgoingMessage, type KeyValueStorage } from '@provider-customer-chat/client';
declare const storage: KeyValueStorage;
declare const WebSocketImpl: new (url: string) => { readyState: number; send(data: string): void; close(): void; onopen: null; onmessage: null; onclose: null; onerror: null };
const chat = createChatClient({ httpUrl: 'https://chat.example', wsUrl: 'wss://ws.chat.example', getToken: async () => 'jwt', storage, WebSocket: WebSocketImpl });
chat.on('message', ({ message, source }) => {
  const content: string = message.content;
  const seq: number = message.seq;
  const where: 'live' | 'sync' | 'gap' | 'ack' = source;
  void [content, seq, where];
});
const outgoing: OutgoingMessage = chat.send('c1', { content: 'Hi', messageType: 'TEXT' });
outgoing.sent.then((stored: Message) => stored.id.toUpperCase());
chat.api.getMessages({ params: { conversationId: 'c1' }, query: { after: 3 } }).then((page) => page.messages.map((m) => m.seq + page.pagination.total));
chat.api.sync({ query: { since: 'cursor' } }).then((page) => page.changes.map((change) => change.type === 'message.created' && change.data.message.id));
chat.request('markRead', { conversationId: 'c1' }).then((ack) => ack.lastReadSeq.toFixed());
// @ts-expect-error content must be a string
chat.send('c1', { content: 42 });
// @ts-expect-error an action the contract does not have
chat.request('shout', {});
// @ts-expect-error markRead needs its conversationId
chat.api.markRead({});
`,
    );
    await writeFile(
      path.join(consumer, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { strict: true, noEmit: true, target: 'ES2022', lib: ['ES2022', 'DOM'], types: [], module: 'ESNext', moduleResolution: 'bundler', skipLibCheck: false },
        files: ['app.ts'],
      }),
    );
    let output = '';
    try {
      execFileSync(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: consumer, encoding: 'utf8', stdio: 'pipe' });
    } catch (error) {
      output = String((error as { stdout?: string }).stdout ?? error);
    }
    expect(output).toBe('');
  });

  it(`keeps the core within ${BUDGET_KB} KB minified and gzipped, with no dependency bundled`, async () => {
    const bundle = await build({ entryPoints: [path.join(sdk, 'dist/index.js')], bundle: true, minify: true, format: 'esm', platform: 'neutral', write: false, logLevel: 'silent' });
    const code = bundle.outputFiles[0]!.contents;
    const gzipped = gzipSync(code, { level: 9 }).length;
    const kb = Math.round((gzipped / 1024) * 10) / 10;
    console.info(`@provider-customer-chat/client: ${(code.length / 1024).toFixed(1)} KB minified, ${kb} KB minified and gzipped`);
    expect(gzipped).toBeLessThanOrEqual(BUDGET_KB * 1024);
    const text = await readFile(path.join(sdk, 'dist/index.js'), 'utf8');
    expect(text).not.toMatch(/\bfrom\s*['"]/);
    expect(text).not.toMatch(/ZodError|z\.object/);
  });
});

describe('the route table', () => {
  it('is the server manifest’s: every route, its method and its path', () => {
    expect(Object.fromEntries(Object.entries(ROUTES).map(([name, [method, routePath]]) => [name, `${method} ${routePath}`]))).toEqual(
      Object.fromEntries(HTTP_ROUTES.map((route) => [route.name, `${route.method} ${route.path}`])),
    );
  });
});
