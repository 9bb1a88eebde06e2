import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { QUEUE_KEYS } from '#config/queues';
import { HANDLER_ENTRIES, QUEUE_CONSUMERS } from '#config/routes';
import { TABLE_KEYS } from '#config/tables';
import { METRICS } from '#core/ports';
import { ALARM_THRESHOLDS } from '#lib/constructs/observability';
import { deadLetterQueueName, queueName } from '#lib/stacks/naming';
import { estimateMaxConnections } from '#lib/stacks/stateless-stack';
import { resources, synth } from './synth.ts';

const dev = synth();
const withEmail = synth({ alarmEmail: 'oncall@example.com', metricsNamespace: 'ChatStaging' });
const template = dev.monitoringTemplate;

function alarm(name: string) {
  const found = resources(template, 'AWS::CloudWatch::Alarm').find(([, a]) => a.Properties?.AlarmName === `provider-customer-chat-dev-${name}`);
  if (!found) throw new Error(`No alarm ${name}`);
  return found[1].Properties!;
}

function dashboardBody(t = template): string {
  const [, dashboard] = resources(t, 'AWS::CloudWatch::Dashboard')[0]!;
  return JSON.stringify(dashboard.Properties?.DashboardBody);
}

describe('alarms', () => {
  it('page on the HTTP 5xx rate, with a minimum request count', () => {
    const properties = alarm('http-5xx-rate');
    expect(properties.Threshold).toBe(ALARM_THRESHOLDS.httpServerErrorRatePercent);
    expect(JSON.stringify(properties.Metrics)).toContain(`IF(requests >= ${ALARM_THRESHOLDS.httpServerErrorMinimumRequests}, 100 * FILL(errors, 0) / requests, 0)`);
  });

  it.each([...HANDLER_ENTRIES, 'custom-resources/migrate'])('watch errors and throttles of %s', (entry) => {
    const name = entry.replace(/[^a-z0-9]+/gi, '-');
    expect(alarm(`lambda-errors-${name}`)).toMatchObject({ MetricName: 'Errors', Namespace: 'AWS/Lambda', Threshold: ALARM_THRESHOLDS.lambdaErrors });
    expect(alarm(`lambda-throttles-${name}`)).toMatchObject({
      MetricName: 'Throttles',
      Threshold: ALARM_THRESHOLDS.lambdaThrottles,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
  });

  it.each(TABLE_KEYS)('watch DynamoDB throttling of the %s table', (key) => {
    const properties = alarm(`dynamodb-throttles-${key}`);
    expect(properties.Threshold).toBe(ALARM_THRESHOLDS.dynamoDbThrottleEvents);
    const metrics = JSON.stringify(properties.Metrics);
    expect(metrics).toContain('ReadThrottleEvents');
    expect(metrics).toContain('WriteThrottleEvents');
  });

  it('watch database CPU and connections against the instance size', () => {
    expect(alarm('database-cpu')).toMatchObject({
      MetricName: 'CPUUtilization',
      Threshold: ALARM_THRESHOLDS.databaseCpuPercent,
      EvaluationPeriods: 3,
      Dimensions: [{ Name: 'DBInstanceIdentifier', Value: 'provider-customer-chat-dev-postgres' }],
    });
    const maxConnections = estimateMaxConnections('t4g.micro')!;
    expect(maxConnections).toBe(112);
    expect(alarm('database-connections')).toMatchObject({
      MetricName: 'DatabaseConnections',
      Threshold: Math.floor((maxConnections * ALARM_THRESHOLDS.databaseConnectionsPercent) / 100),
    });
    const sized = synth({ databaseMaxConnections: 500 }).monitoringTemplate;
    sized.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmName: 'provider-customer-chat-dev-database-connections', Threshold: 400 });
  });

  it('watch the WebSocket delivery-failure rate from the Powertools metrics', () => {
    const properties = alarm('delivery-failure-rate');
    expect(properties.Threshold).toBe(ALARM_THRESHOLDS.deliveryFailureRatePercent);
    const metrics = JSON.stringify(properties.Metrics);
    expect(metrics).toContain('"MetricName":"DeliveryFailures"');
    expect(metrics).toContain('"MetricName":"MessagesSent"');
    expect(metrics).toContain('"Namespace":"ProviderCustomerChat"');
    expect(metrics).toContain('{"Name":"service","Value":"provider-customer-chat"}');
  });

  it.each(QUEUE_KEYS)('page when the %s queue\'s dead-letter queue holds a message', (key) => {
    expect(alarm(`dead-letters-${key}`)).toMatchObject({
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Statistic: 'Maximum',
      Dimensions: [{ Name: 'QueueName', Value: deadLetterQueueName('dev', key) }],
      Threshold: ALARM_THRESHOLDS.deadLetterMessages,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
    expect(ALARM_THRESHOLDS.deadLetterMessages).toBe(1);
  });

  it.each(QUEUE_KEYS)('page when the %s queue\'s oldest message waits too long (its consumers are behind)', (key) => {
    expect(alarm(`queue-age-${key}`)).toMatchObject({
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateAgeOfOldestMessage',
      Statistic: 'Maximum',
      Dimensions: [{ Name: 'QueueName', Value: queueName('dev', key) }],
      Threshold: ALARM_THRESHOLDS.queueOldestMessageAgeSeconds,
      ComparisonOperator: 'GreaterThanThreshold',
    });
  });

  it('watch the event publish-failure rate from the Powertools metrics', () => {
    const properties = alarm('event-publish-failure-rate');
    expect(properties.Threshold).toBe(ALARM_THRESHOLDS.eventPublishFailureRatePercent);
    const metrics = JSON.stringify(properties.Metrics);
    for (const metric of ['EventPublishFailures', 'EventsPublished', 'EventsRepublished']) expect(metrics).toContain(`"MetricName":"${metric}"`);
    expect(metrics).toContain('"Namespace":"ProviderCustomerChat"');
    expect(metrics).toContain('{"Name":"service","Value":"provider-customer-chat"}');
    expect(metrics).toContain(`>= ${ALARM_THRESHOLDS.eventPublishMinimumAttempts}`);
  });

  it.each(QUEUE_CONSUMERS.map((consumer) => consumer.entry))('watch errors and throttles of the queue consumer %s like every function', (entry) => {
    const name = entry.replace(/[^a-z0-9]+/gi, '-');
    expect(alarm(`lambda-errors-${name}`)).toMatchObject({ MetricName: 'Errors' });
    expect(alarm(`lambda-throttles-${name}`)).toMatchObject({ MetricName: 'Throttles' });
  });

  it('link every alarm to its runbook entry, which exists in docs/operations.md', () => {
    const operations = readFileSync(new URL('../../docs/operations.md', import.meta.url), 'utf8');
    const anchors = new Set([...operations.matchAll(/^### (.+)$/gm)].map((m) => m[1]!.trim().toLowerCase().replace(/[^a-z0-9 -]/g, '').replace(/ /g, '-')));
    for (const [, a] of resources(template, 'AWS::CloudWatch::Alarm')) {
      const link = /Runbook: docs\/operations\.md#([a-z0-9-]+)/.exec(String(a.Properties?.AlarmDescription));
      expect(link, String(a.Properties?.AlarmName)).not.toBeNull();
      expect(anchors.has(link![1]!), `${String(a.Properties?.AlarmName)} → #${link![1]}`).toBe(true);
    }
  });

  it('all notify the alarm topic, when they fire and when they clear', () => {
    const [topicId] = resources(template, 'AWS::SNS::Topic')[0]!;
    const alarms = resources(template, 'AWS::CloudWatch::Alarm');
    // …, event publishing, push (failure rate, devices removed), webhook failures, and the
    // attachments processor's failures and rejection rate.
    expect(alarms.length).toBe(1 + 2 * (HANDLER_ENTRIES.length + 1) + TABLE_KEYS.length + 3 + 2 * QUEUE_KEYS.length + 1 + 2 + 1 + 2);
    for (const [, a] of alarms) {
      expect(a.Properties?.AlarmActions).toEqual([{ Ref: topicId }]);
      expect(a.Properties?.OKActions).toEqual([{ Ref: topicId }]);
      expect(a.Properties?.TreatMissingData).toBe('notBreaching');
    }
  });

  it('reach the on-call email when one is configured', () => {
    template.resourceCountIs('AWS::SNS::Subscription', 0);
    withEmail.monitoringTemplate.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'oncall@example.com' });
  });
});

describe('dashboard', () => {
  const body = dashboardBody();

  it.each([
    'HTTP API: requests',
    'HTTP API: 4xx / 5xx',
    'HTTP API: latency',
    'WebSocket API: connects / messages',
    'WebSocket API: errors',
    'HTTP functions: errors',
    'HTTP functions: throttles',
    'HTTP functions: duration p99',
    'HTTP functions: concurrency',
    'WebSocket functions: errors',
    'WebSocket functions: duration p99',
    'DynamoDB: throttle events',
    'RDS: CPU',
    'RDS: connections',
    'RDS: free storage',
    'RDS Proxy: connections',
    'Chat: messages and deliveries',
    'Chat: fan-out latency (ms)',
    'Queue functions: errors',
    'Events: published / republished / failed',
    'Queues: depth / oldest message',
    'Queues: dead-letter depth',
    'Queue consumers: invocations / errors',
    'Queue consumers: duration',
    'Change log: rows purged',
    'Alarms',
  ])('shows "%s"', (title) => {
    expect(body).toContain(`\\"title\\":\\"${title}\\"`);
  });

  it('plots the API, Lambda, DynamoDB and RDS metrics it promises', () => {
    for (const metric of ['ConnectCount', 'MessageCount', '"5xx', 'ConcurrentExecutions', 'Duration', 'ReadThrottleEvents', 'FreeStorageSpace', 'ClientConnections']) {
      expect(body).toContain(metric);
    }
  });

  it.each(QUEUE_KEYS)('plots the %s queue\'s depth, oldest message and dead letters', (key) => {
    for (const metric of ['ApproximateNumberOfMessagesVisible', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateAgeOfOldestMessage']) {
      expect(body).toContain(`\\"AWS/SQS\\",\\"${metric}\\",\\"QueueName\\",\\"${queueName('dev', key)}\\"`);
    }
    expect(body).toContain(`\\"AWS/SQS\\",\\"ApproximateNumberOfMessagesVisible\\",\\"QueueName\\",\\"${deadLetterQueueName('dev', key)}\\"`);
  });

  it('plots the queue consumers\' invocations', () => {
    expect(body).toContain('Invocations');
  });

  it.each(METRICS)('plots the custom metric %s in the configured namespace', (metric) => {
    expect(body).toContain(`\\"ProviderCustomerChat\\",\\"${metric}\\"`);
    expect(dashboardBody(withEmail.monitoringTemplate)).toContain(`\\"ChatStaging\\",\\"${metric}\\"`);
  });
});
