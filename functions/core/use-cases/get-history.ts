import type { Settings } from '#config/settings';
import { ValidationError } from '#core/errors';
import type { Identity } from '#core/model';
import type { ConversationStore, HistoryQuery, MessageStore } from '#core/ports';
import { loadConversation, requireReader } from './access.ts';
import { toWireMessage, type WireMessage } from './wire.ts';

/** The page size when the client names none (the seed's clients ask for 50). Never above CHAT_MESSAGE_LIMIT. */
export const DEFAULT_HISTORY_PAGE = 50;

export interface GetHistoryDeps {
  conversations: Pick<ConversationStore, 'get'>;
  messages: Pick<MessageStore, 'history'>;
  limits: Pick<Settings, 'CHAT_MESSAGE_LIMIT'>;
}

/** At most one of `page`, `after`, `before`; none means page 1. */
export interface GetHistoryInput {
  identity: Identity;
  conversationId: string;
  /** 1 = the newest page. */
  page?: number;
  /** Capped at CHAT_MESSAGE_LIMIT. */
  limit?: number;
  /** Catch-up: messages with a seq above this, oldest first. */
  after?: number;
  /** Walk back: the page just older than this seq. */
  before?: number;
}

export interface HistoryPagination {
  /** Set for page queries. */
  page?: number;
  /** The page size used (after capping). */
  limit: number;
  /** Messages in the conversation (its newest seq). */
  total: number;
  /** More messages exist in the direction of travel: older for page/before, newer for after. */
  hasMore: boolean;
  /** Echoes the request's `after`; the next catch-up page is `after` = the last message's seq. */
  after?: number;
  /** Echoes the request's `before`; the next older page is `before` = the first message's seq. */
  before?: number;
}

export interface GetHistoryResult {
  /** Ascending by seq. */
  messages: WireMessage[];
  pagination: HistoryPagination;
}

function isInt(value: number | undefined, min: number): boolean {
  return value === undefined || (Number.isInteger(value) && value >= min);
}

/**
 * `GET /conversations/:id/messages`: message history, by page (1 = newest), after a seq
 * (catch-up) or before a seq (walking back). Messages ascend by seq inside every page.
 * Participants and admins may read.
 *
 * @throws ValidationError for more than one of page/after/before, or a bad number.
 * @throws NotFoundError when the conversation does not exist.
 * @throws ForbiddenError for non-participants.
 */
export function makeGetHistory({ conversations, messages, limits }: GetHistoryDeps) {
  return async (input: GetHistoryInput): Promise<GetHistoryResult> => {
    const { identity, conversationId, page, after, before } = input;
    if ([page, after, before].filter((value) => value !== undefined).length > 1) {
      throw new ValidationError('use at most one of page, after and before');
    }
    const checks: [field: string, ok: boolean][] = [
      ['page', isInt(page, 1)],
      ['limit', isInt(input.limit, 1)],
      ['after', isInt(after, 0)],
      ['before', isInt(before, 1)],
    ];
    const invalid = checks.filter(([, ok]) => !ok).map(([field]) => field);
    if (invalid.length > 0) {
      throw new ValidationError('page, limit and before must be positive integers, after a non-negative one', { fields: invalid });
    }
    const cap = limits.CHAT_MESSAGE_LIMIT;
    const limit = Math.min(input.limit ?? DEFAULT_HISTORY_PAGE, cap);

    const conversation = await loadConversation(conversations, conversationId);
    requireReader(identity, conversation);

    let query: HistoryQuery;
    let echo: Pick<HistoryPagination, 'page' | 'after' | 'before'>;
    if (after !== undefined) {
      query = { kind: 'after', afterSeq: after, limit };
      echo = { after };
    } else if (before !== undefined) {
      query = { kind: 'before', beforeSeq: before, limit };
      echo = { before };
    } else {
      query = { kind: 'page', page: page ?? 1, limit };
      echo = { page: page ?? 1 };
    }
    const found = await messages.history(conversationId, query);
    return {
      messages: found.messages.map(toWireMessage),
      pagination: { ...echo, limit, total: found.total, hasMore: found.hasMore },
    };
  };
}
