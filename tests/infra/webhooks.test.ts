/**
 * Webhooks in the stack: the webhooks queue and its dead-letter queue from the queue definition,
 * the signing secret in the stateful stack, the delivering consumer's least-privilege grants (the
 * secret, its dead-letter queue, its own queue through the event source), the events consumer
 * told the URL only when one is configured, and the alarms.
 */
import { describe, expect, it } from 'vitest';
import { HANDLER_ENTRIES } from '#config/routes';
import { QUEUES } from '#config/queues';
import { actionsOf, functionLogicalId, functionStatements, resources, synth } from './synth.ts';

const URL = 'https://marketplace.example.com/hooks/chat';

const environmentOf = (template: ReturnType<typeof synth>['statelessTemplate'], entry: string) =>
  (template.findResources('AWS::Lambda::Function')[functionLogicalId(template, entry)]!.Properties.Environment.Variables ?? {}) as Record<string, unknown>;

describe('webhooks configured', () => {
  const { statefulTemplate, statelessTemplate: template, monitoringTemplate } = synth({ webhookUrl: URL });

  it('has the webhooks queue and its dead-letter queue, redriving after maxReceiveCount, and a generated signing secret', () => {
    const queue = resources(statefulTemplate, 'AWS::SQS::Queue').find(([, r]) => r.Properties?.QueueName === 'provider-customer-chat-dev-webhooks');
    expect(queue).toBeDefined();
    expect(queue![1].Properties).toMatchObject({ MessageRetentionPeriod: QUEUES.webhooks.retentionSeconds, RedrivePolicy: { maxReceiveCount: 50 } });
    expect(resources(statefulTemplate, 'AWS::SQS::Queue').some(([, r]) => r.Properties?.QueueName === 'provider-customer-chat-dev-webhooks-dlq')).toBe(true);
    const secrets = resources(statefulTemplate, 'AWS::SecretsManager::Secret').filter(([, r]) => r.Properties?.Name === 'provider-customer-chat-dev/webhook-signing');
    expect(secrets).toHaveLength(1);
    expect(secrets[0]![1].Properties?.GenerateSecretString).toMatchObject({ PasswordLength: 48, ExcludePunctuation: true });
    statefulTemplate.hasOutput('WebhookSecretArn', {});
  });

  it('gives the consumer the URL, the secret ARN and its queues, and the events consumer the URL', () => {
    const environment = environmentOf(template, 'queue/deliver-webhooks');
    expect(environment.CHAT_WEBHOOK_URL).toBe(URL);
    expect(environment.CHAT_WEBHOOK_SECRET_ARN).toBeDefined();
    expect(JSON.stringify(environment.WEBHOOKS_QUEUE_URL)).toContain('provider-customer-chat-dev-webhooks"');
    expect(JSON.stringify(environment.WEBHOOKS_DEAD_LETTER_QUEUE_URL)).toContain('provider-customer-chat-dev-webhooks-dlq');
    expect(environmentOf(template, 'queue/route-events').CHAT_WEBHOOK_URL).toBe(URL);
    expect(JSON.stringify(environmentOf(template, 'queue/route-events').WEBHOOKS_QUEUE_URL)).toContain('provider-customer-chat-dev-webhooks');
  });

  it('lets only the consumer read the secret, and send only to the webhooks dead-letter queue', () => {
    for (const entry of HANDLER_ENTRIES.filter((entry) => entry !== 'queue/deliver-webhooks')) {
      const statements = functionStatements(template, functionLogicalId(template, entry));
      expect(JSON.stringify(statements), entry).not.toContain('WebhookSecret');
    }
    const statements = functionStatements(template, functionLogicalId(template, 'queue/deliver-webhooks'));
    const secretStatements = statements.filter((statement) => actionsOf(statement).some((action) => action.startsWith('secretsmanager:')));
    // The database secret (it reads Postgres) and the signing key, read only.
    const signing = secretStatements.filter((statement) => JSON.stringify(statement.Resource).includes('WebhookSecret'));
    expect(signing.flatMap(actionsOf).sort()).toEqual(['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue']);
    expect(secretStatements.every((statement) => /WebhookSecret|DatabaseSecret/.test(JSON.stringify(statement.Resource)))).toBe(true);
    const sends = statements.filter((statement) => actionsOf(statement).includes('sqs:SendMessage'));
    expect(sends).toHaveLength(1);
    expect(JSON.stringify(sends[0]!.Resource)).toContain('provider-customer-chat-dev-webhooks-dlq');
    // Its own queue through the event source, reporting partial batch failures.
    const mappings = Object.values(template.findResources('AWS::Lambda::EventSourceMapping'));
    const mapping = mappings.find((m) => JSON.stringify(m.Properties.EventSourceArn).includes('provider-customer-chat-dev-webhooks"'));
    expect(JSON.stringify(mapping?.Properties.FunctionName)).toContain(functionLogicalId(template, 'queue/deliver-webhooks'));
    expect(mapping?.Properties.FunctionResponseTypes).toEqual(['ReportBatchItemFailures']);
    const changes = statements.filter((statement) => actionsOf(statement).includes('sqs:ChangeMessageVisibility'));
    expect(JSON.stringify(changes.map((statement) => statement.Resource))).toContain('provider-customer-chat-dev-webhooks"');
  });

  it('alarms on dead letters, the oldest message and failed attempts, each with its runbook entry', () => {
    const alarms = Object.values(monitoringTemplate.findResources('AWS::CloudWatch::Alarm')).map((alarm) => alarm.Properties as { AlarmName: string; AlarmDescription: string; MetricName?: string; Threshold: number });
    const byName = (name: string) => alarms.find((alarm) => alarm.AlarmName === `provider-customer-chat-dev-${name}`);
    expect(byName('dead-letters-webhooks')).toMatchObject({ Threshold: 1, AlarmDescription: expect.stringContaining('docs/operations.md#dead-letters') });
    expect(byName('queue-age-webhooks')?.AlarmDescription).toContain('docs/operations.md#queue-age');
    expect(byName('webhook-failures')).toMatchObject({ MetricName: 'WebhookFailures', Threshold: 10, AlarmDescription: expect.stringContaining('docs/operations.md#webhook-failures') });
  });
});

describe('webhooks not configured', () => {
  const { statelessTemplate: template } = synth();

  it('keeps the queue and the consumer, and forwards nothing: no function is told a URL', () => {
    for (const entry of HANDLER_ENTRIES) expect(environmentOf(template, entry).CHAT_WEBHOOK_URL, entry).toBeUndefined();
    expect(environmentOf(template, 'queue/deliver-webhooks').CHAT_WEBHOOK_SECRET_ARN).toBeDefined();
  });

  it('refuses a receiver that is not https', () => {
    expect(() => synth({ webhookUrl: 'http://marketplace.example.com/hooks' })).toThrow(/webhookUrl/);
  });
});
