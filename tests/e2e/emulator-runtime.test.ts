/**
 * startLocalRuntime: the handlers' environment, the test helper on the shared test servers, and
 * a cold start of its own embedded PostgreSQL and DynamoDB Local whose data survives a restart.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { createDynamoClient } from '#adapters/dynamodb/client';
import { silentLog } from '#lib/local/log';
import { withPgClient } from '#lib/local/postgres';
import { startLocalRuntime } from '#lib/local/runtime';
import { startTestRuntime } from '#tests/support/runtime';
import { FIXTURE_HANDLERS_DIR, FIXTURE_HTTP_ROUTES } from './fixtures/routes.ts';

const fixtures = { handlersDir: FIXTURE_HANDLERS_DIR, httpRoutes: FIXTURE_HTTP_ROUTES, log: silentLog };

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

describe('startTestRuntime', () => {
  it('sets the handlers’ environment before they load, and restores process.env when stopped', async () => {
    const before = process.env.DATABASE_URL;
    const runtime = await startTestRuntime({ emulator: fixtures });
    try {
      const response = await fetch(`${runtime.httpUrl}/runtime-env`);
      expect(response.status).toBe(200);
      const seen = (await response.json()) as Json;
      expect(seen.migrations).toBeGreaterThanOrEqual(1);
      expect(seen.connectionsTable).toBe('ACTIVE');
      expect(seen.env).toMatchObject({
        WEBSOCKET_CALLBACK_URL: runtime.callbackUrl,
        AUTH_ISSUER: runtime.issuer.issuer,
        AUTH_AUDIENCE: runtime.issuer.audience,
        AWS_ACCESS_KEY_ID: 'local',
        AWS_REGION: 'us-east-1',
      });
      const jwks = JSON.parse(await readFile(fileURLToPath(seen.env.AUTH_JWKS_URI), 'utf8')) as unknown;
      expect(jwks).toEqual(runtime.issuer.jwks);

      const token = runtime.token({ userId: 2, role: 'customer' });
      const secure = await fetch(`${runtime.httpUrl}/secure`, { headers: { authorization: `Bearer ${token}` } });
      expect(secure.status).toBe(200);
    } finally {
      await runtime.stop();
    }
    expect(process.env.DATABASE_URL).toBe(before);
  });
});

describe('startLocalRuntime with its own PostgreSQL and DynamoDB Local', () => {
  it('starts cold in a fresh data directory and keeps the data, the tables and the issuer key across a restart', { timeout: 120_000 }, async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'chat-data-'));
    try {
      const first = await startLocalRuntime({ dataDir, httpPort: 0, wsPort: 0, emulator: fixtures });
      let kid: string;
      try {
        expect(first.timings).toMatchObject({ postgres: expect.any(Number), dynamodb: expect.any(Number), total: expect.any(Number) });
        const seen = (await (await fetch(`${first.httpUrl}/runtime-env`)).json()) as Json;
        expect(seen.connectionsTable).toBe('ACTIVE');
        await withPgClient(first.databaseUrl, async (client) => {
          await client.query('CREATE TABLE restart_probe (note text)');
          await client.query(`INSERT INTO restart_probe VALUES ('kept')`);
        });
        const dynamo = createDynamoClient({ endpoint: first.dynamoEndpoint, region: 'us-east-1' });
        await dynamo.send(new PutItemCommand({ TableName: first.tableNames.presence, Item: { userId: { N: '42' }, note: { S: 'kept' } } }));
        dynamo.destroy();
        kid = JSON.stringify(first.issuer.jwks);
      } finally {
        await first.stop();
      }

      const second = await startLocalRuntime({ dataDir, httpPort: 0, wsPort: 0, emulator: fixtures });
      try {
        const rows = await withPgClient(second.databaseUrl, (client) => client.query('SELECT note FROM restart_probe'));
        expect(rows.rows).toEqual([{ note: 'kept' }]);
        const dynamo = createDynamoClient({ endpoint: second.dynamoEndpoint, region: 'us-east-1' });
        const item = await dynamo.send(new GetItemCommand({ TableName: second.tableNames.presence, Key: { userId: { N: '42' } } }));
        dynamo.destroy();
        expect(item.Item?.note).toEqual({ S: 'kept' });
        expect(JSON.stringify(second.issuer.jwks)).toBe(kid);
        const token = (await (await fetch(`${second.httpUrl}/dev/token`, { method: 'POST', body: '{"userId":2,"role":"customer"}' })).json()) as Json;
        expect((await fetch(`${second.httpUrl}/secure`, { headers: { authorization: `Bearer ${token.token}` } })).status).toBe(200);
      } finally {
        await second.stop();
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
