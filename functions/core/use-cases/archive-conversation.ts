import { NotFoundError } from '#core/errors';
import type { Identity } from '#core/model';
import type { Clock, ConversationStore } from '#core/ports';
import { loadConversation, requireParticipant } from './access.ts';
import type { PublishChanges } from './publish.ts';
import { toWireConversation, type WireConversation } from './wire.ts';

export interface ArchiveConversationDeps {
  conversations: Pick<ConversationStore, 'get' | 'archive'>;
  publish: PublishChanges;
  clock: Clock;
}

export interface ArchiveConversationInput {
  identity: Identity;
  conversationId: string;
}

/**
 * `PATCH /conversations/:id/archive`: archives the conversation for the caller's side only (the
 * other side still sees it in its inbox). Archiving twice keeps the first time. A new message
 * brings it back to both inboxes.
 *
 * @returns `{conversation}`: the caller's side's view, with `archived: true`.
 * @throws NotFoundError when the conversation does not exist.
 * @throws ForbiddenError for non-participants and admins.
 */
export function makeArchiveConversation({ conversations, publish, clock }: ArchiveConversationDeps) {
  return async ({ identity, conversationId }: ArchiveConversationInput): Promise<{ conversation: WireConversation }> => {
    const conversation = await loadConversation(conversations, conversationId);
    const side = requireParticipant(identity, conversation);
    const archived = await conversations.archive(conversationId, side, clock.now());
    if (!archived) throw new NotFoundError('Conversation not found');
    await publish(archived.changes, { conversation });
    return { conversation: toWireConversation(archived.summary) };
  };
}
