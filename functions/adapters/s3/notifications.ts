/**
 * S3 event notifications as the bucket puts them on the attachments queue (one SQS message body
 * per notification, holding one or more records), and the `s3:TestEvent` S3 sends once when the
 * notification is configured. Only the fields processing reads are required; S3 adds others.
 *
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html
 */
import { z } from 'zod';

const objectRecord = z.object({
  eventSource: z.literal('aws:s3'),
  eventName: z.string().min(1),
  s3: z.object({
    bucket: z.object({ name: z.string().min(1) }),
    object: z.object({ key: z.string().min(1), size: z.number().int().nonnegative().optional() }),
  }),
});

const testEvent = z.object({ Service: z.literal('Amazon S3'), Event: z.literal('s3:TestEvent') });

export const s3NotificationSchema = z.union([z.object({ Records: z.array(objectRecord) }), testEvent]);
export type S3Notification = z.infer<typeof s3NotificationSchema>;

/**
 * A record's object key as stored: S3 URL-encodes keys in notifications the way HTML forms do
 * (a space is `+`, anything else percent-encoded), so `+` becomes a space before percent-decoding.
 */
export const decodeS3Key = (key: string) => decodeURIComponent(key.replace(/\+/g, ' '));

/** The keys of the objects a notification says were created (none for the test event). */
export function createdKeys(notification: S3Notification): string[] {
  if (!('Records' in notification)) return [];
  return notification.Records.filter((record) => record.eventName.startsWith('ObjectCreated:')).map((record) => decodeS3Key(record.s3.object.key));
}
