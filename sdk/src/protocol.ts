/**
 * The wire types, inferred from the server's own protocol schemas (functions/core/protocol):
 * one definition, no copy. Only types are imported, so none of zod reaches the bundle.
 */
import type { z } from 'zod';
import type {
  AckData,
  ActionData,
  EventData,
  HTTP_CONTRACT,
  HttpRouteName,
  RouteKey,
  ServerEvent,
  WireAttachment,
  WireChange,
  WireConversation,
  WireError,
  WireMessage,
  WirePresence,
  WireReaction,
  sendMessageBody,
  WS_ACTIONS,
} from '../../functions/core/protocol.ts';
import type { ErrorCode } from '../../functions/core/errors.ts';

export type { AckData, ActionData, EventData, HttpRouteName, RouteKey, ServerEvent, ErrorCode };

/** What an action's frame takes (`data`), as the server's schema accepts it. */
export type ActionInput<K extends RouteKey> = z.input<(typeof WS_ACTIONS)[K]['data']>;

export type Message = WireMessage;
export type Conversation = WireConversation;
export type Presence = WirePresence;
export type Attachment = WireAttachment;
export type Reaction = WireReaction;
export type Change = WireChange;
export type ErrorBody = WireError;
/** What `send()` takes: the body of `POST …/messages` (content, messageType, attachments, metadata, replyToId, clientMessageId). */
export type SendMessageInput = z.input<typeof sendMessageBody>;

/** A server → client frame, its data typed by its event. */
export type ServerFrame = { [E in ServerEvent]: { event: E; data: EventData<E>; requestId?: string } }[ServerEvent];

type Contract = typeof HTTP_CONTRACT;
type Part<N extends HttpRouteName, K extends 'params' | 'query' | 'body'> = Contract[N] extends { [P in K]: infer S extends z.ZodType } ? { [P in K]: z.input<S> } : { [P in K]?: never };
type OptionalIfEmpty<T> = Partial<T> extends T ? T | void : T;

/** What a REST route takes: its path parameters, query and body, as the server's schemas accept them. */
export type RouteInput<N extends HttpRouteName> = OptionalIfEmpty<Part<N, 'params'> & Part<N, 'query'> & Part<N, 'body'>>;

type SuccessStatus<N extends HttpRouteName> = Extract<keyof Contract[N]['responses'], 200 | 201 | 202 | 204>;
type BodyOf<Spec> = Spec extends { schema: infer S extends z.ZodType } ? z.output<S> : string;
/** What a REST route answers on success (200 or 201), typed by the server's response schemas. */
export type RouteOutput<N extends HttpRouteName> = { [S in SuccessStatus<N>]: BodyOf<Contract[N]['responses'][S]> }[SuccessStatus<N>];
