/**
 * The one middy stack of the queue-triggered handlers: the X-Ray tracer, Powertools logger and
 * metrics, then Powertools' batch processor, so that each SQS record is handled on its own and the
 * ones that failed are reported as `batchItemFailures` (the event source mapping has
 * ReportBatchItemFailures on): only they are delivered again, and after the queue's
 * maxReceiveCount they move to its dead-letter queue.
 *
 * A record whose body is not JSON or does not match the handler's schema is a poison record: it
 * is logged (its id and the schema's complaints, never the body, which holds users' messages),
 * counted, and reported as failed, so it ends in the dead-letter queue for inspection.
 *
 * A record whose consumer scheduled its next attempt itself (RetryScheduledError: the webhooks
 * consumer's backoff) is reported failed too, so SQS delivers it again, but it is no failure of
 * the handler: it is logged at INFO and not counted as one.
 */
import middy from '@middy/core';
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import type { z } from 'zod';
import { RetryScheduledError } from '#core/errors';
import { logger, metricsPort, publishMetrics, traceHandler } from './observability.ts';

/** A record that can never be handled as it is: not JSON, or not what the schema expects. */
export class PoisonRecordError extends Error {
  constructor(
    message: string,
    readonly issues: { path: string; code: string }[] = [],
  ) {
    super(message);
    this.name = 'PoisonRecordError';
  }
}

/** The record's body, parsed and validated; throws PoisonRecordError. */
export function parseRecord<T>(schema: z.ZodType<T>, record: SQSRecord): T {
  let json: unknown;
  try {
    json = JSON.parse(record.body);
  } catch {
    throw new PoisonRecordError('the record body is not JSON');
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    throw new PoisonRecordError(
      'the record body does not match the schema',
      parsed.error.issues.map((issue) => ({ path: issue.path.join('.'), code: issue.code })),
    );
  }
  return parsed.data;
}

function recordKeys(record: SQSRecord) {
  return { messageId: record.messageId, receiveCount: Number(record.attributes.ApproximateReceiveCount) };
}

function reportPoison(record: SQSRecord, poison: PoisonRecordError): void {
  logger.error('poison record: reported failed, it will reach the dead-letter queue', { ...recordKeys(record), reason: poison.message, issues: poison.issues });
  metricsPort.count('EventRecordFailures');
}

/** The one middy stack of a queue handler, around what handles the SQS event. */
function withQueueStack(handleEvent: (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>) {
  return middy<SQSEvent, SQSBatchResponse>().use(traceHandler()).use(injectLambdaContext(logger, { resetKeys: true })).use(publishMetrics()).handler(handleEvent);
}

/**
 * A queue-triggered Lambda handler: `handle` runs once per record (in parallel), with the body
 * parsed by `recordSchema`; a record whose `handle` throws is reported failed, the others not.
 */
export function queueHandler<T>(recordSchema: z.ZodType<T>, handle: (item: T, record: SQSRecord) => Promise<void>) {
  const handleRecord = async (record: SQSRecord): Promise<void> => {
    let item: T;
    try {
      item = parseRecord(recordSchema, record);
    } catch (error) {
      reportPoison(record, error as PoisonRecordError);
      throw error;
    }
    try {
      await handle(item, record);
    } catch (error) {
      if (error instanceof RetryScheduledError) {
        logger.info('record to be delivered again as its consumer scheduled', { ...recordKeys(record), retryInSeconds: error.retryInSeconds });
        throw error;
      }
      logger.error('record failed: reported failed, it will be delivered again', { ...recordKeys(record), error: error as Error });
      metricsPort.count('EventRecordFailures');
      throw error;
    }
  };

  return withQueueStack(async (event, context) => {
    // One processor per invocation: locally, concurrent invocations share the module.
    const processor = new BatchProcessor(EventType.SQS, { logger });
    // A batch that failed whole is reported like any other, not thrown: the outcome is the same, and the records' own errors are logged above.
    return processPartialResponse(event, handleRecord, processor, { context, throwOnFullBatchFailure: false });
  });
}

/**
 * A queue-triggered Lambda handler whose work is cheaper done for a whole batch at once (the
 * events router: one confirming UPDATE and one SendMessageBatch per subscriber queue for the
 * batch, instead of one of each per record): `handleAll` runs once with every record that parses;
 * poison records are reported failed on their own, as in queueHandler. If `handleAll` throws,
 * every record it was given is reported failed and delivered again, so it must be idempotent.
 */
export function queueBatchHandler<T>(recordSchema: z.ZodType<T>, handleAll: (items: T[]) => Promise<void>) {
  return withQueueStack(async (event) => {
    const failed: string[] = [];
    const parsed: { item: T; record: SQSRecord }[] = [];
    for (const record of event.Records) {
      try {
        parsed.push({ item: parseRecord(recordSchema, record), record });
      } catch (error) {
        reportPoison(record, error as PoisonRecordError);
        failed.push(record.messageId);
      }
    }
    if (parsed.length > 0) {
      try {
        await handleAll(parsed.map(({ item }) => item));
      } catch (error) {
        const records = parsed.map(({ record }) => recordKeys(record));
        logger.error('batch failed: its records are reported failed, they will be delivered again', { records, error: error as Error });
        metricsPort.count('EventRecordFailures', parsed.length);
        failed.push(...parsed.map(({ record }) => record.messageId));
      }
    }
    return { batchItemFailures: failed.map((itemIdentifier) => ({ itemIdentifier })) };
  });
}
