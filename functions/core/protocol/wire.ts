/**
 * What the API answers and pushes: messages, conversations, presence, attachments, errors, and the
 * change log's entries. These zod schemas are the one definition of those shapes: the `Wire*`
 * types in functions/core/use-cases/wire.ts are inferred from them, the OpenAPI document is
 * generated from them, and the test harnesses validate every response and frame against them.
 */
import * as z from 'zod';
import { ERROR_STATUS, type ErrorCode } from '../errors.ts';
import type { ChangeType, EventType } from '../events.ts';
import { ACTORS, CONVERSATION_STATUSES, MESSAGE_STATUSES, MESSAGE_TYPES, PUSH_PLATFORMS, REPORT_REASONS, REPORT_RESOLUTIONS, REPORT_STATUSES, ROLES, SENDERS, SIDES } from '../model.ts';
import { int, isoDate, jsonValue } from './primitives.ts';

export const ERROR_CODES = Object.keys(ERROR_STATUS) as [ErrorCode, ...ErrorCode[]];

/** The statuses a receipt moves a message to. */
export const RECEIPT_STATUSES = ['DELIVERED', 'READ'] as const satisfies readonly (typeof MESSAGE_STATUSES)[number][];

export const wireReaction = z
  .object({
    emoji: z.string(),
    count: int.min(1).describe('How many users reacted with this emoji (userIds.length)'),
    userIds: z.array(int).describe('Who reacted, in the order they did'),
  })
  .meta({ id: 'Reaction' });

export const wireMessage = z
  .object({
    id: z.string(),
    conversationId: z.string(),
    seq: int.describe('1, 2, 3… per conversation with no gaps: the order of record'),
    senderId: int,
    senderRole: z.enum(SENDERS).describe('The sending side; `system` for a SYSTEM message a service sent, which both sides receive'),
    receiverId: int.describe("The customer's userId when a provider or a service sends; the providerId when a customer sends"),
    messageType: z.enum(MESSAGE_TYPES),
    content: z.string().describe('Empty once the message is deleted'),
    attachments: jsonValue.nullable(),
    status: z.enum(MESSAGE_STATUSES),
    deliveredAt: isoDate.nullable(),
    readAt: isoDate.nullable(),
    createdAt: isoDate,
    updatedAt: isoDate,
    replyToId: z.string().nullable(),
    metadata: jsonValue.nullable(),
    clientMessageId: z.string().nullable(),
    editedAt: isoDate.nullable().describe('When its sender last edited the content; null until then'),
    deletedAt: isoDate.nullable().describe('When it was deleted (a tombstone: content, attachments and metadata are gone); null until then'),
    reactions: z.array(wireReaction).describe('By emoji, in the order each emoji was first used; empty when none'),
  })
  .meta({ id: 'Message' });

export const wireConversation = z
  .object({
    id: z.string(),
    customerId: int,
    providerId: int,
    orderId: int.nullable(),
    status: z.enum(CONVERSATION_STATUSES),
    blockedBy: z.enum(ACTORS).nullable().describe('Who blocked it, while BLOCKED (only they, an admin or a service may unblock it); null otherwise'),
    assigneeId: int.nullable().describe("The provider's staff user who handles it in the shared inbox; null: unassigned"),
    lastSeq: int,
    createdAt: isoDate,
    updatedAt: isoDate,
    lastMessageAt: isoDate.nullable(),
    unreadCount: int.optional().describe("For the caller's side (absent in an admin's view)"),
    lastReadSeq: int.optional().describe("The newest seq the caller's side has read (absent in an admin's view)"),
    archived: z.boolean().optional().describe("Whether the caller's side archived it (absent in an admin's view)"),
    archivedAt: isoDate.nullable().optional().describe("When the caller's side archived it (absent in an admin's view)"),
    lastMessage: wireMessage.nullable().optional().describe("The newest message (absent in an admin's view)"),
  })
  .meta({ id: 'Conversation' });

/** A user's presence (`chat-user-online`, `chat-user-offline`, `GET /online-users`). */
export const wirePresence = z
  .object({
    userId: int,
    role: z.enum(ROLES),
    providerId: int.optional().describe('Set for provider staff: the business they act for'),
    lastSeen: isoDate,
  })
  .meta({ id: 'Presence' });

export const ATTACHMENT_STATUSES = ['PENDING', 'READY', 'REJECTED'] as const;

export const wireAttachment = z
  .object({
    id: z.string(),
    conversationId: z.string(),
    uploaderId: int,
    fileName: z.string(),
    contentType: z.string(),
    size: int.min(0).describe('Bytes'),
    status: z.enum(ATTACHMENT_STATUSES),
    width: int.optional(),
    height: int.optional(),
    hasThumbnail: z.boolean(),
    createdAt: isoDate,
    rejectedReason: z.string().optional(),
  })
  .meta({ id: 'Attachment' });

/** An upload intent's answer: the PENDING attachment, and the presigned POST to upload it with. */
export const attachmentIntentResult = z.object({
  attachment: wireAttachment,
  upload: z
    .object({
      url: z.url().describe('POST multipart/form-data here'),
      fields: z.record(z.string(), z.string()).describe('Every one of these form fields, in this order, before the `file` field'),
      expiresAt: isoDate.describe('The upload is refused after this time (CHAT_UPLOAD_URL_TTL_SECONDS)'),
    })
    .meta({ id: 'UploadForm' }),
});

export const attachmentResult = z.object({ attachment: wireAttachment });

export const wireDevice = z
  .object({
    id: z.string(),
    platform: z.enum(PUSH_PLATFORMS),
    appId: z.string().nullable(),
    locale: z.string().nullable(),
    tokenSuffix: z.string().describe('The last characters of the token (never the whole token)'),
    createdAt: isoDate,
    lastPushedAt: isoDate.nullable().describe('When a push last went to it'),
  })
  .meta({ id: 'Device' });

export const deviceResult = z.object({ device: wireDevice });

export const wireReport = z
  .object({
    id: z.string(),
    status: z.enum(REPORT_STATUSES),
    reason: z.enum(REPORT_REASONS),
    note: z.string().nullable(),
    reporterId: int.nullable().describe('null: filed by the product itself (the contact-detail policy)'),
    conversationId: z.string(),
    message: wireMessage.describe('The reported message as it is now (a tombstone once deleted)'),
    createdAt: isoDate,
    resolvedAt: isoDate.optional(),
    resolution: z.enum(REPORT_RESOLUTIONS).optional(),
    resolvedBy: int.nullable().optional().describe('The admin who resolved it'),
    resolutionNote: z.string().nullable().optional(),
  })
  .meta({ id: 'Report' });
export const reportResult = z.object({ report: wireReport });
export const muteResult = z.object({
  conversationId: z.string(),
  muted: z.boolean(),
  mutedUntil: isoDate.nullable().describe('When the mute ends; null while unmuted or muted for good'),
});

const errorDetail = z.object({
  code: z.enum(ERROR_CODES),
  message: z.string(),
  details: z.unknown().optional().describe('Zod issues for VALIDATION_ERROR; the limits for PAYLOAD_TOO_LARGE and RATE_LIMITED'),
});

/** Every HTTP error body. */
export const wireError = z.object({ error: errorDetail }).meta({ id: 'Error' });

/**
 * What API Gateway's JWT authorizer answers for a missing or refused token, before any handler
 * runs (the local runtime adds the contract's `error` beside `message`).
 */
export const authorizerRefusal = z
  .object({ message: z.literal('Unauthorized'), error: errorDetail.optional() })
  .meta({ id: 'AuthorizerRefusal' });

// ─── Payloads shared by responses and events ────────────────────────────────────────────

export const authenticatedData = z.object({ userId: int, role: z.enum(ROLES), providerId: int.optional(), connectionId: z.string() });
export const conversationRef = z.object({ conversationId: z.string() });
export const typingData = z.object({
  conversationId: z.string(),
  userId: int,
  isTyping: z.boolean(),
  expiresInMs: int.min(0).describe('How long the state lives without another chat-typing (0 when it stopped)'),
});
export const statusUpdatedData = z.object({
  messageId: z.string(),
  conversationId: z.string(),
  status: z.enum(RECEIPT_STATUSES),
  userId: int,
  at: isoDate,
  upToSeq: int.optional().describe("After a mark-read: every message from the other side up to this seq is READ"),
});
export const markReadResult = z.object({
  conversationId: z.string(),
  lastReadSeq: int.describe("The newest seq the caller's side has now read"),
  unreadCount: z.literal(0),
  readCount: int.min(0).describe('How many messages moved to READ'),
});
export const messageResult = z.object({ message: wireMessage });
const percentile = (what: string) => z.number().nonnegative().nullable().describe(`${what}, in seconds; null without an answered wait in the range`);
export const providerStatsResult = z
  .object({
    providerId: int,
    from: isoDate.describe("The range's start (inclusive)"),
    to: isoDate.describe("The range's end (exclusive)"),
    conversations: int.describe('Conversations started in the range'),
    messagesReceived: int.describe("Messages the provider's customers sent in the range"),
    messagesSent: int.describe("Messages the provider's staff sent in the range (SYSTEM messages are neither)"),
    firstResponseSeconds: z
      .object({ median: percentile('The median wait'), p90: percentile('The 90th percentile') })
      .describe("For each customer message that followed the provider's last message (or opened the conversation) in the range: the time to the provider's next message"),
    unanswered: int.describe('Such waits that began in the range and have no answer yet'),
  })
  .meta({ id: 'ProviderStats' });
export const conversationResult = z.object({ conversation: wireConversation });
export const sendMessageResult = z.object({ message: wireMessage, created: z.boolean().describe('false: a repeated clientMessageId, answered with the stored message') });
export const messageStatusResult = z.object({ message: wireMessage, changed: z.boolean().describe('false when the move was not forward: nothing changed') });
export const pingData = z.object({ at: isoDate });

// ─── The change log (`GET /sync`, the events queue) ─────────────────────────────────────

/** Each change type's `data`. */
export const CHANGE_DATA_SCHEMAS = {
  'conversation.created': z.object({ conversation: wireConversation }),
  'conversation.updated': z.object({ conversation: wireConversation }),
  'conversation.read': z.object({ side: z.enum(SIDES), lastReadSeq: int }),
  'conversation.archived': z.object({ archived: z.boolean() }),
  'message.created': z.object({ message: wireMessage }),
  'message.updated': z.object({ message: wireMessage }),
  'message.deleted': z.object({ message: wireMessage }),
  'message.status': z.object({ messageId: z.string(), status: z.enum(RECEIPT_STATUSES), upToSeq: int.optional() }),
  'reaction.updated': z.object({ messageId: z.string(), reactions: z.array(wireReaction) }),
  'attachment.updated': z.object({ attachment: wireAttachment }),
} as const satisfies { [T in ChangeType]: z.ZodType };

export type ChangeData<T extends ChangeType> = z.output<(typeof CHANGE_DATA_SCHEMAS)[T]>;

/** Each event type's `data`: the change log's, and the internal changes' (never in `/sync`). */
export const EVENT_DATA_SCHEMAS = {
  ...CHANGE_DATA_SCHEMAS,
  'report.created': z.object({ report: wireReport }),
} as const satisfies { [T in EventType]: z.ZodType };

function changeOf<T extends ChangeType>(type: T) {
  return z.object({
    cursor: z.string().describe('Pass as `since` to continue after this change'),
    conversationId: z.string(),
    type: z.literal(type),
    at: isoDate,
    data: CHANGE_DATA_SCHEMAS[type],
  });
}

function eventOf<T extends EventType>(type: T) {
  return z.object({
    id: z.string().describe("The change's id: de-duplicate by it"),
    type: z.literal(type),
    at: isoDate,
    conversationId: z.string(),
    data: EVENT_DATA_SCHEMAS[type],
  });
}

/** One change of the change log, as `/sync` answers it. */
export const wireChange = z
  .discriminatedUnion('type', [
    changeOf('conversation.created'),
    changeOf('conversation.updated'),
    changeOf('conversation.read'),
    changeOf('conversation.archived'),
    changeOf('message.created'),
    changeOf('message.updated'),
    changeOf('message.deleted'),
    changeOf('message.status'),
    changeOf('reaction.updated'),
    changeOf('attachment.updated'),
  ])
  .meta({ id: 'Change' });

/** What the events queue carries (functions/core/events.ts `DomainEvent`), for consumers to validate. */
export const domainEventSchema = z.discriminatedUnion('type', [
  eventOf('conversation.created'),
  eventOf('conversation.updated'),
  eventOf('conversation.read'),
  eventOf('conversation.archived'),
  eventOf('message.created'),
  eventOf('message.updated'),
  eventOf('message.deleted'),
  eventOf('message.status'),
  eventOf('reaction.updated'),
  eventOf('attachment.updated'),
  eventOf('report.created'),
]);

// Both unions must list every change type, and the events every event type.
type Missing<U extends { type: EventType }, All extends EventType = ChangeType> = Exclude<All, U['type']>;
const _everyChange: [Missing<z.output<typeof wireChange>>, Missing<z.output<typeof domainEventSchema>, EventType>] extends [never, never] ? true : never = true;
void _everyChange;

/**
 * The wire objects' types, inferred once from the schemas above: the use cases build them
 * (functions/core/use-cases/wire.ts) and the TypeScript client hands them to apps (sdk/src).
 */
/** A message as clients receive it (the contract's Message object). */
export type WireMessage = z.output<typeof wireMessage>;
export type WireReaction = z.output<typeof wireReaction>;
/**
 * A conversation as clients receive it. The per-side fields (`unreadCount`, `lastReadSeq`,
 * `archived`, `archivedAt`, `lastMessage`) are present when the caller is a participant, and
 * describe the caller's side; an admin's view carries only the conversation itself.
 */
export type WireConversation = z.output<typeof wireConversation>;
/** A user's presence on the wire (`chat-user-online`, `chat-user-offline`, `GET /online-users`). */
export type WirePresence = z.output<typeof wirePresence>;
export type WireAttachment = z.output<typeof wireAttachment>;
/** One change of the change log, as `/sync` answers it. */
export type WireChange = z.output<typeof wireChange>;
/** An error answer: `{error: {code, message, details?}}`. */
export type WireError = z.output<typeof wireError>;
/** `chat-authenticated` data. */
export type AuthenticatedData = z.output<typeof authenticatedData>;
