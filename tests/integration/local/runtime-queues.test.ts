/**
 * The runtime's queues: created from functions/config/queues.ts with their dead-letter queues,
 * their URLs in the handlers' environment, and queue consumers (here a probe with an absolute
 * entry) run off them.
 */
import { fileURLToPath } from 'node:url';
import { GetQueueAttributesCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deadLetterName, QUEUES } from '#config/queues';
import type { QueueConsumer } from '#config/routes';
import { silentLog } from '#lib/local/log';
import { startTestRuntime, type TestRuntime } from '#tests/support/runtime';
import { invocations, waitFor } from './fixtures/recorder.ts';

const probe: QueueConsumer = {
  name: 'probe',
  // An absolute entry: the Lambda host resolves it outside handlersDir.
  entry: fileURLToPath(new URL('./fixtures/queue/partial', import.meta.url)),
  queue: 'events',
  batchSize: 10,
  maxBatchingWindowSeconds: 0,
  database: false,
  summary: 'test probe',
};

let runtime: TestRuntime;
let client: SQSClient;

beforeAll(async () => {
  runtime = await startTestRuntime({
    queueVisibilityTimeoutSeconds: 1,
    emulator: { queueConsumers: [probe], queueWaitTimeSeconds: 1, scheduledTasks: [], log: silentLog },
  });
  client = new SQSClient({ endpoint: runtime.sqsEndpoint, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
});

afterAll(async () => {
  client?.destroy();
  await runtime?.stop();
});

describe('the local runtime’s queues', () => {
  it('creates every queue with its dead-letter queue and redrive policy, and gives the handlers their URLs', async () => {
    const { events } = QUEUES;
    expect(runtime.env.SQS_ENDPOINT).toBe(runtime.sqsEndpoint);
    expect(runtime.env.EVENTS_QUEUE_URL).toBe(runtime.queueUrls.events.url);
    expect(runtime.queueUrls.events.url).toBe(`${runtime.sqsEndpoint}/000000000000/${events.localName}`);
    const { Attributes } = await client.send(new GetQueueAttributesCommand({ QueueUrl: runtime.queueUrls.events.url, AttributeNames: ['All'] }));
    expect(Attributes).toMatchObject({ VisibilityTimeout: '1', MessageRetentionPeriod: String(events.retentionSeconds) });
    expect(JSON.parse(Attributes!.RedrivePolicy!)).toEqual({
      deadLetterTargetArn: runtime.sqs.queueArn(deadLetterName(events.localName)),
      maxReceiveCount: events.maxReceiveCount,
    });
    const dlq = await client.send(new GetQueueAttributesCommand({ QueueUrl: runtime.queueUrls.events.deadLetterUrl, AttributeNames: ['MessageRetentionPeriod'] }));
    expect(dlq.Attributes).toEqual({ MessageRetentionPeriod: String(events.deadLetterRetentionSeconds) });
  });

  it('runs the queue consumers off the queue, failed records coming back after the local visibility timeout', async () => {
    await client.send(new SendMessageCommand({ QueueUrl: runtime.queueUrls.events.url, MessageBody: 'fail-once-runtime' }));
    await waitFor(() => invocations().filter((i) => i.records.some((r) => r.body === 'fail-once-runtime')).length === 2);
    const counts = invocations().flatMap((i) => i.records.filter((r) => r.body === 'fail-once-runtime').map((r) => r.receiveCount));
    expect(counts).toEqual([1, 2]);
    await waitFor(() => runtime.sqs.queues().every((queue) => queue.visible + queue.inFlight === 0));
  });
});
