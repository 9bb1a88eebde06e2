import { describe, expect, it } from 'vitest';
import { QUEUE_KEYS, QUEUES, type QueueKey } from '#config/queues';
import { HANDLER_ENTRIES, HTTP_ROUTES, QUEUE_CONSUMERS, SCHEDULED_TASKS, WEBSOCKET_ROUTES } from '#config/routes';
import { TABLE_KEYS, type TableKey } from '#config/tables';
import { FUNCTION_ACCESS, type HandlerEntry } from '#lib/stacks/function-access';
import { deadLetterQueueName, queueName, tableName } from '#lib/stacks/naming';
import { actionsOf, functionLogicalId, functionStatements, resources, synth, type PolicyStatement } from './synth.ts';

const { statelessTemplate: template, statefulTemplate } = synth();
const entries = HANDLER_ENTRIES as HandlerEntry[];
const usesDatabase = (entry: string) =>
  [...HTTP_ROUTES, ...WEBSOCKET_ROUTES, ...SCHEDULED_TASKS, ...QUEUE_CONSUMERS].some((route) => route.entry === entry && route.database);

/** What grantSendMessages and grantConsumeMessages allow, and nothing more. */
const SEND_ACTIONS = ['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage'];
const CONSUME_ACTIONS = ['sqs:ChangeMessageVisibility', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:ReceiveMessage'];

/** The queues (by key) and dead-letter queues (by `<key>-dlq`) a statement names, by their fixed names. */
function queuesIn(statement: PolicyStatement): string[] {
  const text = JSON.stringify(statement.Resource);
  return QUEUE_KEYS.flatMap((key) => [
    ...(text.includes(`:${queueName('dev', key)}"`) ? [key] : []),
    ...(text.includes(`:${deadLetterQueueName('dev', key)}"`) ? [`${key}-dlq`] : []),
  ]);
}

function sqsStatements(entry: string) {
  return functionStatements(template, functionLogicalId(template, entry)).filter((s) => actionsOf(s).some((a) => a.startsWith('sqs:')));
}

/** The webhooks consumer sends what it gives up to its own dead-letter queue (FunctionAccess.webhooks): the one exception. */
const givesUpToDeadLetters = (entry: HandlerEntry) => FUNCTION_ACCESS[entry].webhooks === true;
const isWebhookDeadLetters = (statement: PolicyStatement) => queuesIn(statement).join() === 'webhooks-dlq';

const WRITE_ACTIONS = ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem'];

function tablesIn(statement: PolicyStatement): TableKey[] {
  const text = JSON.stringify(statement.Resource);
  return TABLE_KEYS.filter((key) => text.includes(`table/${tableName('dev', key)}"`) || text.includes(`table/${tableName('dev', key)}/`));
}

function dynamoStatements(entry: string) {
  return functionStatements(template, functionLogicalId(template, entry)).filter((s) => actionsOf(s).some((a) => a.startsWith('dynamodb:')));
}

function environment(entry: string): Record<string, unknown> {
  const fn = template.findResources('AWS::Lambda::Function')[functionLogicalId(template, entry)]!;
  return fn.Properties.Environment.Variables;
}

describe('least privilege', () => {
  it.each(entries)('%s: its policy names only the tables it is bound to, with the access it needs', (entry) => {
    const expected = FUNCTION_ACCESS[entry].tables;
    const granted = new Map<TableKey, Set<string>>();
    for (const statement of dynamoStatements(entry)) {
      const tables = tablesIn(statement);
      expect(tables.length, `a DynamoDB statement of ${entry} names no known table: ${JSON.stringify(statement.Resource)}`).toBeGreaterThan(0);
      for (const key of tables) {
        const actions = granted.get(key) ?? new Set<string>();
        for (const action of actionsOf(statement)) actions.add(action);
        granted.set(key, actions);
      }
    }
    expect([...granted.keys()].sort()).toEqual((Object.keys(expected) as TableKey[]).sort());
    for (const [key, actions] of granted) {
      const writes = WRITE_ACTIONS.filter((action) => actions.has(action));
      if (expected[key] === 'read') expect(writes, `${entry} on ${key}`).toEqual([]);
      else expect(writes.sort(), `${entry} on ${key}`).toEqual([...WRITE_ACTIONS].sort());
      expect([...actions].some((action) => action.endsWith('*')), `${entry} on ${key}`).toBe(false);
    }
  });

  it.each(entries.filter((entry) => 'connections' in FUNCTION_ACCESS[entry].tables))(
    '%s: may run the PartiQL SELECT that finds both parties\' connections, on the connections table and its indexes',
    (entry) => {
      const partiql = dynamoStatements(entry).filter((statement) => actionsOf(statement).includes('dynamodb:PartiQLSelect'));
      const resources = JSON.stringify(partiql.map((statement) => statement.Resource));
      expect(partiql.flatMap((statement) => tablesIn(statement))).toContain('connections');
      expect(resources).toContain(`table/${tableName('dev', 'connections')}/index/*`);
      // Reads only: no PartiQL statement that writes.
      expect(dynamoStatements(entry).flatMap(actionsOf).filter((action) => /PartiQL(Insert|Update|Delete)/.test(action))).toEqual([]);
    },
  );

  it.each(entries)('%s: gets the name of each table it is bound to, and only those', (entry) => {
    const variables = environment(entry);
    for (const key of TABLE_KEYS) {
      const variable = { connections: 'CONNECTIONS_TABLE', subscriptions: 'SUBSCRIPTIONS_TABLE', presence: 'PRESENCE_TABLE', typing: 'TYPING_TABLE', rateLimits: 'RATE_LIMITS_TABLE' }[key];
      if (key in FUNCTION_ACCESS[entry].tables) expect(variables[variable], entry).toBe(tableName('dev', key));
      else expect(variables[variable], entry).toBeUndefined();
    }
  });

  it.each(entries)('%s: manages WebSocket connections only if it posts to them, and only on this API stage', (entry) => {
    const statements = functionStatements(template, functionLogicalId(template, entry)).filter((s) =>
      actionsOf(s).some((action) => action.startsWith('execute-api:')),
    );
    if (!FUNCTION_ACCESS[entry].connectionsApi) {
      expect(statements).toEqual([]);
      expect(environment(entry).WEBSOCKET_CALLBACK_URL).toBeUndefined();
      return;
    }
    const [webSocketApi] = resources(template, 'AWS::ApiGatewayV2::Api').find(([, api]) => api.Properties?.ProtocolType === 'WEBSOCKET')!;
    expect(statements).toHaveLength(1);
    expect(actionsOf(statements[0]!)).toEqual(['execute-api:ManageConnections']);
    const resource = JSON.stringify(statements[0]!.Resource);
    expect(resource).toContain(`{"Ref":"${webSocketApi}"}`);
    expect(resource).toContain('/dev/*/@connections/*');
    expect(JSON.stringify(environment(entry).WEBSOCKET_CALLBACK_URL)).toContain(webSocketApi);
  });

  it.each(entries)('%s: reads the database secret only if it uses Postgres', (entry) => {
    const secretReads = functionStatements(template, functionLogicalId(template, entry)).filter((s) =>
      actionsOf(s).includes('secretsmanager:GetSecretValue'),
    );
    const databaseReads = secretReads.filter((statement) => JSON.stringify(statement.Resource).includes('DatabaseSecret'));
    expect(databaseReads.length > 0, entry).toBe(usesDatabase(entry));
    // Besides it, only the webhooks consumer reads a secret: the webhook signing key.
    for (const statement of secretReads.filter((statement) => !databaseReads.includes(statement))) {
      expect(givesUpToDeadLetters(entry), entry).toBe(true);
      expect(JSON.stringify(statement.Resource)).toContain('WebhookSecret');
    }
  });

  it.each(entries)('%s: sends to, or consumes, exactly the queues its access names, with only the actions that needs', (entry) => {
    const expected = FUNCTION_ACCESS[entry].queues;
    const granted = new Map<string, Set<string>>();
    for (const statement of sqsStatements(entry)) {
      if (givesUpToDeadLetters(entry) && isWebhookDeadLetters(statement)) {
        expect(actionsOf(statement).sort()).toEqual(SEND_ACTIONS);
        continue;
      }
      const queues = queuesIn(statement);
      expect(queues.length, `an SQS statement of ${entry} names no known queue: ${JSON.stringify(statement.Resource)}`).toBe(1);
      const actions = granted.get(queues[0]!) ?? new Set<string>();
      for (const action of actionsOf(statement)) actions.add(action);
      granted.set(queues[0]!, actions);
    }
    // Never a dead-letter queue: nothing sends to it but SQS's redrive, nothing reads it but on-call.
    expect([...granted.keys()].sort()).toEqual((Object.keys(expected) as QueueKey[]).sort());
    for (const [key, actions] of granted) {
      const level = expected[key as QueueKey];
      expect([...actions].sort(), `${entry} on ${key}`).toEqual(level === 'send' ? SEND_ACTIONS : CONSUME_ACTIONS);
    }
  });

  it.each(entries)('%s: may put messages on a queue only if it publishes, and may receive only if it consumes', (entry) => {
    const actions = sqsStatements(entry).flatMap(actionsOf);
    const levels = Object.values(FUNCTION_ACCESS[entry].queues);
    expect(actions.includes('sqs:SendMessage'), entry).toBe(levels.includes('send') || givesUpToDeadLetters(entry));
    expect(actions.includes('sqs:ReceiveMessage'), entry).toBe(levels.includes('consume'));
    expect(actions.includes('sqs:DeleteMessage'), entry).toBe(levels.includes('consume'));
    expect(actions.some((action) => action.endsWith('*')), entry).toBe(false);
  });

  it.each(entries)('%s: gets the URL of each queue it sends to, and only those', (entry) => {
    const variables = environment(entry);
    for (const key of QUEUE_KEYS) {
      const variable = QUEUES[key].urlSettingsKey;
      // The webhooks consumer also gets its own queue's URL: it stretches its records' visibility.
      if (FUNCTION_ACCESS[entry].queues[key] === 'send' || (givesUpToDeadLetters(entry) && key === 'webhooks')) {
        expect(JSON.stringify(variables[variable]), entry).toContain(`/${queueName('dev', key)}"`);
      } else {
        expect(variables[variable], entry).toBeUndefined();
      }
    }
  });

  it('lets every handler that records changes publish their events, and the sync reader and purge nothing', () => {
    const publishers = entries.filter((entry) => FUNCTION_ACCESS[entry].queues.events === 'send');
    expect(publishers).toEqual(
      expect.arrayContaining([
        'http/start-conversation',
        'http/send-message',
        'http/mark-read',
        'http/archive-conversation',
        'http/edit-message',
        'http/delete-message',
        'http/react',
        'ws/send-message',
        'ws/update-message-status',
        'ws/mark-read',
        'ws/default',
        'scheduled/republish-events',
      ]),
    );
    for (const entry of ['http/sync', 'scheduled/purge-changes', 'http/read-messages', 'ws/typing', 'ws/ping'] as HandlerEntry[]) {
      expect(FUNCTION_ACCESS[entry].queues, entry).toEqual({});
      expect(sqsStatements(entry), entry).toEqual([]);
    }
  });

  it.each(QUEUE_CONSUMERS.map((consumer) => [consumer.entry, consumer] as const))('%s consumes its own queue only, and sends to neither it nor its dead-letter queue', (entry, consumer) => {
    expect(FUNCTION_ACCESS[entry].queues[consumer.queue]).toBe('consume');
    for (const statement of sqsStatements(entry)) {
      if (actionsOf(statement).includes('sqs:ReceiveMessage')) expect(queuesIn(statement)).toEqual([consumer.queue]);
      if (!(givesUpToDeadLetters(entry) && isWebhookDeadLetters(statement))) expect(queuesIn(statement)).not.toContain(`${consumer.queue}-dlq`);
      if (queuesIn(statement).includes(consumer.queue)) expect(actionsOf(statement)).not.toContain('sqs:SendMessage');
    }
  });

  it('grants nothing on every resource except X-Ray (which has no resource-level permissions)', () => {
    for (const [, policy] of resources(template, 'AWS::IAM::Policy')) {
      for (const statement of (policy.Properties?.PolicyDocument as { Statement: PolicyStatement[] }).Statement) {
        if (statement.Resource === '*') expect(actionsOf(statement).every((action) => action.startsWith('xray:'))).toBe(true);
      }
    }
  });
});

describe('network placement', () => {
  const [clientGroup] = resources(statefulTemplate, 'AWS::EC2::SecurityGroup').find(([, group]) =>
    String(group.Properties?.GroupDescription).startsWith('Lambda functions that use Postgres'),
  )!;
  const [proxyGroup] = resources(statefulTemplate, 'AWS::EC2::SecurityGroup').find(([, group]) =>
    String(group.Properties?.GroupDescription).startsWith('RDS Proxy'),
  )!;
  const [databaseGroup] = resources(statefulTemplate, 'AWS::EC2::SecurityGroup').find(([, group]) =>
    String(group.Properties?.GroupDescription).startsWith('RDS PostgreSQL'),
  )!;

  it('runs the scheduled tasks and queue consumers that use Postgres in the VPC (the manifest says which)', () => {
    const background = [...SCHEDULED_TASKS, ...QUEUE_CONSUMERS].filter((task) => task.database).map((task) => task.entry);
    expect(background).toEqual(expect.arrayContaining(['scheduled/republish-events', 'scheduled/purge-changes', 'queue/route-events']));
    for (const entry of background) {
      const fn = template.findResources('AWS::Lambda::Function')[functionLogicalId(template, entry)]!;
      expect(JSON.stringify(fn.Properties.VpcConfig?.SecurityGroupIds), entry).toContain(clientGroup);
      expect(environment(entry).DATABASE_HOST, entry).toBeDefined();
    }
    // A scheduled task without Postgres still stays out of the VPC.
    const fn = template.findResources('AWS::Lambda::Function')[functionLogicalId(template, 'scheduled/close-unauthenticated')]!;
    expect(fn.Properties.VpcConfig).toBeUndefined();
  });

  it.each(entries)('%s: runs in the VPC, in the database clients group, exactly when it uses Postgres', (entry) => {
    const fn = template.findResources('AWS::Lambda::Function')[functionLogicalId(template, entry)]!;
    if (!usesDatabase(entry)) {
      expect(fn.Properties.VpcConfig, entry).toBeUndefined();
      expect(environment(entry).DATABASE_HOST).toBeUndefined();
      return;
    }
    const groups = JSON.stringify(fn.Properties.VpcConfig.SecurityGroupIds);
    expect(fn.Properties.VpcConfig.SecurityGroupIds).toHaveLength(1);
    expect(groups).toContain(clientGroup);
    expect(JSON.stringify(fn.Properties.VpcConfig.SubnetIds)).toContain('Application');
    // The only database address it is given is the proxy's.
    expect(JSON.stringify(environment(entry).DATABASE_HOST)).toMatch(/Proxy.*Endpoint/);
    expect(environment(entry).DATABASE_SECRET_ARN).toBeDefined();
  });

  it('lets the functions reach Postgres only through RDS Proxy', () => {
    const ingress = resources(statefulTemplate, 'AWS::EC2::SecurityGroupIngress');
    const into = (group: string) => ingress.filter(([, rule]) => JSON.stringify(rule.Properties?.GroupId).includes(group));
    // The database admits the proxy and nothing else; the proxy admits the database clients.
    expect(into(databaseGroup).map(([, rule]) => JSON.stringify(rule.Properties?.SourceSecurityGroupId))).toEqual([
      expect.stringContaining(proxyGroup),
    ]);
    expect(into(proxyGroup).map(([, rule]) => JSON.stringify(rule.Properties?.SourceSecurityGroupId))).toEqual([
      expect.stringContaining(clientGroup),
    ]);
    for (const [, group] of resources(statefulTemplate, 'AWS::EC2::SecurityGroup')) {
      expect(group.Properties?.SecurityGroupIngress ?? []).toEqual([]);
    }
    // The clients' own egress: HTTPS anywhere (AWS APIs), Postgres only to the proxy.
    const egress = resources(statefulTemplate, 'AWS::EC2::SecurityGroupEgress').filter(([, rule]) =>
      JSON.stringify(rule.Properties?.GroupId).includes(clientGroup),
    );
    expect(egress.map(([, rule]) => [rule.Properties?.FromPort, JSON.stringify(rule.Properties?.DestinationSecurityGroupId ?? null)])).toEqual([
      [5432, expect.stringContaining(proxyGroup)],
    ]);
    const clientGroupProperties = statefulTemplate.findResources('AWS::EC2::SecurityGroup')[clientGroup]!.Properties;
    expect(clientGroupProperties.SecurityGroupEgress).toEqual([expect.objectContaining({ CidrIp: '0.0.0.0/0', FromPort: 443, ToPort: 443 })]);
  });

  it('keeps the database and proxy in isolated subnets, with a DynamoDB gateway endpoint and NAT for the functions', () => {
    statefulTemplate.resourceCountIs('AWS::EC2::NatGateway', 1);
    statefulTemplate.hasResourceProperties('AWS::EC2::VPCEndpoint', {
      VpcEndpointType: 'Gateway',
      ServiceName: { 'Fn::Join': ['', ['com.amazonaws.', { Ref: 'AWS::Region' }, '.dynamodb']] },
    });
    const subnetGroup = resources(statefulTemplate, 'AWS::RDS::DBSubnetGroup')[0]![1];
    expect(JSON.stringify(subnetGroup.Properties?.SubnetIds)).toContain('Database');
    statefulTemplate.hasResourceProperties('AWS::EC2::FlowLog', { TrafficType: 'REJECT' });
  });
});
