/**
 * What the use cases put on the wire: messages, conversations and presence with ISO-8601 times.
 * The domain keeps `Date` and epoch ms; everything a client sees goes through these functions,
 * so REST bodies, acks and pushed frames always agree. The shapes themselves are the protocol's
 * zod schemas (functions/core/protocol/wire.ts), and so are their types.
 */
import type { Attachment, Conversation, ConversationSummary, Identity, Message, Role } from '#core/model';
import type {
  AuthenticatedData,
  EventData,
  EventFrame,
  ServerEvent,
  WireAttachment,
  WireChange,
  WireConversation,
  WireMessage,
  WirePresence,
  WireReaction,
} from '#core/protocol';

export type { AuthenticatedData, WireAttachment, WireChange, WireConversation, WireMessage, WirePresence, WireReaction };

/** An ISO-8601 UTC timestamp from a Date or epoch milliseconds. */
export function iso(value: Date | number): string {
  return (typeof value === 'number' ? new Date(value) : value).toISOString();
}

function isoOrNull(value: Date | null | undefined): string | null {
  return value === null || value === undefined ? null : iso(value);
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
    editedAt: isoOrNull(message.editedAt),
    deletedAt: isoOrNull(message.deletedAt),
    // Always present: a message nobody reacted to has an empty list.
    reactions: (message.reactions ?? []).map((reaction) => ({ emoji: reaction.emoji, count: reaction.userIds.length, userIds: [...reaction.userIds] })),
  };
}

/**
 * The one serialisation of an attachment for the wire: `width`, `height` (images once READY) and
 * `rejectedReason` (REJECTED) are left out when there is none. Never the uploader's side, the
 * message that carries it or anything of the storage's.
 */
export function toWireAttachment(attachment: Attachment): WireAttachment {
  return {
    id: attachment.id,
    conversationId: attachment.conversationId,
    uploaderId: attachment.uploaderId,
    fileName: attachment.fileName,
    contentType: attachment.contentType,
    size: attachment.size,
    status: attachment.status,
    ...(attachment.width !== null ? { width: attachment.width } : {}),
    ...(attachment.height !== null ? { height: attachment.height } : {}),
    hasThumbnail: attachment.hasThumbnail,
    createdAt: iso(attachment.createdAt),
    ...(attachment.rejectedReason !== null ? { rejectedReason: attachment.rejectedReason } : {}),
  };
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
    blockedBy: conversation.blockedBy ?? null,
    assigneeId: conversation.assigneeId ?? null,
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

export function toWirePresence(presence: { userId: number; role: Role; providerId?: number; lastSeen: number }): WirePresence {
  return {
    userId: presence.userId,
    role: presence.role,
    ...(presence.providerId !== undefined ? { providerId: presence.providerId } : {}),
    lastSeen: iso(presence.lastSeen),
  };
}

export function toAuthenticatedData(identity: Identity, connectionId: string): AuthenticatedData {
  return {
    userId: identity.userId,
    role: identity.role,
    ...(identity.providerId !== undefined ? { providerId: identity.providerId } : {}),
    connectionId,
  };
}

/** A server → client frame; its data must be the event's (SERVER_EVENT_SCHEMAS), or it does not compile. */
export function frame<E extends ServerEvent>(event: E, data: EventData<E>): EventFrame<E> {
  return { event, data };
}
