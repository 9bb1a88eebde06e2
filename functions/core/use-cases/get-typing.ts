import type { Settings } from '#config/settings';
import type { Identity, Role } from '#core/model';
import type { Clock, ConversationStore, TypingStore } from '#core/ports';
import { loadConversation, requireReader } from './access.ts';
import { iso } from './wire.ts';

export interface GetTypingDeps {
  conversations: Pick<ConversationStore, 'get'>;
  typing: Pick<TypingStore, 'list'>;
  clock: Clock;
  limits: Pick<Settings, 'CHAT_TYPING_TIMEOUT'>;
}

export interface GetTypingInput {
  identity: Identity;
  conversationId: string;
}

export interface GetTypingResult {
  conversationId: string;
  /** Oldest first. */
  typing: { userId: number; role: Role; since: string }[];
}

/**
 * `GET /conversations/:id/typing`: who is typing now. A state older than `CHAT_TYPING_TIMEOUT`
 * never appears, even one stored with a longer life (a timeout lowered since). The caller's own
 * state is listed like anyone's. Participants and admins may read.
 *
 * @throws NotFoundError when the conversation does not exist.
 * @throws ForbiddenError for non-participants.
 */
export function makeGetTyping({ conversations, typing, clock, limits }: GetTypingDeps) {
  return async ({ identity, conversationId }: GetTypingInput): Promise<GetTypingResult> => {
    requireReader(identity, await loadConversation(conversations, conversationId));
    const now = clock.now().getTime();
    const states = await typing.list(conversationId, now);
    const fresh = states
      .filter((state) => state.expiresAt > now && now - state.since < limits.CHAT_TYPING_TIMEOUT)
      .sort((a, b) => a.since - b.since || a.userId - b.userId);
    return {
      conversationId,
      typing: fresh.map((state) => ({ userId: state.userId, role: state.role, since: iso(state.since) })),
    };
  };
}
