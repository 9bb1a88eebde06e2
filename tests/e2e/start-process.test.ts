/**
 * `npm start` as a developer or a process manager runs it: a real `npm start` on ports picked
 * here (PORT, WS_PORT, SQS_PORT, CHAT_POSTGRES_PORT, CHAT_DYNAMODB_PORT). A killed Postgres or
 * DynamoDB Local is started again by the runtime (health back, data intact), and a SIGTERM or
 * SIGINT to the npm process stops everything: exit code 0, every port closed, no server left.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import { freePort } from '#lib/local/net';
import { restApi } from './support/chat.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const children: ChildProcessWithoutNullStreams[] = [];
let dataDir: string | undefined;

afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

interface Started {
  child: ChildProcessWithoutNullStreams;
  output(): string;
  exited: Promise<number | null>;
}

async function npmStart(env: Record<string, string>): Promise<Started> {
  const clean = { ...process.env };
  for (const name of ['DATABASE_URL', 'DYNAMODB_ENDPOINT']) delete clean[name];
  const child = spawn('npm', ['start'], { cwd: ROOT, env: { ...clean, ...env }, stdio: 'pipe' });
  children.push(child);
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const deadline = Date.now() + 60_000;
  while (!output.includes('Local runtime ready')) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`npm start did not get ready:\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { child, output: () => output, exited };
}

const open = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

const pids = (dir: string) => ({
  postgres: Number(readFileSync(path.join(dir, 'postgres', 'postmaster.pid'), 'utf8').split('\n')[0]),
  java: Number(readFileSync(path.join(dir, 'dynamodb', 'dynamodb-local.pid'), 'utf8').trim()),
});

async function healthyAgain(httpUrl: string, withinMs: number): Promise<void> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const status = await fetch(`${httpUrl}/health`).then((response) => response.status, () => 0);
    if (status === 200) return;
    if (Date.now() > deadline) throw new Error(`/health still ${status} after ${withinMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

it('restarts a killed Postgres and DynamoDB Local, and stops everything on SIGTERM and SIGINT', { timeout: 240_000 }, async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'chat-npm-start-'));
  const ports = { http: await freePort(), ws: await freePort(), sqs: await freePort(), postgres: await freePort(), dynamo: await freePort() };
  const env = {
    CHAT_DATA_DIR: dataDir,
    PORT: String(ports.http),
    WS_PORT: String(ports.ws),
    SQS_PORT: String(ports.sqs),
    CHAT_POSTGRES_PORT: String(ports.postgres),
    CHAT_DYNAMODB_PORT: String(ports.dynamo),
  };
  const httpUrl = `http://127.0.0.1:${ports.http}`;
  const all = Object.values(ports);

  const first = await npmStart(env);
  // The pinned ports are honoured and shown.
  expect(first.output()).toContain(`127.0.0.1:${ports.postgres}/chat`);
  expect(first.output()).toContain(`psql -h 127.0.0.1 -p ${ports.postgres} -U postgres chat`);
  expect(first.output()).toContain(`DynamoDB        http://127.0.0.1:${ports.dynamo}`);
  for (const port of all) expect(await open(port)).toBe(true);

  const api = restApi(`${httpUrl}`);
  const customer = await api.devToken({ userId: 2, role: 'customer' });
  const created = await api.post('/conversations', customer, { providerId: 1, customerId: 2 });
  expect(created.status).toBe(201);
  const conversationId = created.body.conversation.id as string;
  expect((await api.post(`/conversations/${conversationId}/messages`, customer, { content: 'before the crash' })).status).toBe(201);

  // kill -9 the postmaster, then the JVM: the runtime brings each back.
  const before = pids(dataDir);
  process.kill(before.postgres, 'SIGKILL');
  await healthyAgain(httpUrl, 30_000);
  process.kill(before.java, 'SIGKILL');
  await new Promise((resolve) => setTimeout(resolve, 300));
  await healthyAgain(httpUrl, 30_000);
  expect(first.output()).toMatch(/PostgreSQL \(pid \d+\) exited \(SIGKILL\); restarting/);
  expect(first.output()).toMatch(/DynamoDB Local \(pid \d+\) exited \(SIGKILL\); restarting/);
  const messages = await api.get(`/conversations/${conversationId}/messages`, customer);
  expect(messages.body.messages.map((m: { content: string }) => m.content)).toEqual(['before the crash']);
  expect((await api.post(`/conversations/${conversationId}/messages`, customer, { content: 'after the crash' })).status).toBe(201);

  // SIGTERM to npm (what `kill $!` and process managers send): everything stops, exit code 0.
  const running = pids(dataDir);
  first.child.kill('SIGTERM');
  expect(await first.exited, first.output()).toBe(0);
  for (const port of all) expect(await open(port), `port ${port}`).toBe(false);
  expect(alive(running.postgres)).toBe(false);
  expect(alive(running.java)).toBe(false);

  // SIGINT to npm (Ctrl-C reaching only npm) too; the data is still there.
  const second = await npmStart(env);
  expect((await api.get(`/conversations/${conversationId}/messages`, customer)).body.messages).toHaveLength(2);
  const again = pids(dataDir);
  second.child.kill('SIGINT');
  expect(await second.exited, second.output()).toBe(0);
  for (const port of all) expect(await open(port), `port ${port}`).toBe(false);
  expect(alive(again.postgres)).toBe(false);
  expect(alive(again.java)).toBe(false);
});
