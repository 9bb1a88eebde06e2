/**
 * Queue consumer of the push queue: pushes each new message to the receiving side's offline
 * devices. A record whose pushes failed in a way a later try can fix is reported failed and
 * delivered again after the queue's visibility timeout; after maxReceiveCount it is dead-lettered.
 */
import { domainEventSchema } from '#core/protocol';
import { queueHandler } from '#handlers/shared/queue';
import { useCase } from '#handlers/shared/use-cases';
import { makeSendPushes } from '#core/use-cases/send-pushes';
import '#handlers/shared/ports/postgres';
import '#handlers/shared/ports/realtime';
import '#handlers/shared/ports/push';

export const handler = queueHandler(domainEventSchema, async (event) => {
  await useCase(makeSendPushes)(event);
});
