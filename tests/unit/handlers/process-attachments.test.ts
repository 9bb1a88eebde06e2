/**
 * queue/process-attachments: each S3 notification's uploads processed with their keys decoded as
 * S3 encodes them, S3's test event ignored, a record whose processing failed reported failed
 * (only it is delivered again), and a record that is no notification a poison record.
 */
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { beforeAll, describe, expect, it, vi } from 'vitest';

process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
process.env.POWERTOOLS_METRICS_DISABLED = 'true';
process.env.POWERTOOLS_TRACE_ENABLED = 'false';

const processed: string[] = [];
const processAttachment = vi.fn(async ({ key }: { key: string }) => {
  if (key.includes('outage')) throw new Error('the bucket is unreachable');
  processed.push(key);
  return { result: 'ignored' as const, why: 'no_attachment' as const };
});
vi.mock('#handlers/shared/use-cases', () => ({ useCase: () => processAttachment }));

let handler: (event: SQSEvent, context: Context) => Promise<{ batchItemFailures: { itemIdentifier: string }[] }>;
beforeAll(async () => {
  ({ handler } = (await import('#handlers/queue/process-attachments')) as unknown as { handler: typeof handler });
});

const context = { functionName: 'processAttachments', awsRequestId: 'req-1', getRemainingTimeInMillis: () => 30_000 } as unknown as Context;

const sqsRecord = (messageId: string, body: unknown): SQSRecord => ({
  messageId,
  receiptHandle: `rh-${messageId}`,
  body: typeof body === 'string' ? body : JSON.stringify(body),
  attributes: { ApproximateReceiveCount: '1', SentTimestamp: '1', SenderId: 'x', ApproximateFirstReceiveTimestamp: '1' },
  messageAttributes: {},
  md5OfBody: 'x',
  eventSource: 'aws:sqs',
  eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:chat-attachments',
  awsRegion: 'us-east-1',
});

const notification = (...keys: string[]) => ({
  Records: keys.map((key) => ({
    eventVersion: '2.1',
    eventSource: 'aws:s3',
    eventName: 'ObjectCreated:Post',
    s3: { bucket: { name: 'chat-attachments' }, object: { key, size: 1 } },
  })),
});

describe('queue/process-attachments', () => {
  it('processes every upload, reports only the failed record, and ignores the test event', async () => {
    const response = await handler(
      {
        Records: [
          sqsRecord('photo', notification('uploads/c1/a%2B1', 'uploads/c1/a+2')),
          sqsRecord('down', notification('uploads/c1/outage')),
          sqsRecord('test', { Service: 'Amazon S3', Event: 's3:TestEvent', Time: '2026-12-05T10:00:00Z', Bucket: 'chat-attachments' }),
          sqsRecord('poison', '{"not":"a notification"}'),
        ],
      },
      context,
    );
    expect(response.batchItemFailures.map((failure) => failure.itemIdentifier).sort()).toEqual(['down', 'poison']);
    expect(processed).toEqual(['uploads/c1/a+1', 'uploads/c1/a 2']);
  });
});
