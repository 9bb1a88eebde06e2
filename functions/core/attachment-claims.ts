/**
 * Why a message may not carry an attachment, as its send is answered. The append claims every
 * attachment a message names in its own statement (all or nothing); when that claim fails, this
 * says which ids could not be claimed and why, so the answer is precise: 409 CONFLICT while an
 * upload is still being processed (the client waits for `chat-attachment-updated` and sends
 * again), 400 VALIDATION_ERROR for everything a retry cannot fix.
 */
import { ConflictError, ValidationError } from './errors.ts';
import type { Attachment, Sender } from './model.ts';

export type ClaimRefusalReason = 'not_found' | 'not_yours' | 'wrong_type' | 'pending' | 'rejected' | 'attached' | 'expired';

export interface ClaimRefusal {
  id: string;
  reason: ClaimRefusalReason;
}

export interface Claimant {
  conversationId: string;
  senderId: number;
  senderRole: Sender;
  /** Only attachments created after this may be claimed (older ones are the orphan sweep's). */
  createdAfter?: Date;
  /** Each attachment's type must start with this (IMAGE: `image/`, VOICE: `audio/`). */
  typePrefix?: string;
}

const DESCRIPTIONS: Record<ClaimRefusalReason, string> = {
  not_found: 'is not an attachment of this conversation',
  not_yours: 'was uploaded by someone else (only its uploader may send it)',
  wrong_type: 'is not of a type this message type carries (IMAGE: image/*, VOICE: audio/*)',
  pending: 'is still being processed; send it once it is READY (chat-attachment-updated)',
  rejected: 'was rejected by processing',
  attached: 'is already attached to another message',
  expired: 'was uploaded too long ago and is being deleted; upload it again',
};

/** Whether `claimant` may claim `attachment` now, and if not, why. */
export function claimRefusalOf(attachment: Attachment | undefined, claimant: Claimant): ClaimRefusalReason | null {
  if (!attachment || attachment.conversationId !== claimant.conversationId) return 'not_found';
  if (attachment.uploaderId !== claimant.senderId || attachment.uploaderSide !== claimant.senderRole) return 'not_yours';
  if (attachment.messageId !== null) return 'attached';
  if (claimant.typePrefix && !attachment.contentType.startsWith(claimant.typePrefix)) return 'wrong_type';
  if (attachment.status === 'PENDING') return 'pending';
  if (attachment.status === 'REJECTED') return 'rejected';
  if (claimant.createdAfter && attachment.createdAt.getTime() <= claimant.createdAfter.getTime()) return 'expired';
  return null;
}

/** Each id that may not be claimed, with why, in the order the message named them. */
export function claimRefusals(ids: readonly string[], found: readonly Attachment[], claimant: Claimant): ClaimRefusal[] {
  const byId = new Map(found.map((attachment) => [attachment.id, attachment]));
  return ids.flatMap((id) => {
    const reason = claimRefusalOf(byId.get(id), claimant);
    return reason ? [{ id, reason }] : [];
  });
}

/**
 * The error a failed claim answers: ConflictError when every refused one is only still PENDING,
 * ValidationError otherwise. `details: {field: 'attachments', refused: [{id, reason}]}`.
 */
export function claimError(refused: readonly ClaimRefusal[]): ConflictError | ValidationError {
  const details = { field: 'attachments', refused: refused.map(({ id, reason }) => ({ id, reason })) };
  const message = refused.map(({ id, reason }) => `attachment ${id} ${DESCRIPTIONS[reason]}`).join('; ');
  return refused.every((refusal) => refusal.reason === 'pending') ? new ConflictError(message, details) : new ValidationError(message, details);
}
