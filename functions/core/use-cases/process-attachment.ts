/**
 * Processing an upload (the attachments queue's consumer, one S3 ObjectCreated record at a
 * time): the upload's bytes are checked against the type the app declared, images are
 * re-encoded without metadata and get a thumbnail, and the attachment becomes READY or
 * REJECTED; the store records that with its `attachment.updated` change for the uploader, whose
 * connections then hear `chat-attachment-updated`.
 *
 * Order, so that any failure is safe to deliver again: the kept objects are written first, then
 * the outcome is recorded, then the upload is deleted. A delivery for an attachment that is no
 * longer PENDING (a repeat, or a concurrent twin) records nothing and only makes sure the upload
 * is gone. An upload whose record is gone (swept) is deleted. Failures of the storage or the
 * database throw, so the queue delivers the record again and, after maxReceiveCount, dead-letters it.
 */
import { attachmentOfUploadKey, uploadKey, variantKey } from '#core/attachments';
import { ImageRejectedError, PROCESSED_IMAGE_TYPES, essenceOf, isImageType, isTextType, typesMatch, type MediaProcessor } from '#core/media';
import type { Attachment } from '#core/model';
import type { AttachmentStore, Clock, ConnectionStore, Logger, Metrics, ObjectStorage, ProcessingOutcome } from '#core/ports';
import type { Settings } from '#config/settings';
import { notifyAfterCommit, type Deliver } from './deliver.ts';
import type { PublishChanges } from './publish.ts';
import { frame, toWireAttachment } from './wire.ts';

export interface ProcessAttachmentDeps {
  attachments: AttachmentStore;
  storage: ObjectStorage;
  media: MediaProcessor;
  clock: Clock;
  limits: Pick<Settings, 'CHAT_MAX_ATTACHMENT_BYTES'>;
  publish: PublishChanges;
  connections: Pick<ConnectionStore, 'forUser'>;
  deliver: Deliver;
  metrics: Metrics;
  logger: Logger;
}

/** What became of one uploaded object. */
export type ProcessResult =
  | { result: 'ignored'; why: 'not_an_upload' | 'no_attachment' | 'already_processed' | 'no_object' }
  | { result: 'processed'; attachment: Attachment };

/** The side a connection speaks for: customers and provider staff; admins and services have none. */
const sideOfConnection = (identity: { role: string }) => (identity.role === 'customer' ? 'customer' : identity.role === 'provider' ? 'provider' : null);

const rejected = (reason: string): ProcessingOutcome => ({ status: 'REJECTED', reason });

export function makeProcessAttachment({ attachments, storage, media, clock, limits, publish, connections, deliver, metrics, logger }: ProcessAttachmentDeps) {
  /** What to keep of the upload, and the outcome to record. */
  async function examine(attachment: Attachment, bytes: Uint8Array): Promise<ProcessingOutcome> {
    if (bytes.byteLength === 0) return rejected('empty');
    if (bytes.byteLength > limits.CHAT_MAX_ATTACHMENT_BYTES) return rejected('too_large');
    const declared = essenceOf(attachment.contentType);
    const detected = await media.detectType(bytes);

    if (isImageType(declared)) {
      if (!detected || !isImageType(detected) || !typesMatch(declared, detected)) return rejected('type_mismatch');
      const type = PROCESSED_IMAGE_TYPES.find((known) => typesMatch(known, detected));
      if (!type) return rejected('unsupported_image');
      try {
        const image = await media.processImage(bytes, type);
        await storage.write(variantKey(attachment, 'original'), image.original.bytes, image.original.contentType);
        await storage.write(variantKey(attachment, 'thumbnail'), image.thumbnail, 'image/webp');
        return { status: 'READY', size: image.original.bytes.byteLength, contentType: image.original.contentType, width: image.width, height: image.height, hasThumbnail: true };
      } catch (error) {
        if (error instanceof ImageRejectedError) return rejected(error.reason);
        throw error;
      }
    }

    // Not an image: kept byte for byte, once its bytes are what was declared.
    const matches = detected ? typesMatch(declared, detected) : isTextType(declared) && (await media.isText(bytes));
    if (!matches) return rejected('type_mismatch');
    await storage.write(variantKey(attachment, 'original'), bytes, declared);
    return { status: 'READY', size: bytes.byteLength, contentType: declared, width: null, height: null, hasThumbnail: false };
  }

  return async function processAttachment({ key }: { key: string }): Promise<ProcessResult> {
    const ref = attachmentOfUploadKey(key);
    if (!ref) return { result: 'ignored', why: 'not_an_upload' };
    const attachment = await attachments.get(ref.id);
    if (!attachment || attachment.conversationId !== ref.conversationId) {
      // Swept, or a key no intent made: nothing may keep it.
      await storage.remove([key]);
      logger.warn('upload without its attachment deleted', { key });
      return { result: 'ignored', why: 'no_attachment' };
    }
    if (attachment.status !== 'PENDING') {
      await storage.remove([uploadKey(attachment)]);
      return { result: 'ignored', why: 'already_processed' };
    }
    const started = clock.now().getTime();
    const upload = await storage.read(uploadKey(attachment));
    if (!upload) {
      // Deleted since the notification (a twin delivery finished it, or the sweep): nothing to check.
      logger.warn('upload notified but gone', { attachmentId: attachment.id });
      return { result: 'ignored', why: 'no_object' };
    }

    const outcome = await examine(attachment, upload.bytes);
    const finished = await attachments.finish(attachment.id, outcome, clock.now());
    if (!finished) {
      // A twin delivery recorded its outcome first; what this one wrote is the same bytes.
      await storage.remove([uploadKey(attachment)]);
      return { result: 'ignored', why: 'already_processed' };
    }
    metrics.count('AttachmentsProcessed');
    if (outcome.status === 'REJECTED') metrics.count('AttachmentsRejected');
    metrics.timing('AttachmentProcessingTime', clock.now().getTime() - started);
    const done = finished.attachment;
    // Live, to the uploader's own connections only (on the side it uploaded from); its change in
    // the log (for /sync) is the uploader's alone too. Neither can fail what is recorded.
    await Promise.all([
      notifyAfterCommit(logger, 'chat-attachment-updated', async () => {
        const own = (await connections.forUser(done.uploaderId)).filter((connection) => sideOfConnection(connection.identity) === done.uploaderSide);
        await deliver(frame('chat-attachment-updated', { attachment: toWireAttachment(done) }), own.map((connection) => connection.connectionId));
      }),
      publish(finished.changes, { attachment: done }),
    ]);
    await storage.remove([uploadKey(attachment)]);
    if (outcome.status === 'REJECTED') {
      logger.info('upload rejected', { attachmentId: attachment.id, reason: outcome.reason, declared: attachment.contentType });
    }
    return { result: 'processed', attachment: finished.attachment };
  };
}

export type ProcessAttachment = ReturnType<typeof makeProcessAttachment>;
