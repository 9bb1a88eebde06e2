import { createHash } from 'node:crypto';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  applyMigrations,
  MigrationChecksumMismatchError,
  MigrationFailedError,
  MIGRATION_LOCK_KEY,
  MigrationLockTimeoutError,
  MigrationMissingError,
  MigrationPreviouslyFailedError,
  MigrationsDirectoryError,
} from '#adapters/postgres/migrator';
import { createTestDatabase, migrationsDir, withClient, type TestDatabase } from '#tests/support/postgres';

const databases: TestDatabase[] = [];
const tempDirs: string[] = [];

afterEach(async () => {
  await Promise.all(databases.splice(0).map((db) => db.drop()));
});
afterAll(async () => {
  await Promise.all(tempDirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

async function emptyDatabase(): Promise<TestDatabase> {
  const db = await createTestDatabase({ empty: true });
  databases.push(db);
  return db;
}

/** A migrations directory holding `migrations` (name → SQL), optionally after the real ones. */
async function migrationsFolder(migrations: Record<string, string>, { withProjectMigrations = false } = {}) {
  const dir = await mkdtemp(path.join(tmpdir(), 'chat-migrations-'));
  tempDirs.push(dir);
  if (withProjectMigrations) await cp(migrationsDir, dir, { recursive: true });
  for (const [name, sql] of Object.entries(migrations)) {
    await mkdir(path.join(dir, name));
    await writeFile(path.join(dir, name, 'migration.sql'), sql);
  }
  return dir;
}

interface Row {
  migration_name: string;
  checksum: string;
  finished_at: Date | null;
  rolled_back_at: Date | null;
  applied_steps_count: number;
  logs: string | null;
}

function records(url: string): Promise<Row[]> {
  return withClient(url, async (client) => {
    const { rows } = await client.query<Row>(
      `SELECT migration_name, checksum, finished_at, rolled_back_at, applied_steps_count, logs
         FROM "_prisma_migrations" ORDER BY started_at, migration_name`,
    );
    return rows;
  });
}

function tables(url: string): Promise<string[]> {
  return withClient(url, async (client) => {
    const { rows } = await client.query<{ table_name: string }>(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name`,
    );
    return rows.map((row) => row.table_name);
  });
}

/** The error `promise` rejects with (fails the test when it resolves). */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    (value) => expect.unreachable(`expected a rejection, got ${JSON.stringify(value)}`),
    (error: unknown) => error,
  );
}

async function projectMigrationNames(): Promise<string[]> {
  const entries = await readdir(migrationsDir, { withFileTypes: true });
  return entries.filter((entry) => entry.isDirectory()).map((entry) => entry.name).sort();
}

describe('applyMigrations', () => {
  it('applies every project migration to an empty database and records each like Prisma does', async () => {
    const db = await emptyDatabase();
    const expected = await projectMigrationNames();
    expect(expected.length).toBeGreaterThan(0);

    const applied = await applyMigrations({ connectionString: db.url, migrationsDir });

    expect(applied).toEqual(expected);
    expect(await tables(db.url)).toEqual(
      expect.arrayContaining(['_prisma_migrations', 'chatConversations', 'chatParticipants', 'providerCustomerMessages']),
    );
    const rows = await records(db.url);
    expect(rows.map((row) => row.migration_name)).toEqual(expected);
    for (const row of rows) {
      const file = await readFile(path.join(migrationsDir, row.migration_name, 'migration.sql'));
      expect(row.checksum).toBe(createHash('sha256').update(file).digest('hex'));
      expect(row.finished_at).toBeInstanceOf(Date);
      expect(row.rolled_back_at).toBeNull();
      expect(row.applied_steps_count).toBe(1);
    }
  });

  it('creates _prisma_migrations with exactly the columns Prisma creates', async () => {
    const db = await emptyDatabase();
    await applyMigrations({ connectionString: db.url, migrationsDir: await migrationsFolder({}) });
    const columns = await withClient(db.url, async (client) => {
      const { rows } = await client.query(
        `SELECT column_name, data_type, character_maximum_length, is_nullable, column_default
           FROM information_schema.columns
          WHERE table_schema = 'public' AND table_name = '_prisma_migrations'
          ORDER BY ordinal_position`,
      );
      return rows;
    });
    expect(columns).toEqual([
      { column_name: 'id', data_type: 'character varying', character_maximum_length: 36, is_nullable: 'NO', column_default: null },
      { column_name: 'checksum', data_type: 'character varying', character_maximum_length: 64, is_nullable: 'NO', column_default: null },
      { column_name: 'finished_at', data_type: 'timestamp with time zone', character_maximum_length: null, is_nullable: 'YES', column_default: null },
      { column_name: 'migration_name', data_type: 'character varying', character_maximum_length: 255, is_nullable: 'NO', column_default: null },
      { column_name: 'logs', data_type: 'text', character_maximum_length: null, is_nullable: 'YES', column_default: null },
      { column_name: 'rolled_back_at', data_type: 'timestamp with time zone', character_maximum_length: null, is_nullable: 'YES', column_default: null },
      { column_name: 'started_at', data_type: 'timestamp with time zone', character_maximum_length: null, is_nullable: 'NO', column_default: 'now()' },
      { column_name: 'applied_steps_count', data_type: 'integer', character_maximum_length: null, is_nullable: 'NO', column_default: '0' },
    ]);
  });

  it('applies nothing on a second run', async () => {
    const db = await emptyDatabase();
    await applyMigrations({ connectionString: db.url, migrationsDir });
    const before = await records(db.url);
    const messages: string[] = [];

    const applied = await applyMigrations({ connectionString: db.url, migrationsDir, log: (m) => messages.push(m) });

    expect(applied).toEqual([]);
    expect(await records(db.url)).toEqual(before);
    expect(messages.join('\n')).toMatch(/no pending migrations/i);
  });

  it('applies only the migrations added since the last run, in name order', async () => {
    const db = await emptyDatabase();
    const dir = await migrationsFolder({ '20990101000000_a': 'CREATE TABLE a (id int);' });
    expect(await applyMigrations({ connectionString: db.url, migrationsDir: dir })).toEqual(['20990101000000_a']);

    await mkdir(path.join(dir, '20990103000000_c'));
    await writeFile(path.join(dir, '20990103000000_c', 'migration.sql'), 'ALTER TABLE b ADD COLUMN c int;');
    await mkdir(path.join(dir, '20990102000000_b'));
    await writeFile(path.join(dir, '20990102000000_b', 'migration.sql'), 'CREATE TABLE b (id int);');

    expect(await applyMigrations({ connectionString: db.url, migrationsDir: dir })).toEqual([
      '20990102000000_b',
      '20990103000000_c',
    ]);
  });

  it('works on a connected client the caller owns and leaves it usable', async () => {
    const db = await emptyDatabase();
    await withClient(db.url, async (client) => {
      const applied = await applyMigrations({ client, migrationsDir });
      expect(applied).toEqual(await projectMigrationNames());
      const { rows } = await client.query<{ locks: string }>(
        `SELECT count(*)::text AS locks FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()`,
      );
      expect(rows[0]?.locks).toBe('0');
    });
  });

  it('applies each migration exactly once when three runners race', async () => {
    const db = await emptyDatabase();
    // A slow migration widens the race window; running it twice would fail on CREATE TABLE.
    const dir = await migrationsFolder(
      { '20990101000000_slow': 'SELECT pg_sleep(0.3);\nCREATE TABLE slow_marker (id int);' },
      { withProjectMigrations: true },
    );

    const results = await Promise.all(
      [1, 2, 3].map(() => applyMigrations({ connectionString: db.url, migrationsDir: dir })),
    );

    const all = [...(await projectMigrationNames()), '20990101000000_slow'];
    expect(results.flat().sort()).toEqual(all);
    expect(results.filter((applied) => applied.length > 0)).toHaveLength(1);
    const rows = await records(db.url);
    expect(rows.map((row) => row.migration_name).sort()).toEqual(all);
  });

  it('gives up with a clear error when another runner holds the lock for too long', async () => {
    const db = await emptyDatabase();
    await withClient(db.url, async (holder) => {
      await holder.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
      const error = await rejection(applyMigrations({ connectionString: db.url, migrationsDir, lockTimeoutMs: 200 }));
      expect(error).toBeInstanceOf(MigrationLockTimeoutError);
      expect(error).toMatchObject({ code: 'MIGRATION_LOCK_TIMEOUT', message: expect.stringContaining('200 ms') });
    });
    // Released with the holder's session: the next run proceeds.
    expect(await applyMigrations({ connectionString: db.url, migrationsDir })).toEqual(await projectMigrationNames());
  });

  it('refuses, naming the migration, when an applied migration file was edited', async () => {
    const db = await emptyDatabase();
    const dir = await migrationsFolder({ '20990101000000_users': 'CREATE TABLE users (id int);\n' });
    await applyMigrations({ connectionString: db.url, migrationsDir: dir });
    await writeFile(path.join(dir, '20990101000000_users', 'migration.sql'), 'CREATE TABLE users (id bigint);\n');
    await mkdir(path.join(dir, '20990102000000_next'));
    await writeFile(path.join(dir, '20990102000000_next', 'migration.sql'), 'CREATE TABLE next (id int);');

    const error = await rejection(applyMigrations({ connectionString: db.url, migrationsDir: dir }));

    expect(error).toBeInstanceOf(MigrationChecksumMismatchError);
    expect(error).toMatchObject({
      code: 'MIGRATION_CHECKSUM_MISMATCH',
      migrationName: '20990101000000_users',
      message: expect.stringMatching(/^Migration 20990101000000_users was modified after it was applied/),
    });
    // Refused before applying anything else.
    expect(await tables(db.url)).not.toContain('next');
  });

  it('accepts an applied migration whose only change is its line endings, as Prisma does', async () => {
    const db = await emptyDatabase();
    const dir = await migrationsFolder({ '20990101000000_crlf': 'CREATE TABLE t (id int);\nCREATE TABLE u (id int);\n' });
    await applyMigrations({ connectionString: db.url, migrationsDir: dir });
    await writeFile(
      path.join(dir, '20990101000000_crlf', 'migration.sql'),
      'CREATE TABLE t (id int);\r\nCREATE TABLE u (id int);\r\n',
    );

    expect(await applyMigrations({ connectionString: db.url, migrationsDir: dir })).toEqual([]);
  });

  it('refuses when an applied migration is missing from disk', async () => {
    const db = await emptyDatabase();
    const dir = await migrationsFolder({
      '20990101000000_first': 'CREATE TABLE first (id int);',
      '20990102000000_second': 'CREATE TABLE second (id int);',
    });
    await applyMigrations({ connectionString: db.url, migrationsDir: dir });
    await rm(path.join(dir, '20990101000000_first'), { recursive: true });

    const error = await rejection(applyMigrations({ connectionString: db.url, migrationsDir: dir }));

    expect(error).toBeInstanceOf(MigrationMissingError);
    expect(error).toMatchObject({
      migrationName: '20990101000000_first',
      message: expect.stringContaining('20990101000000_first is applied to the database but missing from'),
    });
  });

  it('refuses while an earlier attempt is recorded as started but never finished', async () => {
    const db = await emptyDatabase();
    const dir = await migrationsFolder({ '20990101000000_half': 'CREATE TABLE half (id int);' });
    await applyMigrations({ connectionString: db.url, migrationsDir: await migrationsFolder({}) });
    // What `prisma migrate deploy` leaves behind when a migration fails part-way.
    await withClient(db.url, (client) =>
      client.query(
        `INSERT INTO "_prisma_migrations" (id, checksum, migration_name, logs)
         VALUES (gen_random_uuid(), repeat('0', 64), '20990101000000_half', 'connection lost')`,
      ),
    );

    const error = await rejection(applyMigrations({ connectionString: db.url, migrationsDir: dir }));

    expect(error).toBeInstanceOf(MigrationPreviouslyFailedError);
    expect(error).toMatchObject({
      migrationName: '20990101000000_half',
      message: expect.stringContaining('Migration 20990101000000_half started earlier but never finished (connection lost)'),
    });

    // Once resolved as rolled back, it is applied again.
    await withClient(db.url, (client) =>
      client.query(`UPDATE "_prisma_migrations" SET rolled_back_at = now() WHERE finished_at IS NULL`),
    );
    expect(await applyMigrations({ connectionString: db.url, migrationsDir: dir })).toEqual(['20990101000000_half']);
  });

  it('rolls a failing migration back completely, records it as not finished, and stops there', async () => {
    const db = await emptyDatabase();
    const dir = await migrationsFolder({
      '20990101000000_ok': 'CREATE TABLE ok (id int);',
      '20990102000000_bad': [
        'CREATE TABLE half_done (id int);',
        'CREATE INDEX half_done_id_idx ON half_done (id);',
        'INSERT INTO half_done VALUES (1);',
        'INSERT INTO half_done (missing_column) VALUES (2);',
      ].join('\n'),
      '20990103000000_after': 'CREATE TABLE after_bad (id int);',
    });

    const error = await rejection(applyMigrations({ connectionString: db.url, migrationsDir: dir }));

    expect(error).toBeInstanceOf(MigrationFailedError);
    expect(error).toMatchObject({
      code: 'MIGRATION_FAILED',
      migrationName: '20990102000000_bad',
      message: expect.stringMatching(
        /^Migration 20990102000000_bad failed and was rolled back: column "missing_column" of relation "half_done" does not exist .*at line 4: INSERT INTO half_done/,
      ),
    });
    expect(await tables(db.url)).toEqual(['_prisma_migrations', 'ok']);
    const rows = await records(db.url);
    expect(rows.filter((row) => row.finished_at !== null).map((row) => row.migration_name)).toEqual(['20990101000000_ok']);
    expect(rows.find((row) => row.migration_name === '20990102000000_bad')).toMatchObject({
      finished_at: null,
      rolled_back_at: expect.any(Date),
      applied_steps_count: 0,
      logs: expect.stringContaining('missing_column'),
    });

    // Fixed, it applies on the next run together with the migrations after it.
    await writeFile(path.join(dir, '20990102000000_bad', 'migration.sql'), 'CREATE TABLE half_done (id int);');
    expect(await applyMigrations({ connectionString: db.url, migrationsDir: dir })).toEqual([
      '20990102000000_bad',
      '20990103000000_after',
    ]);
  });

  it('refuses a migrations directory for another database provider', async () => {
    const dir = await migrationsFolder({});
    await writeFile(path.join(dir, 'migration_lock.toml'), 'provider = "mysql"\n');
    await expect(
      applyMigrations({ connectionString: 'postgresql://unused@127.0.0.1:1/none', migrationsDir: dir }),
    ).rejects.toBeInstanceOf(MigrationsDirectoryError);
  });
});
