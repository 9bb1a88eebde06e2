/**
 * The domain model shared by use cases, ports and adapters. Plain data, no I/O.
 */

export const CONVERSATION_STATUSES = ['ACTIVE', 'ARCHIVED', 'BLOCKED', 'ENDED'] as const;
export type ConversationStatus = (typeof CONVERSATION_STATUSES)[number];

export const MESSAGE_TYPES = ['TEXT', 'IMAGE', 'FILE', 'LOCATION', 'VOICE', 'SYSTEM'] as const;
export type MessageType = (typeof MESSAGE_TYPES)[number];

export const MESSAGE_STATUSES = ['SENT', 'DELIVERED', 'READ', 'FAILED'] as const;
export type MessageStatus = (typeof MESSAGE_STATUSES)[number];

/** The two sides of every conversation. */
export const SIDES = ['customer', 'provider'] as const;
export type Side = (typeof SIDES)[number];

/**
 * Who a token speaks for: a customer, a provider's staff user, an admin, or a `service` (a
 * backend of the marketplace, such as orders or bookings, acting in the chat for itself).
 */
export const ROLES = ['customer', 'provider', 'admin', 'service'] as const;
export type Role = (typeof ROLES)[number];

/**
 * The `userId` of a service whose token names none (a Cognito client-credentials token carries
 * no custom claims). Never a person's id: ids of people are positive.
 */
export const SERVICE_USER_ID = 0;

/** A verified caller. Identity only ever comes from a verified token. */
export interface Identity {
  userId: number;
  role: Role;
  /** Set for provider staff: the business they act for. */
  providerId?: number;
  /** Set for services: the token's `client_id` (or `sub`), naming the calling backend. */
  serviceId?: string;
}

/** JSON that Postgres stores in a jsonb column. */
export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

/** Who acted on a conversation (blocked it): one of its sides, an admin, or a service. */
export const ACTORS = ['customer', 'provider', 'admin', 'service'] as const;
export type Actor = (typeof ACTORS)[number];

export interface Conversation {
  id: string;
  customerId: number;
  providerId: number;
  orderId: number | null;
  status: ConversationStatus;
  /** Who blocked it, while BLOCKED; null otherwise. */
  blockedBy: Actor | null;
  /** The provider's staff user who handles it in the shared inbox; null: unassigned. */
  assigneeId: number | null;
  lastSeq: number;
  createdAt: Date;
  updatedAt: Date;
  lastMessageAt: Date | null;
}

export interface Message {
  id: string;
  conversationId: string;
  seq: number;
  senderId: number;
  /** The sending side; `service` for a service's SYSTEM message, which both sides receive. */
  senderRole: Sender;
  /** The other side's party; the customer's userId for a service's message. */
  receiverId: number;
  messageType: MessageType;
  content: string;
  attachments: Json | null;
  status: MessageStatus;
  deliveredAt: Date | null;
  readAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
  replyToId: string | null;
  metadata: Json | null;
  clientMessageId: string | null;
  /** When its sender last edited the content; null until then. */
  editedAt: Date | null;
  /** When it was deleted (a tombstone: content, attachments and metadata are gone); null until then. */
  deletedAt: Date | null;
  /** Reactions by emoji, in the order each emoji was first used. */
  reactions: Reaction[];
}

/** Everyone who reacted to a message with one emoji. */
export interface Reaction {
  emoji: string;
  /** In the order they reacted. */
  userIds: number[];
}

/** One side's view of a conversation: its own unread count and archive state. */
export interface ConversationSummary extends Conversation {
  unreadCount: number;
  lastReadSeq: number;
  archivedAt: Date | null;
  lastMessage: Message | null;
}

/** The side a caller acts for, and the party id on that side (userId or providerId). */
export interface Party {
  side: Side;
  partyId: number;
}

/** Who sent a message: one of the two sides, or a service (its SYSTEM messages). */
export const SENDERS = [...SIDES, 'system'] as const;
export type Sender = (typeof SENDERS)[number];

/** Which side of `conversation` the caller is on, or null when they are not a participant. */
export function sideOf(identity: Identity, conversation: Pick<Conversation, 'customerId' | 'providerId'>): Side | null {
  if (identity.role === 'customer' && identity.userId === conversation.customerId) return 'customer';
  if (identity.role === 'provider' && identity.providerId === conversation.providerId) return 'provider';
  return null;
}

/** The party a caller speaks for, or null for admins and services (who are never participants). */
export function partyOf(identity: Identity): Party | null {
  if (identity.role === 'customer') return { side: 'customer', partyId: identity.userId };
  if (identity.role === 'provider' && identity.providerId !== undefined) {
    return { side: 'provider', partyId: identity.providerId };
  }
  return null;
}

export function otherSide(side: Side): Side {
  return side === 'customer' ? 'provider' : 'customer';
}

const STATUS_RANK: Record<MessageStatus, number> = { SENT: 1, DELIVERED: 2, READ: 3, FAILED: 0 };

/** Status only moves forward: SENT → DELIVERED → READ. FAILED is final. */
export function isForward(from: MessageStatus, to: MessageStatus): boolean {
  return from !== 'FAILED' && to !== 'FAILED' && STATUS_RANK[to] > STATUS_RANK[from];
}

// ─── Push notifications ─────────────────────────────────────────────────────────────────

export const PUSH_PLATFORMS = ['apns', 'fcm'] as const;
export type PushPlatform = (typeof PUSH_PLATFORMS)[number];

/** A phone (or browser) that receives pushes: one per push token, owned by one user. */
export interface Device {
  id: string;
  userId: number;
  /** The side its user acts for, and that side's party (a provider's staff share the provider's). */
  side: Side;
  partyId: number;
  platform: PushPlatform;
  /** The APNs device token or FCM registration token. Never leaves the server whole. */
  token: string;
  appId: string | null;
  /** A BCP 47 tag (`de-AT`); the fixed words of a push are in its language. */
  locale: string | null;
  /** The push service's handle for the token (an SNS platform endpoint), once made. */
  endpointArn: string | null;
  createdAt: Date;
  lastPushedAt: Date | null;
}

/** A user's mute of one conversation: until `mutedUntil`, or for good while it is null. */
export interface ConversationMute {
  conversationId: string;
  userId: number;
  mutedUntil: Date | null;
}

// ─── Reports and moderation ─────────────────────────────────────────────────────────────

export const REPORT_REASONS = ['spam', 'abuse', 'scam', 'off_platform', 'other'] as const;
export type ReportReason = (typeof REPORT_REASONS)[number];
export const REPORT_STATUSES = ['OPEN', 'RESOLVED'] as const;
export type ReportStatus = (typeof REPORT_STATUSES)[number];
/** What an admin does about a report: nothing, or what the admin's own route would do. */
export const REPORT_RESOLUTIONS = ['dismiss', 'delete_message', 'block_conversation', 'end_conversation'] as const;
export type ReportResolution = (typeof REPORT_RESOLUTIONS)[number];

/** A report of one message, by a participant or (reporterId null) by the product itself. */
export interface Report {
  id: string;
  conversationId: string;
  messageId: string;
  reporterId: number | null;
  reason: ReportReason;
  note: string | null;
  status: ReportStatus;
  createdAt: Date;
  resolvedAt: Date | null;
  resolvedBy: number | null;
  resolution: ReportResolution | null;
  resolutionNote: string | null;
}

export const ATTACHMENT_STATUSES = ['PENDING', 'READY', 'REJECTED'] as const;
export type AttachmentStatus = (typeof ATTACHMENT_STATUSES)[number];

/**
 * A file uploaded straight to object storage (a photo, a document, a voice note): PENDING from
 * the upload intent until the processor checks its bytes, then READY or REJECTED. A message
 * carries READY attachments by id; `messageId` is the one message that claimed it.
 */
export interface Attachment {
  id: string;
  conversationId: string;
  uploaderId: number;
  uploaderSide: Side;
  fileName: string;
  contentType: string;
  /** Bytes: as declared until processed, then as stored. */
  size: number;
  status: AttachmentStatus;
  width: number | null;
  height: number | null;
  hasThumbnail: boolean;
  rejectedReason: string | null;
  messageId: string | null;
  createdAt: Date;
  updatedAt: Date;
  processedAt: Date | null;
}

/** The stored variants of an attachment: the (cleaned) original, and an image's WebP thumbnail. */
export const ATTACHMENT_VARIANTS = ['original', 'thumbnail'] as const;
export type AttachmentVariant = (typeof ATTACHMENT_VARIANTS)[number];
