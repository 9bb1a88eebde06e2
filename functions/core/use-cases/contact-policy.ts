/**
 * `CHAT_CONTACT_INFO_POLICY` applied to a TEXT message's content before it is stored (a send or an
 * edit): `allow` stores it as it is; `flag` stores it with `metadata.flags: ["contact_info"]`, and
 * the moderation queue's consumer files an `off_platform` report for the admins; `mask` stores
 * each detail as `[hidden]`; `reject` refuses it (ValidationError, `details.reason:
 * "contact_info"`).
 */
import type { Settings } from '#config/settings';
import { CONTACT_INFO_FLAG, findContactDetails, maskContactDetails } from '#core/contact-details';
import type { DomainEvent } from '#core/events';
import { ValidationError } from '#core/errors';
import type { Json, MessageType } from '#core/model';
import type { MessageStore, ReportStore } from '#core/ports';
import type { PublishChanges } from './publish.ts';

export type ContactPolicyLimits = Pick<Settings, 'CHAT_CONTACT_INFO_POLICY' | 'CHAT_PHONE_DEFAULT_COUNTRY'>;

/** What the product itself sets in `metadata.flags`: a client's own `flags` are replaced. */
function withFlag(metadata: Json | null, flagged: boolean): Json | null {
  const base: Record<string, Json> = metadata && typeof metadata === 'object' && !Array.isArray(metadata) ? { ...metadata } : metadata === null ? {} : { value: metadata };
  delete base.flags;
  if (flagged) base.flags = [CONTACT_INFO_FLAG];
  return Object.keys(base).length === 0 && metadata === null ? null : base;
}

/** The content and metadata to store, or ValidationError under `reject`. */
export function applyContactPolicy(
  message: { messageType: MessageType; content: string; metadata: Json | null },
  limits: ContactPolicyLimits,
): { content: string; metadata: Json | null } {
  const policy = limits.CHAT_CONTACT_INFO_POLICY;
  const details = message.messageType === 'TEXT' && policy !== 'allow' ? findContactDetails(message.content, limits.CHAT_PHONE_DEFAULT_COUNTRY) : [];
  if (details.length > 0 && policy === 'reject') {
    throw new ValidationError('Messages may not carry phone numbers, e-mail addresses or links; keep the booking on the platform', {
      field: 'content',
      reason: 'contact_info',
      kinds: [...new Set(details.map((detail) => detail.kind))],
    });
  }
  return {
    content: details.length > 0 && policy === 'mask' ? maskContactDetails(message.content, details) : message.content,
    metadata: withFlag(message.metadata, details.length > 0 && policy === 'flag'),
  };
}

/** Whether a stored message carries the contact-detail flag. */
export function isFlagged(metadata: Json | null): boolean {
  const flags = metadata && typeof metadata === 'object' && !Array.isArray(metadata) ? metadata.flags : undefined;
  return Array.isArray(flags) && flags.includes(CONTACT_INFO_FLAG);
}

/**
 * The moderation queue's consumer: a new message that is flagged, or (under `flag`) an edit that
 * put contact details in, becomes an OPEN `off_platform` report without a reporter, once per
 * message. A message deleted since is not reported.
 */
export function makeFileFlaggedMessage({
  messages,
  reports,
  publish,
  limits,
}: {
  messages: Pick<MessageStore, 'context'>;
  reports: Pick<ReportStore, 'file'>;
  publish: PublishChanges;
  limits: ContactPolicyLimits;
}) {
  return async (event: Pick<DomainEvent, 'type' | 'data'>): Promise<{ filed: boolean }> => {
    const messageId = (event.data as { message?: { id?: unknown } }).message?.id;
    if ((event.type !== 'message.created' && event.type !== 'message.updated') || typeof messageId !== 'string') return { filed: false };
    const context = await messages.context(messageId);
    if (!context || context.message.deletedAt) return { filed: false };
    const { message } = context;
    const flagged =
      event.type === 'message.created'
        ? isFlagged(message.metadata)
        : limits.CHAT_CONTACT_INFO_POLICY === 'flag' && message.messageType === 'TEXT' && findContactDetails(message.content, limits.CHAT_PHONE_DEFAULT_COUNTRY).length > 0;
    if (!flagged) return { filed: false };
    const { report, created, changes } = await reports.file({ conversationId: context.conversation.id, messageId, reporterId: null, reason: 'off_platform', note: null });
    await publish(changes, { report, message, conversation: context.conversation });
    return { filed: created };
  };
}
