/**
 * The upload intent (`POST /conversations/:id/attachments`): a PENDING attachment, and a
 * presigned POST that lets the app upload its file straight to the bucket. The API never
 * carries the bytes; the storage enforces what the POST's policy allows (see {@link uploadPolicyFor}),
 * and the upload itself starts processing.
 */
import type { Settings } from '#config/settings';
import { uploadKey } from '#core/attachments';
import { ForbiddenError, PayloadTooLargeError, ValidationError } from '#core/errors';
import type { Identity } from '#core/model';
import type { AttachmentStore, Clock, ConversationStore, Logger, Metrics, ObjectStorage, UploadPolicy } from '#core/ports';
import { loadConversation, requireParticipant } from './access.ts';
import { iso, toWireAttachment, type WireAttachment } from './wire.ts';

export type AttachmentLimits = Pick<Settings, 'CHAT_ATTACHMENT_TYPES' | 'CHAT_MAX_ATTACHMENT_BYTES' | 'CHAT_UPLOAD_URL_TTL_SECONDS'>;

export interface CreateAttachmentDeps {
  conversations: Pick<ConversationStore, 'get'>;
  attachments: Pick<AttachmentStore, 'create'>;
  storage: Pick<ObjectStorage, 'uploadForm'>;
  clock: Clock;
  metrics: Metrics;
  logger: Logger;
  limits: AttachmentLimits;
}

export interface CreateAttachmentInput {
  identity: Identity;
  conversationId: string;
  fileName: string;
  /** Lower-case `type/subtype` (the request schema lower-cases it). */
  contentType: string;
  size: number;
}

export interface CreateAttachmentResult {
  attachment: WireAttachment;
  upload: { url: string; fields: Record<string, string>; expiresAt: string };
}

/**
 * What the presigned POST allows, which the storage enforces: exactly the declared Content-Type,
 * a file of 1 byte up to CHAT_MAX_ATTACHMENT_BYTES (whatever size was declared: processing
 * records the real one), for CHAT_UPLOAD_URL_TTL_SECONDS. The key is the attachment's own
 * (uploadKey), never a prefix.
 */
export function uploadPolicyFor(contentType: string, limits: AttachmentLimits): UploadPolicy {
  return { contentType, minBytes: 1, maxBytes: limits.CHAT_MAX_ATTACHMENT_BYTES, expiresInSeconds: limits.CHAT_UPLOAD_URL_TTL_SECONDS };
}

/**
 * @throws ValidationError when `contentType` is not one of CHAT_ATTACHMENT_TYPES
 * (`details: {field: 'contentType', allowed}`); PayloadTooLargeError when `size` is over
 * CHAT_MAX_ATTACHMENT_BYTES (`details: {field: 'size', maxBytes, bytes}`).
 */
export function requireUploadable(contentType: string, size: number, limits: AttachmentLimits): void {
  const allowed = limits.CHAT_ATTACHMENT_TYPES;
  if (!allowed.includes(contentType)) {
    throw new ValidationError(`contentType must be one of ${allowed.join(', ')}`, { field: 'contentType', allowed: [...allowed] });
  }
  if (size > limits.CHAT_MAX_ATTACHMENT_BYTES) {
    throw new PayloadTooLargeError(`size is over the largest upload, ${limits.CHAT_MAX_ATTACHMENT_BYTES} bytes`, {
      field: 'size',
      maxBytes: limits.CHAT_MAX_ATTACHMENT_BYTES,
      bytes: size,
    });
  }
}

/**
 * In order: the declared type and size (400, 413); the conversation (404); the caller must be
 * one of its participants, as for a send (403 for admins, services and outsiders); and it must be
 * ACTIVE (403: a BLOCKED or ENDED conversation takes no sends, so no uploads either).
 */
export function makeCreateAttachment({ conversations, attachments, storage, metrics, logger, limits }: CreateAttachmentDeps) {
  return async (input: CreateAttachmentInput): Promise<CreateAttachmentResult> => {
    const { identity, conversationId, fileName, contentType, size } = input;
    requireUploadable(contentType, size, limits);
    const conversation = await loadConversation(conversations, conversationId);
    const side = requireParticipant(identity, conversation);
    if (conversation.status !== 'ACTIVE') {
      throw new ForbiddenError(`Conversation is ${conversation.status}; uploads, like messages, only go to an ACTIVE conversation`);
    }
    const attachment = await attachments.create({ conversationId, uploaderId: identity.userId, uploaderSide: side, fileName, contentType, size });
    const form = await storage.uploadForm(uploadKey(attachment), uploadPolicyFor(contentType, limits));
    metrics.count('AttachmentIntents');
    logger.info('Upload intent', { conversationId, attachmentId: attachment.id, contentType, size });
    return {
      attachment: toWireAttachment(attachment),
      upload: { url: form.url, fields: { ...form.fields }, expiresAt: iso(form.expiresAt) },
    };
  };
}
