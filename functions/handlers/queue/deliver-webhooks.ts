/**
 * Queue consumer of the webhooks queue: POSTs each event, signed, to CHAT_WEBHOOK_URL. A failed
 * attempt that a later one can fix has its record's visibility stretched to the next attempt and
 * is reported failed; an event given up is moved to the webhooks dead-letter queue by the use case
 * (functions/core/use-cases/deliver-webhooks.ts) and its record deleted.
 */
import { domainEventSchema } from '#core/protocol';
import { queueHandler } from '#handlers/shared/queue';
import { useCase } from '#handlers/shared/use-cases';
import { makeDeliverWebhook } from '#core/use-cases/deliver-webhooks';
import '#handlers/shared/ports/postgres';
import '#handlers/shared/ports/webhooks';

export const handler = queueHandler(domainEventSchema, async (event, record) => {
  const firstReceived = Number(record.attributes.ApproximateFirstReceiveTimestamp);
  await useCase(makeDeliverWebhook)(event, {
    attempt: Number(record.attributes.ApproximateReceiveCount) || 1,
    receiptHandle: record.receiptHandle,
    ...(Number.isFinite(firstReceived) && firstReceived > 0 ? { firstReceivedAt: new Date(firstReceived) } : {}),
  });
});
