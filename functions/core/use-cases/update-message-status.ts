import { ForbiddenError, NotFoundError, ValidationError } from '#core/errors';
import { isForward, sideOf, type Conversation, type Identity, type Message } from '#core/model';
import type { Clock, ConnectionStore, ConversationStore, Logger, MessageStore, SubscriptionStore } from '#core/ports';
import type { Deliver } from './deliver.ts';
import { announce, type PublishChanges } from './publish.ts';
import type { StatusUpdatedData } from './mark-read.ts';
import { frame, iso, toWireMessage, type WireMessage } from './wire.ts';

export interface UpdateMessageStatusDeps {
  conversations: Pick<ConversationStore, 'get'>;
  messages: Pick<MessageStore, 'get' | 'advanceStatus'>;
  connections: Pick<ConnectionStore, 'forParties'>;
  subscriptions: Pick<SubscriptionStore, 'connectionsIn'>;
  deliver: Deliver;
  publish: PublishChanges;
  clock: Clock;
  logger: Logger;
}

export interface UpdateMessageStatusInput {
  identity: Identity;
  messageId: string;
  status: 'DELIVERED' | 'READ';
}

export interface UpdateMessageStatusResult {
  /** The message as it now stands. */
  message: WireMessage;
  /** false when the move was not forward (a repeat, or DELIVERED after READ): nothing changed. */
  changed: boolean;
}

/**
 * Whether the caller is on the side that received `message`. Answerable from the message alone:
 * a customer's message is received by the provider whose id is its receiverId, a provider's by
 * the customer whose userId is its receiverId. A service's message is received by both sides.
 */
function isReceiver(identity: Identity, message: Pick<Message, 'senderRole' | 'receiverId'>, conversation: Pick<Conversation, 'customerId' | 'providerId'> | null): boolean {
  if (message.senderRole === 'system') return conversation !== null && sideOf(identity, conversation) !== null;
  return message.senderRole === 'customer'
    ? identity.role === 'provider' && identity.providerId === message.receiverId
    : identity.role === 'customer' && identity.userId === message.receiverId;
}

/**
 * `chat-update-message-status`: the receiving side moves a message forward, SENT → DELIVERED →
 * READ (READ also lowers that side's unread count). Any staff user of the receiving provider may.
 *
 * A move that is not forward is not an error: it answers the message unchanged and tells no one.
 * A real move sends `chat-message-status-updated {messageId, conversationId, status, userId, at}`
 * to every connection of both sides (and room watchers).
 *
 * @throws ValidationError for a status other than DELIVERED or READ.
 * @throws NotFoundError when the message does not exist.
 * @throws ForbiddenError for the sending side, non-participants and admins.
 */
export function makeUpdateMessageStatus(deps: UpdateMessageStatusDeps) {
  const { conversations, messages, clock } = deps;
  return async ({ identity, messageId, status }: UpdateMessageStatusInput): Promise<UpdateMessageStatusResult> => {
    if (status !== 'DELIVERED' && status !== 'READ') {
      throw new ValidationError('status must be DELIVERED or READ', { field: 'status' });
    }
    const message = await messages.get(messageId);
    if (!message) throw new NotFoundError('Message not found');
    // A service's message is received by both sides: which sides those are takes the conversation.
    const parties = message.senderRole === 'system' ? await conversations.get(message.conversationId) : null;
    if (!isReceiver(identity, message, parties)) {
      throw new ForbiddenError("Only the side that received a message may update its status");
    }
    if (!isForward(message.status, status)) return { message: toWireMessage(message), changed: false };

    const now = clock.now();
    const updated = await messages.advanceStatus(messageId, status, now);
    if (!updated) {
      // Someone else moved it first (another device or staff user): answer how it stands now.
      const current = (await messages.get(messageId)) ?? message;
      return { message: toWireMessage(current), changed: false };
    }

    const conversation = await conversations.get(updated.message.conversationId);
    if (conversation) {
      const data: StatusUpdatedData = { messageId, conversationId: conversation.id, status, userId: identity.userId, at: iso(now) };
      await announce(deps, conversation, frame('chat-message-status-updated', data), updated.changes, { message: updated.message, conversation });
    }
    return { message: toWireMessage(updated.message), changed: true };
  };
}
