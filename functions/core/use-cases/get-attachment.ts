/**
 * Reading an attachment (`GET /conversations/:id/attachments/:attachmentId`) and its bytes
 * (`GET …/content?variant=`: a 302 to a short-lived presigned GET). Who may: the policy's
 * {@link canReadAttachment}.
 */
import type { Settings } from '#config/settings';
import { variantKey } from '#core/attachments';
import { ForbiddenError, NotFoundError } from '#core/errors';
import type { Attachment, AttachmentVariant, Identity } from '#core/model';
import { canReadAttachment } from '#core/policy';
import type { AttachmentStore, ConversationStore, MessageStore, ObjectStorage } from '#core/ports';
import { loadConversation, NOT_A_PARTICIPANT, requireReader } from './access.ts';
import { toWireAttachment, type WireAttachment } from './wire.ts';

export interface GetAttachmentDeps {
  conversations: Pick<ConversationStore, 'get'>;
  attachments: Pick<AttachmentStore, 'get'>;
  messages: Pick<MessageStore, 'get'>;
}

export interface GetAttachmentInput {
  identity: Identity;
  conversationId: string;
  attachmentId: string;
}

/**
 * The attachment, for a caller who may see it.
 * @throws NotFoundError for a missing conversation, or an attachment that is missing or of
 * another conversation; ForbiddenError for outsiders, and for the other side while no message
 * carries it (the one exception to "the other side never learns it exists": it asked by id).
 */
export async function loadReadableAttachment(deps: GetAttachmentDeps, input: GetAttachmentInput): Promise<Attachment> {
  const conversation = await loadConversation(deps.conversations, input.conversationId);
  requireReader(input.identity, conversation);
  const attachment = await deps.attachments.get(input.attachmentId);
  if (!attachment || attachment.conversationId !== conversation.id) throw new NotFoundError('Attachment not found');
  if (canReadAttachment(input.identity, conversation, attachment, false)) return attachment;
  // The other side: only once a message carries it, and not after that message was deleted.
  const message = attachment.messageId ? await deps.messages.get(attachment.messageId) : null;
  const carried = message !== null && message.deletedAt === null;
  if (!canReadAttachment(input.identity, conversation, attachment, carried)) {
    throw new ForbiddenError(attachment.messageId ? NOT_A_PARTICIPANT : 'Only its uploader\'s side sees an attachment before a message carries it');
  }
  return attachment;
}

export function makeGetAttachment(deps: GetAttachmentDeps) {
  return async (input: GetAttachmentInput): Promise<{ attachment: WireAttachment }> => ({
    attachment: toWireAttachment(await loadReadableAttachment(deps, input)),
  });
}

export interface AttachmentContentDeps extends GetAttachmentDeps {
  storage: Pick<ObjectStorage, 'downloadUrl'>;
  limits: Pick<Settings, 'CHAT_DOWNLOAD_URL_TTL_SECONDS'>;
}

/** Whether an attachment has this variant stored: only READY ones, and a thumbnail only when made. */
export function hasVariant(attachment: Pick<Attachment, 'status' | 'hasThumbnail'>, variant: AttachmentVariant): boolean {
  return attachment.status === 'READY' && (variant === 'original' || attachment.hasThumbnail);
}

/**
 * Where the bytes are: a presigned GET of the variant, valid CHAT_DOWNLOAD_URL_TTL_SECONDS,
 * served under the attachment's file name and type (a thumbnail is WebP).
 * @throws NotFoundError for a variant that does not exist (a PENDING or REJECTED upload has
 * none; a file that is not an image has no thumbnail), besides {@link loadReadableAttachment}'s.
 */
export function makeAttachmentContent(deps: AttachmentContentDeps) {
  return async (input: GetAttachmentInput & { variant: AttachmentVariant }): Promise<{ location: string; expiresInSeconds: number }> => {
    const attachment = await loadReadableAttachment(deps, input);
    if (!hasVariant(attachment, input.variant)) {
      throw new NotFoundError(
        attachment.status !== 'READY'
          ? `This attachment is ${attachment.status}: it has no ${input.variant} to download`
          : 'This attachment has no thumbnail (only images have one)',
      );
    }
    const expiresInSeconds = deps.limits.CHAT_DOWNLOAD_URL_TTL_SECONDS;
    const thumbnail = input.variant === 'thumbnail';
    const location = await deps.storage.downloadUrl(variantKey(attachment, input.variant), {
      expiresInSeconds,
      fileName: thumbnail ? `${attachment.fileName.replace(/\.[^.]*$/, '')}.webp` : attachment.fileName,
      contentType: thumbnail ? 'image/webp' : attachment.contentType,
    });
    return { location, expiresInSeconds };
  };
}
