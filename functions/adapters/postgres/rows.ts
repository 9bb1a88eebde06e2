/**
 * Row shapes of the hand-written SQL in the Postgres stores, and their mapping onto the
 * domain model. Column names are the schema's (Prisma keeps field names as column names).
 */
import type { Attachment, Conversation, ConversationSummary, Json, Message, Reaction, Report } from '#core/model';
import { Prisma } from './generated/client.ts';

export const T = {
  conversations: Prisma.raw('"chatConversations"'),
  messages: Prisma.raw('"providerCustomerMessages"'),
  participants: Prisma.raw('"chatParticipants"'),
  changes: Prisma.raw('"chatChanges"'),
  devices: Prisma.raw('"chatDevices"'),
  mutes: Prisma.raw('"chatConversationMutes"'),
  reports: Prisma.raw('"chatReports"'),
  firstResponses: Prisma.raw('"chatFirstResponses"'),
  sendRates: Prisma.raw('"chatSendRates"'),
  attachments: Prisma.raw('"chatAttachments"'),
} as const;

/**
 * The message columns the stores read: every column of the schema's Message but the full-text
 * `searchVector`, which Postgres keeps for search and nothing reads back (it is large, and the
 * client has no type for it). Hand-written SQL names these instead of `*`.
 */
const MESSAGE_COLUMN_NAMES: readonly string[] = Object.values(Prisma.MessageScalarFieldEnum);

/** The message columns, qualified by a table alias when one is given. */
export function messageColumns(alias?: string): Prisma.Sql {
  return Prisma.raw(MESSAGE_COLUMN_NAMES.map((name) => `${alias ? `${alias}.` : ''}"${name}"`).join(', '));
}

/** A message row as one JSON object (for messageFromJson), without its search vector. */
export function messageJson(alias: string): Prisma.Sql {
  return Prisma.raw(`(to_jsonb(${alias}.*) - 'searchVector')`);
}

/** The writing transaction's id, as the change log orders by it. */
export const CURRENT_TXID = Prisma.raw('pg_current_xact_id()::text::bigint');

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

/** `row_to_json` prints timestamp(3) columns without a zone; they hold UTC by Prisma's convention. */
const utc = (value: unknown) => (typeof value === 'string' && !/[zZ]|[+-]\d\d:\d\d$/.test(value) ? `${value}Z` : value);

/** An attachment row (Prisma's, or a raw statement's `RETURNING *`) as the domain's. */
export function toAttachment(row: Attachment): Attachment {
  return {
    id: row.id,
    conversationId: row.conversationId,
    uploaderId: row.uploaderId,
    uploaderSide: row.uploaderSide,
    fileName: row.fileName,
    contentType: row.contentType,
    size: row.size,
    status: row.status,
    width: row.width ?? null,
    height: row.height ?? null,
    hasThumbnail: row.hasThumbnail,
    rejectedReason: row.rejectedReason ?? null,
    messageId: row.messageId ?? null,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
    processedAt: row.processedAt ?? null,
  };
}

/** An attachment row as row_to_json renders it. */
export function attachmentFromJson(json: Record<string, unknown>): Attachment {
  return toAttachment({
    ...(json as unknown as Attachment),
    createdAt: asDate(utc(json.createdAt)) as Date,
    updatedAt: asDate(utc(json.updatedAt)) as Date,
    processedAt: asDate(utc(json.processedAt)),
  });
}

/** A report row as row_to_json renders it. */
export function reportFromJson(json: Record<string, unknown>): Report {
  const report = json as unknown as Report;
  return {
    id: report.id,
    conversationId: report.conversationId,
    messageId: report.messageId,
    reporterId: report.reporterId ?? null,
    reason: report.reason,
    note: report.note ?? null,
    status: report.status,
    createdAt: asDate(utc(json.createdAt)) as Date,
    resolvedAt: asDate(utc(json.resolvedAt)),
    resolvedBy: report.resolvedBy ?? null,
    resolution: report.resolution ?? null,
    resolutionNote: report.resolutionNote ?? null,
  };
}

export function conversationFromJson(json: Record<string, unknown>): Conversation {
  return toConversation({
    ...(json as unknown as Conversation),
    createdAt: asDate(utc(json.createdAt)) as Date,
    updatedAt: asDate(utc(json.updatedAt)) as Date,
    lastMessageAt: asDate(utc(json.lastMessageAt)),
  });
}

export function toConversation(row: ConversationRow): Conversation {
  return {
    id: row.id,
    customerId: row.customerId,
    providerId: row.providerId,
    orderId: row.orderId,
    status: row.status,
    blockedBy: row.blockedBy ?? null,
    assigneeId: row.assigneeId ?? null,
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
    editedAt: row.editedAt ?? null,
    deletedAt: row.deletedAt ?? null,
    reactions: toReactions(row.reactions),
  };
}

/** The jsonb `reactions` column: `[{emoji, userIds}]`; anything else reads as none. */
function toReactions(value: unknown): Reaction[] {
  if (!Array.isArray(value)) return [];
  return value.flatMap((entry: unknown) => {
    const { emoji, userIds } = (entry ?? {}) as { emoji?: unknown; userIds?: unknown };
    if (typeof emoji !== 'string' || !Array.isArray(userIds)) return [];
    const ids = userIds.filter((id): id is number => Number.isInteger(id));
    return ids.length > 0 ? [{ emoji, userIds: ids }] : [];
  });
}

/**
 * A message that came back through `row_to_json` (the inbox's last message): timestamps are
 * ISO strings without a zone, written in UTC by Prisma's convention.
 */
export function messageFromJson(json: Record<string, unknown>): Message {
  return toMessage({
    ...(json as unknown as Message),
    attachments: (json.attachments ?? null) as Json | null,
    metadata: (json.metadata ?? null) as Json | null,
    deliveredAt: asDate(utc(json.deliveredAt)),
    readAt: asDate(utc(json.readAt)),
    createdAt: asDate(utc(json.createdAt)) as Date,
    updatedAt: asDate(utc(json.updatedAt)) as Date,
    editedAt: asDate(utc(json.editedAt)),
    deletedAt: asDate(utc(json.deletedAt)),
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
