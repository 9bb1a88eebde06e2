/**
 * Applies the SQL migrations in prisma/migrations (Prisma's folder layout) and keeps Prisma's
 * `_prisma_migrations` bookkeeping, so `prisma migrate status` / `migrate deploy` agree with what
 * ran here. The Prisma CLI needs a native schema engine this project cannot download, hence
 * this small migrator; it runs from a CLI (bin/migrate.ts), the test setup, and later a Lambda
 * custom resource, so it only needs a directory path and a Postgres connection.
 */
import { createHash, randomUUID } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';

/**
 * The advisory-lock key Prisma's schema engine takes on Postgres. Using the same key makes this
 * migrator and `prisma migrate deploy` wait for each other, not only concurrent copies of this one.
 */
export const MIGRATION_LOCK_KEY = 72707369;

const MIGRATIONS_TABLE = '_prisma_migrations';
const MIGRATION_FILE = 'migration.sql';
const LOCK_FILE = 'migration_lock.toml';

/** The DDL Prisma's schema engine uses for its bookkeeping table, column for column. */
const CREATE_MIGRATIONS_TABLE = `CREATE TABLE IF NOT EXISTS "${MIGRATIONS_TABLE}" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
)`;

export type MigratorErrorCode =
  | 'MIGRATIONS_DIRECTORY_INVALID'
  | 'MIGRATION_LOCK_TIMEOUT'
  | 'MIGRATION_PREVIOUSLY_FAILED'
  | 'MIGRATION_MISSING_FROM_DISK'
  | 'MIGRATION_CHECKSUM_MISMATCH'
  | 'MIGRATION_FAILED';

/** Base class of every refusal or failure of {@link applyMigrations}. */
export class MigratorError extends Error {
  constructor(
    readonly code: MigratorErrorCode,
    message: string,
    /** The migration the problem is about, when there is one. */
    readonly migrationName?: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The migrations directory is malformed (no migration.sql in a folder, wrong provider). */
export class MigrationsDirectoryError extends MigratorError {
  constructor(message: string, migrationName?: string) {
    super('MIGRATIONS_DIRECTORY_INVALID', message, migrationName);
  }
}

/** Another runner held the migration lock for longer than `lockTimeoutMs`. */
export class MigrationLockTimeoutError extends MigratorError {
  constructor(readonly timeoutMs: number) {
    super(
      'MIGRATION_LOCK_TIMEOUT',
      `Timed out after ${timeoutMs} ms waiting for the migration lock (pg_advisory_lock(${MIGRATION_LOCK_KEY})); another migration run is still in progress.`,
    );
  }
}

/** A recorded attempt never finished and was never marked rolled back (Prisma's P3009 state). */
export class MigrationPreviouslyFailedError extends MigratorError {
  constructor(
    migrationName: string,
    readonly logs: string | null,
  ) {
    super(
      'MIGRATION_PREVIOUSLY_FAILED',
      `Migration ${migrationName} started earlier but never finished${logs ? ` (${logs.trim()})` : ''}. ` +
        `Check the database by hand, then mark the attempt rolled back ` +
        `(UPDATE "${MIGRATIONS_TABLE}" SET rolled_back_at = now() WHERE migration_name = '${migrationName}' AND finished_at IS NULL, ` +
        `or \`prisma migrate resolve --rolled-back ${migrationName}\`) before migrating again.`,
      migrationName,
    );
  }
}

/** The database records a migration that is no longer in the migrations directory. */
export class MigrationMissingError extends MigratorError {
  constructor(migrationName: string, migrationsDir: string) {
    super(
      'MIGRATION_MISSING_FROM_DISK',
      `Migration ${migrationName} is applied to the database but missing from ${migrationsDir}. ` +
        `Restore the folder; applied migrations must never be deleted or renamed.`,
      migrationName,
    );
  }
}

/** An applied migration's migration.sql was edited afterwards. */
export class MigrationChecksumMismatchError extends MigratorError {
  constructor(
    migrationName: string,
    readonly recordedChecksum: string,
    readonly fileChecksum: string,
  ) {
    super(
      'MIGRATION_CHECKSUM_MISMATCH',
      `Migration ${migrationName} was modified after it was applied: the database recorded checksum ` +
        `${recordedChecksum}, ${MIGRATION_FILE} now hashes to ${fileChecksum}. ` +
        `Revert the edit and put the change in a new migration.`,
      migrationName,
    );
  }
}

/** A migration's SQL failed; its transaction was rolled back and nothing of it remains. */
export class MigrationFailedError extends MigratorError {
  constructor(migrationName: string, detail: string, cause: unknown) {
    super(
      'MIGRATION_FAILED',
      `Migration ${migrationName} failed and was rolled back: ${detail}`,
      migrationName,
      { cause },
    );
  }
}

/**
 * Where to apply migrations: a connection string (the migrator opens and closes its own
 * connection), or a connected client the caller owns and closes, not inside a transaction.
 */
export type MigrationTarget =
  | { connectionString: string; client?: never }
  | { client: pg.ClientBase; connectionString?: never };

export type ApplyMigrationsOptions = MigrationTarget & {
  /** The folder holding `<timestamp>_<name>/migration.sql` folders (Prisma's layout). */
  migrationsDir: string;
  /** Progress messages; silent when omitted. */
  log?: (message: string) => void;
  /** How long to wait for a concurrent runner to finish. Default 60 s. */
  lockTimeoutMs?: number;
};

/** One migration folder found on disk. */
export interface MigrationFile {
  name: string;
  sql: string;
  /** sha256 hex of the file's text, as Prisma records it. */
  checksum: string;
}

interface MigrationRecord {
  migration_name: string;
  checksum: string;
  finished_at: Date | null;
  rolled_back_at: Date | null;
  logs: string | null;
}

/**
 * Applies every pending migration in `migrationsDir`, in folder-name order, each in its own
 * transaction, and records it in `_prisma_migrations`. Concurrent runners serialise on a Postgres
 * advisory lock, so each migration runs exactly once.
 *
 * Refuses (throws a {@link MigratorError}) before changing anything when an earlier attempt is
 * unresolved, when an applied migration is missing from disk, or when its file changed since it
 * was applied. A migration whose SQL fails is rolled back completely, recorded as a rolled-back
 * attempt (with the error in `logs`) and reported as {@link MigrationFailedError}; migrations
 * after it are not attempted.
 *
 * Because each migration runs inside a transaction, statements that Postgres refuses inside one
 * (`CREATE INDEX CONCURRENTLY`, `VACUUM`) cannot be used in migrations.
 *
 * @returns the names of the migrations applied by this call (empty when up to date).
 */
export async function applyMigrations(options: ApplyMigrationsOptions): Promise<string[]> {
  const log = options.log ?? (() => {});
  const migrations = await readMigrationsDirectory(options.migrationsDir);

  let ownClient: pg.Client | undefined;
  let client: pg.ClientBase;
  if (options.client) {
    client = options.client;
  } else {
    ownClient = new pg.Client({ connectionString: options.connectionString });
    // An idle-connection error must not crash the process; the next query reports it.
    ownClient.on('error', () => {});
    await ownClient.connect();
    client = ownClient;
  }
  try {
    await acquireLock(client, options.lockTimeoutMs ?? 60_000);
    try {
      await client.query(CREATE_MIGRATIONS_TABLE);
      const records = await readRecords(client);
      const pending = checkHistory(migrations, records, options.migrationsDir);
      if (pending.length === 0) {
        log('Database is up to date: no pending migrations.');
        return [];
      }
      const applied: string[] = [];
      for (const migration of pending) {
        log(`Applying migration ${migration.name}`);
        const started = Date.now();
        await applyOne(client, migration);
        log(`Applied migration ${migration.name} in ${Date.now() - started} ms`);
        applied.push(migration.name);
      }
      return applied;
    } finally {
      // A failed unlock means the session is gone, and the lock with it; keep the original error.
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => {});
    }
  } finally {
    await ownClient?.end();
  }
}

/** Reads the migration folders under `migrationsDir`, sorted by name as Prisma sorts them. */
export async function readMigrationsDirectory(migrationsDir: string): Promise<MigrationFile[]> {
  let entries;
  try {
    entries = await readdir(migrationsDir, { withFileTypes: true });
  } catch (error) {
    throw new MigrationsDirectoryError(`Cannot read the migrations directory ${migrationsDir}: ${describe(error)}`);
  }

  const lockFile = entries.find((entry) => entry.isFile() && entry.name === LOCK_FILE);
  if (lockFile) {
    const lock = await readFile(path.join(migrationsDir, LOCK_FILE), 'utf8');
    const provider = /^\s*provider\s*=\s*"([^"]*)"/m.exec(lock)?.[1];
    if (provider !== undefined && provider !== 'postgresql') {
      throw new MigrationsDirectoryError(
        `${path.join(migrationsDir, LOCK_FILE)} says provider = "${provider}"; these migrations are not for PostgreSQL.`,
      );
    }
  }

  const names = entries
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

  return Promise.all(
    names.map(async (name) => {
      const file = path.join(migrationsDir, name, MIGRATION_FILE);
      let sql: string;
      try {
        sql = await readFile(file, 'utf8');
      } catch (error) {
        throw new MigrationsDirectoryError(`Migration ${name} has no readable ${MIGRATION_FILE} (${describe(error)}).`, name);
      }
      return { name, sql, checksum: checksumOf(sql) };
    }),
  );
}

/** sha256 hex of a migration script: the value Prisma stores in `_prisma_migrations.checksum`. */
export function checksumOf(sql: string): string {
  return createHash('sha256').update(sql, 'utf8').digest('hex');
}

/**
 * Whether a script matches a recorded checksum. Like Prisma, this also accepts the script with
 * its line endings converted either way, so a checkout with different line endings (git's
 * autocrlf) is not mistaken for an edit.
 */
export function scriptMatchesChecksum(sql: string, recorded: string): boolean {
  return [sql, sql.replaceAll('\r\n', '\n'), sql.replaceAll('\n', '\r\n')].some(
    (variant) => checksumOf(variant) === recorded.toLowerCase(),
  );
}

async function acquireLock(client: pg.ClientBase, timeoutMs: number): Promise<void> {
  // lock_timeout bounds the wait; restore the session's own value so a caller's client is left as found.
  const { rows } = await client.query<{ previous: string }>(
    `SELECT current_setting('lock_timeout') AS previous, set_config('lock_timeout', $1, false)`,
    [`${Math.max(1, Math.round(timeoutMs))}ms`],
  );
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
  } catch (error) {
    if (isPgError(error) && error.code === '55P03') throw new MigrationLockTimeoutError(timeoutMs);
    throw error;
  } finally {
    await client.query(`SELECT set_config('lock_timeout', $1, false)`, [rows[0]?.previous ?? '0']);
  }
}

async function readRecords(client: pg.ClientBase): Promise<MigrationRecord[]> {
  const { rows } = await client.query<MigrationRecord>(
    `SELECT migration_name, checksum, finished_at, rolled_back_at, logs
       FROM "${MIGRATIONS_TABLE}"
      ORDER BY started_at, migration_name`,
  );
  return rows;
}

/** Validates the recorded history against the files and returns the migrations still to apply. */
function checkHistory(migrations: MigrationFile[], records: MigrationRecord[], migrationsDir: string): MigrationFile[] {
  const unresolved = records.find((record) => record.finished_at === null && record.rolled_back_at === null);
  if (unresolved) throw new MigrationPreviouslyFailedError(unresolved.migration_name, unresolved.logs);

  const onDisk = new Map(migrations.map((migration) => [migration.name, migration]));
  const applied = new Set<string>();
  for (const record of records) {
    if (record.rolled_back_at !== null) continue;
    const file = onDisk.get(record.migration_name);
    if (!file) throw new MigrationMissingError(record.migration_name, migrationsDir);
    if (!scriptMatchesChecksum(file.sql, record.checksum)) {
      throw new MigrationChecksumMismatchError(record.migration_name, record.checksum, file.checksum);
    }
    applied.add(record.migration_name);
  }
  return migrations.filter((migration) => !applied.has(migration.name));
}

async function applyOne(client: pg.ClientBase, migration: MigrationFile): Promise<void> {
  const id = randomUUID();
  await client.query('BEGIN');
  try {
    await client.query(
      `INSERT INTO "${MIGRATIONS_TABLE}" (id, checksum, migration_name, started_at, applied_steps_count)
       VALUES ($1, $2, $3, now(), 0)`,
      [id, migration.checksum, migration.name],
    );
    // No parameters: the simple query protocol, which accepts a multi-statement script.
    await client.query(migration.sql);
    await client.query(
      `UPDATE "${MIGRATIONS_TABLE}" SET finished_at = clock_timestamp(), applied_steps_count = 1 WHERE id = $1`,
      [id],
    );
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    const detail = describeSqlError(error, migration.sql);
    // Keep a trace of the attempt, marked rolled back: it is not a blocking failure (nothing of it
    // remains), and `prisma migrate status` shows the same history.
    await client
      .query(
        `INSERT INTO "${MIGRATIONS_TABLE}" (id, checksum, migration_name, logs, rolled_back_at, started_at, applied_steps_count)
         VALUES ($1, $2, $3, $4, clock_timestamp(), clock_timestamp(), 0)`,
        [id, migration.checksum, migration.name, detail],
      )
      .catch(() => {});
    throw new MigrationFailedError(migration.name, detail, error);
  }
}

interface PgError extends Error {
  code?: string;
  position?: string;
  detail?: string;
  hint?: string;
}

function isPgError(error: unknown): error is PgError {
  return error instanceof Error && typeof (error as PgError).code === 'string';
}

/** The Postgres error with the line of the script it points at, when Postgres gives a position. */
function describeSqlError(error: unknown, sql: string): string {
  if (!isPgError(error)) return describe(error);
  const parts = [error.code ? `${error.message} (SQLSTATE ${error.code})` : error.message];
  const position = Number(error.position);
  if (Number.isInteger(position) && position > 0) {
    const before = sql.slice(0, position - 1);
    const line = before.split('\n').length;
    const text = sql.split('\n')[line - 1]?.trim();
    parts.push(`at line ${line}${text ? `: ${text}` : ''}`);
  }
  if (error.detail) parts.push(`detail: ${error.detail}`);
  if (error.hint) parts.push(`hint: ${error.hint}`);
  return parts.join('; ');
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
