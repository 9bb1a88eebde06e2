import type { Settings } from '#config/settings';
import { ForbiddenError } from '#core/errors';
import { partyOf, type Identity } from '#core/model';
import type { Clock, ConversationStore, Logger, SubscriptionStore, TypingStore } from '#core/ports';
import { ADMIN_READ_ONLY, loadConversation, requireParticipant } from './access.ts';
import { notifyAfterCommit, type Deliver } from './deliver.ts';
import { frame } from './wire.ts';

export interface TypingDeps {
  conversations: Pick<ConversationStore, 'get'>;
  subscriptions: Pick<SubscriptionStore, 'connectionsIn'>;
  typing: Pick<TypingStore, 'set' | 'clear'>;
  deliver: Deliver;
  clock: Clock;
  logger: Logger;
  limits: Pick<Settings, 'CHAT_TYPING_TIMEOUT'>;
}

export interface TypingInput {
  identity: Identity;
  conversationId: string;
  isTyping: boolean;
  /** The typist's connection. When it has joined the room, that join already proved access. */
  connectionId?: string;
}

/** `chat-user-typing` data. */
export interface TypingData {
  conversationId: string;
  userId: number;
  isTyping: boolean;
  /** How long the state lives without another `chat-typing` (0 when it stopped). */
  expiresInMs: number;
}

/**
 * `chat-typing`: records that a participant started or stopped typing, and tells the room.
 *
 * Starting stores a state that lives `CHAT_TYPING_TIMEOUT` ms; each new `chat-typing` renews it
 * (its `since` becomes the time of that latest frame, which is what `getTyping` ages by);
 * stopping clears it at once. `chat-user-typing {conversationId, userId, isTyping,
 * expiresInMs}` goes to the connections that joined the conversation, except every connection
 * of the typist (their other devices too).
 *
 * Typing frames arrive many times a second, so when the typist's connection has joined the room
 * as this user, that join (which checked access) is the proof and Postgres is not asked again.
 *
 * @throws NotFoundError when the conversation does not exist.
 * @throws ForbiddenError for non-participants, admins and services.
 */
export function makeTyping({ conversations, subscriptions, typing, deliver, clock, logger, limits }: TypingDeps) {
  return async ({ identity, conversationId, isTyping, connectionId }: TypingInput): Promise<TypingData> => {
    if (!partyOf(identity)) throw new ForbiddenError(ADMIN_READ_ONLY);
    const room = await subscriptions.connectionsIn(conversationId);
    const joined = room.some((s) => s.connectionId === connectionId && s.userId === identity.userId);
    if (!joined) requireParticipant(identity, await loadConversation(conversations, conversationId));

    const now = clock.now().getTime();
    const timeout = limits.CHAT_TYPING_TIMEOUT;
    if (isTyping) {
      await typing.set({ conversationId, userId: identity.userId, role: identity.role, since: now, expiresAt: now + timeout });
    } else {
      await typing.clear(conversationId, identity.userId);
    }

    const data: TypingData = { conversationId, userId: identity.userId, isTyping, expiresInMs: isTyping ? timeout : 0 };
    const others = room.filter((s) => s.userId !== identity.userId).map((s) => s.connectionId);
    await notifyAfterCommit(logger, 'chat-user-typing', () => deliver(frame('chat-user-typing', data), others));
    return data;
  };
}
