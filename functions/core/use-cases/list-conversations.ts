import { ForbiddenError, ValidationError } from '#core/errors';
import type { Identity } from '#core/model';
import type { ConversationStore } from '#core/ports';
import { requireParty } from './access.ts';
import { toWireConversation, type WireConversation } from './wire.ts';

export const DEFAULT_INBOX_PAGE = 20;
export const MAX_INBOX_PAGE = 100;

export interface ListConversationsDeps {
  conversations: Pick<ConversationStore, 'listForParty'>;
}

export interface ListConversationsInput {
  identity: Identity;
  /** ACTIVE (default): the side's inbox. ARCHIVED: what the side archived. */
  status?: 'ACTIVE' | 'ARCHIVED';
  /** Provider staff only: assigned to the caller (`me`), to nobody (`unassigned`), or to this user id. */
  assignee?: 'me' | 'unassigned' | number;
  /** 1–100, default 20. */
  limit?: number;
  /** `nextCursor` of the previous page. */
  cursor?: string | null;
}

export interface ListConversationsResult {
  conversations: WireConversation[];
  nextCursor: string | null;
}

/**
 * `GET /conversations`: the caller's side's conversations, newest activity first, each with that
 * side's unread count and the last message. Provider staff share their business's inbox.
 *
 * `status` filters on the caller's side's archive, not the conversation's own status; `assignee`
 * (staff only) on who handles it in the shared inbox.
 *
 * Admins have no side and so no inbox: they read conversations by id. Rather than an empty list,
 * which would look like "nothing to moderate", they get a ForbiddenError saying so.
 *
 * @throws ValidationError for a bad status, limit or cursor.
 * @throws ForbiddenError for admins.
 */
export function makeListConversations({ conversations }: ListConversationsDeps) {
  return async ({ identity, status = 'ACTIVE', assignee, limit = DEFAULT_INBOX_PAGE, cursor }: ListConversationsInput): Promise<ListConversationsResult> => {
    if (status !== 'ACTIVE' && status !== 'ARCHIVED') {
      throw new ValidationError('status must be ACTIVE or ARCHIVED', { field: 'status' });
    }
    if (!Number.isInteger(limit) || limit < 1) throw new ValidationError('limit must be a positive integer', { field: 'limit' });
    const party = requireParty(identity, 'Admins and services have no inbox; open a conversation by its id');
    if (assignee !== undefined && party.side !== 'provider') {
      throw new ForbiddenError("Only the provider's staff filter their shared inbox by assignee");
    }
    const page = await conversations.listForParty(party, {
      archived: status === 'ARCHIVED',
      ...(assignee === undefined ? {} : { assignee: assignee === 'me' ? identity.userId : assignee === 'unassigned' ? null : assignee }),
      limit: Math.min(limit, MAX_INBOX_PAGE),
      cursor: cursor ?? null,
    });
    return { conversations: page.conversations.map(toWireConversation), nextCursor: page.nextCursor };
  };
}
