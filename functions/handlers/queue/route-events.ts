/**
 * Queue consumer of the events queue: forwards each domain event to the queues that subscribe
 * to its type (functions/config/queues.ts), then confirms it in the change log, so the sweeper
 * does not publish it again. A batch is routed at once: one SendMessageBatch per subscriber queue
 * and one confirming UPDATE for all its events. A record that is not a domain event is a poison
 * record: it fails alone, is redelivered, and after the queue's maxReceiveCount lands in the
 * dead-letter queue; if routing fails, the whole batch is delivered again (forwarding and
 * confirming again are harmless: consumers are idempotent, confirming is an UPDATE).
 */
import { domainEventSchema } from '#core/protocol';
import { queueBatchHandler } from '#handlers/shared/queue';
import { useCase } from '#handlers/shared/use-cases';
import { makeRouteEvents } from '#core/use-cases/event-pipeline';
import '#handlers/shared/ports/postgres';

export const handler = queueBatchHandler(domainEventSchema, async (events) => {
  await useCase(makeRouteEvents)(events);
});
