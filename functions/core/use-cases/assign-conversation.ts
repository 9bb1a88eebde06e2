/**
 * `PATCH /conversations/:id/assignee {userId | null}`: who handles a conversation in the
 * provider's shared inbox, set by the provider's staff (any of them: to themselves, a colleague,
 * or nobody). One statement assigns it and records `conversation.updated`; then
 * `chat-conversation-updated {conversation}` goes to every connection of both sides, as a status
 * change does. Assigning the user it is assigned to already changes nothing and records nothing.
 * An ENDED conversation is read-only: 409.
 *
 * The product keeps no staff directory (the marketplace's identity provider does): any user id
 * is accepted, and the inbox filter `assignee=<userId>` finds what was assigned to it.
 */
import { ConflictError, NotFoundError } from '#core/errors';
import type { Identity } from '#core/model';
import { requireCapability } from '#core/policy';
import type { Clock, ConversationStore } from '#core/ports';
import { loadConversation } from './access.ts';
import { announce, type AnnounceDeps } from './publish.ts';
import { frame, toWireConversation, type WireConversation } from './wire.ts';

export interface AssignConversationDeps extends AnnounceDeps {
  conversations: Pick<ConversationStore, 'get' | 'assign' | 'summaryFor'>;
  clock: Clock;
}

export interface AssignConversationInput {
  identity: Identity;
  conversationId: string;
  /** The staff user to assign; null unassigns. */
  userId: number | null;
}

const ENDED = 'An ENDED conversation is read-only and cannot be assigned';

export function makeAssignConversation(deps: AssignConversationDeps) {
  const { conversations, clock } = deps;
  return async ({ identity, conversationId, userId }: AssignConversationInput): Promise<{ conversation: WireConversation }> => {
    const conversation = await loadConversation(conversations, conversationId);
    requireCapability(identity, 'assign', conversation);
    if (conversation.status === 'ENDED') throw new ConflictError(ENDED, { status: conversation.status });

    const assigned = await conversations.assign(conversationId, userId, clock.now());
    if (!assigned) {
      // Ended (or gone) since it was read.
      if (!(await conversations.get(conversationId))) throw new NotFoundError('Conversation not found');
      throw new ConflictError(ENDED, { status: 'ENDED' });
    }
    if (assigned.changes.length > 0) {
      const wire = toWireConversation(assigned.conversation);
      await announce(deps, assigned.conversation, frame('chat-conversation-updated', { conversation: wire }), assigned.changes, { conversation: assigned.conversation });
    }
    const summary = await conversations.summaryFor(conversationId, 'provider');
    return { conversation: toWireConversation(summary ?? assigned.conversation) };
  };
}
