import { DescribeTableCommand, DescribeTimeToLiveCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureTables, TABLE_KEYS, TABLES } from '#config/tables';
import { createTestTables, type TestTables } from '#tests/support/dynamodb';

let tables: TestTables;
beforeAll(async () => {
  tables = await createTestTables();
});
afterAll(() => tables.drop());

describe('ensureTables', () => {
  it('turns on TTL on the ttl attribute of every table, so abandoned state is deleted', async () => {
    for (const key of TABLE_KEYS) {
      const { TimeToLiveDescription } = await tables.client.send(
        new DescribeTimeToLiveCommand({ TableName: tables.names[key] }),
      );
      expect(TimeToLiveDescription, key).toMatchObject({ TimeToLiveStatus: 'ENABLED', AttributeName: 'ttl' });
    }
  });

  it('creates every table with the keys and indexes the definitions declare', async () => {
    for (const key of TABLE_KEYS) {
      const { Table } = await tables.client.send(new DescribeTableCommand({ TableName: tables.names[key] }));
      expect(Table?.TableStatus).toBe('ACTIVE');
      expect(Table?.KeySchema?.[0]).toEqual({ AttributeName: TABLES[key].partitionKey.name, KeyType: 'HASH' });
      const indexNames = (Table?.GlobalSecondaryIndexes ?? []).map((index) => index.IndexName).sort();
      expect(indexNames, key).toEqual(TABLES[key].globalSecondaryIndexes.map((index) => index.name).sort());
    }
  });

  it('can run again on existing tables without failing (a restart of the local runtime)', async () => {
    await expect(ensureTables(tables.client, tables.names)).resolves.toBeUndefined();
  });
});
