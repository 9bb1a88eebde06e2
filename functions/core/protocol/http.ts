/**
 * The HTTP contract: for every route of the manifest, the schemas of its path parameters, query
 * and body, and every status it can answer with that answer's body. The handlers validate
 * requests with the same request schemas, the OpenAPI document (functions/handlers/shared/
 * openapi.ts) is generated from this map, and the test harnesses validate every response body
 * against the schema declared for its status, so the document, the API and the tests cannot drift.
 *
 * Error statuses are listed only where the route can answer them: 409 where a conflict exists,
 * 410 only on /sync, 413 only where content has a limit, 429 only where sends are rate-limited.
 */
import * as z from 'zod';
import type { HTTP_ROUTES } from '../../config/routes.ts';
import { int, isoDate } from './primitives.ts';
import {
  assignConversationBody,
  attachmentContentQuery,
  attachmentIdParam,
  createAttachmentBody,
  conversationIdParam,
  deviceIdParam,
  editMessageBody,
  historyQuery,
  listConversationsQuery,
  listReportsQuery,
  messageIdParam,
  muteConversationBody,
  providerIdParam,
  providerStatsQuery,
  reportIdParam,
  reportMessageBody,
  resolveReportBody,
  searchMessagesQuery,
  reactionParam,
  registerDeviceBody,
  sendMessageBody,
  startConversationBody,
  syncQuery,
} from './requests.ts';
import {
  attachmentIntentResult,
  attachmentResult,
  authorizerRefusal,
  conversationResult,
  deviceResult,
  markReadResult,
  messageResult,
  muteResult,
  providerStatsResult,
  reportResult,
  wireChange,
  wireReport,
  wireDevice,
  wireConversation,
  wireError,
  wireMessage,
  wirePresence,
} from './wire.ts';
import { ROLES } from '../model.ts';

export type HttpRouteName = (typeof HTTP_ROUTES)[number]['name'];

export interface HttpResponseSpec {
  description: string;
  /** The JSON body; none for a body that is not JSON (the docs page). */
  schema?: z.ZodType;
}

export interface HttpOperation {
  params?: z.ZodType;
  query?: z.ZodType;
  body?: z.ZodType;
  responses: Record<number, HttpResponseSpec>;
}

const fail = (description: string): HttpResponseSpec => ({ description, schema: wireError });

/** Every authorized route: the authorizer (or, without verified claims, the handler) refuses. */
const UNAUTHORIZED: HttpResponseSpec = {
  description:
    'UNAUTHORIZED: no valid bearer token. API Gateway\'s JWT authorizer answers {"message":"Unauthorized"} before any handler runs (the local runtime adds the contract\'s error beside it).',
  schema: z.union([authorizerRefusal, wireError]),
};
/** Every route that reads Postgres or DynamoDB. */
const UNAVAILABLE = fail('UNAVAILABLE: Postgres or DynamoDB did not answer in time; retry with backoff');
const INTERNAL = fail('INTERNAL: something went wrong on our side (logged; the message says nothing more)');

const badConversationId = 'VALIDATION_ERROR: conversationId is not an id (1–64 characters, no U+0000)';
const noConversation = 'NOT_FOUND: no conversation with this id';
const notParticipant = "FORBIDDEN: the caller is not a participant (admins and services may read but never act)";
const notReader = 'FORBIDDEN: the caller is neither a participant, an admin nor a service';

const history = z.object({
  messages: z.array(wireMessage).describe('Ascending by seq'),
  pagination: z.object({
    page: int.optional().describe('Set for page queries (1 = newest)'),
    limit: int.describe('The page size used, after capping at CHAT_MESSAGE_LIMIT'),
    total: int.describe("The conversation's last seq"),
    hasMore: z.boolean().describe('More messages exist in the direction of travel'),
    after: int.optional().describe("Echoes the request's after"),
    before: int.optional().describe("Echoes the request's before"),
  }),
});

export const HTTP_CONTRACT = {
  startConversation: {
    body: startConversationBody,
    responses: {
      201: { description: 'Created: the new ACTIVE conversation, as the caller\'s side sees it', schema: conversationResult },
      200: { description: 'The ACTIVE conversation of this provider, customer and order already existed', schema: conversationResult },
      400: fail('VALIDATION_ERROR: providerId, customerId or orderId is not a positive integer'),
      401: UNAUTHORIZED,
      403: fail('FORBIDDEN: a customer may only start their own conversations, staff only their business\'s (admins and services any)'),
      409: fail('CONFLICT: a conversation of this customer and provider is BLOCKED'),
      500: INTERNAL,
      503: UNAVAILABLE,
    },
  },
  listConversations: {
    query: listConversationsQuery,
    responses: {
      200: {
        description: "The caller's side's conversations, newest activity first, each with its unread count and last message",
        schema: z.object({ conversations: z.array(wireConversation), nextCursor: z.string().nullable().describe('Pass as cursor for the next page; null on the last') }),
      },
      400: fail('VALIDATION_ERROR: a bad status, assignee or limit, or a cursor the API did not issue'),
      401: UNAUTHORIZED,
      403: fail("FORBIDDEN: admins and services have no inbox (they open conversations by id); only the provider's staff filter by assignee"),
      500: INTERNAL,
      503: UNAVAILABLE,
    },
  },
  getMessages: {
    params: conversationIdParam,
    query: historyQuery,
    responses: {
      200: { description: 'A page of messages, ascending by seq, and where it sits in the history', schema: history },
      400: fail(`${badConversationId}, or a bad page, limit, after or before (at most one of page, after and before)`),
      401: UNAUTHORIZED,
      403: fail(notReader),
      404: fail(noConversation),
      500: INTERNAL,
      503: UNAVAILABLE,
    },
  },
  sendMessage: {
    params: conversationIdParam,
    body: sendMessageBody,
    responses: {
      201: { description: 'Stored, then delivered to both sides as chat-new-message', schema: messageResult },
      200: { description: 'A repeated clientMessageId: the message stored the first time (delivered again)', schema: messageResult },
      400: fail(
        'VALIDATION_ERROR: blank TEXT content, an unknown messageType, a SYSTEM message from anyone but a service, a replyToId of another conversation; attachments that are not [{id}] of uploads (1 to 10), on a type other than IMAGE, FILE or VOICE, or that may not be sent (details {field: "attachments", refused: [{id, reason}]}); a LOCATION message without a valid metadata.location',
      ),
      401: UNAUTHORIZED,
      403: fail(notParticipant),
      404: fail(noConversation),
      409: fail('CONFLICT: the conversation is not ACTIVE (blocked or ended), or an attachment is still PENDING (details {field: "attachments", refused: [{id, reason: "pending"}]})'),
      413: fail('PAYLOAD_TOO_LARGE: content longer than CHAT_MAX_CONTENT_LENGTH characters (details {field, maxLength, length}), or metadata over CHAT_MAX_METADATA_BYTES bytes of JSON (details {field, maxBytes, bytes})'),
      429: fail('RATE_LIMITED: over CHAT_SEND_RATE_LIMIT sends per window; details {retryAfterMs, resetAt}'),
      500: INTERNAL,
      503: UNAVAILABLE,
    },
  },
  markRead: {
    params: conversationIdParam,
    responses: {
      200: { description: "Every message from the other side is READ for the caller's side, whose unread count is now 0", schema: markReadResult },
      400: fail(badConversationId),
      401: UNAUTHORIZED,
      403: fail(notParticipant),
      404: fail(noConversation),
      500: INTERNAL,
      503: UNAVAILABLE,
    },
  },
  archiveConversation: {
    params: conversationIdParam,
    responses: {
      200: { description: "Archived for the caller's side only (archived: true); a new message brings it back", schema: conversationResult },
      400: fail(badConversationId),
      401: UNAUTHORIZED,
      403: fail(notParticipant),
      404: fail(noConversation),
      500: INTERNAL,
      503: UNAVAILABLE,
    },
  },
  getTyping: {
    params: conversationIdParam,
    responses: {
      200: {
        description: 'Who is typing now, oldest first (states older than CHAT_TYPING_TIMEOUT never appear)',
        schema: z.object({ conversationId: z.string(), typing: z.array(z.object({ userId: int, role: z.enum(ROLES), since: isoDate })) }),
      },
      400: fail(badConversationId),
      401: UNAUTHORIZED,
      403: fail(notReader),
      404: fail(noConversation),
      500: INTERNAL,
      503: UNAVAILABLE,
    },
  },
  onlineUsers: {
    responses: {
      200: { description: 'Online users on the other side of the caller\'s conversations (every online user for an admin), by userId', schema: z.object({ users: z.array(wirePresence) }) },
      401: UNAUTHORIZED,
      403: fail('FORBIDDEN: services (who are on no side of a conversation)'),
      500: INTERNAL,
      503: UNAVAILABLE,
    },
  },
  editMessage: {
    params: messageIdParam,
    body: editMessageBody,
    responses: {
      200: { description: 'The edited message (editedAt set); both sides hear chat-message-updated', schema: messageResult },
      400: fail('VALIDATION_ERROR: a bad id, or blank content'),
      401: UNAUTHORIZED,
      403: fail("FORBIDDEN: only a message's sender may edit it"),
      404: fail('NOT_FOUND: no such message in this conversation'),
      409: fail('CONFLICT: the message is not TEXT or is deleted, CHAT_EDIT_WINDOW_SECONDS have passed since it was sent, or the conversation is not ACTIVE'),
      413: fail('PAYLOAD_TOO_LARGE: content longer than CHAT_MAX_CONTENT_LENGTH characters'),
      500: INTERNAL,
      503: UNAVAILABLE,
    },
  },
  deleteMessage: {
    params: messageIdParam,
    responses: {
      200: { description: 'The tombstone (deletedAt set, content gone); deleting again answers it unchanged', schema: messageResult },
      400: fail('VALIDATION_ERROR: conversationId or messageId is not an id'),
      401: UNAUTHORIZED,
      403: fail("FORBIDDEN: only a message's sender, or an admin, may delete it"),
      404: fail('NOT_FOUND: no such message in this conversation'),
      500: INTERNAL,
      503: UNAVAILABLE,
    },
  },
  addReaction: {
    params: reactionParam,
    responses: {
      200: { description: "The message with the caller's reaction (already there: unchanged)", schema: messageResult },
      400: fail('VALIDATION_ERROR: a bad id, or emoji is not exactly one emoji'),
      401: UNAUTHORIZED,
      403: fail(notParticipant),
      404: fail('NOT_FOUND: no such message in this conversation'),
      409: fail('CONFLICT: the message is deleted, the conversation is not ACTIVE, or the message already carries CHAT_MAX_REACTIONS_PER_MESSAGE distinct emoji'),
      500: INTERNAL,
      503: UNAVAILABLE,
    },
  },
  removeReaction: {
    params: reactionParam,
    responses: {
      200: { description: "The message without the caller's reaction (none there: unchanged)", schema: messageResult },
      400: fail('VALIDATION_ERROR: a bad id, or emoji is not exactly one emoji'),
      401: UNAUTHORIZED,
      403: fail(notParticipant),
      404: fail('NOT_FOUND: no such message in this conversation'),
      409: fail('CONFLICT: the message is deleted, or the conversation is not ACTIVE'),
      500: INTERNAL,
      503: UNAVAILABLE,
    },
  },
  sync: {
    query: syncQuery,
    responses: {
      200: {
        description: 'The changes visible to the caller after `since`, oldest first, each exactly once; continue with `cursor` while hasMore',
        schema: z.object({
          changes: z.array(wireChange),
          cursor: z.string().describe('Pass as since next time (the same cursor when nothing changed)'),
          hasMore: z.boolean(),
        }),
      },
      400: fail('VALIDATION_ERROR: a bad limit, or a since the API did not issue'),
      401: UNAUTHORIZED,
      403: fail('FORBIDDEN: admins and services have no change feed'),
      410: fail('CURSOR_EXPIRED: since is older than CHAT_SYNC_RETENTION_DAYS; sync again without it and reload'),
      500: INTERNAL,
      503: UNAVAILABLE,
    },
  },
  blockConversation: {
    params: conversationIdParam,
    responses: {
      200: { description: 'BLOCKED, with blockedBy; also when it was blocked already (nothing changes)', schema: conversationResult },
      400: fail(badConversationId),
      401: UNAUTHORIZED,
      403: fail("FORBIDDEN: only the conversation's participants, an admin or a service may block it"),
      404: fail(noConversation),
      409: fail('CONFLICT: the conversation is ENDED'),
      500: INTERNAL,
      503: UNAVAILABLE,
    },
  },
  unblockConversation: {
    params: conversationIdParam,
    responses: {
      200: { description: 'ACTIVE again; also when it was not blocked (nothing changes)', schema: conversationResult },
      400: fail(badConversationId),
      401: UNAUTHORIZED,
      403: fail('FORBIDDEN: only the actor that blocked it (a side or a service), or an admin, may unblock it'),
      404: fail(noConversation),
      409: fail('CONFLICT: the conversation is ENDED, or another conversation of this order is ACTIVE'),
      500: INTERNAL,
      503: UNAVAILABLE,
    },
  },
  endConversation: {
    params: conversationIdParam,
    responses: {
      200: { description: 'ENDED: read-only for good; also when it had ended already', schema: conversationResult },
      400: fail(badConversationId),
      401: UNAUTHORIZED,
      403: fail("FORBIDDEN: only the provider's staff, an admin or a service may end a conversation"),
      404: fail(noConversation),
      409: fail('CONFLICT: the conversation is BLOCKED (unblock it first)'),
      500: INTERNAL,
      503: UNAVAILABLE,
    },
  },
  assignConversation: {
    params: conversationIdParam,
    body: assignConversationBody,
    responses: {
      200: { description: "Assigned (or unassigned), with assigneeId, in the provider's view; also when it was assigned so already (nothing changes)", schema: conversationResult },
      400: fail(`${badConversationId}, or a userId that is neither a positive integer nor null`),
      401: UNAUTHORIZED,
      403: fail("FORBIDDEN: only the provider's staff may assign a conversation"),
      404: fail(noConversation),
      409: fail('CONFLICT: the conversation is ENDED'),
      500: INTERNAL,
      503: UNAVAILABLE,
    },
  },
  reportMessage: {
    params: messageIdParam,
    body: reportMessageBody,
    responses: {
      201: { description: 'Reported: the report, OPEN, in the admins\' review queue', schema: reportResult },
      200: { description: 'The caller had reported this message already: the same report', schema: reportResult },
      400: fail('VALIDATION_ERROR: a bad id, a reason that is not spam, abuse, scam, off_platform or other, or a note over 1000 characters'),
      401: UNAUTHORIZED,
      403: fail('FORBIDDEN: not a participant (admins do not report, they resolve; services do not report), or the caller\'s own message'),
      404: fail('NOT_FOUND: no such message in this conversation'),
      500: INTERNAL,
      503: UNAVAILABLE,
    },
  },
  searchMessages: {
    query: searchMessagesQuery,
    responses: {
      200: {
        description: 'The messages that match, best match first (then newest); never a deleted one, an edited one by its new content',
        schema: z.object({
          results: z.array(
            z.object({
              message: wireMessage,
              highlight: z.string().describe('The content around the first match, HTML-escaped, each matching word in <mark>…</mark>, … where it was cut'),
            }),
          ),
          nextCursor: z.string().nullable().describe('Pass as cursor (with the same q) for the next page; null on the last'),
        }),
      },
      400: fail('VALIDATION_ERROR: q without a word or with more than 8, a bad conversationId or limit, or a cursor the API did not issue for this search'),
      401: UNAUTHORIZED,
      403: fail(`${notReader} (with conversationId)`),
      404: fail(`${noConversation} (with conversationId)`),
      500: INTERNAL,
      503: UNAVAILABLE,
    },
  },
  listReports: {
    query: listReportsQuery,
    responses: {
      200: {
        description: 'The review queue, oldest first, each report with its message as it is now',
        schema: z.object({ reports: z.array(wireReport), nextCursor: z.string().nullable().describe('Pass as cursor for the next page; null on the last') }),
      },
      400: fail('VALIDATION_ERROR: a status that is not OPEN or RESOLVED, a bad limit, or a cursor the API did not issue'),
      401: UNAUTHORIZED,
      403: fail('FORBIDDEN: admins only'),
      500: INTERNAL,
      503: UNAVAILABLE,
    },
  },
  resolveReport: {
    params: reportIdParam,
    body: resolveReportBody,
    responses: {
      200: { description: 'RESOLVED, with who, how and when; the action took effect as if the admin had called its route', schema: reportResult },
      400: fail('VALIDATION_ERROR: a bad report id, an action that is not dismiss, delete_message, block_conversation or end_conversation, or a note over 1000 characters'),
      401: UNAUTHORIZED,
      403: fail('FORBIDDEN: admins only'),
      404: fail('NOT_FOUND: no such report'),
      409: fail('CONFLICT: the report was resolved already, or the action is refused as its route would refuse it (ending a blocked conversation); the report stays OPEN'),
      500: INTERNAL,
      503: UNAVAILABLE,
    },
  },
  registerDevice: {
    body: registerDeviceBody,
    responses: {
      201: { description: "Registered: a new token, or one another user had registered, now the caller's", schema: deviceResult },
      200: { description: 'The caller had registered this token already (its app id and locale refreshed)', schema: deviceResult },
      400: fail('VALIDATION_ERROR: platform is not apns or fcm, the token is empty, longer than 4096 characters or has whitespace, or the locale is not a language tag'),
      401: UNAUTHORIZED,
      403: fail('FORBIDDEN: only customers and provider staff receive pushes (admins and services have no devices)'),
      500: INTERNAL,
      503: UNAVAILABLE,
    },
  },
  createAttachment: {
    params: conversationIdParam,
    body: createAttachmentBody,
    responses: {
      201: { description: 'A PENDING attachment, and the presigned POST that uploads its file straight to storage', schema: attachmentIntentResult },
      400: fail(`${badConversationId}, fileName is empty or over 255 characters, contentType is not one of CHAT_ATTACHMENT_TYPES, or size is not a positive integer`),
      401: UNAUTHORIZED,
      403: fail("FORBIDDEN: only the conversation's participants upload (admins and services may read but never act), or the conversation is BLOCKED or ENDED"),
      404: fail(noConversation),
      413: fail('PAYLOAD_TOO_LARGE: size is over CHAT_MAX_ATTACHMENT_BYTES (details {field, maxBytes, bytes})'),
      500: INTERNAL,
      503: UNAVAILABLE,
    },
  },
  getAttachment: {
    params: attachmentIdParam,
    responses: {
      200: { description: 'The attachment as it stands: PENDING, READY (with width and height for images) or REJECTED (with the reason)', schema: attachmentResult },
      400: fail('VALIDATION_ERROR: conversationId or attachmentId is not an id'),
      401: UNAUTHORIZED,
      403: fail('FORBIDDEN: only participants, admins and services read attachments'),
      404: fail('NOT_FOUND: no such attachment in this conversation'),
      500: INTERNAL,
      503: UNAVAILABLE,
    },
  },
  getAttachmentContent: {
    params: attachmentIdParam,
    query: attachmentContentQuery,
    responses: {
      302: { description: 'Location: a signed URL of the bytes, valid CHAT_DOWNLOAD_URL_TTL_SECONDS' },
      400: fail('VALIDATION_ERROR: a bad id, or variant is not original or thumbnail'),
      401: UNAUTHORIZED,
      403: fail('FORBIDDEN: only participants, admins and services read attachments'),
      404: fail('NOT_FOUND: no such attachment, or no such variant yet (a PENDING or REJECTED upload, or a thumbnail of a file that is not an image)'),
      500: INTERNAL,
      503: UNAVAILABLE,
    },
  },
  providerStats: {
    params: providerIdParam,
    query: providerStatsQuery,
    responses: {
      200: { description: "The provider's volumes and response times over [from, to)", schema: providerStatsResult },
      400: fail('VALIDATION_ERROR: providerId is not a positive integer, from or to is not an ISO-8601 date-time, from is not before to, or they are more than 366 days apart'),
      401: UNAUTHORIZED,
      403: fail("FORBIDDEN: only the provider's own staff, or an admin, may read its statistics"),
      500: INTERNAL,
      503: UNAVAILABLE,
    },
  },
  listDevices: {
    responses: {
      200: { description: "The caller's own devices, oldest first", schema: z.object({ devices: z.array(wireDevice) }) },
      401: UNAUTHORIZED,
      500: INTERNAL,
      503: UNAVAILABLE,
    },
  },
  deleteDevice: {
    params: deviceIdParam,
    responses: {
      204: { description: 'Deleted: nothing more is pushed to it' },
      400: fail('VALIDATION_ERROR: deviceId is not an id'),
      401: UNAUTHORIZED,
      404: fail('NOT_FOUND: the caller has no device with this id (another user\'s device is not visible)'),
      500: INTERNAL,
      503: UNAVAILABLE,
    },
  },
  muteConversation: {
    params: conversationIdParam,
    body: muteConversationBody,
    responses: {
      200: { description: "The caller's mute of this conversation as it now stands", schema: muteResult },
      400: fail(`${badConversationId}, muted is not a boolean, or mutedUntil is not a future ISO-8601 time (or comes with muted: false)`),
      401: UNAUTHORIZED,
      403: fail(notParticipant),
      404: fail(noConversation),
      500: INTERNAL,
      503: UNAVAILABLE,
    },
  },
  health: {
    responses: {
      200: { description: 'Ready: Postgres and DynamoDB answer', schema: z.object({ status: z.literal('ok') }) },
      500: INTERNAL,
      503: {
        description: 'Not ready: a backing service did not answer within 3 s',
        schema: z.object({ status: z.literal('unavailable'), checks: z.record(z.string(), z.enum(['ok', 'unavailable'])) }),
      },
    },
  },
  apiDocs: {
    responses: {
      200: { description: 'An HTML page that renders this document (the document itself to a client that accepts JSON)' },
      500: INTERNAL,
    },
  },
  openApiDocument: {
    responses: {
      200: {
        description: 'This OpenAPI 3.1 document',
        schema: z.looseObject({ openapi: z.string(), info: z.looseObject({ title: z.string(), version: z.string() }), paths: z.record(z.string(), z.unknown()) }),
      },
      500: INTERNAL,
    },
  },
} as const satisfies Record<HttpRouteName, HttpOperation>;

/** A route's 2xx body type for a status it declares. */
export type HttpResponseBody<R extends HttpRouteName, S extends keyof (typeof HTTP_CONTRACT)[R]['responses']> =
  (typeof HTTP_CONTRACT)[R]['responses'][S] extends { schema: infer T extends z.ZodType } ? z.output<T> : never;
