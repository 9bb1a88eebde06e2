import { describe, expect, it } from 'vitest';
import { QUEUE_KEYS, QUEUES, type QueueDefinition } from '#config/queues';
import { QUEUE_CONSUMERS } from '#config/routes';
import { functionTimeout, queueVisibilityTimeout, VISIBILITY_TIMEOUT_FACTOR } from '#lib/stacks/function-timeouts';
import { deadLetterQueueName, queueName } from '#lib/stacks/naming';
import { functionLogicalId, resources, synth, type Resource } from './synth.ts';

const dev = synth();
const prod = synth({ stage: 'prod', alarmEmail: 'oncall@example.com', databaseInstanceType: 'm7g.large' });
const template = dev.statefulTemplate;

function queue(t: typeof template, name: string): [string, Resource & { DeletionPolicy?: string }] {
  const found = resources(t, 'AWS::SQS::Queue').find(([, q]) => q.Properties?.QueueName === name);
  if (!found) throw new Error(`No queue ${name}`);
  return found as [string, Resource & { DeletionPolicy?: string }];
}

const arnOf = (name: string) => ({
  'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':sqs:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, `:${name}`]],
});

describe('SQS queues', () => {
  it('are exactly the queues of functions/config/queues.ts, each with its dead-letter queue, in the stateful stack', () => {
    const names = resources(template, 'AWS::SQS::Queue').map(([, q]) => q.Properties?.QueueName);
    expect(names.sort()).toEqual(QUEUE_KEYS.flatMap((key) => [queueName('dev', key), deadLetterQueueName('dev', key)]).sort());
    dev.statelessTemplate.resourceCountIs('AWS::SQS::Queue', 0);
  });

  it.each(QUEUE_KEYS)('%s: SQS-managed encryption, the definition\'s retention, a redrive policy to its dead-letter queue', (key) => {
    const definition: QueueDefinition = QUEUES[key];
    const [deadLetterId, deadLetter] = queue(template, deadLetterQueueName('dev', key));
    const [, main] = queue(template, queueName('dev', key));
    expect(main.Properties).toMatchObject({
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: definition.retentionSeconds,
      RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [deadLetterId, 'Arn'] }, maxReceiveCount: definition.maxReceiveCount },
      // Nothing may use the main queue as its dead-letter queue.
      RedriveAllowPolicy: { redrivePermission: 'denyAll' },
    });
    expect(main.Properties?.KmsMasterKeyId).toBeUndefined();
    expect(deadLetter.Properties).toMatchObject({
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: definition.deadLetterRetentionSeconds,
      // Only its own source queue may dead-letter into it, and so have its messages redriven back.
      RedriveAllowPolicy: { redrivePermission: 'byQueue', sourceQueueArns: [arnOf(queueName('dev', key))] },
    });
    expect(deadLetter.Properties?.RedrivePolicy).toBeUndefined();
  });

  it.each(QUEUE_KEYS)('%s: a visibility timeout of at least six times its consumers\' timeout, and at least the definition\'s', (key) => {
    const [, main] = queue(template, queueName('dev', key));
    const visibility = main.Properties?.VisibilityTimeout as number;
    expect(visibility).toBe(queueVisibilityTimeout(key).toSeconds());
    expect(visibility).toBeGreaterThanOrEqual(QUEUES[key].visibilityTimeoutSeconds);
    for (const consumer of QUEUE_CONSUMERS.filter((c) => c.queue === key)) {
      const fn = dev.statelessTemplate.findResources('AWS::Lambda::Function')[functionLogicalId(dev.statelessTemplate, consumer.entry)]!;
      expect(fn.Properties.Timeout).toBe(functionTimeout(consumer.entry, 'queue').toSeconds());
      expect(visibility).toBeGreaterThanOrEqual(VISIBILITY_TIMEOUT_FACTOR * fn.Properties.Timeout);
    }
  });

  it.each(QUEUE_KEYS)('%s: both queues refuse requests without TLS', (key) => {
    for (const name of [queueName('dev', key), deadLetterQueueName('dev', key)]) {
      const [id] = queue(template, name);
      const policies = resources(template, 'AWS::SQS::QueuePolicy').filter(([, p]) => JSON.stringify(p.Properties?.Queues) === JSON.stringify([{ Ref: id }]));
      expect(policies, name).toHaveLength(1);
      const [tls, ...others] = (policies[0]![1].Properties?.PolicyDocument as { Statement: { Principal?: unknown }[] }).Statement;
      expect(tls).toEqual({
        Action: 'sqs:*',
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
        Effect: 'Deny',
        Principal: { AWS: '*' },
        Resource: { 'Fn::GetAtt': [id, 'Arn'] },
      });
      // The only other statement: a queue the attachments bucket notifies lets S3 send to it (tests/infra/attachments.test.ts).
      const notified = name === queueName('dev', key) && (QUEUES[key] as QueueDefinition).notifiedByUploadsUnder !== undefined;
      expect(others.map((statement) => statement.Principal)).toEqual(notified ? [{ Service: 's3.amazonaws.com' }] : []);
    }
  });

  it('are deleted with a dev stack but retained in production', () => {
    for (const [, q] of resources(template, 'AWS::SQS::Queue')) expect((q as { DeletionPolicy?: string }).DeletionPolicy).toBe('Delete');
    for (const [, q] of resources(prod.statefulTemplate, 'AWS::SQS::Queue')) expect((q as { DeletionPolicy?: string }).DeletionPolicy).toBe('Retain');
  });

  it('give operators the URLs and ARNs of every queue and dead-letter queue', () => {
    const outputs = template.toJSON().Outputs as Record<string, { Value: unknown }>;
    for (const key of QUEUE_KEYS) {
      const [mainId] = queue(template, queueName('dev', key));
      const [deadLetterId] = queue(template, deadLetterQueueName('dev', key));
      const name = key[0]!.toUpperCase() + key.slice(1);
      expect(outputs[`${name}QueueUrl`]?.Value).toEqual({ Ref: mainId });
      expect(outputs[`${name}QueueArn`]?.Value).toEqual({ 'Fn::GetAtt': [mainId, 'Arn'] });
      expect(outputs[`${name}DeadLetterQueueUrl`]?.Value).toEqual({ Ref: deadLetterId });
      expect(outputs[`${name}DeadLetterQueueArn`]?.Value).toEqual({ 'Fn::GetAtt': [deadLetterId, 'Arn'] });
    }
  });
});

describe('queue consumers', () => {
  const mappings = resources(dev.statelessTemplate, 'AWS::Lambda::EventSourceMapping');

  it('are the only event source mappings', () => {
    expect(mappings).toHaveLength(QUEUE_CONSUMERS.length);
  });

  it.each(QUEUE_CONSUMERS.map((consumer) => [consumer.entry, consumer] as const))('%s: triggered by its queue with the manifest\'s batching, reporting partial batch failures', (entry, consumer) => {
    const id = functionLogicalId(dev.statelessTemplate, entry);
    const own = mappings.filter(([, m]) => JSON.stringify(m.Properties?.FunctionName) === JSON.stringify({ Ref: id }));
    expect(own).toHaveLength(1);
    expect(own[0]![1].Properties).toEqual(
      expect.objectContaining({
        EventSourceArn: arnOf(queueName('dev', consumer.queue)),
        BatchSize: consumer.batchSize,
        MaximumBatchingWindowInSeconds: consumer.maxBatchingWindowSeconds,
        FunctionResponseTypes: ['ReportBatchItemFailures'],
      }),
    );
    // Enabled (the default) and not filtered: every event reaches the router.
    expect(own[0]![1].Properties?.Enabled).toBeUndefined();
    expect(own[0]![1].Properties?.FilterCriteria).toBeUndefined();
  });
});
