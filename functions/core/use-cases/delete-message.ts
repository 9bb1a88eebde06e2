import { can } from '#core/policy';
import { ForbiddenError, NotFoundError } from '#core/errors';
import type { Identity } from '#core/model';
import type { Clock, MessageStore } from '#core/ports';
import { isSenderOf, loadReadableMessage } from './access.ts';
import { announce, type AnnounceDeps } from './publish.ts';
import { frame, iso, toWireMessage, type WireMessage } from './wire.ts';

export interface DeleteMessageDeps extends AnnounceDeps {
  messages: Pick<MessageStore, 'context' | 'tombstone'>;
  clock: Clock;
}

export interface DeleteMessageInput {
  identity: Identity;
  messageId: string;
  /** The conversation the request names (REST path); the message must be in it. */
  conversationId?: string;
}

/**
 * Deletes a message (`DELETE …/messages/:messageId`, `chat-delete-message`): its sender at any
 * time, or an admin (moderation), whatever the conversation's status.
 *
 * The row stays as a tombstone (so `seq` keeps no gaps): its id, seq, sender and times remain;
 * content becomes "", attachments, metadata and reactions go, and `deletedAt` is set. Then
 * `message.deleted` is recorded and `chat-message-deleted {conversationId, messageId, seq,
 * deletedAt}` goes to every connection of both sides. Deleting it again answers the same
 * tombstone and changes nothing.
 *
 * @throws NotFoundError, ForbiddenError (neither its sender nor an admin).
 */
export function makeDeleteMessage(deps: DeleteMessageDeps) {
  const { messages, clock } = deps;
  return async ({ identity, messageId, conversationId }: DeleteMessageInput): Promise<{ message: WireMessage }> => {
    const { message, conversation, side } = await loadReadableMessage(messages, identity, messageId, conversationId);
    if (!can(identity, 'moderate', conversation) && !isSenderOf(identity, side, message)) {
      throw new ForbiddenError('Only its sender or an admin may delete a message');
    }
    if (message.deletedAt) return { message: toWireMessage(message) };

    const deleted = await messages.tombstone(messageId, clock.now());
    if (!deleted) {
      // Deleted by someone else in the meantime: answer the tombstone as it stands.
      const current = await messages.context(messageId);
      if (!current) throw new NotFoundError('Message not found');
      return { message: toWireMessage(current.message) };
    }
    const tombstone = deleted.message;
    const data = { conversationId: conversation.id, messageId, seq: tombstone.seq, deletedAt: iso(tombstone.deletedAt ?? clock.now()) };
    await announce(deps, conversation, frame('chat-message-deleted', data), deleted.changes, { message: tombstone, conversation });
    return { message: toWireMessage(tombstone) };
  };
}
