/**
 * The local runtime for end-to-end tests, in-process: the real handlers (or fixtures) behind the
 * API Gateway emulator on free ports, against the Postgres and DynamoDB the global setup already
 * started. Each call gets a database cloned from the migrated template and tables of its own, so
 * test files run in parallel.
 *
 *   const runtime = await startTestRuntime();
 *   const token = runtime.token({ userId: 2, role: 'customer' });
 *   await fetch(`${runtime.httpUrl}/api/provider-customer-chat/conversations`, { headers: { authorization: `Bearer ${token}` } });
 *   new WebSocket(`${runtime.wsUrl}?token=${token}`);
 *   await runtime.stop();
 *
 * Handlers read their settings once per process (as once per Lambda container), and vitest runs
 * each test file in its own process: start one runtime per file (beforeAll), not one per test.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { inject } from 'vitest';
import { makeDevIssuerInMemory, type DevSignOptions, type DevTokenSubject } from '#adapters/auth/dev-issuer';
import { startLocalRuntime, type LocalRuntime, type LocalRuntimeOptions } from '#lib/local/runtime';
import { createTestTables, type TestTables } from './dynamodb.ts';
import { createTestDatabase, type TestDatabase } from './postgres.ts';

export type TestRuntimeOptions = Omit<LocalRuntimeOptions, 'databaseUrl' | 'dynamoEndpoint' | 'tableNames' | 'dataDir'>;

export interface TestRuntime extends LocalRuntime {
  /** This runtime's own database (cloned from the migrated template). */
  database: TestDatabase;
  /** This runtime's own DynamoDB tables. */
  tables: TestTables;
  /** A token the runtime accepts (signed by its issuer): what `POST /dev/token` answers. */
  token(subject: DevTokenSubject, options?: DevSignOptions): string;
  /** Stops the runtime, then drops its database and tables. */
  stop(): Promise<void>;
}

/**
 * Starts the runtime on free ports with an in-memory issuer. Options pass through to
 * startLocalRuntime (e.g. `emulator: { handlersDir, idleTimeoutMs, onPost }`, `env`).
 */
export async function startTestRuntime(options: TestRuntimeOptions = {}): Promise<TestRuntime> {
  const [database, tables, dataDir] = await Promise.all([
    createTestDatabase(),
    createTestTables(),
    mkdtemp(path.join(tmpdir(), 'chat-runtime-')),
  ]);
  const cleanUp = () => Promise.allSettled([database.drop(), tables.drop(), rm(dataDir, { recursive: true, force: true })]);
  let runtime: LocalRuntime;
  try {
    runtime = await startLocalRuntime({
      httpPort: 0,
      wsPort: 0,
      migrate: false,
      issuer: makeDevIssuerInMemory(),
      ...options,
      dataDir,
      databaseUrl: database.url,
      dynamoEndpoint: inject('dynamoEndpoint'),
      tableNames: tables.names,
    });
  } catch (error) {
    await cleanUp();
    throw error;
  }
  return {
    ...runtime,
    database,
    tables,
    token: (subject, signOptions) => runtime.issuer.sign(subject, signOptions),
    async stop() {
      try {
        await runtime.stop();
      } finally {
        await cleanUp();
      }
    },
  };
}
