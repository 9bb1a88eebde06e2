import { cp, mkdtemp, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HTTP_ROUTES, QUEUE_CONSUMERS, SCHEDULED_TASKS, WEBSOCKET_ROUTES } from '#config/routes';
import { loadSettings } from '#config/settings';
import { makeMigrateHandler, PHYSICAL_RESOURCE_ID } from '#handlers/custom-resources/migrate';
import { hashDirectory, MIGRATIONS_DIR } from '#lib/constructs/database-migrations';
import { createTestDatabase, withClient, type TestDatabase } from '#tests/support/postgres';
import { functionLogicalId, resources, synth } from './synth.ts';

const { statelessTemplate: template } = synth();

describe('the migrations custom resource', () => {
  const [resourceId, resource] = resources(template, 'Custom::DatabaseMigrations')[0]!;

  it('carries a hash of prisma/migrations, so it runs again when a migration is added', () => {
    expect(resource.Properties?.MigrationsHash).toBe(hashDirectory(MIGRATIONS_DIR));
  });

  it('depends on RDS Proxy (it connects through the proxy endpoint the stateful stack exports)', () => {
    expect(JSON.stringify(resource.Properties?.DatabaseHost)).toMatch(/"Fn::ImportValue":".*Proxy.*Endpoint/);
  });

  it('runs before any function that uses Postgres is updated', () => {
    const databaseEntries = new Set([...HTTP_ROUTES, ...WEBSOCKET_ROUTES, ...SCHEDULED_TASKS, ...QUEUE_CONSUMERS].filter((route) => route.database).map((route) => route.entry));
    const functions = template.findResources('AWS::Lambda::Function');
    for (const entry of databaseEntries) {
      expect(functions[functionLogicalId(template, entry)]!.DependsOn, entry).toContain(resourceId);
    }
  });

  it('is served by a handler in the VPC that reaches Postgres through the proxy and has the SQL beside it', () => {
    const [, handler] = resources(template, 'AWS::Lambda::Function').find(([, fn]) =>
      String(fn.Properties?.Description).startsWith('Applies prisma/migrations'),
    )!;
    expect(handler.Properties?.VpcConfig).toBeDefined();
    expect(handler.Properties?.Timeout).toBe(600);
    expect(JSON.stringify((handler.Properties?.Environment as { Variables: object }).Variables)).toMatch(/DATABASE_HOST.*Proxy/);
  });
});

describe('hashDirectory', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'chat-migrations-'));
    await mkdir(path.join(dir, '20260101000000_a'));
    await writeFile(path.join(dir, '20260101000000_a', 'migration.sql'), 'CREATE TABLE a (id int);\n');
    await writeFile(path.join(dir, 'migration_lock.toml'), 'provider = "postgresql"\n');
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('is stable, and changes when a migration is added, edited or renamed', async () => {
    const first = hashDirectory(dir);
    expect(hashDirectory(dir)).toBe(first);
    await writeFile(path.join(dir, '20260101000000_a', 'migration.sql'), 'CREATE TABLE a (id bigint);\n');
    const edited = hashDirectory(dir);
    expect(edited).not.toBe(first);
    await rename(path.join(dir, '20260101000000_a'), path.join(dir, '20260101000000_b'));
    const renamed = hashDirectory(dir);
    expect(renamed).not.toBe(edited);
    await mkdir(path.join(dir, '20260102000000_c'));
    await writeFile(path.join(dir, '20260102000000_c', 'migration.sql'), 'CREATE TABLE c (id int);\n');
    expect(hashDirectory(dir)).not.toBe(renamed);
  });
});

describe('the migrate handler', () => {
  let database: TestDatabase;
  let root: string;

  function event(requestType: 'Create' | 'Update' | 'Delete'): CloudFormationCustomResourceEvent {
    const base = {
      ServiceToken: 'arn:aws:lambda:us-east-1:123456789012:function:provider',
      ResponseURL: 'https://example.com/response',
      StackId: 'arn:aws:cloudformation:us-east-1:123456789012:stack/test/1',
      RequestId: 'request',
      LogicalResourceId: 'DatabaseMigrations',
      ResourceType: 'Custom::DatabaseMigrations',
      ResourceProperties: { ServiceToken: 'token', MigrationsHash: 'x' },
    };
    if (requestType === 'Create') return { ...base, RequestType: 'Create' };
    if (requestType === 'Update') return { ...base, RequestType: 'Update', PhysicalResourceId: PHYSICAL_RESOURCE_ID, OldResourceProperties: { ServiceToken: 'token' } };
    return { ...base, RequestType: 'Delete', PhysicalResourceId: PHYSICAL_RESOURCE_ID };
  }

  async function migrationsDir(name: string, migrations: Record<string, string>): Promise<string> {
    const dir = path.join(root, name);
    for (const [folder, sql] of Object.entries(migrations)) {
      await mkdir(path.join(dir, folder), { recursive: true });
      await writeFile(path.join(dir, folder, 'migration.sql'), sql);
    }
    return dir;
  }

  const handlerFor = (migrationsDir: string) =>
    makeMigrateHandler({ migrationsDir, settings: loadSettings({ DATABASE_URL: database.url }), log: () => {} });

  beforeAll(async () => {
    database = await createTestDatabase({ empty: true });
    root = await mkdtemp(path.join(tmpdir(), 'chat-migrate-'));
  });
  afterAll(async () => {
    await database?.drop();
    await rm(root, { recursive: true, force: true });
  });

  it('applies the project migrations on Create, and nothing more on the next Update', async () => {
    const created = await handlerFor(MIGRATIONS_DIR)(event('Create'));
    expect(created.PhysicalResourceId).toBe(PHYSICAL_RESOURCE_ID);
    expect(created.Data?.Applied).toMatch(/_init/);
    const updated = await handlerFor(MIGRATIONS_DIR)(event('Update'));
    expect(updated).toEqual({ PhysicalResourceId: PHYSICAL_RESOURCE_ID, Data: { Applied: '' } });
    const tables = await withClient(database.url, (client) =>
      client.query<{ table_name: string }>(`SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'`),
    );
    expect(tables.rows.map((row) => row.table_name)).toEqual(expect.arrayContaining(['chatConversations', '_prisma_migrations']));
  });

  it('leaves the schema alone on Delete', async () => {
    expect(await handlerFor(MIGRATIONS_DIR)(event('Delete'))).toEqual({ PhysicalResourceId: PHYSICAL_RESOURCE_ID });
  });

  it('lets a rollback through when the database is only ahead of the bundle, and refuses a diverged one', async () => {
    // The project's migrations plus a newer one: what a failed deployment applied before rolling back.
    const newer = path.join(root, 'newer');
    await cp(MIGRATIONS_DIR, newer, { recursive: true });
    await migrationsDir('newer', { '99990101000000_extra': 'CREATE TABLE "rollbackProbe" (id int);' });
    expect((await handlerFor(newer)(event('Update'))).Data?.Applied).toBe('99990101000000_extra');

    // The previous bundle (without the newer migration), during CloudFormation's rollback Update.
    expect(await handlerFor(MIGRATIONS_DIR)(event('Update'))).toEqual({ PhysicalResourceId: PHYSICAL_RESOURCE_ID, Data: { Applied: '' } });
    // A Create never sees a database ahead of it legitimately.
    await expect(handlerFor(MIGRATIONS_DIR)(event('Create'))).rejects.toThrow(/MIGRATION_MISSING_FROM_DISK/);
    // Diverged: a bundle whose newest migration sorts after the unknown applied one.
    const diverged = path.join(root, 'diverged');
    await cp(MIGRATIONS_DIR, diverged, { recursive: true });
    await migrationsDir('diverged', { '99999999999999_other': 'SELECT 1;' });
    await expect(handlerFor(diverged)(event('Update'))).rejects.toThrow(/MIGRATION_MISSING_FROM_DISK/);
  });
});
