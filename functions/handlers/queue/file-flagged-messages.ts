/**
 * Queue consumer of the moderation queue: files each new message that the contact-detail policy
 * flagged as an `off_platform` report without a reporter, once per message however often it is
 * delivered. Failures are retried through the queue, then dead-lettered.
 */
import { domainEventSchema } from '#core/protocol';
import { queueHandler } from '#handlers/shared/queue';
import { useCase } from '#handlers/shared/use-cases';
import { makeFileFlaggedMessage } from '#core/use-cases/contact-policy';
import '#handlers/shared/ports/postgres';

export const handler = queueHandler(domainEventSchema, async (event) => {
  await useCase(makeFileFlaggedMessage)(event);
});
