/**
 * Port group: SQS. The events queue (changes published after commit), the consumers' queues the
 * events are forwarded to, and the webhooks queue (retries and its dead-letter queue).
 * ports/postgres.ts imports it, since every function that commits changes publishes them.
 */
import { queueUrlsFrom, type QueueKey } from '#config/queues';
import { UnavailableError } from '#core/errors';
import type { EventForwarder } from '#core/events';
import { createSqsClient } from '#adapters/sqs/client';
import { makeEventPublisher, makeQueueSender, type QueueSender } from '#adapters/sqs/event-publisher';
import { makeSqsWebhookQueue } from '#adapters/sqs/webhook-queue';
import { deferred, once, providePorts } from '../container.ts';
import { traced } from '../observability.ts';

providePorts({
  name: 'queues',
  build(config) {
    const sqs = once(() => traced(createSqsClient(config)));
    const events = once(() => {
      // Without a queue the change log still holds every change; the sweeper publishes once one is configured.
      if (!config.EVENTS_QUEUE_URL) throw new UnavailableError('EVENTS_QUEUE_URL is not configured');
      return makeEventPublisher({ client: sqs(), queueUrl: config.EVENTS_QUEUE_URL });
    });
    const queueSenders = new Map<QueueKey, QueueSender>();
    const forwarder: EventForwarder = {
      forward(queue, forwarded) {
        let sender = queueSenders.get(queue);
        if (!sender) {
          const queueUrl = queueUrlsFrom(config)[queue];
          if (!queueUrl) throw new UnavailableError(`The ${queue} queue's URL is not configured`);
          sender = makeQueueSender({ client: sqs(), queueUrl });
          queueSenders.set(queue, sender);
        }
        return sender.send(forwarded.map((event) => ({ id: event.id, body: JSON.stringify(event) })));
      },
    };
    const webhookQueue = once(() => {
      if (!config.WEBHOOKS_QUEUE_URL || !config.WEBHOOKS_DEAD_LETTER_QUEUE_URL) {
        throw new UnavailableError('WEBHOOKS_QUEUE_URL and WEBHOOKS_DEAD_LETTER_QUEUE_URL are not configured');
      }
      return makeSqsWebhookQueue({ client: sqs(), queueUrl: config.WEBHOOKS_QUEUE_URL, deadLetterQueueUrl: config.WEBHOOKS_DEAD_LETTER_QUEUE_URL });
    });
    return {
      ports: {
        events: deferred(async () => events()),
        forwarder,
        webhookQueue: deferred(async () => webhookQueue()),
      },
    };
  },
});
