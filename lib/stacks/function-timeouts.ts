/**
 * How long each kind of function may run, and what follows from it for the queues. Shared by both
 * stacks: the stateless stack gives the functions these timeouts, and the stateful stack sizes
 * each queue's visibility timeout from the timeout of the functions that consume it.
 */
import { Duration } from 'aws-cdk-lib';
import { QUEUE_CONSUMERS } from '#config/routes';
import { QUEUES, type QueueKey } from '#config/queues';

export const FUNCTION_TIMEOUTS = {
  /** HTTP and WebSocket routes: below API Gateway's integration timeouts (30 s HTTP, 29 s WebSocket), with room for a cold start. */
  api: Duration.seconds(10),
  /** Scheduled tasks: no caller waits; the republish sweep and the retention purge work through batches of rows. */
  scheduled: Duration.seconds(30),
  /** Queue consumers: a batch of up to 10 records, each a Postgres round trip or a forward to another queue. */
  queue: Duration.seconds(30),
} as const;

/**
 * AWS asks for a queue's visibility timeout of at least six times the timeout of the function an
 * event source mapping invokes, so a batch that is retried after a throttle or a timeout is not
 * delivered again while it is still being handled.
 */
export const VISIBILITY_TIMEOUT_FACTOR = 6;

/** The larger of the queue's own definition and six times its slowest consumer's timeout. */
export function queueVisibilityTimeout(key: QueueKey): Duration {
  const consumers = QUEUE_CONSUMERS.filter((consumer) => consumer.queue === key);
  const fromConsumers = consumers.length > 0 ? VISIBILITY_TIMEOUT_FACTOR * FUNCTION_TIMEOUTS.queue.toSeconds() : 0;
  return Duration.seconds(Math.max(QUEUES[key].visibilityTimeoutSeconds, fromConsumers));
}
