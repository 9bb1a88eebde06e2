/**
 * The embedded servers' hardening: the Postgres superuser password never sits world-readable in
 * the temp dir (nor stays there), Postgres starts as root when its binaries are out of the
 * `postgres` user's reach (a project under a mode-700 home), and DynamoDB Local listens on
 * 127.0.0.1 only, on the port asked for.
 */
import { randomBytes } from 'node:crypto';
import { cp, lstat, mkdir, mkdtemp, readdir, readlink, rm, stat, chmod } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startDynamoLocal } from '#lib/local/dynamodb';
import { freePort } from '#lib/local/net';
import { nativeDir, PASSWORD_DIR_PREFIX, resolveClusterDir, serverUser, startEmbeddedPostgres, withPgClient } from '#lib/local/postgres';

const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
});

async function scratch(prefix: string, mode = 0o755): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  await chmod(dir, mode);
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

const secrets = async () => (await readdir(tmpdir())).filter((name) => name.startsWith('pg-password-') || name.startsWith(PASSWORD_DIR_PREFIX));

/** Local addresses (hex ip:port) of the sockets listening on `port` (/proc/net/tcp, tcp6). */
function listeners(port: number): string[] {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  return ['/proc/net/tcp', '/proc/net/tcp6'].flatMap((file) =>
    readFileSync(file, 'utf8')
      .split('\n')
      .slice(1)
      .map((line) => line.trim().split(/\s+/))
      .filter((fields) => fields[3] === '0A' && fields[1]?.endsWith(`:${hexPort}`))
      .map((fields) => fields[1]!.split(':')[0]!),
  );
}

describe('embedded PostgreSQL', () => {
  it('leaves no password file behind, and keeps it private while initdb runs', { timeout: 60_000 }, async () => {
    const before = await secrets();
    const root = await scratch('chat-pg-secret-');
    const seen: string[] = [];
    const watch = setInterval(() => {
      void readdir(tmpdir()).then(async (names) => {
        for (const name of names.filter((n) => n.startsWith(PASSWORD_DIR_PREFIX))) {
          const dir = path.join(tmpdir(), name);
          const dirMode = (await stat(dir).catch(() => null))?.mode;
          const fileMode = (await stat(path.join(dir, 'pwfile')).catch(() => null))?.mode;
          if (dirMode !== undefined) seen.push(`dir ${(dirMode & 0o777).toString(8)}`);
          if (fileMode !== undefined) seen.push(`file ${(fileMode & 0o777).toString(8)}`);
        }
      });
    }, 5);
    try {
      const server = await startEmbeddedPostgres({ dataDir: path.join(root, 'data'), password: 's3cret', persistent: false, durable: false });
      await server.stop();
    } finally {
      clearInterval(watch);
    }
    expect(await secrets()).toEqual(before);
    for (const mode of seen) expect(mode).toMatch(/^(dir 700|file 600)$/);
  });

  it('removes it when initdb fails too', { timeout: 60_000 }, async () => {
    const before = await secrets();
    const root = await scratch('chat-pg-fail-');
    // A data directory inside a regular file: initdb cannot create it.
    const blocker = path.join(root, 'file');
    await (await import('node:fs/promises')).writeFile(blocker, '');
    await expect(startEmbeddedPostgres({ dataDir: path.join(blocker, 'data'), password: 'x', persistent: false, durable: false })).rejects.toThrow();
    expect(await secrets()).toEqual(before);
  });

  it.runIf(process.getuid?.() === 0)('starts as root with its binaries under a mode-700 directory', { timeout: 90_000 }, async () => {
    const native = await nativeDir();
    const copiesBefore = new Set((await readdir(tmpdir())).filter((name) => name.startsWith('chat-embedded-postgres-')));
    cleanups.push(async () => {
      for (const name of await readdir(tmpdir())) {
        if (name.startsWith('chat-embedded-postgres-') && !copiesBefore.has(name)) await rm(path.join(tmpdir(), name), { recursive: true, force: true });
      }
    });
    const home = await scratch('chat-pg-private-home-', 0o700);
    const privateNative = path.join(home, 'project', 'node_modules', 'native');
    await mkdir(path.dirname(privateNative), { recursive: true });
    await cp(native, privateNative, { recursive: true, verbatimSymlinks: true });
    const root = await scratch('chat-pg-data-');
    const server = await startEmbeddedPostgres({
      dataDir: path.join(root, 'data'),
      password: randomBytes(8).toString('hex'),
      persistent: false,
      durable: false,
      nativeDir: privateNative,
    });
    cleanups.push(() => server.stop());
    expect(await withPgClient(server.url, async (client) => (await client.query('SELECT 1 AS one')).rows[0])).toEqual({ one: 1 });
    await server.stop();
  });
});

describe('embedded PostgreSQL data under a mode-700 directory', () => {
  const asRoot = process.getuid?.() === 0;

  it(
    asRoot ? 'keeps the cluster outside it, behind a symlink, across a restart' : 'keeps the cluster where it is configured (not root)',
    { timeout: 120_000 },
    async () => {
      const home = await scratch('chat-pg-private-data-', 0o700);
      const dataDir = path.join(home, 'project', '.data', 'postgres');
      await mkdir(path.dirname(dataDir), { recursive: true });
      const first = await resolveClusterDir(dataDir);
      if (!asRoot) {
        expect(first).toEqual({ dir: dataDir });
        return;
      }
      cleanups.push(() => rm(first.dir, { recursive: true, force: true }));
      expect(path.relative(home, first.dir).startsWith('..')).toBe(true);
      expect(first.pointer).toBe(dataDir);
      expect((await lstat(dataDir)).isSymbolicLink()).toBe(true);
      expect(await readlink(dataDir)).toBe(first.dir);
      expect(first.reason).toContain('cannot reach');

      const password = randomBytes(8).toString('hex');
      const start = (dir: string) => startEmbeddedPostgres({ dataDir: dir, password, persistent: true, durable: false });
      let server = await start(first.dir);
      cleanups.push(() => server.stop());
      expect(server.created).toBe(true);
      await withPgClient(server.url, async (client) => {
        await client.query('CREATE TABLE kept (body text)');
        await client.query("INSERT INTO kept VALUES ('still here')");
      });
      await server.stop();

      const user = await serverUser();
      const owned = await stat(first.dir);
      expect(owned.uid).toBe(user.uid);
      expect(owned.mode & 0o777).toBe(0o700);
      expect((await stat(home)).mode & 0o777).toBe(0o700);

      const second = await resolveClusterDir(dataDir);
      expect(second.dir).toBe(first.dir);
      server = await start(second.dir);
      expect(server.created).toBe(false);
      expect(await withPgClient(server.url, async (client) => (await client.query('SELECT body FROM kept')).rows)).toEqual([{ body: 'still here' }]);
      await server.stop();
    },
  );
});

describe('DynamoDB Local', () => {
  it('listens on 127.0.0.1 only, on the port asked for', { timeout: 60_000 }, async () => {
    const port = await freePort();
    const server = await startDynamoLocal({ port });
    cleanups.push(() => server.stop());
    expect(server.endpoint).toBe(`http://127.0.0.1:${port}`);
    expect(server.boundTo).toBe('127.0.0.1');
    const addresses = listeners(port);
    expect(addresses.length).toBeGreaterThan(0);
    // 0100007F = 127.0.0.1; IPv4-mapped in tcp6: 0000000000000000FFFF00000100007F.
    for (const address of addresses) expect(address).toMatch(/0100007F$/);
    await server.stop();
  });
});
