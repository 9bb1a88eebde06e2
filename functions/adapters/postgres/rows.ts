/**
 * Row shapes of the hand-written SQL in the Postgres stores, and their mapping onto the
 * domain model. Column names are the schema's (Prisma keeps field names as column names).
 */
import type { Conversation, ConversationSummary, Json, Message } from '#core/model';
import { Prisma } from './generated/client.ts';

export const T = {
  conversations: Prisma.raw('"chatConversations"'),
  messages: Prisma.raw('"providerCustomerMessages"'),
  participants: Prisma.raw('"chatParticipants"'),
} as const;

export type MessageRow = Message;
export type ConversationRow = Conversation;

export interface SummaryRow extends ConversationRow {
  unreadCount: number;
  lastReadSeq: number;
  archivedAt: Date | null;
  lastActivityAt: Date;
  lastMessage: Record<string, unknown> | null;
}

const asDate = (value: unknown): Date | null => (value === null || value === undefined ? null : new Date(value as string));

export function toConversation(row: ConversationRow): Conversation {
  return {
    id: row.id,
    customerId: row.customerId,
    providerId: row.providerId,
    orderId: row.orderId,
    status: row.status,
    lastSeq: row.lastSeq,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
    lastMessageAt: row.lastMessageAt,
  };
}

export function toMessage(row: MessageRow): Message {
  return {
    id: row.id,
    conversationId: row.conversationId,
    seq: row.seq,
    senderId: row.senderId,
    senderRole: row.senderRole,
    receiverId: row.receiverId,
    messageType: row.messageType,
    content: row.content,
    attachments: row.attachments ?? null,
    status: row.status,
    deliveredAt: row.deliveredAt,
    readAt: row.readAt,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
    replyToId: row.replyToId,
    metadata: row.metadata ?? null,
    clientMessageId: row.clientMessageId,
  };
}

/**
 * A message that came back through `row_to_json` (the inbox's last message): timestamps are
 * ISO strings without a zone, written in UTC by Prisma's convention.
 */
function messageFromJson(json: Record<string, unknown>): Message {
  const utc = (value: unknown) => (typeof value === 'string' && !/[zZ]|[+-]\d\d:\d\d$/.test(value) ? `${value}Z` : value);
  return toMessage({
    ...(json as unknown as Message),
    attachments: (json.attachments ?? null) as Json | null,
    metadata: (json.metadata ?? null) as Json | null,
    deliveredAt: asDate(utc(json.deliveredAt)),
    readAt: asDate(utc(json.readAt)),
    createdAt: asDate(utc(json.createdAt)) as Date,
    updatedAt: asDate(utc(json.updatedAt)) as Date,
  });
}

export function toSummary(row: SummaryRow): ConversationSummary {
  return {
    ...toConversation(row),
    unreadCount: row.unreadCount,
    lastReadSeq: row.lastReadSeq,
    archivedAt: row.archivedAt,
    lastMessage: row.lastMessage ? messageFromJson(row.lastMessage) : null,
  };
}
