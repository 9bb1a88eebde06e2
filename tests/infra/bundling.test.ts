/**
 * Proves the bundling configuration with real esbuild bundles (the other infrastructure tests
 * skip bundling): the migrations custom resource exactly as the stack builds it, and a route
 * handler that uses Prisma (its query compiler read from the WebAssembly file beside the bundle),
 * each loaded from its bundle and run against the test Postgres (and DynamoDB Local).
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { App, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type { Asset } from 'aws-cdk-lib/aws-s3-assets';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ChatFunction, HANDLERS_DIR } from '#lib/constructs/chat-function';
import { DatabaseMigrations, MIGRATIONS_DIR } from '#lib/constructs/database-migrations';
import { createTestDatabase, withClient, type TestDatabase } from '#tests/support/postgres';
import { createTestTables, type TestTables } from '#tests/support/dynamodb';

/** A route handler that touches Postgres through Prisma and DynamoDB. */
const PRISMA_ROUTE_ENTRY = 'http/health';
const hasPrismaRoute = existsSync(path.join(HANDLERS_DIR, `${PRISMA_ROUTE_ENTRY}.ts`));

let outdir: string;
let migrationsBundle: string;
let routeBundle: string | undefined;

function bundleDir(fn: ChatFunction): string {
  const asset = fn.function.node.findChild('Code') as Asset;
  return path.join(outdir, asset.assetPath);
}

async function loadHandler(bundle: string): Promise<(event: unknown, context?: unknown) => Promise<unknown>> {
  const module = (await import(pathToFileURL(path.join(bundle, 'index.mjs')).href)) as { handler: (event: unknown, context?: unknown) => Promise<unknown> };
  return module.handler;
}

beforeAll(async () => {
  outdir = await mkdtemp(path.join(tmpdir(), 'chat-bundles-'));
  // Bundle listings and source-map notes only when asked for (CHAT_TEST_VERBOSE=1).
  const app = new App({ outdir, context: process.env.CHAT_TEST_VERBOSE ? {} : { bundlingLogLevel: 'error' } });
  const stack = new Stack(app, 'BundlingProof', { env: { account: '123456789012', region: 'us-east-1' } });
  const vpc = new ec2.Vpc(stack, 'Vpc', {
    natGateways: 0,
    subnetConfiguration: [{ name: 'Application', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }],
  });
  const network = { vpc, subnets: { subnetGroupName: 'Application' }, securityGroups: [new ec2.SecurityGroup(stack, 'Clients', { vpc })] };
  const proxy = rds.DatabaseProxy.fromDatabaseProxyAttributes(stack, 'Proxy', {
    dbProxyArn: 'arn:aws:rds:us-east-1:123456789012:db-proxy:prx-0123456789abcdef0',
    dbProxyName: 'proxy',
    endpoint: 'proxy.proxy-abc.us-east-1.rds.amazonaws.com',
    securityGroups: [],
  });
  const secret = secretsmanager.Secret.fromSecretCompleteArn(stack, 'Secret', 'arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf');
  const migrations = new DatabaseMigrations(stack, 'Migrations', {
    network,
    proxy,
    secret,
    databaseName: 'chat',
    serviceName: 'provider-customer-chat',
    metricsNamespace: 'ProviderCustomerChat',
    logRetention: logs.RetentionDays.ONE_DAY,
  });
  const route = hasPrismaRoute
    ? new ChatFunction(stack, 'Route', {
        entry: PRISMA_ROUTE_ENTRY,
        serviceName: 'provider-customer-chat',
        metricsNamespace: 'ProviderCustomerChat',
        logRetention: logs.RetentionDays.ONE_DAY,
      })
    : undefined;
  app.synth();
  migrationsBundle = bundleDir(migrations.handler);
  routeBundle = route ? bundleDir(route) : undefined;
}, 120_000);

afterAll(() => rm(outdir, { recursive: true, force: true }));

describe('the migrations handler bundle', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase({ empty: true });
  });
  afterAll(() => database?.drop());

  it('is one minified ES module with its source map and the SQL migrations beside it', async () => {
    expect((await readdir(migrationsBundle)).sort()).toEqual(['index.mjs', 'index.mjs.map', 'migrations']);
    expect((await readdir(path.join(migrationsBundle, 'migrations'))).filter((name) => name.endsWith('_init'))).toHaveLength(1);
  });

  it('migrates an empty database when CloudFormation creates the resource', async () => {
    process.env.DATABASE_URL = database.url;
    const handler = await loadHandler(migrationsBundle);
    const response = (await handler({ RequestType: 'Create', LogicalResourceId: 'DatabaseMigrations' })) as { Data: { Applied: string } };
    // Every migration of the repository, oldest (the _init one) first.
    const migrations = (await readdir(MIGRATIONS_DIR, { withFileTypes: true })).filter((entry) => entry.isDirectory()).map((entry) => entry.name).sort();
    expect(migrations[0]).toMatch(/_init$/);
    expect(response.Data.Applied.split(',')).toEqual(migrations);
    const { rows } = await withClient(database.url, (client) => client.query(`SELECT count(*)::int AS n FROM "_prisma_migrations"`));
    expect(rows[0].n).toBe(migrations.length);
  });
});

describe.skipIf(!hasPrismaRoute)(`the ${PRISMA_ROUTE_ENTRY} bundle (Prisma client, pg, AWS SDK, Powertools)`, () => {
  let database: TestDatabase;
  let tables: TestTables;
  beforeAll(async () => {
    database = await createTestDatabase();
    tables = await createTestTables();
  });
  afterAll(async () => {
    await database?.drop();
    await tables?.drop();
  });

  it('ships the query compiler as a WebAssembly file beside the bundle, not inlined as base64', async () => {
    expect((await readdir(routeBundle!)).sort()).toEqual(['index.mjs', 'index.mjs.map', 'query_compiler_small_bg.wasm']);
    expect((await readFile(path.join(routeBundle!, 'index.mjs'), 'utf8')).includes('wasm-base64')).toBe(false);
  });

  it('loads in an ES module without a CommonJS require shim error and answers from Postgres and DynamoDB', async () => {
    Object.assign(process.env, {
      DATABASE_URL: database.url,
      DYNAMODB_ENDPOINT: inject('dynamoEndpoint'),
      CONNECTIONS_TABLE: tables.names.connections,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      POWERTOOLS_METRICS_DISABLED: 'true',
    });
    const handler = await loadHandler(routeBundle!);
    const context = { functionName: 'health', awsRequestId: 'request', getRemainingTimeInMillis: () => 10_000 };
    const response = (await handler(
      { version: '2.0', routeKey: 'GET /health', rawPath: '/health', headers: {}, requestContext: { http: { method: 'GET', path: '/health' } }, isBase64Encoded: false },
      context,
    )) as { statusCode: number; body: string };
    expect(response.statusCode, response.body).toBe(200);
    expect(JSON.parse(response.body)).toEqual({ status: 'ok' });
  });
});
