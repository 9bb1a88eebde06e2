/**
 * Where an attachment's bytes live in the attachments bucket, and how an S3 key names the
 * attachment it belongs to.
 *
 * - `uploads/<conversationId>/<attachmentId>`: what the app uploaded through the presigned POST.
 *   Only this prefix notifies the processor (an S3 event notification filtered by prefix), so
 *   the processor's own writes never trigger it again. Deleted once processed.
 * - `files/<conversationId>/<attachmentId>/original` and `…/thumbnail`: what processing kept
 *   (an image re-encoded without its metadata, and its WebP thumbnail). Downloads are presigned
 *   GETs of these.
 *
 * Keys hold only ids this product made, never the uploader's file name.
 */
import type { Attachment, AttachmentVariant } from './model.ts';

export const UPLOAD_PREFIX = 'uploads/';
export const FILES_PREFIX = 'files/';

type Ref = Pick<Attachment, 'id' | 'conversationId'>;

export const uploadKey = (attachment: Ref) => `${UPLOAD_PREFIX}${attachment.conversationId}/${attachment.id}`;

export const variantKey = (attachment: Ref, variant: AttachmentVariant) => `${FILES_PREFIX}${attachment.conversationId}/${attachment.id}/${variant}`;

/** Every key an attachment may have objects under (to delete it whole). */
export const objectKeysOf = (attachment: Ref) => [uploadKey(attachment), variantKey(attachment, 'original'), variantKey(attachment, 'thumbnail')];

const UPLOAD_KEY = /^uploads\/([^/]{1,64})\/([^/]{1,64})$/;

/** The attachment an uploaded object's key names; null for any other key. */
export function attachmentOfUploadKey(key: string): Ref | null {
  const match = UPLOAD_KEY.exec(key);
  return match ? { conversationId: match[1]!, id: match[2]! } : null;
}
