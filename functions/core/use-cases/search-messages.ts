/**
 * `GET /search/messages`: full-text search over the messages the caller may read, best match
 * first. A customer or provider searches their side's conversations; a caller who may read every
 * conversation (an admin) searches them all; `conversationId` narrows it to one conversation the
 * caller may read (403 / 404 as reading it would). Deleted messages never match; an edited one
 * matches its new content.
 */
import { canEverywhere } from '#core/policy';
import type { Identity } from '#core/model';
import type { ConversationStore, MessageSearch, SearchScope } from '#core/ports';
import { highlight, searchWords } from '#core/search';
import { loadConversation, requireParty, requireReader } from './access.ts';
import { toWireMessage, type WireMessage } from './wire.ts';

export interface SearchMessagesDeps {
  conversations: Pick<ConversationStore, 'get'>;
  search: MessageSearch;
}

export interface SearchMessagesInput {
  identity: Identity;
  q: string;
  conversationId?: string;
  limit: number;
  cursor?: string | null;
}

export interface SearchMessagesResult {
  results: { message: WireMessage; highlight: string }[];
  nextCursor: string | null;
}

export function makeSearchMessages({ conversations, search }: SearchMessagesDeps) {
  async function scopeOf(identity: Identity, conversationId: string | undefined): Promise<SearchScope> {
    if (conversationId !== undefined) {
      requireReader(identity, await loadConversation(conversations, conversationId));
      return { kind: 'conversation', conversationId };
    }
    if (canEverywhere(identity, 'read')) return { kind: 'everywhere' };
    return { kind: 'party', ...requireParty(identity, 'Only participants search their conversations') };
  }

  return async ({ identity, q, conversationId, limit, cursor }: SearchMessagesInput): Promise<SearchMessagesResult> => {
    const words = searchWords(q);
    const scope = await scopeOf(identity, conversationId);
    const page = await search.search({ scope, words, limit, cursor: cursor ?? null });
    return {
      results: page.messages.map((message) => ({ message: toWireMessage(message), highlight: highlight(message.content, words) })),
      nextCursor: page.nextCursor,
    };
  };
}
