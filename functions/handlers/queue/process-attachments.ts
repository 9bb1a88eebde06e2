/**
 * Queue consumer of the attachments queue: the bucket's ObjectCreated notifications for keys
 * under `uploads/`. Each record's uploads are processed (checked, cleaned, READY or REJECTED);
 * keys that are not uploads and S3's `s3:TestEvent` are ignored. A record whose processing
 * failed (the bucket or the database unreachable) is reported failed and delivered again after
 * the queue's visibility timeout; after maxReceiveCount it is dead-lettered.
 */
import { createdKeys, s3NotificationSchema } from '#adapters/s3/notifications';
import { queueHandler } from '#handlers/shared/queue';
import { useCase } from '#handlers/shared/use-cases';
import { makeProcessAttachment } from '#core/use-cases/process-attachment';
import '#handlers/shared/ports/postgres';
import '#handlers/shared/ports/realtime';
import '#handlers/shared/ports/media';
import '#handlers/shared/ports/storage';

export const handler = queueHandler(s3NotificationSchema, async (notification) => {
  for (const key of createdKeys(notification)) await useCase(makeProcessAttachment)({ key });
});
