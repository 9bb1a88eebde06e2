/**
 * Tracing as it runs in Lambda, where nothing else of ours traces: the health function bundled as
 * the stack bundles it, imported in a fresh `node` process with Lambda's environment (the
 * execution environment, `_HANDLER`, the X-Ray daemon's address, a sampled trace header) and
 * invoked against the test Postgres and DynamoDB Local. A UDP socket stands in for the daemon:
 * it must receive the invocation's subsegment under Lambda's segment, and the DynamoDB call's and
 * the SQL statement's under it; and nothing when the invocation is not sampled.
 */
import { createSocket, type Socket } from 'node:dgram';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { bundleAll, runBundleScript } from '../../bench/bundles.ts';
import type { SubsegmentDocument } from '#adapters/x-ray/tracer';
import { createTestDatabase, type TestDatabase } from '#tests/support/postgres';
import { createTestTables, type TestTables } from '#tests/support/dynamodb';

const ROOT = '1-67890abc-0123456789abcdef01234567';
const PARENT = 'feedfacecafebeef';

let outDir: string;
let bundleFile: string;
let daemon: Socket;
let received: SubsegmentDocument[] = [];
let database: TestDatabase;
let tables: TestTables;

beforeAll(async () => {
  outDir = await mkdtemp(path.join(tmpdir(), 'chat-bundle-tracing-'));
  const [health] = await bundleAll('deployed', outDir, ['http/health']);
  bundleFile = health!.file;
  daemon = createSocket('udp4');
  daemon.on('message', (datagram) => {
    const text = datagram.toString('utf8');
    received.push(JSON.parse(text.slice(text.indexOf('\n') + 1)) as SubsegmentDocument);
  });
  await new Promise<void>((resolve) => daemon.bind(0, '127.0.0.1', resolve));
  [database, tables] = await Promise.all([createTestDatabase(), createTestTables()]);
}, 120_000);

afterAll(async () => {
  daemon?.close();
  await Promise.all([database?.drop(), tables?.drop(), rm(outDir, { recursive: true, force: true })]);
});

/** Imports the bundle and invokes it once in a fresh process with `traceHeader`; its answer's status. */
function invokeOnce(traceHeader: string): Promise<number> {
  const script = [
    'const { handler } = await import(process.argv[1]);',
    "const event = { version: '2.0', routeKey: 'GET /health', rawPath: '/health', headers: {}, requestContext: { http: { method: 'GET', path: '/health' } }, isBase64Encoded: false };",
    "const response = await handler(event, { functionName: 'health', awsRequestId: 'trace-test', getRemainingTimeInMillis: () => 10000 });",
    'process.stdout.write(JSON.stringify({ status: response.statusCode }));',
    // Let the last datagram leave before the process ends, as Lambda's freeze would after the answer.
    'setTimeout(() => process.exit(0), 50);',
  ].join('\n');
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x',
    AWS_LAMBDA_FUNCTION_NAME: 'chat-health',
    _HANDLER: 'index.handler',
    AWS_XRAY_DAEMON_ADDRESS: `127.0.0.1:${daemon.address().port}`,
    _X_AMZN_TRACE_ID: traceHeader,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    DATABASE_URL: database.url,
    DYNAMODB_ENDPOINT: inject('dynamoEndpoint'),
    CONNECTIONS_TABLE: tables.names.connections,
    POWERTOOLS_METRICS_DISABLED: 'true',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
  };
  return runBundleScript<{ status: number }>(script, bundleFile, 'http/health', env).then(({ result }) => result.status);
}

async function settle(): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 200));
}

describe('tracing in the deployed bundle', () => {
  it('sends the invocation, its DynamoDB call and its SQL statement to the daemon, linked under Lambda’s segment', async () => {
    received = [];
    expect(await invokeOnce(`Root=${ROOT};Parent=${PARENT};Sampled=1`)).toBe(200);
    await settle();
    const invocation = received.find((one) => one.name === '## index.handler');
    expect(invocation).toMatchObject({ type: 'subsegment', trace_id: ROOT, parent_id: PARENT, annotations: { ColdStart: true, Service: 'provider-customer-chat' } });
    expect(invocation).not.toHaveProperty('fault');
    const dynamo = received.find((one) => one.name === 'DynamoDB');
    expect(dynamo).toMatchObject({ namespace: 'aws', parent_id: invocation!.id, aws: { operation: 'GetItem', table_name: tables.names.connections }, http: { response: { status: 200 } } });
    const sql = received.find((one) => one.namespace === 'remote');
    expect(sql).toMatchObject({ name: `${database.name}@127.0.0.1`, parent_id: invocation!.id, sql: { database_type: 'PostgreSQL' } });
    expect(sql!.sql!.sanitized_query).toMatch(/SELECT 1/);
    expect(JSON.stringify(received)).not.toContain(new URL(database.url).password || 'no password');
  }, 60_000);

  it('sends nothing when Lambda did not sample the invocation, and still answers', async () => {
    received = [];
    expect(await invokeOnce(`Root=${ROOT};Parent=${PARENT};Sampled=0`)).toBe(200);
    await settle();
    expect(received).toEqual([]);
  }, 60_000);
});
