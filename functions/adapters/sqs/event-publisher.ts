/**
 * Puts messages on an SQS queue with SendMessageBatch: the events publisher (the core's
 * EventPublisher port, one message per DomainEvent) and a plain sender for consumers that forward
 * to other queues. Batches hold at most 10 entries and 1 MiB; entries SQS failed on its side are
 * sent once more, and whatever still failed is named in the error.
 */
import { SendMessageBatchCommand, type SendMessageBatchRequestEntry, type SQSClient } from '@aws-sdk/client-sqs';
import type { DomainEvent, EventPublisher } from '#core/events';

/** SQS's limits for one SendMessageBatch. */
export const MAX_BATCH_ENTRIES = 10;
export const MAX_BATCH_BYTES = 1_048_576;
const MAX_ENTRY_ID_LENGTH = 80;

export interface QueueMessage {
  /** The caller's id for the message (an event id); named in errors. */
  id: string;
  body: string;
}

export interface QueueSender {
  /** Sends every message; throws a {@link QueueSendError} naming those that could not be sent. */
  send(messages: readonly QueueMessage[]): Promise<void>;
}

/** Some messages did not reach the queue; `failedIds` are the callers' ids. */
export class QueueSendError extends Error {
  constructor(
    readonly failedIds: string[],
    reasons: string[],
    options?: { cause?: unknown },
  ) {
    super(`${failedIds.length} message(s) could not be sent to SQS: ${failedIds.join(', ')} (${[...new Set(reasons)].join('; ')})`, options);
    this.name = 'QueueSendError';
  }
}

export interface QueueTarget {
  client: SQSClient;
  queueUrl: string;
}

/**
 * A batch entry id from the caller's id: SQS allows only letters, digits, `-` and `_`, at most
 * 80 characters, distinct within the batch.
 */
export function batchEntryId(id: string, taken: { has(id: string): boolean } = new Set<string>()): string {
  const base = id.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, MAX_ENTRY_ID_LENGTH) || 'message';
  if (!taken.has(base)) return base;
  for (let n = 1; ; n += 1) {
    const suffix = `-${n}`;
    const candidate = `${base.slice(0, MAX_ENTRY_ID_LENGTH - suffix.length)}${suffix}`;
    if (!taken.has(candidate)) return candidate;
  }
}

/** Splits messages into batches of at most 10 entries and 1 MiB of bodies. */
function batches(messages: readonly QueueMessage[]): QueueMessage[][] {
  const result: QueueMessage[][] = [];
  let current: QueueMessage[] = [];
  let bytes = 0;
  for (const message of messages) {
    const size = Buffer.byteLength(message.body, 'utf8');
    if (current.length === MAX_BATCH_ENTRIES || (current.length > 0 && bytes + size > MAX_BATCH_BYTES)) {
      result.push(current);
      current = [];
      bytes = 0;
    }
    current.push(message);
    bytes += size;
  }
  if (current.length) result.push(current);
  return result;
}

interface Failure {
  message: QueueMessage;
  reason: string;
  /** SQS says the request itself was wrong: sending it again cannot help. */
  senderFault: boolean;
}

/** Sends one batch; resolves with the entries that failed (all of them if the request failed). */
async function sendBatch({ client, queueUrl }: QueueTarget, batch: readonly QueueMessage[]): Promise<{ failures: Failure[]; cause?: unknown }> {
  const byEntryId = new Map<string, QueueMessage>();
  const entries: SendMessageBatchRequestEntry[] = batch.map((message) => {
    const entryId = batchEntryId(message.id, byEntryId);
    byEntryId.set(entryId, message);
    return { Id: entryId, MessageBody: message.body };
  });
  try {
    const output = await client.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries }));
    const succeeded = new Set((output.Successful ?? []).map((entry) => entry.Id));
    const failed = new Map((output.Failed ?? []).map((entry) => [entry.Id, entry]));
    return {
      failures: [...byEntryId].flatMap(([entryId, message]) => {
        if (succeeded.has(entryId)) return [];
        const entry = failed.get(entryId);
        return [{ message, reason: entry ? `${entry.Code}: ${entry.Message ?? ''}`.trim() : 'not in the response', senderFault: entry?.SenderFault ?? false }];
      }),
    };
  } catch (error) {
    // The SDK already retried what was retryable.
    return { failures: batch.map((message) => ({ message, reason: (error as Error).name ?? 'Error', senderFault: true })), cause: error };
  }
}

/** A sender to one queue; see {@link QueueSender}. */
export function makeQueueSender(target: QueueTarget): QueueSender {
  return {
    async send(messages) {
      const failures: Failure[] = [];
      let cause: unknown;
      const sendable: QueueMessage[] = [];
      for (const message of messages) {
        if (Buffer.byteLength(message.body, 'utf8') > MAX_BATCH_BYTES) {
          failures.push({ message, reason: `larger than SQS's ${MAX_BATCH_BYTES}-byte message limit`, senderFault: true });
        } else {
          sendable.push(message);
        }
      }
      const first = await Promise.all(batches(sendable).map((batch) => sendBatch(target, batch)));
      const retry: QueueMessage[] = [];
      for (const outcome of first) {
        cause ??= outcome.cause;
        for (const failure of outcome.failures) {
          if (failure.senderFault) failures.push(failure);
          else retry.push(failure.message);
        }
      }
      if (retry.length) {
        const second = await Promise.all(batches(retry).map((batch) => sendBatch(target, batch)));
        for (const outcome of second) {
          cause ??= outcome.cause;
          failures.push(...outcome.failures);
        }
      }
      if (failures.length) {
        throw new QueueSendError(
          failures.map((failure) => failure.message.id),
          failures.map((failure) => failure.reason),
          cause === undefined ? undefined : { cause },
        );
      }
    },
  };
}

/** The EventPublisher port over SQS: one message per event, its body the event's JSON. */
export function makeEventPublisher(target: QueueTarget): EventPublisher {
  const sender = makeQueueSender(target);
  return {
    publish: (events: readonly DomainEvent[]) => sender.send(events.map((event) => ({ id: event.id, body: JSON.stringify(event) }))),
  };
}
