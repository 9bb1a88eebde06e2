/**
 * The `chat-error` codes each WebSocket action can answer, beyond the ones every action shares
 * (VALIDATION_ERROR for bad data, UNAUTHORIZED on a bare connection for a signed-in action,
 * UNAVAILABLE, INTERNAL). Typed by route key so that a new action cannot go undocumented; the
 * API reference page (/api/docs) renders it.
 */
import type { ErrorCode } from '../errors.ts';
import type { RouteKey } from './actions.ts';

export interface ActionErrorDoc {
  code: ErrorCode;
  when: string;
}

export const WS_ACTION_ERRORS = {
  authenticate: [{ code: 'UNAUTHORIZED', when: 'a refused or expired token; the connection stays open until its deadline' }],
  joinConversation: [
    { code: 'NOT_FOUND', when: 'no conversation with this id' },
    { code: 'FORBIDDEN', when: 'the caller is neither a participant nor an admin' },
  ],
  leaveConversation: [],
  sendMessage: [
    { code: 'FORBIDDEN', when: 'the caller is not a participant' },
    { code: 'NOT_FOUND', when: 'no conversation with this id' },
    { code: 'CONFLICT', when: 'the conversation is not ACTIVE, or an attachment is still PENDING' },
    { code: 'PAYLOAD_TOO_LARGE', when: 'content or metadata over their limits (details name the limit)' },
    { code: 'RATE_LIMITED', when: 'over CHAT_SEND_RATE_LIMIT sends per window; details {retryAfterMs, resetAt}' },
  ],
  typing: [
    { code: 'NOT_FOUND', when: 'no conversation with this id' },
    { code: 'FORBIDDEN', when: 'the caller is not a participant (admins included)' },
  ],
  updateMessageStatus: [
    { code: 'NOT_FOUND', when: 'no such message' },
    { code: 'FORBIDDEN', when: 'the sending side, a non-participant or an admin' },
  ],
  markRead: [
    { code: 'NOT_FOUND', when: 'no conversation with this id' },
    { code: 'FORBIDDEN', when: 'the caller is not a participant' },
  ],
  editMessage: [
    { code: 'NOT_FOUND', when: 'no such message (in the conversation given)' },
    { code: 'FORBIDDEN', when: "only a message's sender may edit it" },
    { code: 'CONFLICT', when: 'not TEXT, deleted, past CHAT_EDIT_WINDOW_SECONDS, or the conversation is not ACTIVE' },
    { code: 'PAYLOAD_TOO_LARGE', when: 'content longer than CHAT_MAX_CONTENT_LENGTH characters' },
  ],
  deleteMessage: [
    { code: 'NOT_FOUND', when: 'no such message (in the conversation given)' },
    { code: 'FORBIDDEN', when: "only a message's sender, or an admin, may delete it" },
  ],
  react: [
    { code: 'NOT_FOUND', when: 'no such message (in the conversation given)' },
    { code: 'FORBIDDEN', when: 'the caller is not a participant' },
    { code: 'CONFLICT', when: 'the message is deleted, the conversation is not ACTIVE, or it has CHAT_MAX_REACTIONS_PER_MESSAGE distinct emoji' },
  ],
  ping: [],
} as const satisfies Record<RouteKey, readonly ActionErrorDoc[]>;
