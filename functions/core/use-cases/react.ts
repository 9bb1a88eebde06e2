import type { Settings } from '#config/settings';
import { ConflictError } from '#core/errors';
import type { Identity, Message, Reaction } from '#core/model';
import type { Clock, MessageContext, MessageStore } from '#core/ports';
import { loadReadableMessage, requireParticipant } from './access.ts';
import { announce, type AnnounceDeps } from './publish.ts';
import { frame, toWireMessage, type WireMessage } from './wire.ts';

export interface ReactDeps extends AnnounceDeps {
  messages: Pick<MessageStore, 'context' | 'setReactions'>;
  clock: Clock;
  limits: Pick<Settings, 'CHAT_MAX_REACTIONS_PER_MESSAGE'>;
}

export interface ReactInput {
  identity: Identity;
  messageId: string;
  /** One emoji (the protocol validates it). */
  emoji: string;
  /** true adds the caller's reaction, false removes it. */
  added: boolean;
  /** The conversation the request names (REST path); the message must be in it. */
  conversationId?: string;
}

/** Writes that lost a race to another reaction on the same message are tried again this often. */
const ATTEMPTS = 5;

/**
 * The reactions after `userId` adds or removes `emoji`, or null when nothing changes (adding a
 * reaction the user already has, removing one they do not). A new emoji goes last; an emoji
 * nobody uses any more disappears.
 * @throws ConflictError when adding would give the message more than `max` distinct emoji.
 */
export function nextReactions(reactions: readonly Reaction[], emoji: string, userId: number, added: boolean, max: number): Reaction[] | null {
  const existing = reactions.find((reaction) => reaction.emoji === emoji);
  const has = existing?.userIds.includes(userId) ?? false;
  if (added === has) return null;
  if (!added) {
    return reactions
      .map((reaction) => (reaction.emoji === emoji ? { emoji, userIds: reaction.userIds.filter((id) => id !== userId) } : reaction))
      .filter((reaction) => reaction.userIds.length > 0);
  }
  if (existing) return reactions.map((reaction) => (reaction.emoji === emoji ? { emoji, userIds: [...reaction.userIds, userId] } : reaction));
  if (reactions.length >= max) {
    throw new ConflictError(`A message can carry at most ${max} different emoji`, { maxReactions: max });
  }
  return [...reactions, { emoji, userIds: [userId] }];
}

function requireReactable({ message, conversation }: MessageContext): void {
  if (message.deletedAt) throw new ConflictError('A deleted message cannot be reacted to');
  if (conversation.status !== 'ACTIVE') throw new ConflictError(`Conversation is ${conversation.status}; messages can no longer change`);
}

/**
 * Adds or removes the caller's reaction (`PUT`/`DELETE …/reactions/:emoji`, `chat-react`).
 * Participants only, on a message that is not deleted, in an ACTIVE conversation. Idempotent
 * per user and emoji: a repeat answers the message as it stands and broadcasts nothing.
 * Otherwise `reaction.updated` is recorded and `chat-reaction-updated {conversationId,
 * messageId, emoji, userId, added, reactions}` goes to every connection of both sides.
 *
 * Concurrent reactions to one message never lose each other: the write is a compare-and-set
 * on the reactions read, tried again on a fresh read when another one got in first.
 *
 * @throws NotFoundError, ForbiddenError (admins, non-participants), ConflictError (deleted, not
 * ACTIVE, too many distinct emoji).
 */
export function makeReact(deps: ReactDeps) {
  const { messages, clock, limits } = deps;
  return async ({ identity, messageId, emoji, added, conversationId }: ReactInput): Promise<{ message: WireMessage }> => {
    let context: MessageContext = await loadReadableMessage(messages, identity, messageId, conversationId);
    requireParticipant(identity, context.conversation);
    for (let attempt = 1; ; attempt++) {
      requireReactable(context);
      const next = nextReactions(context.message.reactions, emoji, identity.userId, added, limits.CHAT_MAX_REACTIONS_PER_MESSAGE);
      if (!next) return { message: toWireMessage(context.message) };
      const written = await messages.setReactions(messageId, context.message.reactions, next, clock.now());
      if (written) return publishReaction(written.message, written.changes);
      if (attempt === ATTEMPTS) throw new ConflictError('The message is changing too fast; try again');
      context = await loadReadableMessage(messages, identity, messageId, conversationId);
    }

    async function publishReaction(message: Message, changes: Parameters<typeof announce>[3]) {
      const wire = toWireMessage(message);
      const data = { conversationId: context.conversation.id, messageId, emoji, userId: identity.userId, added, reactions: wire.reactions };
      await announce(deps, context.conversation, frame('chat-reaction-updated', data), changes, { message, conversation: context.conversation });
      return { message: wire };
    }
  };
}
