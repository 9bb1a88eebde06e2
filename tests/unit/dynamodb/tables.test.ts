import {
  CreateTableCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  DynamoDBClient,
  ResourceInUseException,
  ResourceNotFoundException,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { createTableInputs, ensureTables, TABLE_KEYS, tableNamesFrom, type TableNames } from '#config/tables';
import { loadSettings } from '#config/settings';

const names = Object.fromEntries(TABLE_KEYS.map((key) => [key, `t-${key}`])) as TableNames;
const client = new DynamoDBClient({ region: 'us-east-1' });
const ddb = mockClient(client);

beforeEach(() => ddb.reset());

describe('table definitions', () => {
  it('takes each table\'s physical name from its setting', () => {
    expect(tableNamesFrom(loadSettings({ PRESENCE_TABLE: 'prod-presence' }))).toEqual({
      connections: 'chat-connections',
      subscriptions: 'chat-subscriptions',
      presence: 'prod-presence',
      typing: 'chat-typing',
      rateLimits: 'chat-rate-limits',
    });
  });

  it('creates on-demand tables whose key attributes are each declared once', () => {
    const inputs = createTableInputs(names);
    expect(inputs.map((input) => input.TableName)).toEqual(Object.values(names));
    for (const input of inputs) {
      expect(input.BillingMode).toBe('PAY_PER_REQUEST');
      const declared = (input.AttributeDefinitions ?? []).map((a) => a.AttributeName);
      expect(new Set(declared).size).toBe(declared.length);
    }
    const connections = inputs.find((input) => input.TableName === names.connections);
    expect(connections?.AttributeDefinitions).toEqual([
      { AttributeName: 'connectionId', AttributeType: 'S' },
      { AttributeName: 'userId', AttributeType: 'N' },
      { AttributeName: 'connectedAt', AttributeType: 'N' },
      { AttributeName: 'partyKey', AttributeType: 'S' },
      { AttributeName: 'awaitingAuth', AttributeType: 'S' },
      { AttributeName: 'authDeadline', AttributeType: 'N' },
    ]);
  });
});

describe('ensureTables', () => {
  it('tolerates another process creating the same tables and enabling TTL at the same time', async () => {
    let described = 0;
    ddb.on(DescribeTableCommand).callsFake(() => {
      described += 1;
      if (described <= TABLE_KEYS.length) {
        throw new ResourceNotFoundException({ message: 'not found', $metadata: {} });
      }
      return { Table: { TableStatus: 'ACTIVE' } };
    });
    ddb.on(CreateTableCommand).rejects(new ResourceInUseException({ message: 'in use', $metadata: {} }));
    ddb
      .on(DescribeTimeToLiveCommand)
      .resolvesOnce({ TimeToLiveDescription: { TimeToLiveStatus: 'DISABLED' } })
      .resolves({ TimeToLiveDescription: { TimeToLiveStatus: 'ENABLED', AttributeName: 'ttl' } });
    ddb.on(UpdateTimeToLiveCommand).rejects(new Error('TimeToLive is already enabled'));

    await expect(ensureTables(client, names)).resolves.toBeUndefined();
    expect(ddb.commandCalls(CreateTableCommand)).toHaveLength(TABLE_KEYS.length);
  });

  it('fails when TTL cannot be enabled', async () => {
    ddb.on(DescribeTableCommand).resolves({ Table: { TableStatus: 'ACTIVE' } });
    ddb.on(DescribeTimeToLiveCommand).resolves({ TimeToLiveDescription: { TimeToLiveStatus: 'DISABLED' } });
    ddb.on(UpdateTimeToLiveCommand).rejects(new Error('AccessDenied'));
    await expect(ensureTables(client, names)).rejects.toThrow('AccessDenied');
  });
});
