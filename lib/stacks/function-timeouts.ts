/**
 * How long each kind of function may run, and what follows from it for the queues. Shared by both
 * stacks: the stateless stack gives the functions these timeouts, and the stateful stack sizes
 * each queue's visibility timeout from the timeout of the functions that consume it.
 */
import { Duration } from 'aws-cdk-lib';
import { QUEUE_CONSUMERS } from '#config/routes';
import { QUEUES, type QueueKey } from '#config/queues';
import type { HandlerEntry } from './function-access.ts';

export const FUNCTION_TIMEOUTS = {
  /** HTTP and WebSocket routes: below API Gateway's integration timeouts (30 s HTTP, 29 s WebSocket), with room for a cold start. */
  api: Duration.seconds(10),
  /** Scheduled tasks: no caller waits; the republish sweep and the retention purge work through batches of rows. */
  scheduled: Duration.seconds(30),
  /** Queue consumers: a batch of up to 10 records, each a Postgres round trip or a forward to another queue. */
  queue: Duration.seconds(30),
} as const;

/**
 * Functions that need longer than their kind: the attachments processor decodes, rotates and
 * re-encodes photos of up to CHAT_MAX_ATTACHMENT_BYTES (a HEIC through WASM) and makes the
 * thumbnail, for a batch of up to 5 uploads. Six times this is the attachments queue's 360 s
 * visibility timeout.
 */
export const ENTRY_TIMEOUTS: Partial<Record<HandlerEntry, Duration>> = {
  'queue/process-attachments': Duration.seconds(60),
};

/** How long the function serving `entry` may run: its own timeout, else its kind's. */
export function functionTimeout(entry: HandlerEntry, kind: keyof typeof FUNCTION_TIMEOUTS): Duration {
  return ENTRY_TIMEOUTS[entry] ?? FUNCTION_TIMEOUTS[kind];
}

/**
 * AWS asks for a queue's visibility timeout of at least six times the timeout of the function an
 * event source mapping invokes, so a batch that is retried after a throttle or a timeout is not
 * delivered again while it is still being handled.
 */
export const VISIBILITY_TIMEOUT_FACTOR = 6;

/** The larger of the queue's own definition and six times its slowest consumer's timeout. */
export function queueVisibilityTimeout(key: QueueKey): Duration {
  const consumers = QUEUE_CONSUMERS.filter((consumer) => consumer.queue === key);
  const fromConsumers = Math.max(0, ...consumers.map((consumer) => VISIBILITY_TIMEOUT_FACTOR * functionTimeout(consumer.entry, 'queue').toSeconds()));
  return Duration.seconds(Math.max(QUEUES[key].visibilityTimeoutSeconds, fromConsumers));
}
