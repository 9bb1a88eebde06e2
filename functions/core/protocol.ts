/**
 * The wire protocol as zod schemas: REST bodies and queries, WebSocket frames, and the
 * mapping between the seed's `chat-*` event names and the API Gateway route keys.
 * One source of truth for validation, the protocol shim and the OpenAPI document.
 */
import { z } from 'zod';
import { MESSAGE_TYPES, type Json } from './model.ts';

/** Postgres text cannot hold U+0000, and jsonb refuses it and unpaired surrogates (`\ud800`). */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const noNul = (text: string) => !text.includes('\u0000');
const storableJsonText = (text: string) => noNul(text) && !LONE_SURROGATE.test(text);
const NUL_MESSAGE = 'must not contain the character U+0000';

const id = z.string().trim().min(1).max(64).refine(noNul, NUL_MESSAGE);
const intId = z.coerce.number().int().positive().max(2_147_483_647);
/** A seq: a Postgres `integer`. */
const seq = z.coerce.number().int().max(2_147_483_647);
const jsonText = z.string().refine(storableJsonText, 'must be valid Unicode text without U+0000');
/** JSON values only: what a jsonb column can hold and a client can send. */
const jsonValue: z.ZodType<Json> = z
  .lazy(() => z.union([jsonText, z.number(), z.boolean(), z.null(), z.array(jsonValue), z.record(jsonText, jsonValue)]))
  .meta({ id: 'JsonValue', description: 'Any JSON value' });

/**
 * How deeply a request body or frame may nest. Validating and storing JSON both recurse (zod,
 * Postgres' jsonb parser), so deeper input is refused before either sees it.
 */
export const MAX_JSON_DEPTH = 64;

/** Whether a parsed JSON value nests deeper than `max` arrays/objects. Iterative: never overflows the stack. */
export function jsonTooDeep(value: unknown, max = MAX_JSON_DEPTH): boolean {
  const pending: [unknown, number][] = [[value, 0]];
  while (pending.length > 0) {
    const [current, depth] = pending.pop()!;
    if (current === null || typeof current !== 'object') continue;
    if (depth >= max) return true;
    for (const inner of Object.values(current)) pending.push([inner, depth + 1]);
  }
  return false;
}

export const conversationIdParam = z.object({ conversationId: id });

export const startConversationBody = z.object({
  providerId: intId,
  customerId: intId,
  orderId: intId.nullish().transform((v) => v ?? null),
});

export const listConversationsQuery = z.object({
  status: z.enum(['ACTIVE', 'ARCHIVED']).default('ACTIVE'),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().max(512).optional(),
});

/** `page` (1 = newest) or keyset `after` / `before` a seq; at most one of the three. */
export const historyQuery = z
  .object({
    page: z.coerce.number().int().min(1).max(1_000_000).optional(),
    limit: z.coerce.number().int().min(1).optional(),
    after: seq.min(0).optional(),
    before: seq.min(1).optional(),
  })
  .refine((q) => [q.page, q.after, q.before].filter((v) => v !== undefined).length <= 1, {
    message: 'use at most one of page, after and before',
  });

/** What a client may send: SYSTEM messages are the product's own, never a client's. */
export const CLIENT_MESSAGE_TYPES = ['TEXT', 'IMAGE', 'FILE', 'LOCATION', 'VOICE'] as const;

export const messageContent = {
  content: z.string().refine(noNul, NUL_MESSAGE),
  messageType: z.enum(CLIENT_MESSAGE_TYPES).default('TEXT'),
  attachments: jsonValue.nullish(),
  replyToId: id.nullish(),
  metadata: jsonValue.nullish(),
  clientMessageId: z.string().trim().min(1).max(128).refine(noNul, NUL_MESSAGE).nullish(),
};

export const sendMessageBody = z.object(messageContent);

// ─── WebSocket ──────────────────────────────────────────────────────────────────────────

/** Route key → the seed's event name. Both spellings reach the same handler. */
export const ACTIONS = {
  authenticate: 'chat-authenticate',
  joinConversation: 'chat-join-conversation',
  leaveConversation: 'chat-leave-conversation',
  sendMessage: 'chat-send-message',
  typing: 'chat-typing',
  updateMessageStatus: 'chat-update-message-status',
  markRead: 'chat-mark-read',
  ping: 'chat-ping',
} as const;

export type RouteKey = keyof typeof ACTIONS;
export const ROUTE_KEYS = Object.keys(ACTIONS) as RouteKey[];

const EVENT_TO_ROUTE = new Map<string, RouteKey>(ROUTE_KEYS.map((key) => [ACTIONS[key], key]));

/** The protocol shim: a frame's `action`, in either spelling, to its route key (or null). */
export function routeKeyOf(action: unknown): RouteKey | null {
  if (typeof action !== 'string') return null;
  if ((ROUTE_KEYS as string[]).includes(action)) return action as RouteKey;
  return EVENT_TO_ROUTE.get(action) ?? null;
}

export const actionData = {
  authenticate: z.object({ token: z.string().min(1).max(8192) }),
  joinConversation: conversationIdParam,
  leaveConversation: conversationIdParam,
  sendMessage: z.object({ conversationId: id, ...messageContent }),
  typing: z.object({ conversationId: id, isTyping: z.boolean() }),
  updateMessageStatus: z.object({ messageId: id, status: z.enum(['DELIVERED', 'READ']) }),
  markRead: conversationIdParam,
  ping: z.object({}).passthrough(),
} satisfies Record<RouteKey, z.ZodType>;

export type ActionData<K extends RouteKey> = z.infer<(typeof actionData)[K]>;

/** A client → server frame, before its data is validated against the action's schema. */
export const clientFrame = z.object({
  action: z.string().min(1).max(64),
  data: z.unknown().optional(),
  requestId: z.string().min(1).max(128).optional(),
});

export const SERVER_EVENTS = [
  'chat-authenticated',
  'chat-joined-conversation',
  'chat-left-conversation',
  'chat-new-message',
  'chat-user-typing',
  'chat-message-status-updated',
  'chat-user-online',
  'chat-user-offline',
  'chat-pong',
  'chat-ack',
  'chat-error',
] as const;

export type ServerEvent = (typeof SERVER_EVENTS)[number];

export interface ServerFrame {
  event: ServerEvent;
  data: unknown;
  requestId?: string;
}

// ─── Response shapes (documentation: what the API answers) ──────────────────────────────

const isoDate = z.iso.datetime();

export const wireMessage = z
  .object({
    id: z.string(),
    conversationId: z.string(),
    seq: z.number().int().describe('1, 2, 3… per conversation with no gaps: the order of record'),
    senderId: z.number().int(),
    senderRole: z.enum(['customer', 'provider']),
    receiverId: z.number().int().describe("The customer's userId when a provider sends; the providerId when a customer sends"),
    messageType: z.enum(MESSAGE_TYPES),
    content: z.string(),
    attachments: jsonValue.nullable(),
    status: z.enum(['SENT', 'DELIVERED', 'READ', 'FAILED']),
    deliveredAt: isoDate.nullable(),
    readAt: isoDate.nullable(),
    createdAt: isoDate,
    updatedAt: isoDate,
    replyToId: z.string().nullable(),
    metadata: jsonValue.nullable(),
    clientMessageId: z.string().nullable(),
  })
  .meta({ id: 'Message' });

export const wireConversation = z
  .object({
    id: z.string(),
    customerId: z.number().int(),
    providerId: z.number().int(),
    orderId: z.number().int().nullable(),
    status: z.enum(['ACTIVE', 'ARCHIVED', 'BLOCKED', 'ENDED']),
    lastSeq: z.number().int(),
    createdAt: isoDate,
    updatedAt: isoDate,
    lastMessageAt: isoDate.nullable(),
    unreadCount: z.number().int().optional().describe("For the caller's side"),
    archived: z.boolean().optional().describe("Whether the caller's side archived it"),
    lastMessage: wireMessage.nullable().optional(),
  })
  .meta({ id: 'Conversation' });

export const wireError = z
  .object({
    error: z.object({
      code: z.enum(['VALIDATION_ERROR', 'UNAUTHORIZED', 'FORBIDDEN', 'NOT_FOUND', 'CONFLICT', 'PAYLOAD_TOO_LARGE', 'RATE_LIMITED', 'UNAVAILABLE', 'INTERNAL']),
      message: z.string(),
      details: z.unknown().optional(),
    }),
  })
  .meta({ id: 'Error' });
