import type { Identity } from '#core/model';
import type { Clock, ConnectionStore, ConversationStore, Logger, MessageStore, SubscriptionStore } from '#core/ports';
import { conversationAudience, loadConversation, requireParticipant } from './access.ts';
import { notifyAfterCommit, type Deliver } from './deliver.ts';
import type { PublishChanges } from './publish.ts';
import { frame, iso } from './wire.ts';

/** Above this many messages read at once, one summary frame is sent instead of one per message. */
export const MARK_READ_FRAME_LIMIT = 10;

export interface MarkReadDeps {
  conversations: Pick<ConversationStore, 'get'>;
  messages: Pick<MessageStore, 'markRead'>;
  connections: Pick<ConnectionStore, 'forParties'>;
  subscriptions: Pick<SubscriptionStore, 'connectionsIn'>;
  deliver: Deliver;
  publish: PublishChanges;
  clock: Clock;
  logger: Logger;
}

export interface MarkReadInput {
  identity: Identity;
  conversationId: string;
}

export interface MarkReadResult {
  conversationId: string;
  /** The newest seq the caller's side has now read. */
  lastReadSeq: number;
  /** Always 0 after a mark-read. */
  unreadCount: 0;
  /** How many messages moved to READ. */
  readCount: number;
}

/** `chat-message-status-updated` data. `upToSeq` (ours): everything from the other side up to it is READ. */
export interface StatusUpdatedData {
  messageId: string;
  conversationId: string;
  status: 'DELIVERED' | 'READ';
  userId: number;
  at: string;
  upToSeq?: number;
}

/**
 * `PATCH /conversations/:id/read` and `chat-mark-read`: every message from the other side
 * becomes READ for the caller's side (shared by all of a provider's staff), and its unread count
 * becomes 0.
 *
 * Then `chat-message-status-updated {messageId, conversationId, status: "READ", userId, at, upToSeq}`
 * goes to every connection of both sides (and room watchers). Frames stay bounded: up to
 * {@link MARK_READ_FRAME_LIMIT} messages moved, one frame each, in seq order; more than that,
 * one frame for the newest moved message. Every frame carries `upToSeq` (the side's new read
 * position), which says that every message from the other side up to that seq is READ — so a
 * client updates the whole range from any one frame. Nothing moved, nothing sent.
 *
 * @throws NotFoundError when the conversation does not exist.
 * @throws ForbiddenError for non-participants and admins.
 */
export function makeMarkRead(deps: MarkReadDeps) {
  const { conversations, messages, deliver, publish, clock, logger } = deps;
  return async ({ identity, conversationId }: MarkReadInput): Promise<MarkReadResult> => {
    const conversation = await loadConversation(conversations, conversationId);
    const side = requireParticipant(identity, conversation);
    const now = clock.now();
    const result = await messages.markRead(conversationId, side, now);

    const moved = result.messages.length <= MARK_READ_FRAME_LIMIT ? result.messages : result.messages.slice(-1);
    const published = publish(result.changes, { message: result.messages.at(-1) ?? null, conversation });
    if (moved.length > 0) {
      await notifyAfterCommit(logger, 'chat-message-status-updated', async () => {
        let audience = await conversationAudience(deps, conversation);
        for (const message of moved) {
          const data: StatusUpdatedData = {
            messageId: message.id,
            conversationId,
            status: 'READ',
            userId: identity.userId,
            at: iso(now),
            upToSeq: result.lastReadSeq,
          };
          // One frame after another keeps them in seq order on each connection; a gone
          // connection is pruned once and not posted to again.
          const report = await deliver(frame('chat-message-status-updated', data), audience);
          if (report.gone.length > 0) audience = audience.filter((id) => !report.gone.includes(id));
        }
      });
    }
    await published;
    return { conversationId, lastReadSeq: result.lastReadSeq, unreadCount: 0, readCount: result.messages.length };
  };
}
