/**
 * Every WebSocket action, declared once: its route key and the seed's `chat-*` name, the schema of
 * its data and of its ack, the event it answers on the caller's own connection, whether it needs a
 * signed-in connection, the Lambda that serves its route key, whether that Lambda needs Postgres,
 * and what the action may touch. From this one table come the route manifest's action routes
 * (functions/config/routes.ts), the protocol shim's name map (`routeKeyOf`), the data schemas
 * (`actionData`), the dispatch table's type (functions/handlers/ws/actions.ts) and every WebSocket
 * function's IAM grants (lib/stacks/function-access.ts), the `$default` shim's being their union.
 *
 * Plain data and zod only: no AWS, no handler code.
 */
import * as z from 'zod';
import type { QueueKey } from '../../config/queues.ts';
import type { TableKey } from '../../config/tables.ts';
import { SERVER_EVENT_SCHEMAS, type ServerEvent } from './events.ts';
import { emoji, fieldError, id, text } from './primitives.ts';
import { conversationIdParam, messageContent } from './requests.ts';
import { markReadResult, messageResult, messageStatusResult, sendMessageResult, typingData } from './wire.ts';

/** read: Get/BatchGet/Query/Scan/DescribeTable; readWrite adds Put/Update/Delete/BatchWrite. */
export type ActionTableAccess = 'read' | 'readWrite';

/**
 * What an action may touch beyond Postgres: the DynamoDB tables, whether it posts to (or closes)
 * connections through `@connections`, and the queues it sends to. The stack grants exactly this.
 */
export interface ActionAccess {
  tables: Partial<Record<TableKey, ActionTableAccess>>;
  connectionsApi: boolean;
  queues: Partial<Record<QueueKey, 'send'>>;
}

export interface WsActionDeclaration {
  /** The seed's event name: the `$default` shim maps it to this action. */
  event: `chat-${string}`;
  /** The frame's `data`. */
  data: z.ZodType;
  /** `chat-ack` data for a frame with a requestId. */
  ack: z.ZodType;
  /** The event sent to the caller's own connection (its data is the ack), if any. */
  reply?: ServerEvent;
  /** Whether the connection must have authenticated first. */
  signedIn: boolean;
  /** The handler module serving the route key: `ws/<kebab-case key>`. */
  entry: `ws/${string}`;
  /** Whether the function needs Postgres (and so runs in the VPC beside RDS Proxy). */
  database: boolean;
  summary: string;
  access: ActionAccess;
}

/**
 * Fan-out (functions/core/use-cases/fan-out.ts): reads the parties' connections and room
 * members, posts through `@connections`, and prunes gone connections (deleting the connection,
 * its subscriptions and its presence entry).
 */
const FAN_OUT = { connections: 'readWrite', subscriptions: 'readWrite', presence: 'readWrite' } as const;
/** Records a change in the change log and publishes its domain event after commit. */
const SENDS_EVENTS = { events: 'send' } as const;
/** Replies to the caller only (no fan-out, so no pruning), after reading its identity. */
const ROOM = { connections: 'read', subscriptions: 'readWrite' } as const;

const messageRef = { messageId: id, conversationId: id.optional() };

export const WS_ACTIONS = {
  authenticate: {
    event: 'chat-authenticate',
    data: z.object({ token: text().min(1, { error: fieldError }).max(8192, { error: fieldError }) }),
    ack: SERVER_EVENT_SCHEMAS['chat-authenticated'],
    reply: 'chat-authenticated',
    signedIn: false,
    entry: 'ws/authenticate',
    database: true,
    summary: 'chat-authenticate: sign a bare connection in (or move it to another user)',
    // Signing in evicts the user's oldest connections and announces presence (a fan-out).
    access: { tables: FAN_OUT, connectionsApi: true, queues: {} },
  },
  joinConversation: {
    event: 'chat-join-conversation',
    data: conversationIdParam,
    ack: SERVER_EVENT_SCHEMAS['chat-joined-conversation'],
    reply: 'chat-joined-conversation',
    signedIn: true,
    entry: 'ws/join-conversation',
    database: true,
    summary: "chat-join-conversation: hear a conversation's typing (admins: watch it live)",
    access: { tables: ROOM, connectionsApi: true, queues: {} },
  },
  leaveConversation: {
    event: 'chat-leave-conversation',
    data: conversationIdParam,
    ack: SERVER_EVENT_SCHEMAS['chat-left-conversation'],
    reply: 'chat-left-conversation',
    signedIn: true,
    entry: 'ws/leave-conversation',
    database: false,
    summary: "chat-leave-conversation: leave a conversation's room",
    access: { tables: ROOM, connectionsApi: true, queues: {} },
  },
  sendMessage: {
    event: 'chat-send-message',
    data: z.object({ conversationId: id, ...messageContent }),
    ack: sendMessageResult,
    signedIn: true,
    entry: 'ws/send-message',
    database: true,
    summary: 'chat-send-message: store a message, then deliver chat-new-message (idempotent by clientMessageId)',
    access: { tables: FAN_OUT, connectionsApi: true, queues: SENDS_EVENTS },
  },
  typing: {
    event: 'chat-typing',
    data: z.object({ conversationId: id, isTyping: z.boolean({ error: fieldError }) }),
    ack: typingData,
    signedIn: true,
    entry: 'ws/typing',
    database: true,
    summary: 'chat-typing: start or stop typing; the room hears chat-user-typing',
    access: { tables: { ...FAN_OUT, typing: 'readWrite' }, connectionsApi: true, queues: {} },
  },
  updateMessageStatus: {
    event: 'chat-update-message-status',
    data: z.object({ messageId: id, status: z.enum(['DELIVERED', 'READ']) }),
    ack: messageStatusResult,
    signedIn: true,
    entry: 'ws/update-message-status',
    database: true,
    summary: 'chat-update-message-status: the receiving side moves a message to DELIVERED or READ',
    access: { tables: FAN_OUT, connectionsApi: true, queues: SENDS_EVENTS },
  },
  markRead: {
    event: 'chat-mark-read',
    data: conversationIdParam,
    ack: markReadResult,
    signedIn: true,
    entry: 'ws/mark-read',
    database: true,
    summary: "chat-mark-read: everything from the other side becomes READ for the caller's side",
    access: { tables: FAN_OUT, connectionsApi: true, queues: SENDS_EVENTS },
  },
  editMessage: {
    event: 'chat-edit-message',
    data: z.object({ ...messageRef, content: messageContent.content }),
    ack: messageResult,
    signedIn: true,
    entry: 'ws/edit-message',
    database: true,
    summary: "chat-edit-message: edit a TEXT message's content (its sender, within CHAT_EDIT_WINDOW_SECONDS)",
    access: { tables: FAN_OUT, connectionsApi: true, queues: SENDS_EVENTS },
  },
  deleteMessage: {
    event: 'chat-delete-message',
    data: z.object(messageRef),
    ack: messageResult,
    signedIn: true,
    entry: 'ws/delete-message',
    database: true,
    summary: 'chat-delete-message: delete a message, leaving a tombstone (its sender, or an admin)',
    access: { tables: FAN_OUT, connectionsApi: true, queues: SENDS_EVENTS },
  },
  react: {
    event: 'chat-react',
    data: z.object({ ...messageRef, emoji, added: z.boolean() }),
    ack: messageResult,
    signedIn: true,
    entry: 'ws/react',
    database: true,
    summary: "chat-react: add or remove the caller's reaction to a message (idempotent)",
    access: { tables: FAN_OUT, connectionsApi: true, queues: SENDS_EVENTS },
  },
  ping: {
    event: 'chat-ping',
    data: z.object({}).passthrough(),
    ack: SERVER_EVENT_SCHEMAS['chat-pong'],
    reply: 'chat-pong',
    signedIn: false,
    entry: 'ws/ping',
    database: false,
    summary: 'chat-ping: keep the connection alive; answers chat-pong',
    // Answers chat-pong and touches no state.
    access: { tables: {}, connectionsApi: true, queues: {} },
  },
} as const satisfies Record<string, WsActionDeclaration>;

export type RouteKey = keyof typeof WS_ACTIONS;
export const ROUTE_KEYS = Object.keys(WS_ACTIONS) as RouteKey[];

/** Route key → the seed's event name. Both spellings reach the same handler. */
export const ACTIONS = Object.fromEntries(ROUTE_KEYS.map((key) => [key, WS_ACTIONS[key].event])) as {
  [K in RouteKey]: (typeof WS_ACTIONS)[K]['event'];
};

/** Each action's data schema, by route key. */
export const actionData = Object.fromEntries(ROUTE_KEYS.map((key) => [key, WS_ACTIONS[key].data])) as {
  [K in RouteKey]: (typeof WS_ACTIONS)[K]['data'];
};

export type ActionData<K extends RouteKey> = z.output<(typeof WS_ACTIONS)[K]['data']>;
export type AckData<K extends RouteKey> = z.output<(typeof WS_ACTIONS)[K]['ack']>;
/** Whether an action runs only on a signed-in connection. */
export type SignedIn<K extends RouteKey> = (typeof WS_ACTIONS)[K]['signedIn'];

const EVENT_TO_ROUTE = new Map<string, RouteKey>(ROUTE_KEYS.map((key) => [WS_ACTIONS[key].event, key]));

/** The protocol shim: a frame's `action`, in either spelling, to its route key (or null). */
export function routeKeyOf(action: unknown): RouteKey | null {
  if (typeof action !== 'string') return null;
  if (Object.hasOwn(WS_ACTIONS, action)) return action as RouteKey;
  return EVENT_TO_ROUTE.get(action) ?? null;
}

/** A client → server frame, before its data is validated against the action's schema. */
export const clientFrame = z.object({
  action: text().min(1, { error: fieldError }).max(64, { error: fieldError }),
  data: z.unknown().optional(),
  requestId: text().min(1, { error: fieldError }).max(128, { error: fieldError }).optional(),
});

/** The union of several actions' access: every table at the widest access any of them needs. */
export function unionOfAccess(accesses: readonly ActionAccess[]): ActionAccess {
  const tables: ActionAccess['tables'] = {};
  const queues: ActionAccess['queues'] = {};
  for (const access of accesses) {
    for (const [table, level] of Object.entries(access.tables) as [TableKey, ActionTableAccess][]) {
      if (tables[table] !== 'readWrite') tables[table] = level;
    }
    Object.assign(queues, access.queues);
  }
  return { tables, connectionsApi: accesses.some((access) => access.connectionsApi), queues };
}
