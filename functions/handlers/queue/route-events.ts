/**
 * Queue consumer of the events queue: forwards each domain event to the queues that subscribe
 * to its type (functions/config/queues.ts), then confirms it in the change log, so the sweeper
 * does not publish it again. A record that is not a domain event is a poison record: it fails
 * alone, is redelivered, and after the queue's maxReceiveCount lands in the dead-letter queue.
 */
import { domainEventSchema } from '#core/protocol';
import { queueHandler } from '#handlers/shared/queue';
import { useCase } from '#handlers/shared/use-cases';
import { makeRouteEvents } from '#core/use-cases/event-pipeline';
import '#handlers/shared/ports/postgres';

export const handler = queueHandler(domainEventSchema, async (event) => {
  await useCase(makeRouteEvents)([event]);
});
