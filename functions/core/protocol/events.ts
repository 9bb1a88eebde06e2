/**
 * Server → client WebSocket events: each event's name and the schema of its `data`. One map,
 * SERVER_EVENT_SCHEMAS, is the source: `frame(event, data)` is typed by it, and the test harnesses
 * validate every frame posted to `@connections` against it.
 */
import * as z from 'zod';
import { ERROR_CODES, authenticatedData, conversationRef, pingData, statusUpdatedData, typingData, wireAttachment, wireConversation, wireMessage, wirePresence, wireReaction } from './wire.ts';
import { int, isoDate } from './primitives.ts';

export const SERVER_EVENT_SCHEMAS = {
  /** The reply to `chat-authenticate`. */
  'chat-authenticated': authenticatedData,
  'chat-joined-conversation': conversationRef,
  'chat-left-conversation': conversationRef,
  /** A stored message, to both sides and the room. */
  'chat-new-message': z.object({ message: wireMessage }),
  /** A message whose content was edited. */
  'chat-message-updated': z.object({ message: wireMessage }),
  /** A message deleted (the frame carries no content). */
  'chat-message-deleted': z.object({ conversationId: z.string(), messageId: z.string(), seq: int, deletedAt: isoDate }),
  /** Someone added or removed a reaction: `reactions` is the message's reactions now. */
  'chat-reaction-updated': z.object({
    conversationId: z.string(),
    messageId: z.string(),
    emoji: z.string(),
    userId: int,
    added: z.boolean(),
    reactions: z.array(wireReaction),
  }),
  'chat-conversation-updated': z.object({ conversation: wireConversation }),
  'chat-attachment-updated': z.object({ attachment: wireAttachment }),
  'chat-user-typing': typingData,
  'chat-message-status-updated': statusUpdatedData,
  'chat-user-online': wirePresence,
  'chat-user-offline': wirePresence,
  'chat-pong': pingData,
  /** The answer to a frame with a requestId; `data` is the action's ack (WS_ACTIONS[…].ack). */
  'chat-ack': z.object({ requestId: z.string(), data: z.unknown() }),
  'chat-error': z.object({
    code: z.enum(ERROR_CODES),
    message: z.string(),
    requestId: z.string().optional(),
    details: z.unknown().optional(),
  }),
} as const satisfies Record<`chat-${string}`, z.ZodType>;

export type ServerEvent = keyof typeof SERVER_EVENT_SCHEMAS;
export const SERVER_EVENTS = Object.keys(SERVER_EVENT_SCHEMAS) as ServerEvent[];

/** The `data` of one server event. */
export type EventData<E extends ServerEvent> = z.output<(typeof SERVER_EVENT_SCHEMAS)[E]>;

/** A frame of one event, its data typed: what `frame(event, data)` builds. */
export interface EventFrame<E extends ServerEvent = ServerEvent> {
  event: E;
  data: EventData<E>;
  requestId?: string;
}

/** Any server frame, discriminated by `event`. */
export type AnyEventFrame = { [E in ServerEvent]: EventFrame<E> }[ServerEvent];

/**
 * A frame as the broadcaster carries it: any event, its data already checked where the frame was
 * built (with `frame()`). Build frames with `frame()`, never by hand.
 */
export interface ServerFrame {
  event: ServerEvent;
  data: unknown;
  requestId?: string;
}

/** A server frame's envelope; its data is checked against SERVER_EVENT_SCHEMAS[event]. */
export const serverFrameEnvelope = z.object({
  event: z.enum(SERVER_EVENTS as [ServerEvent, ...ServerEvent[]]),
  data: z.unknown(),
  /** The requestId of the frame answered, echoed as sent (a refused frame's may be outside the request's limits). */
  requestId: z.string().optional(),
});
