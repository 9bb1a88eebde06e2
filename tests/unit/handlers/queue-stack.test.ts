/**
 * The queue handlers' stack: each record on its own, poison records and failing records reported
 * as batchItemFailures, the others not.
 */
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import type * as Observability from '#handlers/shared/observability';
import type * as QueueStack from '#handlers/shared/queue';

// Read by the observability module when it is first imported.
process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
process.env.POWERTOOLS_METRICS_DISABLED = 'true';
process.env.POWERTOOLS_TRACE_ENABLED = 'false';

let queueHandler: typeof QueueStack.queueHandler;
let queueBatchHandler: typeof QueueStack.queueBatchHandler;
let parseRecord: typeof QueueStack.parseRecord;
let PoisonRecordError: typeof QueueStack.PoisonRecordError;
let logger: typeof Observability.logger;

beforeAll(async () => {
  ({ queueHandler, queueBatchHandler, parseRecord, PoisonRecordError } = await import('#handlers/shared/queue'));
  ({ logger } = await import('#handlers/shared/observability'));
});

const context = {
  functionName: 'routeEvents',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:routeEvents',
  memoryLimitInMB: '1024',
  awsRequestId: 'req-1',
  logGroupName: '/aws/lambda/routeEvents',
  logStreamName: 'stream',
  callbackWaitsForEmptyEventLoop: true,
  getRemainingTimeInMillis: () => 30_000,
  done: () => {},
  fail: () => {},
  succeed: () => {},
} as Context;

const record = (messageId: string, body: string): SQSRecord => ({
  messageId,
  receiptHandle: `rh-${messageId}`,
  body,
  attributes: { ApproximateReceiveCount: '1', SentTimestamp: '1', SenderId: 'x', ApproximateFirstReceiveTimestamp: '1' },
  messageAttributes: {},
  md5OfBody: 'x',
  eventSource: 'aws:sqs',
  eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:chat-events',
  awsRegion: 'us-east-1',
});

const schema = z.object({ id: z.string(), n: z.number() });

describe('queueHandler', () => {
  it('handles every good record and reports none failed', async () => {
    const seen: string[] = [];
    const handler = queueHandler(schema, async (item) => {
      seen.push(item.id);
    });
    const event: SQSEvent = { Records: [record('1', '{"id":"a","n":1}'), record('2', '{"id":"b","n":2}')] };
    expect(await handler(event, context)).toEqual({ batchItemFailures: [] });
    expect(seen.sort()).toEqual(['a', 'b']);
  });

  it('reports poison records (not JSON, wrong shape) as failures, without logging their bodies', async () => {
    const errors = vi.spyOn(logger, 'error');
    const handled: string[] = [];
    const handler = queueHandler(schema, async (item) => {
      handled.push(item.id);
    });
    const event: SQSEvent = {
      Records: [record('good', '{"id":"a","n":1}'), record('not-json', 'secret text {'), record('wrong', '{"id":"secret","n":"one"}')],
    };
    const response = await handler(event, context);
    expect(response.batchItemFailures.map((f) => f.itemIdentifier).sort()).toEqual(['not-json', 'wrong']);
    expect(handled).toEqual(['a']);
    const logged = JSON.stringify(errors.mock.calls);
    expect(logged).toContain('poison record');
    expect(logged).toContain('not-json');
    expect(logged).not.toContain('secret');
    errors.mockRestore();
  });

  it('one failing record does not fail the others', async () => {
    const handled: string[] = [];
    const handler = queueHandler(schema, async (item) => {
      if (item.id === 'bad') throw new Error('downstream unavailable');
      handled.push(item.id);
    });
    const event: SQSEvent = { Records: ['a', 'bad', 'c'].map((id, i) => record(`m${i}`, JSON.stringify({ id, n: i }))) };
    expect(await handler(event, context)).toEqual({ batchItemFailures: [{ itemIdentifier: 'm1' }] });
    expect(handled.sort()).toEqual(['a', 'c']);
  });

  it('reports a batch that failed whole instead of throwing', async () => {
    const handler = queueHandler(schema, async () => {
      throw new Error('everything is down');
    });
    const event: SQSEvent = { Records: [record('m1', '{"id":"a","n":1}'), record('m2', '{"id":"b","n":2}')] };
    expect(await handler(event, context)).toEqual({ batchItemFailures: [{ itemIdentifier: 'm1' }, { itemIdentifier: 'm2' }] });
  });
});

describe('parseRecord', () => {
  it('names the schema issues by path and code only', () => {
    const error = (() => {
      try {
        parseRecord(schema, record('x', '{"id":1}'));
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(PoisonRecordError);
    expect((error as InstanceType<typeof PoisonRecordError>).issues).toEqual([
      { path: 'id', code: 'invalid_type' },
      { path: 'n', code: 'invalid_type' },
    ]);
  });
  it('redelivers a record whose consumer scheduled its retry, logged at INFO and not counted as a failure', async () => {
    const { RetryScheduledError } = await import('#core/errors');
    const { metricsPort } = await import('#handlers/shared/observability');
    const errors = vi.spyOn(logger, 'error');
    const infos = vi.spyOn(logger, 'info');
    const counts = vi.spyOn(metricsPort, 'count');
    const handler = queueHandler(schema, async (item) => {
      if (item.id === 'later') throw new RetryScheduledError('the receiver answered 503', 60);
    });
    const response = await handler({ Records: [record('now', '{"id":"now","n":1}'), record('later', '{"id":"later","n":2}')] }, context);
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'later' }]);
    expect(JSON.stringify(errors.mock.calls)).not.toContain('later');
    expect(JSON.stringify(infos.mock.calls)).toContain('"retryInSeconds":60');
    expect(counts).not.toHaveBeenCalledWith('EventRecordFailures');
    errors.mockRestore();
    infos.mockRestore();
    counts.mockRestore();
  });
});

describe('queueBatchHandler', () => {
  it('handles every good record of the batch in one call, and reports none failed', async () => {
    const calls: string[][] = [];
    const handler = queueBatchHandler(schema, async (items) => {
      calls.push(items.map((item) => item.id));
    });
    const event: SQSEvent = { Records: [record('1', '{"id":"a","n":1}'), record('2', '{"id":"b","n":2}'), record('3', '{"id":"c","n":3}')] };
    expect(await handler(event, context)).toEqual({ batchItemFailures: [] });
    expect(calls).toEqual([['a', 'b', 'c']]);
  });

  it('reports poison records failed on their own and handles the rest, without logging bodies', async () => {
    const errors = vi.spyOn(logger, 'error');
    const calls: string[][] = [];
    const handler = queueBatchHandler(schema, async (items) => {
      calls.push(items.map((item) => item.id));
    });
    const event: SQSEvent = { Records: [record('good', '{"id":"a","n":1}'), record('not-json', 'secret text {'), record('wrong', '{"id":"secret","n":"one"}')] };
    const response = await handler(event, context);
    expect(response.batchItemFailures.map((failure) => failure.itemIdentifier)).toEqual(['not-json', 'wrong']);
    expect(calls).toEqual([['a']]);
    expect(JSON.stringify(errors.mock.calls)).toContain('poison record');
    expect(JSON.stringify(errors.mock.calls)).not.toContain('secret');
    errors.mockRestore();
  });

  it('reports every record it was given failed when the batch fails, counted once each, and never calls it with none', async () => {
    const { metricsPort } = await import('#handlers/shared/observability');
    const errors = vi.spyOn(logger, 'error');
    const counts = vi.spyOn(metricsPort, 'count');
    const handleAll = vi.fn(async () => {
      throw new Error('the change log is unreachable');
    });
    const handler = queueBatchHandler(schema, handleAll);
    const response = await handler({ Records: [record('1', '{"id":"a","n":1}'), record('poison', 'x'), record('2', '{"id":"b","n":2}')] }, context);
    expect(response.batchItemFailures.map((failure) => failure.itemIdentifier).sort()).toEqual(['1', '2', 'poison']);
    expect(counts).toHaveBeenCalledWith('EventRecordFailures', 2);
    expect(JSON.stringify(errors.mock.calls)).toContain('batch failed');
    expect(await queueBatchHandler(schema, handleAll)({ Records: [record('only-poison', 'x')] }, context)).toEqual({ batchItemFailures: [{ itemIdentifier: 'only-poison' }] });
    expect(handleAll).toHaveBeenCalledTimes(1);
    errors.mockRestore();
    counts.mockRestore();
  });
});
