/**
 * Starts the real backing services once for the whole test run: an embedded PostgreSQL
 * (or DATABASE_URL when set) migrated to a template database, and DynamoDB Local (or
 * DYNAMODB_ENDPOINT when set). Test files reach them through `inject()`; see
 * tests/support/postgres.ts and tests/support/dynamodb.ts for the per-file helpers.
 */
import type {} from 'vitest';
import type { TestProject } from 'vitest/node';
import { startTestPostgres } from './postgres.ts';
import { startTestDynamo } from './dynamodb.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** A server URL (no database name needed) where test databases can be created. */
    postgresAdminUrl: string;
    /** The migrated template database that test databases are cloned from. */
    postgresTemplate: string;
    dynamoEndpoint: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const [postgres, dynamo] = await Promise.all([startTestPostgres(), startTestDynamo()]);
  project.provide('postgresAdminUrl', postgres.adminUrl);
  project.provide('postgresTemplate', postgres.templateDatabase);
  project.provide('dynamoEndpoint', dynamo.endpoint);
  return async () => {
    await Promise.allSettled([postgres.stop(), dynamo.stop()]);
  };
}
