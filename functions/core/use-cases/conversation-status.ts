/**
 * Block, unblock and end (`POST /conversations/:id/block|unblock|end`): status changes of a
 * conversation, as the policy (functions/core/policy.ts) allows them. Each is one statement that
 * moves the status only from an allowed one and records `conversation.updated`, then
 * `chat-conversation-updated {conversation}` goes to every connection of both sides.
 *
 * - **Block** (either side, or an admin): sends answer 409 and the same customer and provider
 *   cannot start another conversation while it stays blocked. A send racing the block either
 *   committed before it (the block waits for its row lock) or sees BLOCKED and is refused.
 * - **Unblock** (only the actor who blocked it, or an admin): ACTIVE again.
 * - **End** (the provider's staff, or an admin): read-only for good; the pair may start a new
 *   conversation for the same order afterwards. A blocked conversation must be unblocked first,
 *   so ending it never lifts a block.
 *
 * Repeating a change that already holds (blocking a blocked conversation, ending an ended one,
 * unblocking an active one) answers the conversation as it is and changes nothing.
 */
import { ConflictError, NotFoundError } from '#core/errors';
import { sideOf, type ConversationStatus, type Identity } from '#core/model';
import { can, requireCapability, type Capability } from '#core/policy';
import type { Clock, ConversationStore } from '#core/ports';
import { loadConversation } from './access.ts';
import { announce, type AnnounceDeps } from './publish.ts';
import { frame, toWireConversation, type WireConversation } from './wire.ts';

export interface ConversationStatusDeps extends AnnounceDeps {
  conversations: Pick<ConversationStore, 'get' | 'transition' | 'summaryFor'>;
  clock: Clock;
}

export interface ConversationStatusInput {
  identity: Identity;
  conversationId: string;
}

interface Move {
  capability: Capability;
  to: ConversationStatus;
  from: readonly ConversationStatus[];
  /** Why a conversation in another status cannot take this move. */
  refusal: (status: ConversationStatus) => string;
}

const MOVES = {
  block: { capability: 'block', to: 'BLOCKED', from: ['ACTIVE', 'ARCHIVED'], refusal: (status) => `An ${status} conversation cannot be blocked` },
  unblock: { capability: 'unblock', to: 'ACTIVE', from: ['BLOCKED'], refusal: (status) => `An ${status} conversation cannot be unblocked` },
  end: {
    capability: 'end',
    to: 'ENDED',
    from: ['ACTIVE', 'ARCHIVED'],
    refusal: (status) => (status === 'BLOCKED' ? 'A blocked conversation must be unblocked before it can be ended' : `An ${status} conversation cannot be ended`),
  },
} as const satisfies Record<string, Move>;

export type StatusMove = keyof typeof MOVES;

function makeMove(deps: ConversationStatusDeps, name: StatusMove) {
  const move: Move = MOVES[name];
  const { conversations, clock } = deps;

  /** The caller's view: their side's summary, or the bare conversation for an admin. */
  const viewOf = async (identity: Identity, conversation: Parameters<typeof toWireConversation>[0]) => {
    const side = sideOf(identity, conversation);
    return toWireConversation(side ? ((await conversations.summaryFor(conversation.id, side)) ?? conversation) : conversation);
  };

  return async ({ identity, conversationId }: ConversationStatusInput): Promise<{ conversation: WireConversation }> => {
    const conversation = await loadConversation(conversations, conversationId);
    // Already so: nothing to change, for anyone who could have made the change.
    if (conversation.status === move.to && can(identity, name === 'unblock' ? 'block' : move.capability, conversation)) {
      return { conversation: await viewOf(identity, conversation) };
    }
    const actor = requireCapability(identity, move.capability, conversation);
    if (!move.from.includes(conversation.status)) throw new ConflictError(move.refusal(conversation.status), { status: conversation.status });

    const moved = await conversations.transition(conversationId, { from: move.from, to: move.to, blockedBy: move.to === 'BLOCKED' ? actor : null, at: clock.now() });
    if (!moved) {
      // Someone else changed it in the meantime: answer by its status now.
      const current = await conversations.get(conversationId);
      if (!current) throw new NotFoundError('Conversation not found');
      if (current.status === move.to) return { conversation: await viewOf(identity, current) };
      throw new ConflictError(move.refusal(current.status), { status: current.status });
    }
    const wire = toWireConversation(moved.conversation);
    await announce(deps, moved.conversation, frame('chat-conversation-updated', { conversation: wire }), moved.changes, { conversation: moved.conversation });
    return { conversation: await viewOf(identity, moved.conversation) };
  };
}

export const makeBlockConversation = (deps: ConversationStatusDeps) => makeMove(deps, 'block');
export const makeUnblockConversation = (deps: ConversationStatusDeps) => makeMove(deps, 'unblock');
export const makeEndConversation = (deps: ConversationStatusDeps) => makeMove(deps, 'end');
