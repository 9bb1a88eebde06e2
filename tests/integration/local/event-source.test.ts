/**
 * The local SQS event source mapping: real queues on the local SQS, real SDK polling, fixture
 * handlers run by the Lambda host, and Lambda's ReportBatchItemFailures rules.
 */
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { CreateQueueCommand, SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { failedRecords, startEventSource, type EventSource } from '#lib/local/event-source';
import { createLambdaHost } from '#lib/local/lambda';
import { silentLog } from '#lib/local/log';
import { startSqsEmulator, type SqsEmulator } from '#lib/local/sqs';
import { invocations, waitFor } from './fixtures/recorder.ts';

const FIXTURES_DIR = fileURLToPath(new URL('./fixtures', import.meta.url));

let sqs: SqsEmulator;
let client: SQSClient;
let source: EventSource | undefined;
let counter = 0;
const lambdas = createLambdaHost({ handlersDir: FIXTURES_DIR, timeoutMs: 5_000, log: silentLog });

beforeAll(async () => {
  sqs = await startSqsEmulator();
  client = new SQSClient({ endpoint: sqs.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
});

afterEach(async () => {
  await source?.stop();
  source = undefined;
});

afterAll(async () => {
  client?.destroy();
  await sqs?.stop();
});

/** A queue with a 1 s visibility timeout and a dead-letter queue after `maxReceiveCount` receives. */
async function queue(maxReceiveCount: number) {
  const name = `es${++counter}`;
  await client.send(new CreateQueueCommand({ QueueName: `${name}-dlq` }));
  const url = (
    await client.send(
      new CreateQueueCommand({
        QueueName: name,
        Attributes: { VisibilityTimeout: '1', RedrivePolicy: JSON.stringify({ deadLetterTargetArn: sqs.queueArn(`${name}-dlq`), maxReceiveCount }) },
      }),
    )
  ).QueueUrl!;
  return { name, url };
}

function consume(entry: string, queueUrl: string) {
  source = startEventSource({
    mappings: [{ function: { name: entry, entry }, queueUrl, batchSize: 10, maxBatchingWindowSeconds: 0.2 }],
    lambdas,
    endpoint: sqs.endpoint,
    log: silentLog,
    waitTimeSeconds: 1,
  });
}

const send = (url: string, bodies: string[]) =>
  client.send(new SendMessageBatchCommand({ QueueUrl: url, Entries: bodies.map((body, i) => ({ Id: `m${i}`, MessageBody: body })) }));

const seen = (handler: string, body: string) =>
  invocations()
    .filter((invocation) => invocation.handler === handler)
    .flatMap((invocation) => invocation.records.filter((record) => record.body === body).map((record) => record.receiveCount));

const empty = (name: string) => sqs.queues().find((q) => q.name === name)!;

describe('the local SQS event source', () => {
  it('invokes with a Lambda SQS event, deletes the successes and redelivers only the failed record', async () => {
    const { name, url } = await queue(5);
    await send(url, ['ok-1', 'fail-once-1', 'ok-2']);
    consume('queue/partial', url);
    await waitFor(() => seen('partial', 'fail-once-1').length === 2);

    const first = invocations().find((invocation) => invocation.handler === 'partial' && invocation.records.some((r) => r.body === 'ok-1'))!;
    expect(first.records.map((r) => r.body).sort()).toEqual(['fail-once-1', 'ok-1', 'ok-2']);
    const record = first.event.Records.find((r) => r.body === 'ok-1')!;
    expect(record).toEqual({
      messageId: expect.any(String),
      receiptHandle: expect.any(String),
      body: 'ok-1',
      attributes: {
        ApproximateReceiveCount: '1',
        SentTimestamp: expect.stringMatching(/^\d+$/),
        SenderId: expect.any(String),
        ApproximateFirstReceiveTimestamp: expect.stringMatching(/^\d+$/),
      },
      messageAttributes: {},
      md5OfBody: createHash('md5').update('ok-1').digest('hex'),
      eventSource: 'aws:sqs',
      eventSourceARN: sqs.queueArn(name),
      awsRegion: 'us-east-1',
    });

    expect(seen('partial', 'fail-once-1')).toEqual([1, 2]);
    expect(seen('partial', 'ok-1')).toEqual([1]);
    expect(seen('partial', 'ok-2')).toEqual([1]);
    await waitFor(() => empty(name).visible + empty(name).inFlight === 0);
  });

  it('moves a record that always fails to the dead-letter queue; the rest of its batch is never delivered again', async () => {
    const { name, url } = await queue(2);
    await send(url, ['fail-always', 'ok-a', 'ok-b']);
    consume('queue/partial', url);
    await waitFor(() => (sqs.messages(`${name}-dlq`)?.length ?? 0) === 1);

    expect(sqs.messages(`${name}-dlq`)![0]).toMatchObject({ body: 'fail-always', receiveCount: 2, deadLetterSourceArn: sqs.queueArn(name) });
    expect(seen('partial', 'fail-always')).toEqual([1, 2]);
    expect(seen('partial', 'ok-a')).toEqual([1]);
    expect(seen('partial', 'ok-b')).toEqual([1]);
    expect(empty(name)).toMatchObject({ visible: 0, inFlight: 0 });
  });

  it('redelivers the whole batch when the handler throws', async () => {
    const { name, url } = await queue(5);
    await send(url, ['plain', 'throw-once']);
    consume('queue/throws', url);
    await waitFor(() => seen('throws', 'plain').length === 2);

    expect(seen('throws', 'plain')).toEqual([1, 2]);
    expect(seen('throws', 'throw-once')).toEqual([1, 2]);
    await waitFor(() => empty(name).visible + empty(name).inFlight === 0);
  });

  it('treats an unknown itemIdentifier as a failure of the whole batch', async () => {
    const { name, url } = await queue(5);
    await send(url, ['x', 'y']);
    consume('queue/invalid', url);
    await waitFor(() => seen('invalid', 'x').length === 2);
    expect(seen('invalid', 'y')).toEqual([1, 2]);
    await waitFor(() => empty(name).visible + empty(name).inFlight === 0);
  });

  it('does not receive while the handler module does not exist, so records keep their receive count', async () => {
    const { name, url } = await queue(1);
    await send(url, ['waiting']);
    consume('queue/not-written-yet', url);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(sqs.messages(name)).toEqual([expect.objectContaining({ body: 'waiting', receiveCount: 0, state: 'visible' })]);
  });
});

describe('failedRecords (Lambda’s ReportBatchItemFailures rules)', () => {
  const records = [{ messageId: 'a' }, { messageId: 'b' }] as SQSRecord[];

  it('counts nothing failed for an empty response, an empty or null list', () => {
    for (const result of [undefined, null, {}, { batchItemFailures: [] }, { batchItemFailures: null }]) {
      expect(failedRecords(result, records)).toEqual(new Set());
    }
  });

  it('keeps the named records', () => {
    expect(failedRecords({ batchItemFailures: [{ itemIdentifier: 'b' }] }, records)).toEqual(new Set(['b']));
  });

  it('fails the whole batch for an empty, null or unknown itemIdentifier, or an invalid response', () => {
    for (const result of [
      { batchItemFailures: [{ itemIdentifier: '' }] },
      { batchItemFailures: [{ itemIdentifier: null }] },
      { batchItemFailures: [{ id: 'a' }] },
      { batchItemFailures: [{ itemIdentifier: 'zzz' }] },
      { batchItemFailures: 'a' },
      'ok',
      42,
    ]) {
      expect(failedRecords(result, records)).toBe('all');
    }
  });
});
