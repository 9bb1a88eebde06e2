/**
 * `npm run example` (bin/example-client.ts), run the way a newcomer runs it: a separate process
 * pointed at a running runtime through PORT and WS_PORT. It must print a readable transcript,
 * leave the exchange in the conversation's history, and exit 0, also when run a second time.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { freePort } from '#lib/local/net';
import { startTestRuntime, type TestRuntime } from '#tests/support/runtime';
import { restApi, type Json } from './support/chat.ts';

const SCRIPT = fileURLToPath(new URL('../../bin/example-client.ts', import.meta.url));

let runtime: TestRuntime;

beforeAll(async () => {
  runtime = await startTestRuntime();
});

afterAll(async () => {
  await runtime?.stop();
});

function runExample(env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', SCRIPT], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

const portOf = (url: string) => new URL(url).port;

it('plays a customer and a provider’s staff chatting, prints the transcript and exits 0', { timeout: 60_000 }, async () => {
  const env = { PORT: portOf(runtime.httpUrl), WS_PORT: portOf(runtime.wsUrl) };
  const first = await runExample(env);
  expect(first.code, first.stderr).toBe(0);
  const lines = first.stdout;
  expect(lines).toContain('(started: 201)');
  expect(lines).toContain('customer 2    connected with ?token=');
  expect(lines).toContain('signed in as user 7 of provider 1');
  expect(lines).toMatch(/customer 2\s+… is typing/);
  expect(lines).toMatch(/customer 2\s+→ Hi! Is my car ready\?\s+\(#1\)/);
  expect(lines).toMatch(/staff 7\s+✓ delivered #1/);
  expect(lines).toMatch(/staff 7\s+✓✓ read #1/);
  expect(lines).toMatch(/staff 7\s+→ Almost: it is drying now\. Ready in 10 minutes\.\s+\(#2\)/);
  expect(lines).toMatch(/customer 2\s+✓✓ read #2/);
  expect(lines).toMatch(/staff 7\s+✓✓ read #3/);
  expect(lines).toContain('The conversation holds 3 message(s)');

  // What it did is in the product, as either side sees it.
  const api = restApi(runtime.httpUrl);
  const customer = await api.devToken({ userId: 2, role: 'customer' });
  const [conversation] = (await api.get('/conversations', customer)).body.conversations;
  const history = (await api.get(`/conversations/${conversation.id}/messages`, customer)).body.messages;
  expect(history.map((m: Json) => [m.seq, m.senderId, m.status])).toEqual([
    [1, 2, 'READ'],
    [2, 7, 'READ'],
    [3, 2, 'READ'],
  ]);

  // Again: the conversation is reopened (200) and the sequence goes on.
  const second = await runExample(env);
  expect(second.code, second.stderr).toBe(0);
  expect(second.stdout).toContain('(already there: 200)');
  expect(second.stdout).toMatch(/→ Hi! Is my car ready\?\s+\(#4\)/);
  expect(second.stdout).toContain('The conversation holds 6 message(s)');
});

it('says what to do and exits 1 when no runtime answers', { timeout: 30_000 }, async () => {
  const port = String(await freePort()); // nothing listens there
  const result = await runExample({ PORT: port, WS_PORT: port });
  expect(result.code).toBe(1);
  expect(result.stderr).toContain('npm start');
});
