/**
 * What the use cases put on the wire: messages, conversations and presence with ISO-8601 times.
 * The domain keeps `Date` and epoch ms; everything a client sees goes through these functions,
 * so REST bodies, acks and pushed frames always agree.
 */
import type { Conversation, ConversationSummary, Identity, Message, Role } from '#core/model';
import type { ServerEvent, ServerFrame } from '#core/protocol';

/** An ISO-8601 UTC timestamp from a Date or epoch milliseconds. */
export function iso(value: Date | number): string {
  return (typeof value === 'number' ? new Date(value) : value).toISOString();
}

function isoOrNull(value: Date | null): string | null {
  return value === null ? null : iso(value);
}

/** A message as clients receive it (the contract's Message object). */
export interface WireMessage {
  id: string;
  conversationId: string;
  seq: number;
  senderId: number;
  senderRole: Message['senderRole'];
  receiverId: number;
  messageType: Message['messageType'];
  content: string;
  attachments: Message['attachments'];
  status: Message['status'];
  deliveredAt: string | null;
  readAt: string | null;
  createdAt: string;
  updatedAt: string;
  replyToId: string | null;
  metadata: Message['metadata'];
  clientMessageId: string | null;
}

/** The one serialisation of a message for the wire. Lists every field, so nothing else leaks. */
export function toWireMessage(message: Message): WireMessage {
  return {
    id: message.id,
    conversationId: message.conversationId,
    seq: message.seq,
    senderId: message.senderId,
    senderRole: message.senderRole,
    receiverId: message.receiverId,
    messageType: message.messageType,
    content: message.content,
    attachments: message.attachments,
    status: message.status,
    deliveredAt: isoOrNull(message.deliveredAt),
    readAt: isoOrNull(message.readAt),
    createdAt: iso(message.createdAt),
    updatedAt: iso(message.updatedAt),
    replyToId: message.replyToId,
    metadata: message.metadata,
    clientMessageId: message.clientMessageId,
  };
}

/**
 * A conversation as clients receive it. The per-side fields (`unreadCount`, `lastReadSeq`,
 * `archived`, `archivedAt`, `lastMessage`) are present when the caller is a participant, and
 * describe the caller's side; an admin's view carries only the conversation itself.
 */
export interface WireConversation {
  id: string;
  customerId: number;
  providerId: number;
  orderId: number | null;
  status: Conversation['status'];
  lastSeq: number;
  createdAt: string;
  updatedAt: string;
  lastMessageAt: string | null;
  unreadCount?: number;
  lastReadSeq?: number;
  archived?: boolean;
  archivedAt?: string | null;
  lastMessage?: WireMessage | null;
}

function isSummary(conversation: Conversation | ConversationSummary): conversation is ConversationSummary {
  return 'unreadCount' in conversation;
}

/** The one serialisation of a conversation (or one side's summary of it) for the wire. */
export function toWireConversation(conversation: Conversation | ConversationSummary): WireConversation {
  const wire: WireConversation = {
    id: conversation.id,
    customerId: conversation.customerId,
    providerId: conversation.providerId,
    orderId: conversation.orderId,
    status: conversation.status,
    lastSeq: conversation.lastSeq,
    createdAt: iso(conversation.createdAt),
    updatedAt: iso(conversation.updatedAt),
    lastMessageAt: isoOrNull(conversation.lastMessageAt),
  };
  if (isSummary(conversation)) {
    wire.unreadCount = conversation.unreadCount;
    wire.lastReadSeq = conversation.lastReadSeq;
    wire.archived = conversation.archivedAt !== null;
    wire.archivedAt = isoOrNull(conversation.archivedAt);
    wire.lastMessage = conversation.lastMessage ? toWireMessage(conversation.lastMessage) : null;
  }
  return wire;
}

/** A user's presence on the wire (`chat-user-online`, `chat-user-offline`, `GET /online-users`). */
export interface WirePresence {
  userId: number;
  role: Role;
  providerId?: number;
  lastSeen: string;
}

export function toWirePresence(presence: { userId: number; role: Role; providerId?: number; lastSeen: number }): WirePresence {
  return {
    userId: presence.userId,
    role: presence.role,
    ...(presence.providerId !== undefined ? { providerId: presence.providerId } : {}),
    lastSeen: iso(presence.lastSeen),
  };
}

/** `chat-authenticated` data. */
export interface AuthenticatedData {
  userId: number;
  role: Role;
  providerId?: number;
  connectionId: string;
}

export function toAuthenticatedData(identity: Identity, connectionId: string): AuthenticatedData {
  return {
    userId: identity.userId,
    role: identity.role,
    ...(identity.providerId !== undefined ? { providerId: identity.providerId } : {}),
    connectionId,
  };
}

/** A server → client frame. */
export function frame(event: ServerEvent, data: unknown): ServerFrame {
  return { event, data };
}
