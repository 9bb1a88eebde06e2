/**
 * Ports: what the use cases need from the outside world. Adapters in functions/adapters make
 * them real (Prisma, DynamoDB, API Gateway); unit tests pass in-memory fakes.
 */
import type { ServerFrame } from './protocol.ts';
import type { DomainEvent, EventType } from './events.ts';
import type { WebhookOutcome } from './webhooks.ts';

export type { WebhookOutcome } from './webhooks.ts';
import type {
  Actor,
  Attachment,
  AttachmentVariant,
  Conversation,
  ConversationMute,
  ConversationStatus,
  ConversationSummary,
  Device,
  Identity,
  Json,
  Message,
  MessageType,
  Party,
  PushPlatform,
  Reaction,
  Report,
  ReportStatus,
  Role,
  Sender,
  Side,
} from './model.ts';
import type { PushNotification } from './push-notification.ts';

// ─── Postgres: conversations, messages, participants ────────────────────────────────────

export interface ConversationKey {
  providerId: number;
  customerId: number;
  orderId: number | null;
}

export interface ListConversationsQuery {
  /** false: the side's inbox; true: only what that side archived. */
  archived: boolean;
  /** Provider staff only: conversations assigned to this staff user, or (null) to nobody. */
  assignee?: number | null;
  limit: number;
  /** Opaque cursor from a previous page's `nextCursor`. */
  cursor?: string | null;
}

export interface ConversationPage {
  conversations: ConversationSummary[];
  nextCursor: string | null;
}

export interface ConversationStore {
  /**
   * Returns the ACTIVE conversation for (provider, customer, order), creating it and both
   * participants when there is none. Safe under concurrent calls: exactly one is created.
   */
  startOrGet(key: ConversationKey): Promise<{ conversation: Conversation; created: boolean; changes: RecordedChange[] }>;
  get(conversationId: string): Promise<Conversation | null>;
  /** One side's conversations, newest activity first, keyset-paged, with unread count and last message. */
  listForParty(party: Party, query: ListConversationsQuery): Promise<ConversationPage>;
  /** One side's view of one conversation, or null when the conversation does not exist. */
  summaryFor(conversationId: string, side: Side): Promise<ConversationSummary | null>;
  /**
   * Archives the conversation for one side only; returns that side's view (null when missing)
   * and the `conversation.archived` change (none when it was archived already).
   */
  archive(conversationId: string, side: Side, at: Date): Promise<{ summary: ConversationSummary; changes: RecordedChange[] } | null>;
  /** The parties on the other side of every conversation `party` takes part in. */
  counterpartsOf(party: Party): Promise<Party[]>;
  /**
   * Moves the conversation's status, only from one of `from`, recording `conversation.updated`
   * in the same statement. To ACTIVE it takes back the one-ACTIVE-per-order key; to anything
   * else it releases it. Null when the conversation does not exist or is in none of `from`.
   * @throws ConflictError when another conversation of the same order is ACTIVE (an unblock).
   */
  transition(conversationId: string, move: StatusTransition): Promise<{ conversation: Conversation; changes: RecordedChange[] } | null>;
  /**
   * Assigns the conversation to a staff user (null: nobody), unless it is ENDED, recording
   * `conversation.updated` in the same statement when the assignee changes. Null when the
   * conversation does not exist or is ENDED; no change recorded when it was assigned so already.
   */
  assign(conversationId: string, assigneeId: number | null, at: Date): Promise<{ conversation: Conversation; changes: RecordedChange[] } | null>;
  /** A BLOCKED conversation of this provider and customer, if any (its id). */
  blockedPair(providerId: number, customerId: number): Promise<string | null>;
}

export interface StatusTransition {
  from: readonly ConversationStatus[];
  to: ConversationStatus;
  /** Who blocked it (with `to: BLOCKED`); null otherwise. */
  blockedBy: Actor | null;
  at: Date;
}

export interface AppendMessageInput {
  conversationId: string;
  senderId: number;
  senderRole: Sender;
  /** The sender's party on that side: the customer's userId, or the provider's providerId; null for a service. */
  senderPartyId: number | null;
  messageType: MessageType;
  content: string;
  attachments?: Json | null;
  /**
   * READY attachments (ids) the message claims: the append checks and claims them in its own
   * statement, so two sends can never carry the same upload.
   */
  attachmentIds?: readonly string[];
  /**
   * Only attachments created after this time may be claimed: older ones are the orphan sweep's
   * (it deletes their objects before their records), so a send never races it for one.
   */
  attachmentsCreatedAfter?: Date;
  /** Each claimed attachment's type starts with this (`image/` for IMAGE, `audio/` for VOICE). */
  attachmentTypePrefix?: string;
  replyToId?: string | null;
  metadata?: Json | null;
  clientMessageId?: string | null;
}

/**
 * The sender's send rate, when given to MessageStore.append: counted in the same statement (a
 * fixed window of `windowMs` per `key`, at most `limit` counted). Over it, nothing is stored and
 * the append answers `{rateLimited: true, resetAt}` before any other check. A send that passes is
 * counted even when the append then refuses it (as a separate limiter in front of it would be).
 */
export interface SendRate {
  key: string;
  limit: number;
  windowMs: number;
  /** The send's time, epoch ms: picks the window. */
  now: number;
}

/** An append refused by the sender's rate: nothing stored; the window ends at `resetAt` (epoch ms). */
export interface RateRefusal {
  rateLimited: true;
  resetAt: number;
}

export interface AppendResult {
  message: Message;
  created: boolean;
  changes: RecordedChange[];
  firstResponseMs?: number;
}

/** MessageStore.append: only an append given a `rate` can be refused by it. */
export interface AppendMessage {
  (input: AppendMessageInput, rate: SendRate): Promise<AppendResult | RateRefusal>;
  (input: AppendMessageInput): Promise<AppendResult>;
}

export type HistoryQuery =
  | { kind: 'page'; page: number; limit: number }
  | { kind: 'after'; afterSeq: number; limit: number }
  | { kind: 'before'; beforeSeq: number; limit: number };

export interface HistoryPage {
  /** Ascending by seq. */
  messages: Message[];
  /** More messages exist in the direction of travel (older for page/before, newer for after). */
  hasMore: boolean;
  /** Messages in the conversation (its last seq). */
  total: number;
}

export interface MarkReadResult {
  /** Messages that moved to READ, ascending by seq. */
  messages: Message[];
  /** The newest seq now read by that side. */
  lastReadSeq: number;
  /** `conversation.read` (when the read position moved) and `message.status` (when messages moved). */
  changes: RecordedChange[];
}

/** A message and the conversation it belongs to, read together. */
export interface MessageContext {
  message: Message;
  conversation: Conversation;
}

/** A message as a write left it, and the change that write recorded. */
export interface MessageChange {
  message: Message;
  changes: RecordedChange[];
}

export interface MessageStore {
  /**
   * Stores a message with the conversation's next seq, bumps its last activity and the other
   * side's unread count and un-archives it, atomically. A repeated clientMessageId from the same
   * sender stores nothing and returns the stored message with `created: false`.
   * Checks that the sender's party is that side of the conversation, so a send needs no
   * separate access read.
   * @throws NotFoundError when the conversation does not exist, ForbiddenError when the sender's
   * party is not its `senderRole` side, ConflictError when it is not ACTIVE, ValidationError
   * when replyToId is not a message of the same conversation.
   */
  /**
   * Stores a message (or finds the sender's earlier one with the same clientMessageId) and keeps
   * the provider's response times: a customer's message starts a wait unless one runs; the
   * provider's answers it. `firstResponseMs`: how long the wait this message answered lasted.
   */
  append: AppendMessage;
  get(messageId: string): Promise<Message | null>;
  /** The message with its conversation (one read), or null when there is no such message. */
  context(messageId: string): Promise<MessageContext | null>;
  /**
   * Replaces a message's content and sets `editedAt`, recording `message.updated`. Null when it
   * can no longer be edited (deleted, or its conversation is no longer ACTIVE) by the time the
   * write runs; the caller checked everything else.
   */
  edit(messageId: string, content: string, at: Date): Promise<MessageChange | null>;
  /**
   * Turns a message into a tombstone (no content, attachments, metadata or reactions;
   * `deletedAt` set), recording `message.deleted`. Null when it was deleted already.
   */
  tombstone(messageId: string, at: Date): Promise<MessageChange | null>;
  /**
   * Compare-and-set of a message's reactions, recording `reaction.updated`: writes `next` only
   * while the stored reactions still equal `expected`, the message is not deleted and its
   * conversation is ACTIVE. Null otherwise (the caller reads again and retries).
   */
  setReactions(messageId: string, expected: readonly Reaction[], next: readonly Reaction[], at: Date): Promise<MessageChange | null>;
  history(conversationId: string, query: HistoryQuery): Promise<HistoryPage>;
  /**
   * Moves a message forward to DELIVERED (sets deliveredAt) or READ (sets readAt, and
   * deliveredAt when unset; lowers the receiving side's unread count). Returns the updated
   * message, or null when that would not move it forward.
   */
  advanceStatus(messageId: string, status: 'DELIVERED' | 'READ', at: Date): Promise<MessageChange | null>;
  /** Every message from the other side becomes READ for `side`; its unread count becomes 0. */
  markRead(conversationId: string, side: Side, at: Date): Promise<MarkReadResult>;
}

// ─── Postgres: the change log ───────────────────────────────────────────────────────────

/** A change a store wrote in the same transaction as the change itself. */
export interface RecordedChange {
  /** The change's id (a bigint as a decimal string): the domain event's id. */
  id: string;
  type: EventType;
  conversationId: string;
  at: Date;
  /** What the referenced message or conversation does not say (see StoredChange.data). */
  data: Record<string, Json>;
}

/** Where a reader stands in the change log: changes are ordered by (txid, id). */
export interface ChangePosition {
  txid: bigint;
  id: bigint;
}

/** A change as the log holds it, with the current state of what it refers to. */
export interface StoredChange extends RecordedChange {
  txid: bigint;
  /** The side that alone sees it, or null for both. */
  side: Side | null;
  /** The message it is about (its current state: a deleted one is a tombstone), if any. */
  message: Message | null;
  conversation: Conversation;
  /** The report it is about (`report.created`), as it is now, if any. */
  report: Report | null;
  /** The attachment it is about (`attachment.updated`), as it is now, if any. */
  attachment?: Attachment | null;
}

export interface ChangePage {
  /** Ascending by (txid, id). */
  changes: StoredChange[];
  hasMore: boolean;
  /**
   * The oldest transaction still running when the page was read: every change with a smaller
   * txid is already visible, every later change will have a txid at least this.
   */
  horizon: bigint;
}

/** Whose changes a reader sees: their side's conversations, and what is addressed to them. */
export interface ChangeReader {
  party: Party;
  userId: number;
}

export interface ChangeLog {
  /** The changes `reader` may see after `after` (from the start when null), at most `limit`. */
  page(reader: ChangeReader, after: ChangePosition | null, limit: number): Promise<ChangePage>;
  /** The current horizon (a starting point for a reader that has seen nothing). */
  horizon(): Promise<bigint>;
  /**
   * Changes whose event no consumer confirmed, older than `olderThan` and due for another try,
   * oldest first; each claimed one is not due again for a while (growing with each try).
   */
  claimUnpublished(olderThan: Date, limit: number, now: Date): Promise<StoredChange[]>;
  /** Confirms events published; returns how many were not confirmed before. */
  markPublished(ids: readonly string[], at: Date): Promise<number>;
  /** Deletes up to `limit` changes older than `before`; returns how many. */
  purge(before: Date, limit: number): Promise<number>;
}

// ─── Postgres: reports ──────────────────────────────────────────────────────────────────

export interface ReportPage {
  /** Oldest first: a queue is worked from its head. */
  reports: { report: Report; message: Message }[];
  nextCursor: string | null;
}

export interface ReportStore {
  /**
   * Files a report, once per reporter and message: `created` false answers the one already filed.
   * A new report records its `report.created` change (data `{reportId}`) in the same statement.
   */
  file(input: Pick<Report, 'conversationId' | 'messageId' | 'reporterId' | 'reason' | 'note'>): Promise<{ report: Report; created: boolean; changes: RecordedChange[] }>;
  get(reportId: string): Promise<Report | null>;
  /** The queue by status, oldest first, keyset-paged, each report with its message as it is now. */
  list(status: ReportStatus, limit: number, cursor: string | null): Promise<ReportPage>;
  /** Resolves an OPEN report; null when it is not OPEN (any more). */
  resolve(reportId: string, resolution: Pick<Report, 'resolution' | 'resolvedBy' | 'resolutionNote'> & { at: Date }): Promise<Report | null>;
}

// ─── Postgres: search ───────────────────────────────────────────────────────────────────

/**
 * Whose messages a search looks through: one party's conversations (found through the
 * participant index, one range scan however many there are), one conversation, or every
 * conversation (a caller who may read them all).
 */
export type SearchScope = ({ kind: 'party' } & Party) | { kind: 'conversation'; conversationId: string } | { kind: 'everywhere' };

export interface MessageSearchInput {
  scope: SearchScope;
  /** Every word must match; the last one as a prefix (see searchWords). */
  words: readonly string[];
  limit: number;
  /** Opaque, from a previous page's `nextCursor` for the same words and scope. */
  cursor: string | null;
}

export interface MessageSearch {
  /**
   * Messages that match, best match first (then newest), never a deleted one, keyset-paged.
   * @throws ValidationError for a cursor it did not issue for these words.
   */
  search(input: MessageSearchInput): Promise<{ messages: Message[]; nextCursor: string | null }>;
}

// ─── Attachments: their records (Postgres) and their objects (S3) ───────────────────────

/** What an upload intent records: who uploads what into which conversation. */
export type NewAttachment = Pick<Attachment, 'conversationId' | 'uploaderId' | 'uploaderSide' | 'fileName' | 'contentType' | 'size'>;

/** What processing made of an upload. */
export type ProcessingOutcome =
  | {
      status: 'READY';
      /** Bytes of the stored original. */
      size: number;
      /** The stored original's type: the declared one, or image/jpeg for a HEIC photo transcoded to be seen everywhere. */
      contentType: string;
      width: number | null;
      height: number | null;
      hasThumbnail: boolean;
    }
  | { status: 'REJECTED'; reason: string };

export interface AttachmentStore {
  /** A PENDING attachment for an upload intent. */
  create(input: NewAttachment): Promise<Attachment>;
  get(attachmentId: string): Promise<Attachment | null>;
  /**
   * Records processing's outcome and its `attachment.updated` change (for the uploader only) in
   * one statement. Null when the attachment is gone or no longer PENDING (a repeated delivery).
   */
  finish(attachmentId: string, outcome: ProcessingOutcome, at: Date): Promise<{ attachment: Attachment; changes: RecordedChange[] } | null>;
  /** Attachments no message claimed that were created before `before`, oldest first. */
  orphans(before: Date, limit: number): Promise<Attachment[]>;
  /** Attachments whose message was deleted since (a tombstone carries none), oldest first. */
  ofDeletedMessages(limit: number): Promise<Attachment[]>;
  /**
   * Deletes these records, each only while no message carries it (unclaimed, or its message
   * deleted); answers the ids deleted.
   */
  removeUnclaimed(attachmentIds: readonly string[]): Promise<string[]>;
}

/** A browser-style upload: POST multipart/form-data to `url` with every field, then `file`. */
export interface UploadForm {
  url: string;
  fields: Record<string, string>;
  expiresAt: Date;
}

export interface UploadPolicy {
  /** The exact Content-Type the storage accepts. */
  contentType: string;
  /** The size range the storage accepts, in bytes. */
  minBytes: number;
  maxBytes: number;
  expiresInSeconds: number;
}

export interface StoredObject {
  bytes: Uint8Array;
  contentType: string | undefined;
}

/** The attachments bucket: presigned uploads and downloads, and the processor's reads and writes. */
export interface ObjectStorage {
  /** A presigned POST for exactly `key`, which the storage itself enforces. */
  uploadForm(key: string, policy: UploadPolicy): Promise<UploadForm>;
  /** A presigned GET of `key`, served as `fileName` with `contentType`. */
  downloadUrl(key: string, options: { expiresInSeconds: number; fileName: string; contentType: string }): Promise<string>;
  /** The object's bytes; null when there is none. */
  read(key: string): Promise<StoredObject | null>;
  write(key: string, bytes: Uint8Array, contentType: string): Promise<void>;
  /** Deletes the objects (missing ones are not an error). */
  remove(keys: readonly string[]): Promise<void>;
}

/** Where an attachment's objects live in the bucket (functions/core/attachments.ts builds the keys). */
export type AttachmentObjectKey = { kind: 'upload' } | { kind: 'variant'; variant: AttachmentVariant };

// ─── Postgres: response times ───────────────────────────────────────────────────────────

/** A provider's activity over `[from, to)`. */
export interface ProviderStats {
  /** Conversations started in the range. */
  conversations: number;
  /** Messages its customers sent in the range, and messages its staff sent. */
  messagesReceived: number;
  messagesSent: number;
  /** Over the waits that began in the range and were answered: seconds to the first response. */
  firstResponseSeconds: { median: number | null; p90: number | null };
  /** Waits that began in the range and have no answer yet. */
  unanswered: number;
}

export interface ProviderStatistics {
  /** The provider's statistics over `[from, to)`: one round trip, no walk over messages in order. */
  stats(providerId: number, from: Date, to: Date): Promise<ProviderStats>;
}

// ─── Postgres: devices and mutes ────────────────────────────────────────────────────────

export interface RegisterDeviceInput {
  userId: number;
  side: Side;
  partyId: number;
  platform: PushPlatform;
  token: string;
  appId: string | null;
  locale: string | null;
}

/** What one round of pushes for a message changes in the registry. */
export interface PushRoundOutcome {
  /** Devices the push service accepted a push for, with their (possibly new) endpoint. */
  pushed: { deviceId: string; endpointArn: string }[];
  /** Devices whose token the push service reported invalid, unregistered or disabled. */
  removed: string[];
  at: Date;
}

export interface PushRegistry {
  /**
   * Registers a push token for a user, in one statement: new (`created`), already the caller's
   * (its side, app and locale refreshed), or moved from another user to the caller (a new owner,
   * `created` true, the endpoint kept). Race-free per token.
   */
  register(input: RegisterDeviceInput): Promise<{ device: Device; created: boolean }>;
  /** A user's devices, oldest first. */
  devicesOf(userId: number): Promise<Device[]>;
  /** Deletes one of the user's devices; false when the user has no such device. */
  remove(deviceId: string, userId: number): Promise<boolean>;
  /** Mutes a conversation for a user (until `mutedUntil`, or for good when null), or unmutes it (`mute: null`). */
  setMute(conversationId: string, userId: number, mute: { mutedUntil: Date | null } | null): Promise<ConversationMute | null>;
  /** Every device of these parties whose user has not muted the conversation at `now`: one query. */
  recipients(conversationId: string, parties: readonly Party[], now: Date): Promise<Device[]>;
  /** Each party's unread count over its ACTIVE conversations it has not archived (a push's badge): one query. Keyed by {@link partyKey}. */
  badges(parties: readonly Party[]): Promise<Map<string, number>>;
  /** Records a round of pushes: lastPushedAt and endpoints of the pushed devices, and deletes the removed ones, in one transaction. */
  recordPushes(outcome: PushRoundOutcome): Promise<void>;
}

/** A party as a map key. */
export const partyKey = (party: Party) => `${party.side}:${party.partyId}`;

// ─── Push delivery ──────────────────────────────────────────────────────────────────────

export type PushResult =
  /** Accepted by the push service; `endpointArn` is the device's endpoint (new on its first push). */
  | { status: 'sent'; endpointArn: string }
  /** The push service says the token is invalid, unregistered or disabled: the device is removed. */
  | { status: 'gone'; reason: string };

/** Sends pushes to devices (SNS mobile push in AWS; behind this port a direct APNs or FCM sender can follow). */
export interface PushSender {
  /** Which platforms have a push application configured; pushes to the others are not sent. */
  configured(platform: PushPlatform): boolean;
  /** @throws when the push service failed in a way a later try can fix (throttling, an outage). */
  send(device: Device, notification: PushNotification): Promise<PushResult>;
}

// ─── Webhooks ───────────────────────────────────────────────────────────────────────────

/** One signed POST to the webhook receiver. */
export interface WebhookRequest {
  url: string;
  /** The raw JSON body, exactly as signed. */
  body: string;
  /** The `X-Chat-Signature` value. */
  signature: string;
  /** The event's id, also sent as `X-Chat-Event-Id`. */
  eventId: string;
}

/** POSTs webhook events (HTTP in both AWS and locally). */
export interface WebhookSender {
  /** Never throws: a timeout or a network error is a `retry` outcome. */
  send(request: WebhookRequest): Promise<WebhookOutcome>;
}

/** The signing secret: from Secrets Manager in AWS, from the environment locally; read once per container. */
export interface WebhookSecret {
  /** @throws UnavailableError when none is configured or it cannot be read (the record is tried again). */
  get(): Promise<string>;
}

/** The webhooks queue's side of a delivery: when the next attempt comes, and giving up. */
export interface WebhookQueue {
  /** Keeps the received record invisible for `seconds` from now (SQS ChangeMessageVisibility), so it is delivered again then. */
  retryLater(receiptHandle: string, seconds: number): Promise<void>;
  /** Puts the event on the webhooks dead-letter queue (to replay it later), with why it was given up. */
  deadLetter(event: DomainEvent, reason: string): Promise<void>;
}

// ─── DynamoDB: connections, rooms, presence, typing, rate limits ─────────────────────────

/** A WebSocket connection. Times are epoch milliseconds. */
export interface Connection {
  connectionId: string;
  connectedAt: number;
  /** When the connection's state expires (API Gateway's 2-hour maximum, plus a margin). */
  expiresAt: number;
  /** Null until the connection authenticates (a bare connect must authenticate within 30 s). */
  identity: { userId: number; role: Role; providerId?: number; serviceId?: string } | null;
  /** When a bare connection must have authenticated by. */
  authDeadline?: number;
  /** When the token behind `identity` expires. */
  tokenExpiresAt?: number;
}

export interface AuthenticatedConnection extends Connection {
  identity: NonNullable<Connection['identity']>;
}

export interface ConnectionStore {
  /** Records a connection (bare or authenticated). */
  put(connection: Connection): Promise<void>;
  /**
   * Attaches a verified identity to a connection and returns the ids of that user's connections
   * beyond the newest `maxPerUser`, which the caller closes. Race-free: however many sign-ins of
   * one user run at once, once they all returned every open connection of the user but the
   * newest `maxPerUser` (by sign-in order; the one signing in is the newest) was returned by
   * exactly one of them. Removing a connection takes it out of that count.
   * @throws NotFoundError when the connection is gone (closed or expired).
   */
  authenticate(
    connectionId: string,
    identity: NonNullable<Connection['identity']>,
    tokenExpiresAt: number,
    maxPerUser: number,
  ): Promise<{ connection: AuthenticatedConnection; evicted: string[] }>;
  get(connectionId: string): Promise<Connection | null>;
  /** Deletes a connection; returns what it was (null when it was already gone). */
  remove(connectionId: string): Promise<Connection | null>;
  /** Live authenticated connections of these parties (customers by userId, providers by providerId). */
  forParties(parties: Party[]): Promise<AuthenticatedConnection[]>;
  forUser(userId: number): Promise<AuthenticatedConnection[]>;
  /** Bare connections whose authentication deadline is at or before `deadline` (epoch ms). */
  awaitingAuthSince(deadline: number): Promise<string[]>;
}

export interface Subscription {
  conversationId: string;
  connectionId: string;
  userId: number;
  expiresAt: number;
}

export interface SubscriptionStore {
  subscribe(subscription: Subscription): Promise<void>;
  unsubscribe(conversationId: string, connectionId: string): Promise<void>;
  /** Live subscriptions of a conversation's room. */
  connectionsIn(conversationId: string): Promise<Subscription[]>;
  /** Removes every subscription of a connection; returns the conversation ids it left. */
  removeConnection(connectionId: string): Promise<string[]>;
}

export interface Presence {
  userId: number;
  role: Role;
  providerId?: number;
  online: boolean;
  /** Epoch ms of the last connect or disconnect. */
  lastSeen: number;
}

export interface PresenceStore {
  /** Adds a connection to a user's presence; `changed` is true when the user came online. */
  connected(input: {
    userId: number;
    role: Role;
    providerId?: number;
    connectionId: string;
    at: number;
    expiresAt: number;
  }): Promise<{ presence: Presence; changed: boolean }>;
  /**
   * Removes a connection; `changed` is true when it was the user's last one (they went offline).
   * Removing a connection that is not there changes nothing. `role`/`providerId` (the
   * connection's identity) describe the user when no presence is stored for them at all.
   */
  disconnected(input: {
    userId: number;
    connectionId: string;
    at: number;
    role?: Role;
    providerId?: number;
  }): Promise<{ presence: Presence; changed: boolean }>;
  /** Online users among these parties (customers by userId, provider staff by providerId). */
  onlineAmong(parties: Party[], now: number): Promise<Presence[]>;
  /** Every online user (admins only). */
  allOnline(now: number): Promise<Presence[]>;
}

export interface TypingState {
  conversationId: string;
  userId: number;
  role: Role;
  /** Epoch ms when the user started typing. */
  since: number;
  /** Epoch ms after which the state is stale. */
  expiresAt: number;
}

export interface TypingStore {
  set(state: TypingState): Promise<void>;
  clear(conversationId: string, userId: number): Promise<void>;
  /** Typing states that have not expired at `now`. */
  list(conversationId: string, now: number): Promise<TypingState[]>;
}

// ─── API Gateway and identity ───────────────────────────────────────────────────────────

/** What happened to one fan-out. A connection is in exactly one list. */
export interface DeliveryReport {
  delivered: string[];
  /** API Gateway answered 410 GoneException: the connection no longer exists. */
  gone: string[];
  /** Still failing after retries. The message stays stored; the client catches up by seq. */
  failed: string[];
}

/** Posts frames to WebSocket connections through the `@connections` management API. */
export interface Broadcaster {
  /** Posts one frame to every connection, in parallel with bounded concurrency. Never throws for a delivery. */
  send(connectionIds: readonly string[], frame: ServerFrame): Promise<DeliveryReport>;
  /** Closes a connection (DELETE @connections/{id}); a connection that is already gone is not an error. */
  close(connectionId: string): Promise<void>;
}

/** Verifies a bearer token and says who it belongs to. */
export interface TokenVerifier {
  /** @throws UnauthorizedError for a missing, malformed, expired or foreign token. */
  verify(token: string): Promise<{ identity: Identity; expiresAt: number }>;
}

export const METRICS = [
  'MessagesSent',
  'DuplicateSends',
  'DeliveryFailures',
  'StaleConnectionsPruned',
  'AuthFailures',
  'RateLimited',
  'ConnectionsEvicted',
  'FanOutLatency',
  /** Domain events put on the events queue after commit, and those whose publish failed (the sweeper retries them). */
  'EventsPublished',
  'EventPublishFailures',
  /** Changes the sweeper found unconfirmed and published again. */
  'EventsRepublished',
  /** Queue records a consumer could not handle (redelivered, then dead-lettered). */
  'EventRecordFailures',
  /** Change-log rows deleted by the retention purge. */
  'ChangesPurged',
  /** Upload intents answered; attachments the sweep deleted (records with their objects). */
  'AttachmentIntents',
  'AttachmentsSwept',
  /** Pushes the push service accepted, pushes that failed (retried through the queue), and devices removed because their token is dead. */
  'PushesSent',
  'PushFailures',
  'DevicesRemoved',
  /** How long a customer waited for the provider's first answer (ms), one datum per answer. */
  'FirstResponseTime',
  /** Webhook events the receiver answered 2xx; attempts that failed (retried, or given up); events given up and dead-lettered. */
  'WebhooksDelivered',
  'WebhookFailures',
  'WebhooksDeadLettered',
  /** Uploads processing recorded an outcome for (READY or REJECTED), those REJECTED, and the time each took (ms, read to recorded). */
  'AttachmentsProcessed',
  'AttachmentsRejected',
  'AttachmentProcessingTime',
] as const;

/** The metrics that are durations (`timing`), not counts. */
export const TIMING_METRICS: readonly MetricName[] = ['FanOutLatency', 'FirstResponseTime', 'AttachmentProcessingTime'];
export type MetricName = (typeof METRICS)[number];

/** Business metrics; the Lambda adapter publishes them with Powertools (EMF). */
export interface Metrics {
  count(metric: MetricName, value?: number): void;
  /** A duration in milliseconds. */
  timing(metric: MetricName, ms: number): void;
}

/** Structured logging, for what a use case decides (the adapter adds request context). */
export interface Logger {
  info(message: string, details?: Record<string, unknown>): void;
  warn(message: string, details?: Record<string, unknown>): void;
  error(message: string, details?: Record<string, unknown>): void;
}

// ─── Everything else ────────────────────────────────────────────────────────────────────

export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };
