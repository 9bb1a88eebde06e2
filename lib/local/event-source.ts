/**
 * The local Lambda event source mapping for SQS: long-polls a queue with the real SQS client,
 * invokes the function with an SQS event shaped like Lambda's, and settles the batch the way
 * Lambda does with ReportBatchItemFailures:
 *
 * - the function returns (nothing, or `{batchItemFailures}`): every record not named is deleted;
 * - it throws, times out, fails to load, or answers something invalid (an empty, null or unknown
 *   itemIdentifier, a response that is not an object): nothing is deleted, and the whole batch is
 *   delivered again once its visibility timeout ends.
 *
 * Records that are not deleted keep counting receives, so the queue's redrive policy moves a
 * record that keeps failing to its dead-letter queue, as in AWS.
 */
import { existsSync } from 'node:fs';
import { DeleteMessageBatchCommand, ReceiveMessageCommand, type Message, type SQSClient } from '@aws-sdk/client-sqs';
import type { SQSEvent, SQSMessageAttributes, SQSRecord } from 'aws-lambda';
import { createSqsClient } from '#adapters/sqs/client';
import type { LambdaFunction, LambdaHost } from './lambda.ts';
import type { EmulatorLog } from './log.ts';

/** One mapping: a function and the queue that triggers it. */
export interface EventSourceMapping {
  function: LambdaFunction;
  queueUrl: string;
  /** Records per invocation at most (1 to 10 here). */
  batchSize: number;
  /** How long to keep gathering records after the first, until batchSize (Lambda's MaximumBatchingWindowInSeconds). */
  maxBatchingWindowSeconds: number;
}

export interface EventSourceOptions {
  mappings: readonly EventSourceMapping[];
  lambdas: LambdaHost;
  /** The SQS endpoint (the local emulator's). */
  endpoint: string;
  region?: string;
  log: EmulatorLog;
  /** How long a receive waits (SQS long polling, at most 20 s); 20 by default, as Lambda's pollers. */
  waitTimeSeconds?: number;
  /** How long to wait after a failed receive or while the function's module does not exist; 1 s by default. */
  retryDelayMs?: number;
}

export interface EventSource {
  /** Stops polling; an invocation under way finishes (and settles its batch) first. */
  stop(): Promise<void>;
}

const MAX_RECEIVE = 10;
/** How often to look again for more records within a batching window. */
const WINDOW_POLL_MS = 50;

/** `arn:aws:sqs:<region>:<account>:<name>` from a queue URL (`…/<account>/<name>`). */
export function queueArnFromUrl(queueUrl: string, region: string): string {
  const [account, name] = new URL(queueUrl).pathname.split('/').filter(Boolean);
  return `arn:aws:sqs:${region}:${account}:${name}`;
}

function recordOf(message: Message, eventSourceARN: string, awsRegion: string): SQSRecord {
  const attributes = message.Attributes ?? {};
  const messageAttributes: SQSMessageAttributes = Object.fromEntries(
    Object.entries(message.MessageAttributes ?? {}).map(([name, value]) => [
      name,
      {
        dataType: value.DataType ?? 'String',
        ...(value.StringValue === undefined ? {} : { stringValue: value.StringValue }),
        ...(value.BinaryValue === undefined ? {} : { binaryValue: Buffer.from(value.BinaryValue).toString('base64') }),
        stringListValues: [],
        binaryListValues: [],
      },
    ]),
  );
  return {
    messageId: message.MessageId!,
    receiptHandle: message.ReceiptHandle!,
    body: message.Body ?? '',
    attributes: {
      ApproximateReceiveCount: attributes.ApproximateReceiveCount ?? '1',
      SentTimestamp: attributes.SentTimestamp ?? String(Date.now()),
      SenderId: attributes.SenderId ?? '',
      ApproximateFirstReceiveTimestamp: attributes.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
      ...(attributes.DeadLetterQueueSourceArn ? { DeadLetterQueueSourceArn: attributes.DeadLetterQueueSourceArn } : {}),
    },
    messageAttributes,
    md5OfBody: message.MD5OfBody!,
    ...(message.MD5OfMessageAttributes ? { md5OfMessageAttributes: message.MD5OfMessageAttributes } : {}),
    eventSource: 'aws:sqs',
    eventSourceARN,
    awsRegion,
  };
}

/**
 * The records to keep (not delete) after an invocation, by Lambda's rules for
 * ReportBatchItemFailures: 'all' when the response makes the whole batch a failure.
 */
export function failedRecords(result: unknown, records: readonly SQSRecord[]): Set<string> | 'all' {
  if (result === undefined || result === null) return new Set();
  if (typeof result !== 'object' || Array.isArray(result)) return 'all';
  const failures = (result as { batchItemFailures?: unknown }).batchItemFailures;
  if (failures === undefined || failures === null) return new Set();
  if (!Array.isArray(failures)) return 'all';
  const known = new Set(records.map((record) => record.messageId));
  const failed = new Set<string>();
  for (const failure of failures) {
    const id = (failure as { itemIdentifier?: unknown } | null)?.itemIdentifier;
    if (typeof id !== 'string' || id === '' || !known.has(id)) return 'all';
    failed.add(id);
  }
  return failed;
}

/** Starts one poller per mapping. Never throws: failures are reported on `log`. */
export function startEventSource(options: EventSourceOptions): EventSource {
  const { lambdas, log } = options;
  const region = options.region ?? 'us-east-1';
  const waitTimeSeconds = options.waitTimeSeconds ?? 20;
  const retryDelayMs = options.retryDelayMs ?? 1_000;
  const client: SQSClient = createSqsClient({ AWS_REGION: region, SQS_ENDPOINT: options.endpoint });
  const abort = new AbortController();
  let stopping = false;

  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      if (stopping) return resolve();
      const wake = () => {
        clearTimeout(timer);
        abort.signal.removeEventListener('abort', wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      abort.signal.addEventListener('abort', wake);
    });

  async function receive(mapping: EventSourceMapping, max: number, wait: number): Promise<Message[]> {
    const output = await client.send(
      new ReceiveMessageCommand({
        QueueUrl: mapping.queueUrl,
        MaxNumberOfMessages: Math.min(max, MAX_RECEIVE),
        WaitTimeSeconds: wait,
        MessageSystemAttributeNames: ['All'],
        MessageAttributeNames: ['All'],
      }),
      { abortSignal: abort.signal },
    );
    return output.Messages ?? [];
  }

  /** Long-polls for a first record, then gathers more within the batching window. */
  async function nextBatch(mapping: EventSourceMapping): Promise<Message[]> {
    const batchSize = Math.max(1, Math.min(mapping.batchSize, MAX_RECEIVE));
    const batch = await receive(mapping, batchSize, waitTimeSeconds);
    if (batch.length === 0) return batch;
    const windowEnds = Date.now() + mapping.maxBatchingWindowSeconds * 1000;
    while (batch.length < batchSize && Date.now() < windowEnds && !stopping) {
      const more = await receive(mapping, batchSize - batch.length, 0);
      batch.push(...more);
      if (more.length === 0) await pause(Math.min(WINDOW_POLL_MS, windowEnds - Date.now()));
    }
    return batch;
  }

  async function settle(mapping: EventSourceMapping, records: readonly SQSRecord[], keep: Set<string> | 'all'): Promise<void> {
    if (keep === 'all') return;
    const done = records.filter((record) => !keep.has(record.messageId));
    if (done.length === 0) return;
    const output = await client.send(
      new DeleteMessageBatchCommand({
        QueueUrl: mapping.queueUrl,
        Entries: done.map((record, index) => ({ Id: String(index), ReceiptHandle: record.receiptHandle })),
      }),
    );
    if (output.Failed?.length) {
      log.error(`${mapping.function.name}: ${output.Failed.length} processed record(s) could not be deleted and will be delivered again`, output.Failed);
    }
  }

  async function invoke(mapping: EventSourceMapping, messages: readonly Message[]): Promise<void> {
    const eventSourceARN = queueArnFromUrl(mapping.queueUrl, region);
    const records = messages.map((message) => recordOf(message, eventSourceARN, region));
    const event: SQSEvent = { Records: records };
    const outcome = await lambdas.invoke(mapping.function, event);
    let keep: Set<string> | 'all';
    if (outcome.status === 'ok') {
      keep = failedRecords(outcome.result, records);
      if (keep === 'all') log.error(`${mapping.function.name}: invalid batchItemFailures response; the whole batch of ${records.length} will be delivered again`, outcome.result);
      else if (keep.size) log.warn(`${mapping.function.name}: ${keep.size} of ${records.length} record(s) failed and will be delivered again`);
    } else {
      // The host already reported the error or timeout; the records become visible again after the visibility timeout.
      keep = 'all';
      if (outcome.status === 'missing') log.warn(`${mapping.function.name}: no handler module at ${outcome.file}; the batch will be delivered again`);
    }
    await settle(mapping, records, keep);
  }

  async function poll(mapping: EventSourceMapping): Promise<void> {
    let missingReported = false;
    while (!stopping) {
      try {
        // No receives while the module does not exist yet, so records do not use up their receive count.
        if (!existsSync(lambdas.fileOf(mapping.function.entry))) {
          if (!missingReported) log.warn(`${mapping.function.name}: no handler module at ${lambdas.fileOf(mapping.function.entry)} yet; not polling its queue until there is one`);
          missingReported = true;
          await pause(retryDelayMs);
          continue;
        }
        missingReported = false;
        const batch = await nextBatch(mapping);
        if (batch.length && !stopping) await invoke(mapping, batch);
      } catch (error) {
        if (stopping) break;
        log.error(`${mapping.function.name}: polling ${mapping.queueUrl} failed; trying again`, error);
        await pause(retryDelayMs);
      }
    }
  }

  const pollers = options.mappings.map((mapping) => poll(mapping));
  let stopped: Promise<void> | undefined;
  return {
    stop() {
      stopped ??= (async () => {
        stopping = true;
        abort.abort();
        await Promise.allSettled(pollers);
        client.destroy();
      })();
      return stopped;
    },
  };
}
