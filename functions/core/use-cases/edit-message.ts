import type { Settings } from '#config/settings';
import { ConflictError, ForbiddenError, ValidationError } from '#core/errors';
import { partyOf, type Identity } from '#core/model';
import type { Clock, MessageStore } from '#core/ports';
import { ADMIN_READ_ONLY, isSenderOf, loadReadableMessage } from './access.ts';
import { announce, type AnnounceDeps } from './publish.ts';
import { requireContentLength } from './send-message.ts';
import { applyContactPolicy, type ContactPolicyLimits } from './contact-policy.ts';
import { frame, toWireMessage, type WireMessage } from './wire.ts';

export interface EditMessageDeps extends AnnounceDeps {
  messages: Pick<MessageStore, 'context' | 'edit'>;
  clock: Clock;
  limits: Pick<Settings, 'CHAT_MAX_CONTENT_LENGTH' | 'CHAT_EDIT_WINDOW_SECONDS'> & ContactPolicyLimits;
}

export interface EditMessageInput {
  identity: Identity;
  messageId: string;
  content: string;
  /** The conversation the request names (REST path); the message must be in it. */
  conversationId?: string;
}

/**
 * Edits a message's content (`PATCH …/messages/:messageId`, `chat-edit-message`).
 *
 * Only its sender (the same user, acting for the same side), only a `TEXT` message, only within
 * `CHAT_EDIT_WINDOW_SECONDS` of sending, never once deleted, and only while the conversation is
 * ACTIVE. The new content follows the send rules (not blank, at most `CHAT_MAX_CONTENT_LENGTH`).
 * Then `editedAt` is set, `message.updated` recorded, and `chat-message-updated {message}` goes
 * to every connection of both sides.
 *
 * @throws NotFoundError, ForbiddenError (not its sender, an admin, a non-participant),
 * ConflictError (not TEXT, deleted, too late, conversation not ACTIVE), ValidationError,
 * PayloadTooLargeError.
 */
export function makeEditMessage(deps: EditMessageDeps) {
  const { messages, clock, limits } = deps;
  return async ({ identity, messageId, content, conversationId }: EditMessageInput): Promise<{ message: WireMessage }> => {
    requireContentLength(content, limits.CHAT_MAX_CONTENT_LENGTH);
    if (content.trim() === '') throw new ValidationError('A text message needs content', { field: 'content' });

    const { message, conversation, side } = await loadReadableMessage(messages, identity, messageId, conversationId);
    if (!isSenderOf(identity, side, message)) {
      throw new ForbiddenError(partyOf(identity) === null ? ADMIN_READ_ONLY : 'Only its sender may edit a message');
    }
    if (message.deletedAt) throw new ConflictError('A deleted message cannot be edited');
    if (message.messageType !== 'TEXT') throw new ConflictError('Only TEXT messages can be edited', { messageType: message.messageType });
    const now = clock.now();
    const editableUntil = message.createdAt.getTime() + limits.CHAT_EDIT_WINDOW_SECONDS * 1000;
    if (now.getTime() > editableUntil) {
      throw new ConflictError(`A message can only be edited within ${limits.CHAT_EDIT_WINDOW_SECONDS} seconds of sending`, {
        editWindowSeconds: limits.CHAT_EDIT_WINDOW_SECONDS,
      });
    }
    if (conversation.status !== 'ACTIVE') throw new ConflictError(`Conversation is ${conversation.status}; messages can no longer change`);

    // The policy applies to the new content as to a send: masked or refused. Under `flag` the
    // edit is stored as it is and the moderation queue's consumer reports it (an edit keeps the
    // message's metadata, so the flag stays as it was sent).
    const allowed = applyContactPolicy({ messageType: 'TEXT', content, metadata: null }, limits);
    const edited = await messages.edit(messageId, allowed.content, now);
    if (!edited) throw new ConflictError('The message was deleted, or its conversation closed, while it was being edited');
    const wire = toWireMessage(edited.message);
    await announce(deps, conversation, frame('chat-message-updated', { message: wire }), edited.changes, { message: edited.message, conversation });
    return { message: wire };
  };
}
