/**
 * In-memory fakes of every port, for unit tests of the use cases. Each mirrors what its real
 * adapter does (see functions/adapters), including the edge cases the use cases rely on:
 * gap-free seq, clientMessageId idempotency, forward-only status, per-side unread and archive
 * state, keyset cursors, connection and subscription expiry, set-based presence, fixed-window
 * rate limits. Everything reads time from one ManualClock.
 *
 * Stores hand out copies, so a test can never change stored state by mutating a result.
 */
import { ForbiddenError, ConflictError, NotFoundError, UnauthorizedError, ValidationError } from '#core/errors';
import { loadSettings, type Settings } from '#config/settings';
import {
  partyOf,
  type Attachment,
  type Conversation,
  type ConversationStatus,
  type ConversationMute,
  type ConversationSummary,
  type Device,
  type Identity,
  type Json,
  type Message,
  type Party,
  type PushPlatform,
  type Report,
  type ReportStatus,
  type Side,
} from '#core/model';
import { INTERNAL_CHANGE_TYPES, type DomainEvent, type EventForwarder, type EventPublisher, type EventType } from '#core/events';
import type { QueueKey } from '#config/queues';
import type { PushNotification } from '#core/push-notification';
import { partyKey as pushPartyKey } from '#core/ports';
import type {
  AuthenticatedConnection,
  PushRegistry,
  PushResult,
  PushRoundOutcome,
  PushSender,
  RegisterDeviceInput,
  MessageSearch,
  ProviderStatistics,
  ProviderStats,
  MessageSearchInput,
  ReportPage,
  ReportStore,
  Broadcaster,
  Clock,
  Connection,
  ConnectionStore,
  ConversationKey,
  ConversationPage,
  ConversationStore,
  DeliveryReport,
  HistoryPage,
  HistoryQuery,
  ListConversationsQuery,
  Logger,
  MarkReadResult,
  MessageStore,
  MetricName,
  Metrics,
  Presence,
  PresenceStore,
  AppendResult,
  RateRefusal,
  SendRate,
  Subscription,
  SubscriptionStore,
  TokenVerifier,
  TypingState,
  TypingStore,
  AppendMessageInput,
  ChangeLog,
  ChangePage,
  RecordedChange,
  StoredChange,
  WebhookOutcome,
  WebhookQueue,
  WebhookRequest,
  WebhookSecret,
  WebhookSender,
  AttachmentStore,
  ObjectStorage,
  StoredObject,
  UploadForm,
  UploadPolicy,
} from '#core/ports';
import type { ServerFrame } from '#core/protocol';
import { claimError, claimRefusals } from '#core/attachment-claims';
import { toWireAttachment } from '#core/use-cases/wire';

const copy = <T>(value: T): T => structuredClone(value);

// ─── Clock ──────────────────────────────────────────────────────────────────────────────

/** A clock that only moves when told to. */
export class ManualClock implements Clock {
  private current: number;

  constructor(start: number | Date = Date.UTC(2030, 0, 1, 9, 0, 0)) {
    this.current = typeof start === 'number' ? start : start.getTime();
  }

  now(): Date {
    return new Date(this.current);
  }

  ms(): number {
    return this.current;
  }

  advance(ms: number): void {
    this.current += ms;
  }

  set(at: number | Date): void {
    this.current = typeof at === 'number' ? at : at.getTime();
  }
}

// ─── Postgres: conversations, messages, participants ────────────────────────────────────

interface ParticipantRow {
  unreadCount: number;
  lastReadSeq: number;
  archivedAt: Date | null;
  lastActivityAt: Date;
}

const activeKeyOf = ({ providerId, customerId, orderId }: ConversationKey) => `${providerId}:${customerId}:${orderId ?? '-'}`;

function encodeCursor(at: Date, id: string): string {
  return Buffer.from(JSON.stringify({ at: at.toISOString(), id })).toString('base64url');
}

function decodeCursor(value: string): { at: Date; id: string } {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(value, 'base64url').toString('utf8'));
    if (parsed && typeof parsed === 'object' && 'at' in parsed && 'id' in parsed) {
      const at = new Date(String(parsed.at));
      if (!Number.isNaN(at.getTime()) && typeof parsed.id === 'string') return { at, id: parsed.id };
    }
  } catch {
    // fall through to the validation error
  }
  throw new ValidationError('cursor is not a value this API returned', { field: 'cursor' });
}

/**
 * Conversations, participants and messages in one place, as in Postgres: appends bump the
 * conversation and both participant rows together. `conversations` and `messages` are the ports.
 */
export class InMemoryChatDatabase {
  private readonly rows = new Map<string, Conversation>();
  private readonly activeKeys = new Map<string, string>();
  private readonly sides = new Map<string, Record<Side, ParticipantRow>>();
  private readonly messageRows = new Map<string, Message>();
  private readonly byConversation = new Map<string, Message[]>();
  private readonly awaitingReplySince = new Map<string, Date>();
  private readonly attachmentRows = new Map<string, Attachment>();
  private nextAttachment = 1;
  private nextConversation = 1;
  private nextMessage = 1;
  private readonly log: (Omit<StoredChange, 'message' | 'conversation' | 'report' | 'attachment'> & { messageId: string | null; userId: number | null; publishedAt: Date | null; republishAt: Date | null; republishCount: number })[] = [];
  private nextChange = 1n;

  constructor(private readonly clock: Clock) {}

  /** Every change recorded, oldest first (test helper). */
  recordedChanges(): { id: string; type: EventType; conversationId: string; messageId: string | null; side: Side | null; publishedAt: Date | null }[] {
    return copy(this.log.map(({ id, type, conversationId, messageId, side, publishedAt }) => ({ id, type, conversationId, messageId, side, publishedAt })));
  }

  /** Records a change as the Postgres stores do, in the same step as the change itself. */
  /** Looks a report up for the changes about one (set by the report store over this database). */
  reportLookup: (reportId: string) => Report | null = () => null;

  /** Records a change as the Postgres stores do, in the same step as the change itself. */
  recordChange(type: EventType, conversationId: string, options: { messageId?: string; side?: Side; data?: Record<string, Json> } = {}): RecordedChange[] {
    return this.record(type, conversationId, options);
  }

  private record(type: EventType, conversationId: string, options: { messageId?: string; side?: Side; userId?: number; data?: Record<string, Json>; at?: Date } = {}): RecordedChange[] {
    const id = this.nextChange++;
    const at = options.at ?? this.clock.now();
    const data = options.data ?? {};
    this.log.push({ id: String(id), txid: id, type, conversationId, at, data, side: options.side ?? null, messageId: options.messageId ?? null, userId: options.userId ?? null, publishedAt: null, republishAt: null, republishCount: 0 });
    return [{ id: String(id), type, conversationId, at, data: copy(data) }];
  }

  private stored(entry: InMemoryChatDatabase['log'][number]): StoredChange {
    const { messageId: _m, userId: _u, publishedAt: _p, republishAt: _r, republishCount: _c, ...change } = entry;
    const message = entry.messageId ? (this.messageRows.get(entry.messageId) ?? null) : null;
    const reportId = entry.data.reportId;
    const report = typeof reportId === 'string' ? this.reportLookup(reportId) : null;
    const attachmentId = entry.data.attachmentId;
    const attachment = typeof attachmentId === 'string' ? (this.attachmentRows.get(attachmentId) ?? null) : null;
    return copy({ ...change, message, conversation: this.mustGet(entry.conversationId), report, attachment });
  }

  // Test helpers ------------------------------------------------------------------------

  /** Sets a conversation's own status, as an operator would (ended, blocked…). */
  setStatus(conversationId: string, status: ConversationStatus): void {
    const row = this.mustGet(conversationId);
    row.status = status;
    if (status !== 'ACTIVE') this.activeKeys.delete(activeKeyOf(row));
  }

  participant(conversationId: string, side: Side): ParticipantRow {
    return copy(this.sidesOf(conversationId)[side]);
  }

  /** A party's unread count over its ACTIVE conversations it has not archived (a push's badge). */
  unreadOf(party: Party): number {
    let unread = 0;
    for (const [conversationId, sides] of this.sides) {
      const row = sides[party.side];
      const conversation = this.mustGet(conversationId);
      const partyId = party.side === 'customer' ? conversation.customerId : conversation.providerId;
      if (partyId === party.partyId && conversation.status === 'ACTIVE' && !row.archivedAt) unread += row.unreadCount;
    }
    return unread;
  }

  messageCount(conversationId?: string): number {
    return conversationId ? (this.byConversation.get(conversationId)?.length ?? 0) : this.messageRows.size;
  }

  private mustGet(conversationId: string): Conversation {
    const row = this.rows.get(conversationId);
    if (!row) throw new Error(`no conversation ${conversationId}`);
    return row;
  }

  private sidesOf(conversationId: string): Record<Side, ParticipantRow> {
    const sides = this.sides.get(conversationId);
    if (!sides) throw new Error(`no participants for ${conversationId}`);
    return sides;
  }

  private summary(conversationId: string, side: Side): ConversationSummary {
    const conversation = this.mustGet(conversationId);
    const participant = this.sidesOf(conversationId)[side];
    const last = this.byConversation.get(conversationId)?.[conversation.lastSeq - 1] ?? null;
    return copy({
      ...conversation,
      unreadCount: participant.unreadCount,
      lastReadSeq: participant.lastReadSeq,
      archivedAt: participant.archivedAt,
      lastMessage: last,
    });
  }

  // ConversationStore ---------------------------------------------------------------------

  readonly conversations: ConversationStore = {
    startOrGet: async (key) => {
      const existing = this.activeKeys.get(activeKeyOf(key));
      if (existing) return { conversation: copy(this.mustGet(existing)), created: false, changes: [] };
      const now = this.clock.now();
      const id = `conv-${String(this.nextConversation++).padStart(4, '0')}`;
      const conversation: Conversation = {
        id,
        customerId: key.customerId,
        providerId: key.providerId,
        orderId: key.orderId,
        status: 'ACTIVE',
        lastSeq: 0,
        createdAt: now,
        updatedAt: now,
        lastMessageAt: null,
        blockedBy: null,
        assigneeId: null,
      };
      this.rows.set(id, conversation);
      this.activeKeys.set(activeKeyOf(key), id);
      const fresh = (): ParticipantRow => ({ unreadCount: 0, lastReadSeq: 0, archivedAt: null, lastActivityAt: now });
      this.sides.set(id, { customer: fresh(), provider: fresh() });
      this.byConversation.set(id, []);
      return { conversation: copy(conversation), created: true, changes: this.record('conversation.created', id) };
    },

    get: async (conversationId) => {
      const row = this.rows.get(conversationId);
      return row ? copy(row) : null;
    },

    listForParty: async (party: Party, query: ListConversationsQuery): Promise<ConversationPage> => {
      const cursor = query.cursor ? decodeCursor(query.cursor) : null;
      const column = party.side === 'customer' ? 'customerId' : 'providerId';
      const mine = [...this.rows.values()]
        .filter((c) => c[column] === party.partyId)
        .map((c) => ({ id: c.id, participant: this.sidesOf(c.id)[party.side] }))
        .filter(({ participant }) => (query.archived ? participant.archivedAt !== null : participant.archivedAt === null))
        .filter(({ id }) => query.assignee === undefined || this.rows.get(id)!.assigneeId === query.assignee)
        .filter(({ id, participant }) => {
          if (!cursor) return true;
          const at = participant.lastActivityAt.getTime();
          return at < cursor.at.getTime() || (at === cursor.at.getTime() && id < cursor.id);
        })
        .sort(
          (a, b) =>
            b.participant.lastActivityAt.getTime() - a.participant.lastActivityAt.getTime() || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0),
        );
      const page = mine.slice(0, query.limit);
      const last = page.at(-1);
      return {
        conversations: page.map(({ id }) => this.summary(id, party.side)),
        nextCursor: mine.length > query.limit && last ? encodeCursor(last.participant.lastActivityAt, last.id) : null,
      };
    },

    summaryFor: async (conversationId, side) => (this.rows.has(conversationId) ? this.summary(conversationId, side) : null),

    archive: async (conversationId, side, at) => {
      if (!this.rows.has(conversationId)) return null;
      const participant = this.sidesOf(conversationId)[side];
      const changes = participant.archivedAt ? [] : this.record('conversation.archived', conversationId, { side, data: { archived: true } });
      participant.archivedAt ??= at;
      return { summary: this.summary(conversationId, side), changes };
    },

    counterpartsOf: async (party) => {
      const column = party.side === 'customer' ? 'customerId' : 'providerId';
      const other = party.side === 'customer' ? 'providerId' : 'customerId';
      const side: Side = party.side === 'customer' ? 'provider' : 'customer';
      const ids = new Set([...this.rows.values()].filter((c) => c[column] === party.partyId).map((c) => c[other]));
      return [...ids].map((partyId) => ({ side, partyId }));
    },

    transition: async (conversationId, { from, to, blockedBy, at }) => {
      const row = this.rows.get(conversationId);
      if (!row || !from.includes(row.status)) return null;
      const key = activeKeyOf(row);
      if (to === 'ACTIVE') {
        if (this.activeKeys.has(key) && this.activeKeys.get(key) !== conversationId) {
          throw new ConflictError('Another conversation for this provider, customer and order is ACTIVE');
        }
        this.activeKeys.set(key, conversationId);
      } else if (this.activeKeys.get(key) === conversationId) {
        this.activeKeys.delete(key);
      }
      Object.assign(row, { status: to, blockedBy, updatedAt: at });
      return { conversation: copy(row), changes: this.record('conversation.updated', conversationId) };
    },

    assign: async (conversationId, assigneeId, at) => {
      const row = this.rows.get(conversationId);
      if (!row || row.status === 'ENDED') return null;
      if (row.assigneeId === assigneeId) return { conversation: copy(row), changes: [] };
      Object.assign(row, { assigneeId, updatedAt: at });
      return { conversation: copy(row), changes: this.record('conversation.updated', conversationId) };
    },

    blockedPair: async (providerId, customerId) =>
      [...this.rows.values()].find((c) => c.providerId === providerId && c.customerId === customerId && c.status === 'BLOCKED')?.id ?? null,
  };

  // MessageStore --------------------------------------------------------------------------

  /** The send-rate counters the append keeps (chatSendRates). */
  readonly sendRates = new FakeRateLimiter();

  readonly messages: MessageStore = {
    append: (async (input: AppendMessageInput, rate?: SendRate): Promise<AppendResult | RateRefusal> => {
      // Counted first, before any other check, as the SQL's rate CTE is.
      if (rate) {
        const { key, limit, windowMs, now } = rate;
        const decision = await this.sendRates.consume(key, limit, windowMs, now);
        if (!decision.allowed) return { rateLimited: true as const, resetAt: decision.resetAt };
      }
      const clientMessageId = input.clientMessageId ?? null;
      const list = this.byConversation.get(input.conversationId) ?? [];
      if (clientMessageId !== null) {
        // A repeat is answered whatever the conversation's state is now, as the SQL's UNION does.
        const stored = list.find(
          (m) => m.senderRole === input.senderRole && m.senderId === input.senderId && m.clientMessageId === clientMessageId,
        );
        if (stored) return { message: copy(stored), created: false, changes: [] };
      }
      const conversation = this.rows.get(input.conversationId);
      if (!conversation) throw new NotFoundError('Conversation not found');
      const sidePartyId = input.senderRole === 'customer' ? conversation.customerId : conversation.providerId;
      if (input.senderRole !== 'system' && sidePartyId !== input.senderPartyId) throw new ForbiddenError('You are not a participant of this conversation');
      if (conversation.status !== 'ACTIVE') {
        throw new ConflictError(`Conversation is ${conversation.status}; messages can only be sent to an ACTIVE conversation`);
      }
      const replyToId = input.replyToId ?? null;
      if (replyToId !== null && this.messageRows.get(replyToId)?.conversationId !== input.conversationId) {
        throw new ValidationError('replyToId must name a message of the same conversation', { field: 'replyToId' });
      }
      // The attachments it claims: all or nothing, as the append statement does.
      const attachmentIds = input.attachmentIds ?? [];
      const found = attachmentIds.map((id) => this.attachmentRows.get(id)).filter((a): a is Attachment => a !== undefined);
      const refused = claimRefusals(attachmentIds, found, {
        conversationId: input.conversationId,
        senderId: input.senderId,
        senderRole: input.senderRole,
        ...(input.attachmentsCreatedAfter ? { createdAfter: input.attachmentsCreatedAfter } : {}),
        ...(input.attachmentTypePrefix ? { typePrefix: input.attachmentTypePrefix } : {}),
      });
      if (refused.length > 0 || new Set(attachmentIds).size !== attachmentIds.length) {
        throw claimError(refused.length > 0 ? refused : attachmentIds.map((id) => ({ id, reason: 'attached' as const })));
      }

      const at = this.clock.now();
      conversation.lastSeq += 1;
      conversation.lastMessageAt = at;
      conversation.updatedAt = at;
      const message: Message = {
        id: `msg-${String(this.nextMessage++).padStart(6, '0')}`,
        conversationId: input.conversationId,
        seq: conversation.lastSeq,
        senderId: input.senderId,
        senderRole: input.senderRole,
        receiverId: input.senderRole === 'customer' ? conversation.providerId : conversation.customerId,
        messageType: input.messageType,
        content: input.content,
        attachments: attachmentIds.length > 0 ? (found.map((a) => toWireAttachment(a)) as unknown as Json) : (input.attachments ?? null),
        status: 'SENT',
        deliveredAt: null,
        readAt: null,
        createdAt: at,
        updatedAt: at,
        replyToId,
        metadata: input.metadata ?? null,
        clientMessageId,
        editedAt: null,
        deletedAt: null,
        reactions: [],
      };
      for (const attachment of found) Object.assign(attachment, { messageId: message.id, updatedAt: at });
      list.push(message);
      this.byConversation.set(input.conversationId, list);
      this.messageRows.set(message.id, message);
      for (const side of ['customer', 'provider'] as const) {
        const participant = this.sidesOf(input.conversationId)[side];
        participant.lastActivityAt = at;
        participant.archivedAt = null;
        if (side !== input.senderRole) participant.unreadCount += 1;
      }
      // The running wait for a first response, as the SQL keeps awaitingReplySince.
      const waited = this.awaitingReplySince.get(input.conversationId);
      if (input.senderRole === 'customer' && waited === undefined) this.awaitingReplySince.set(input.conversationId, at);
      if (input.senderRole === 'provider') this.awaitingReplySince.delete(input.conversationId);
      const answered = input.senderRole === 'provider' && waited !== undefined ? { firstResponseMs: at.getTime() - waited.getTime() } : {};
      return { message: copy(message), created: true, changes: this.record('message.created', input.conversationId, { messageId: message.id }), ...answered };
    }) as MessageStore['append'],

    context: async (messageId) => {
      const message = this.messageRows.get(messageId);
      return message ? copy({ message, conversation: this.mustGet(message.conversationId) }) : null;
    },

    edit: async (messageId, content, at) => {
      const message = this.messageRows.get(messageId);
      if (!message || message.deletedAt || this.mustGet(message.conversationId).status !== 'ACTIVE') return null;
      Object.assign(message, { content, editedAt: at, updatedAt: at });
      return { message: copy(message), changes: this.record('message.updated', message.conversationId, { messageId }) };
    },

    tombstone: async (messageId, at) => {
      const message = this.messageRows.get(messageId);
      if (!message || message.deletedAt) return null;
      Object.assign(message, { content: '', attachments: null, metadata: null, reactions: [], deletedAt: at, updatedAt: at });
      return { message: copy(message), changes: this.record('message.deleted', message.conversationId, { messageId }) };
    },

    setReactions: async (messageId, expected, next, at) => {
      const message = this.messageRows.get(messageId);
      if (!message || message.deletedAt || this.mustGet(message.conversationId).status !== 'ACTIVE') return null;
      if (JSON.stringify(message.reactions) !== JSON.stringify(expected)) return null;
      Object.assign(message, { reactions: copy(next), updatedAt: at });
      return { message: copy(message), changes: this.record('reaction.updated', message.conversationId, { messageId }) };
    },

    get: async (messageId) => {
      const row = this.messageRows.get(messageId);
      return row ? copy(row) : null;
    },

    history: async (conversationId: string, query: HistoryQuery): Promise<HistoryPage> => {
      const list = this.byConversation.get(conversationId) ?? [];
      const total = this.rows.get(conversationId)?.lastSeq ?? 0;
      if (query.kind === 'page') {
        const upper = total - (query.page - 1) * query.limit;
        const messages = list.filter((m) => m.seq <= upper && m.seq > upper - query.limit);
        return { messages: copy(messages), hasMore: total - query.page * query.limit > 0, total };
      }
      if (query.kind === 'after') {
        const newer = list.filter((m) => m.seq > query.afterSeq);
        return { messages: copy(newer.slice(0, query.limit)), hasMore: newer.length > query.limit, total };
      }
      const older = list.filter((m) => m.seq < query.beforeSeq);
      return { messages: copy(older.slice(Math.max(0, older.length - query.limit))), hasMore: older.length > query.limit, total };
    },

    advanceStatus: async (messageId, status, at) => {
      const message = this.messageRows.get(messageId);
      const from = status === 'READ' ? ['SENT', 'DELIVERED'] : ['SENT'];
      if (!message || !from.includes(message.status)) return null;
      message.status = status;
      message.deliveredAt ??= at;
      if (status === 'READ') message.readAt ??= at;
      message.updatedAt = at;
      // A service's message moves no side's read position: both received it (mark-read does).
      if (status === 'READ' && message.senderRole !== 'system') {
        const receiver = this.sidesOf(message.conversationId)[message.senderRole === 'customer' ? 'provider' : 'customer'];
        if (message.seq > receiver.lastReadSeq) receiver.unreadCount = Math.max(receiver.unreadCount - 1, 0);
      }
      return { message: copy(message), changes: this.record('message.status', message.conversationId, { messageId, data: { status } }) };
    },

    markRead: async (conversationId, side, at): Promise<MarkReadResult> => {
      const conversation = this.rows.get(conversationId);
      if (!conversation) return { messages: [], lastReadSeq: 0, changes: [] };
      const participant = this.sidesOf(conversationId)[side];
      const previous = participant.lastReadSeq;
      participant.unreadCount = 0;
      participant.lastReadSeq = Math.max(previous, conversation.lastSeq);
      const moved: Message[] = [];
      for (const message of this.byConversation.get(conversationId) ?? []) {
        if (message.seq > previous && message.senderRole !== side && (message.status === 'SENT' || message.status === 'DELIVERED')) {
          message.status = 'READ';
          message.readAt = at;
          message.deliveredAt ??= at;
          message.updatedAt = at;
          moved.push(message);
        }
      }
      const lastReadSeq = participant.lastReadSeq;
      const newest = moved.at(-1);
      const changes = [
        ...(lastReadSeq > previous ? this.record('conversation.read', conversationId, { data: { side, lastReadSeq } }) : []),
        ...(newest ? this.record('message.status', conversationId, { messageId: newest.id, data: { status: 'READ', upToSeq: lastReadSeq } }) : []),
      ];
      return { messages: copy(moved), lastReadSeq, changes };
    },
  };

  // AttachmentStore -----------------------------------------------------------------------

  readonly attachments: AttachmentStore = {
    create: async (input) => {
      const at = this.clock.now();
      const attachment: Attachment = {
        id: `att-${String(this.nextAttachment++).padStart(6, '0')}`,
        ...input,
        status: 'PENDING',
        width: null,
        height: null,
        hasThumbnail: false,
        rejectedReason: null,
        messageId: null,
        createdAt: at,
        updatedAt: at,
        processedAt: null,
      };
      this.attachmentRows.set(attachment.id, attachment);
      return copy(attachment);
    },
    get: async (attachmentId) => {
      const row = this.attachmentRows.get(attachmentId);
      return row ? copy(row) : null;
    },
    finish: async (attachmentId, outcome, at) => {
      const row = this.attachmentRows.get(attachmentId);
      if (!row || row.status !== 'PENDING') return null;
      if (outcome.status === 'READY') {
        const { status, size, contentType, width, height, hasThumbnail } = outcome;
        Object.assign(row, { status, size, contentType, width, height, hasThumbnail });
      } else {
        Object.assign(row, { status: outcome.status, rejectedReason: outcome.reason, width: null, height: null, hasThumbnail: false });
      }
      Object.assign(row, { processedAt: at, updatedAt: at });
      const changes = this.record('attachment.updated', row.conversationId, { side: row.uploaderSide, userId: row.uploaderId, data: { attachmentId }, at });
      return { attachment: copy(row), changes };
    },
    orphans: async (before, limit) =>
      copy([...this.attachmentRows.values()].filter((a) => a.messageId === null && a.createdAt < before).sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime()).slice(0, limit)),
    ofDeletedMessages: async (limit) =>
      copy([...this.attachmentRows.values()].filter((a) => a.messageId !== null && this.messageRows.get(a.messageId)?.deletedAt).slice(0, limit)),
    removeUnclaimed: async (attachmentIds) => {
      const removed: string[] = [];
      for (const id of attachmentIds) {
        const row = this.attachmentRows.get(id);
        if (row && (row.messageId === null || this.messageRows.get(row.messageId)?.deletedAt)) {
          this.attachmentRows.delete(id);
          removed.push(id);
        }
      }
      return removed;
    },
  };

  /** Sets an attachment's fields as a test needs them (an old upload…). */
  patchAttachment(attachmentId: string, patch: Partial<Attachment>): void {
    Object.assign(this.attachmentRows.get(attachmentId)!, patch);
  }

  // ChangeLog -----------------------------------------------------------------------------
  // Every change is committed at once here, so the horizon is simply the next id.

  readonly changes: ChangeLog = {
    page: async (reader, after, limit): Promise<ChangePage> => {
      const column = reader.party.side === 'customer' ? 'customerId' : 'providerId';
      const visible = this.log.filter(
        (entry) =>
          this.mustGet(entry.conversationId)[column] === reader.party.partyId &&
          (entry.side === null || entry.side === reader.party.side) &&
          (entry.userId === null || entry.userId === reader.userId) &&
          !(INTERNAL_CHANGE_TYPES as readonly string[]).includes(entry.type) &&
          (!after || entry.txid > after.txid || (entry.txid === after.txid && BigInt(entry.id) > after.id)),
      );
      return { changes: visible.slice(0, limit).map((entry) => this.stored(entry)), hasMore: visible.length > limit, horizon: this.nextChange };
    },
    horizon: async () => this.nextChange,
    claimUnpublished: async (olderThan, limit, now) => {
      const due = this.log
        .filter((entry) => !entry.publishedAt && entry.at < olderThan && (!entry.republishAt || entry.republishAt <= now))
        .slice(0, limit);
      for (const entry of due) {
        entry.republishAt = new Date(now.getTime() + Math.min(3_600_000, 30_000 * 2 ** entry.republishCount));
        entry.republishCount += 1;
      }
      return due.map((entry) => this.stored(entry));
    },
    markPublished: async (ids, at) => {
      let confirmed = 0;
      for (const entry of this.log) {
        if (ids.includes(entry.id) && !entry.publishedAt) {
          entry.publishedAt = at;
          confirmed++;
        }
      }
      return confirmed;
    },
    purge: async (before, limit) => {
      const old = this.log.filter((entry) => entry.at < before).slice(0, limit);
      for (const entry of old) this.log.splice(this.log.indexOf(entry), 1);
      return old.length;
    },
  };
}

// ─── DynamoDB: connections, rooms, presence, typing, rate limits ─────────────────────────

const partyKey = (party: Party) => `${party.side}#${party.partyId}`;

function isAuthenticated(connection: Connection): connection is AuthenticatedConnection {
  return connection.identity !== null;
}

export class FakeConnectionStore implements ConnectionStore {
  private readonly items = new Map<string, Connection>();
  /** Per user: signed-in connection id → sign-in order (the DynamoDB store's roster item). */
  private readonly rosters = new Map<number, Map<string, number>>();
  private rosterSeq = 0;

  constructor(private readonly clock: Clock) {}

  /** Every stored record, expired ones included (for assertions). */
  all(): Connection[] {
    return copy([...this.items.values()]);
  }

  has(connectionId: string): boolean {
    return this.items.has(connectionId);
  }

  private live(): AuthenticatedConnection[] {
    const now = this.clock.now().getTime();
    return [...this.items.values()]
      .filter((c) => c.expiresAt > now && (c.tokenExpiresAt === undefined || c.tokenExpiresAt > now))
      .filter(isAuthenticated);
  }

  async put(connection: Connection): Promise<void> {
    this.items.set(connection.connectionId, copy(connection));
  }

  async authenticate(connectionId: string, identity: NonNullable<Connection['identity']>, tokenExpiresAt: number, maxPerUser: number) {
    const item = this.items.get(connectionId);
    if (!item || item.expiresAt <= this.clock.now().getTime()) throw new NotFoundError('The connection is closed');
    item.identity = {
      userId: identity.userId,
      role: identity.role,
      ...(identity.providerId !== undefined ? { providerId: identity.providerId } : {}),
    };
    item.tokenExpiresAt = tokenExpiresAt;
    delete item.authDeadline;
    // The DynamoDB store's roster: sign-in order per user; the one signing in is the newest.
    const roster = this.rosters.get(identity.userId) ?? new Map<string, number>();
    this.rosters.set(identity.userId, roster);
    roster.set(connectionId, ++this.rosterSeq);
    const now = this.clock.now().getTime();
    const others = [...roster]
      .filter(([id]) => id !== connectionId)
      .sort(([, a], [, b]) => b - a)
      .map(([id]) => id);
    const live = others.filter((id) => {
      const other = this.items.get(id);
      const alive = other !== undefined && other.expiresAt > now && other.identity?.userId === identity.userId;
      if (!alive) roster.delete(id);
      return alive;
    });
    const evicted = live.slice(Math.max(1, maxPerUser) - 1);
    for (const id of evicted) roster.delete(id);
    return { connection: copy(item) as AuthenticatedConnection, evicted };
  }

  async get(connectionId: string): Promise<Connection | null> {
    const item = this.items.get(connectionId);
    return item && item.expiresAt > this.clock.now().getTime() ? copy(item) : null;
  }

  async remove(connectionId: string): Promise<Connection | null> {
    const item = this.items.get(connectionId);
    this.items.delete(connectionId);
    if (item?.identity) this.rosters.get(item.identity.userId)?.delete(connectionId);
    return item ? copy(item) : null;
  }

  async forParties(parties: Party[]): Promise<AuthenticatedConnection[]> {
    const keys = new Set(parties.map(partyKey));
    return copy(
      this.live().filter((c) => {
        const party = partyOf(c.identity);
        return party !== null && keys.has(partyKey(party));
      }),
    );
  }

  async forUser(userId: number): Promise<AuthenticatedConnection[]> {
    return copy(this.live().filter((c) => c.identity.userId === userId));
  }

  async awaitingAuthSince(deadline: number): Promise<string[]> {
    return [...this.items.values()]
      .filter((c) => c.identity === null && c.authDeadline !== undefined && c.authDeadline <= deadline)
      .map((c) => c.connectionId);
  }
}

export class FakeSubscriptionStore implements SubscriptionStore {
  private readonly items = new Map<string, Subscription>();

  constructor(private readonly clock: Clock) {}

  private static key(conversationId: string, connectionId: string) {
    return `${conversationId}\u0000${connectionId}`;
  }

  /** Every stored subscription, expired ones included. */
  all(): Subscription[] {
    return copy([...this.items.values()]);
  }

  async subscribe(subscription: Subscription): Promise<void> {
    this.items.set(FakeSubscriptionStore.key(subscription.conversationId, subscription.connectionId), copy(subscription));
  }

  async unsubscribe(conversationId: string, connectionId: string): Promise<void> {
    this.items.delete(FakeSubscriptionStore.key(conversationId, connectionId));
  }

  async connectionsIn(conversationId: string): Promise<Subscription[]> {
    const now = this.clock.now().getTime();
    return copy([...this.items.values()].filter((s) => s.conversationId === conversationId && s.expiresAt > now));
  }

  async removeConnection(connectionId: string): Promise<string[]> {
    const now = this.clock.now().getTime();
    const left: string[] = [];
    for (const [key, subscription] of this.items) {
      if (subscription.connectionId !== connectionId) continue;
      this.items.delete(key);
      if (subscription.expiresAt > now) left.push(subscription.conversationId);
    }
    return left;
  }
}

interface PresenceItem {
  userId: number;
  role: Presence['role'];
  providerId?: number;
  connectionIds: Set<string>;
  onlineUntil: number;
  lastSeen: number;
}

/** Presence as a set of live connection ids per user, with `onlineUntil` guarding against lost disconnects. */
export class FakePresenceStore implements PresenceStore {
  private readonly items = new Map<number, PresenceItem>();

  private static isOnline(item: PresenceItem | undefined, now: number): boolean {
    return item !== undefined && item.connectionIds.size > 0 && item.onlineUntil > now;
  }

  private static toPresence(item: PresenceItem, now: number): Presence {
    return {
      userId: item.userId,
      role: item.role,
      ...(item.providerId !== undefined ? { providerId: item.providerId } : {}),
      online: FakePresenceStore.isOnline(item, now),
      lastSeen: item.lastSeen,
    };
  }

  /** The connection ids recorded for a user (for assertions). */
  connectionIdsOf(userId: number): string[] {
    return [...(this.items.get(userId)?.connectionIds ?? [])];
  }

  async connected(input: Parameters<PresenceStore['connected']>[0]) {
    const { userId, role, providerId, connectionId, at, expiresAt } = input;
    const before = this.items.get(userId);
    // A set whose every connection has expired starts over (a lost disconnect).
    const stale = before !== undefined && before.connectionIds.size > 0 && before.onlineUntil <= at;
    const ids = before && !stale ? before.connectionIds : new Set<string>();
    const changed = ids.size === 0;
    ids.add(connectionId);
    const item: PresenceItem = { userId, role, connectionIds: ids, onlineUntil: expiresAt, lastSeen: at };
    if (providerId !== undefined) item.providerId = providerId;
    this.items.set(userId, item);
    return { presence: FakePresenceStore.toPresence(item, at), changed };
  }

  async disconnected(input: Parameters<PresenceStore['disconnected']>[0]) {
    const { userId, connectionId, at, role, providerId } = input;
    const item = this.items.get(userId);
    if (item?.connectionIds.has(connectionId)) {
      item.connectionIds.delete(connectionId);
      item.lastSeen = at;
      const wasOnline = item.onlineUntil > at;
      const presence = FakePresenceStore.toPresence(item, at);
      return { presence, changed: wasOnline && !presence.online };
    }
    if (item) return { presence: FakePresenceStore.toPresence(item, at), changed: false };
    return {
      presence: { userId, role: role ?? 'customer', ...(providerId !== undefined ? { providerId } : {}), online: false, lastSeen: at },
      changed: false,
    };
  }

  async onlineAmong(parties: Party[], now: number): Promise<Presence[]> {
    const customers = new Set(parties.filter((p) => p.side === 'customer').map((p) => p.partyId));
    const providers = new Set(parties.filter((p) => p.side === 'provider').map((p) => p.partyId));
    return [...this.items.values()]
      .filter((item) => FakePresenceStore.isOnline(item, now))
      .filter(
        (item) =>
          (item.role === 'customer' && customers.has(item.userId)) ||
          (item.role === 'provider' && item.providerId !== undefined && providers.has(item.providerId)),
      )
      .map((item) => FakePresenceStore.toPresence(item, now));
  }

  async allOnline(now: number): Promise<Presence[]> {
    return [...this.items.values()].filter((item) => FakePresenceStore.isOnline(item, now)).map((item) => FakePresenceStore.toPresence(item, now));
  }
}

export class FakeTypingStore implements TypingStore {
  private readonly items = new Map<string, TypingState>();

  /** Every stored state, stale ones included. */
  all(): TypingState[] {
    return copy([...this.items.values()]);
  }

  async set(state: TypingState): Promise<void> {
    this.items.set(`${state.conversationId}\u0000${state.userId}`, copy(state));
  }

  async clear(conversationId: string, userId: number): Promise<void> {
    this.items.delete(`${conversationId}\u0000${userId}`);
  }

  async list(conversationId: string, now: number): Promise<TypingState[]> {
    return copy([...this.items.values()].filter((s) => s.conversationId === conversationId && s.expiresAt > now));
  }
}

/** What the send-rate counter decided for one send. */
interface RateLimitDecision {
  allowed: boolean;
  remaining: number;
  /** When the current window ends (epoch ms). */
  resetAt: number;
}

/** A fixed-window counter per key, as the append's chatSendRates upsert keeps it. */
export class FakeRateLimiter {
  private readonly counts = new Map<string, number>();

  async consume(key: string, limit: number, windowMs: number, now: number): Promise<RateLimitDecision> {
    if (!(windowMs > 0)) throw new RangeError(`Rate limit window must be positive, got ${windowMs}`);
    const windowStart = Math.floor(now / windowMs) * windowMs;
    const resetAt = windowStart + windowMs;
    if (limit < 1) return { allowed: false, remaining: 0, resetAt };
    const slot = `${key}#${windowStart}`;
    const count = this.counts.get(slot) ?? 0;
    if (count >= limit) return { allowed: false, remaining: 0, resetAt };
    this.counts.set(slot, count + 1);
    return { allowed: true, remaining: Math.max(0, limit - count - 1), resetAt };
  }
}

// ─── API Gateway and identity ───────────────────────────────────────────────────────────

export interface SentFrame {
  connectionId: string;
  frame: ServerFrame;
}

/**
 * Records every frame it is asked to post. Ids in `gone` answer 410 (as do ids it has closed);
 * ids in `failing` keep failing; `failWith` makes `send` itself throw.
 */
export class RecordingBroadcaster implements Broadcaster {
  readonly sent: SentFrame[] = [];
  /** Every `send` call: the connections asked for and the frame, whatever became of them. */
  readonly requests: { connectionIds: string[]; frame: ServerFrame }[] = [];
  readonly closed: string[] = [];
  readonly gone = new Set<string>();
  readonly failing = new Set<string>();
  failWith: Error | null = null;

  async send(connectionIds: readonly string[], frame: ServerFrame): Promise<DeliveryReport> {
    this.requests.push({ connectionIds: [...connectionIds], frame: copy(frame) });
    if (this.failWith) throw this.failWith;
    const report: DeliveryReport = { delivered: [], gone: [], failed: [] };
    for (const connectionId of connectionIds) {
      if (this.failing.has(connectionId)) {
        report.failed.push(connectionId);
      } else if (this.gone.has(connectionId) || this.closed.includes(connectionId)) {
        report.gone.push(connectionId);
      } else {
        report.delivered.push(connectionId);
        this.sent.push({ connectionId, frame: copy(frame) });
      }
    }
    return report;
  }

  async close(connectionId: string): Promise<void> {
    if (!this.closed.includes(connectionId)) this.closed.push(connectionId);
  }

  /** Frames a connection received, oldest first. */
  framesTo(connectionId: string): ServerFrame[] {
    return this.sent.filter((s) => s.connectionId === connectionId).map((s) => s.frame);
  }

  /** The frames of one event a connection received. */
  eventsTo(connectionId: string, event: ServerFrame['event']): ServerFrame[] {
    return this.framesTo(connectionId).filter((f) => f.event === event);
  }

  /** Every frame of one event, to whichever connection, in the order sent. */
  framesOf(event: ServerFrame['event']): ServerFrame[] {
    return this.sent.filter((s) => s.frame.event === event).map((s) => s.frame);
  }

  /** Connections that received at least one frame of an event. */
  recipientsOf(event: ServerFrame['event']): string[] {
    return [...new Set(this.sent.filter((s) => s.frame.event === event).map((s) => s.connectionId))].sort();
  }

  clear(): void {
    this.sent.length = 0;
    this.requests.length = 0;
  }
}

/** Tokens from a map: a known, unexpired token verifies; anything else is refused. */
export class MapTokenVerifier implements TokenVerifier {
  private readonly tokens = new Map<string, { identity: Identity; expiresAt: number }>();

  constructor(private readonly clock: Clock) {}

  /** Registers a token; it expires `ttlMs` from now (an hour by default). */
  issue(token: string, identity: Identity, ttlMs = 60 * 60 * 1000): string {
    this.tokens.set(token, { identity: copy(identity), expiresAt: this.clock.now().getTime() + ttlMs });
    return token;
  }

  async verify(token: string) {
    const entry = this.tokens.get(token);
    if (!entry) throw new UnauthorizedError('The token is not valid');
    if (entry.expiresAt <= this.clock.now().getTime()) throw new UnauthorizedError('The token has expired');
    return copy(entry);
  }
}

export class RecordingMetrics implements Metrics {
  readonly counts = new Map<MetricName, number>();
  readonly timings: { metric: MetricName; ms: number }[] = [];

  count(metric: MetricName, value = 1): void {
    this.counts.set(metric, (this.counts.get(metric) ?? 0) + value);
  }

  timing(metric: MetricName, ms: number): void {
    this.timings.push({ metric, ms });
  }

  /** The total counted for a metric (0 when never counted). */
  total(metric: MetricName): number {
    return this.counts.get(metric) ?? 0;
  }
}

export interface LogEntry {
  level: 'info' | 'warn' | 'error';
  message: string;
  details?: Record<string, unknown>;
}

export class RecordingLogger implements Logger {
  readonly entries: LogEntry[] = [];

  info(message: string, details?: Record<string, unknown>): void {
    this.entries.push({ level: 'info', message, details });
  }

  warn(message: string, details?: Record<string, unknown>): void {
    this.entries.push({ level: 'warn', message, details });
  }

  error(message: string, details?: Record<string, unknown>): void {
    this.entries.push({ level: 'error', message, details });
  }

  at(level: LogEntry['level']): LogEntry[] {
    return this.entries.filter((entry) => entry.level === level);
  }
}

/** Keeps what was published; `failing = true` makes every publish throw, as an SQS outage would. */
export class RecordingEventPublisher implements EventPublisher {
  readonly published: DomainEvent[] = [];
  failing = false;

  async publish(events: readonly DomainEvent[]): Promise<void> {
    if (this.failing) throw new Error('the events queue is unreachable');
    this.published.push(...copy(events));
  }

  ofType(type: EventType): DomainEvent[] {
    return this.published.filter((event) => event.type === type);
  }
}

/** Reports as the Postgres store keeps them; messages come from the chat database. */
export class InMemoryReportStore implements ReportStore {
  private readonly rows: Report[] = [];
  private next = 1;

  constructor(
    private readonly clock: Clock,
    private readonly db: InMemoryChatDatabase,
  ) {
    db.reportLookup = (reportId) => copy(this.rows.find((row) => row.id === reportId) ?? null);
  }

  async file(input: Pick<Report, 'conversationId' | 'messageId' | 'reporterId' | 'reason' | 'note'>): Promise<{ report: Report; created: boolean; changes: RecordedChange[] }> {
    const existing = this.rows.find((row) => row.messageId === input.messageId && row.reporterId === input.reporterId);
    if (existing) return { report: copy(existing), created: false, changes: [] };
    const report: Report = { id: `report-${this.next++}`, ...input, status: 'OPEN', createdAt: this.clock.now(), resolvedAt: null, resolvedBy: null, resolution: null, resolutionNote: null };
    this.rows.push(report);
    const changes = this.db.recordChange('report.created', report.conversationId, { messageId: report.messageId, data: { reportId: report.id } });
    return { report: copy(report), created: true, changes };
  }

  async get(reportId: string): Promise<Report | null> {
    return copy(this.rows.find((row) => row.id === reportId) ?? null);
  }

  async list(status: ReportStatus, limit: number, cursor: string | null): Promise<ReportPage> {
    const matching = this.rows.filter((row) => row.status === status);
    const start = cursor ? Number(cursor) : 0;
    const page = matching.slice(start, start + limit);
    const reports = await Promise.all(page.map(async (report) => ({ report: copy(report), message: (await this.db.messages.get(report.messageId))! })));
    return { reports, nextCursor: start + limit < matching.length ? String(start + limit) : null };
  }

  async resolve(reportId: string, resolution: Pick<Report, 'resolution' | 'resolvedBy' | 'resolutionNote'> & { at: Date }): Promise<Report | null> {
    const row = this.rows.find((candidate) => candidate.id === reportId && candidate.status === 'OPEN');
    if (!row) return null;
    Object.assign(row, { status: 'RESOLVED', resolution: resolution.resolution, resolvedBy: resolution.resolvedBy, resolutionNote: resolution.resolutionNote, resolvedAt: resolution.at });
    return copy(row);
  }
}

/**
 * Search as the use case sees it: records each search (its scope, words, limit and cursor) and
 * answers `results`. Matching and ranking are Postgres's, tested against it.
 */
export class RecordingMessageSearch implements MessageSearch {
  readonly searches: MessageSearchInput[] = [];
  results: Message[] = [];
  nextCursor: string | null = null;

  async search(input: MessageSearchInput): Promise<{ messages: Message[]; nextCursor: string | null }> {
    this.searches.push(copy(input));
    return { messages: copy(this.results), nextCursor: this.nextCursor };
  }
}

/**
 * Provider statistics as the use case sees them: records each request and answers `answer`.
 * The figures are Postgres's, tested against it.
 */
export class RecordingProviderStatistics implements ProviderStatistics {
  readonly requests: { providerId: number; from: Date; to: Date }[] = [];
  answer: ProviderStats = { conversations: 0, messagesReceived: 0, messagesSent: 0, firstResponseSeconds: { median: null, p90: null }, unanswered: 0 };

  async stats(providerId: number, from: Date, to: Date): Promise<ProviderStats> {
    this.requests.push({ providerId, from, to });
    return copy(this.answer);
  }
}

/** Keeps what the events queue's consumer forwarded, per queue; `failing = true` makes every forward throw. */
export class RecordingEventForwarder implements EventForwarder {
  readonly forwarded: { queue: QueueKey; event: DomainEvent }[] = [];
  failing = false;

  async forward(queue: QueueKey, events: readonly DomainEvent[]): Promise<void> {
    if (this.failing) throw new Error('the consumer queue is unreachable');
    this.forwarded.push(...copy(events).map((event) => ({ queue, event })));
  }
}

/** Devices and mutes as the Postgres registry keeps them; badges come from the chat database. */
export class InMemoryPushRegistry implements PushRegistry {
  readonly devices = new Map<string, Device>();
  private readonly mutes = new Map<string, ConversationMute>();
  private next = 1;

  constructor(
    private readonly clock: Clock,
    private readonly db: InMemoryChatDatabase,
  ) {}

  async register(input: RegisterDeviceInput): Promise<{ device: Device; created: boolean }> {
    const existing = [...this.devices.values()].find((device) => device.platform === input.platform && device.token === input.token);
    if (existing && existing.userId === input.userId) {
      Object.assign(existing, { side: input.side, partyId: input.partyId, appId: input.appId, locale: input.locale });
      return { device: copy(existing), created: false };
    }
    if (existing) this.devices.delete(existing.id);
    const device: Device = { id: `device-${this.next++}`, ...input, endpointArn: null, createdAt: this.clock.now(), lastPushedAt: null };
    this.devices.set(device.id, device);
    return { device: copy(device), created: true };
  }

  async devicesOf(userId: number): Promise<Device[]> {
    return copy([...this.devices.values()].filter((device) => device.userId === userId));
  }

  async remove(deviceId: string, userId: number): Promise<boolean> {
    if (this.devices.get(deviceId)?.userId !== userId) return false;
    return this.devices.delete(deviceId);
  }

  async setMute(conversationId: string, userId: number, mute: { mutedUntil: Date | null } | null): Promise<ConversationMute | null> {
    const key = `${conversationId}:${userId}`;
    if (!mute) {
      this.mutes.delete(key);
      return null;
    }
    const row = { conversationId, userId, mutedUntil: mute.mutedUntil };
    this.mutes.set(key, row);
    return copy(row);
  }

  async recipients(conversationId: string, parties: readonly Party[], now: Date): Promise<Device[]> {
    const muted = (userId: number) => {
      const mute = this.mutes.get(`${conversationId}:${userId}`);
      return mute !== undefined && (mute.mutedUntil === null || mute.mutedUntil.getTime() > now.getTime());
    };
    return copy(
      [...this.devices.values()].filter((device) => parties.some((party) => party.side === device.side && party.partyId === device.partyId) && !muted(device.userId)),
    );
  }

  async badges(parties: readonly Party[]): Promise<Map<string, number>> {
    return new Map(parties.map((party) => [pushPartyKey(party), this.db.unreadOf(party)]));
  }

  async recordPushes({ pushed, removed, at }: PushRoundOutcome): Promise<void> {
    for (const { deviceId, endpointArn } of pushed) {
      const device = this.devices.get(deviceId);
      if (device) Object.assign(device, { endpointArn, lastPushedAt: at });
    }
    for (const deviceId of removed) this.devices.delete(deviceId);
  }
}

/**
 * Records every push; a token in `dead` answers `gone`, one in `failing` throws (an outage).
 * Platforms in `unconfigured` have no push application.
 */
export class RecordingPushSender implements PushSender {
  readonly sent: { device: Device; notification: PushNotification }[] = [];
  readonly dead = new Set<string>();
  readonly failing = new Set<string>();
  readonly unconfigured = new Set<PushPlatform>();

  configured(platform: PushPlatform): boolean {
    return !this.unconfigured.has(platform);
  }

  async send(device: Device, notification: PushNotification): Promise<PushResult> {
    if (this.failing.has(device.token)) throw new Error('the push service is unreachable');
    if (this.dead.has(device.token)) return { status: 'gone', reason: 'unregistered' };
    this.sent.push(copy({ device, notification }));
    return { status: 'sent', endpointArn: device.endpointArn ?? `arn:aws:sns:us-east-1:000000000000:endpoint/${device.platform}/app/${device.id}` };
  }
}

// ─── Webhooks ───────────────────────────────────────────────────────────────────────────

/** Keeps every webhook request; answers `outcomes` in turn (then delivered). */
export class RecordingWebhookSender implements WebhookSender {
  readonly requests: WebhookRequest[] = [];
  outcomes: WebhookOutcome[] = [];

  async send(request: WebhookRequest): Promise<WebhookOutcome> {
    this.requests.push(copy(request));
    return this.outcomes.shift() ?? { kind: 'delivered', status: 200 };
  }
}

/** Keeps the reschedules and the dead-lettered events. */
export class RecordingWebhookQueue implements WebhookQueue {
  readonly retries: { receiptHandle: string; seconds: number }[] = [];
  readonly deadLetters: { event: DomainEvent; reason: string }[] = [];

  async retryLater(receiptHandle: string, seconds: number): Promise<void> {
    this.retries.push({ receiptHandle, seconds });
  }

  async deadLetter(event: DomainEvent, reason: string): Promise<void> {
    this.deadLetters.push(copy({ event, reason }));
  }
}

export const FAKE_WEBHOOK_SECRET = 'whsec-test-0123456789abcdef';

// ─── Object storage ─────────────────────────────────────────────────────────────────────

/**
 * The attachments bucket in memory: keeps every policy it was asked to sign and every object
 * written; download URLs name the key and options, so a test can read what was signed.
 * Keys in `failing` throw on remove (an outage).
 */
export class RecordingObjectStorage implements ObjectStorage {
  readonly objects = new Map<string, StoredObject>();
  readonly forms: { key: string; policy: UploadPolicy }[] = [];
  readonly downloads: { key: string; options: { expiresInSeconds: number; fileName: string; contentType: string } }[] = [];
  readonly removed: string[] = [];
  readonly failing = new Set<string>();

  constructor(private readonly clock: Clock, readonly url = 'https://attachments.test.example') {}

  async uploadForm(key: string, policy: UploadPolicy): Promise<UploadForm> {
    this.forms.push(copy({ key, policy }));
    return {
      url: this.url,
      fields: { key, 'Content-Type': policy.contentType, Policy: Buffer.from(JSON.stringify({ key, ...policy })).toString('base64') },
      expiresAt: new Date(this.clock.now().getTime() + policy.expiresInSeconds * 1000),
    };
  }

  async downloadUrl(key: string, options: { expiresInSeconds: number; fileName: string; contentType: string }): Promise<string> {
    this.downloads.push(copy({ key, options }));
    return `${this.url}/${key}?expires=${options.expiresInSeconds}&name=${encodeURIComponent(options.fileName)}`;
  }

  async read(key: string): Promise<StoredObject | null> {
    const found = this.objects.get(key);
    return found ? copy(found) : null;
  }

  async write(key: string, bytes: Uint8Array, contentType: string): Promise<void> {
    this.objects.set(key, { bytes: new Uint8Array(bytes), contentType });
  }

  async remove(keys: readonly string[]): Promise<void> {
    if (keys.some((key) => this.failing.has(key))) throw new Error('the bucket is unreachable');
    for (const key of keys) {
      this.objects.delete(key);
      this.removed.push(key);
    }
  }
}

// ─── Everything at once ─────────────────────────────────────────────────────────────────

export interface Fakes {
  clock: ManualClock;
  db: InMemoryChatDatabase;
  conversations: ConversationStore;
  messages: MessageStore;
  changes: ChangeLog;
  events: RecordingEventPublisher;
  forwarder: RecordingEventForwarder;
  pushRegistry: InMemoryPushRegistry;
  pushSender: RecordingPushSender;
  reports: InMemoryReportStore;
  search: RecordingMessageSearch;
  statistics: RecordingProviderStatistics;
  connections: FakeConnectionStore;
  subscriptions: FakeSubscriptionStore;
  presence: FakePresenceStore;
  typing: FakeTypingStore;
  broadcaster: RecordingBroadcaster;
  verifier: MapTokenVerifier;
  metrics: RecordingMetrics;
  logger: RecordingLogger;
  webhookSender: RecordingWebhookSender;
  webhookSecret: WebhookSecret;
  webhookQueue: RecordingWebhookQueue;
  attachments: AttachmentStore;
  storage: RecordingObjectStorage;
  /** The documented defaults, with any overrides. */
  limits: Settings;
}

/** A fresh set of fakes sharing one clock, with settings at their defaults unless overridden. */
export function createFakes(overrides: Partial<Settings> = {}): Fakes {
  const clock = new ManualClock();
  const db = new InMemoryChatDatabase(clock);
  return {
    clock,
    db,
    conversations: db.conversations,
    messages: db.messages,
    changes: db.changes,
    events: new RecordingEventPublisher(),
    forwarder: new RecordingEventForwarder(),
    pushRegistry: new InMemoryPushRegistry(clock, db),
    pushSender: new RecordingPushSender(),
    reports: new InMemoryReportStore(clock, db),
    search: new RecordingMessageSearch(),
    statistics: new RecordingProviderStatistics(),
    connections: new FakeConnectionStore(clock),
    subscriptions: new FakeSubscriptionStore(clock),
    presence: new FakePresenceStore(),
    typing: new FakeTypingStore(),
    broadcaster: new RecordingBroadcaster(),
    verifier: new MapTokenVerifier(clock),
    metrics: new RecordingMetrics(),
    logger: new RecordingLogger(),
    webhookSender: new RecordingWebhookSender(),
    webhookSecret: { get: async () => FAKE_WEBHOOK_SECRET },
    webhookQueue: new RecordingWebhookQueue(),
    attachments: db.attachments,
    storage: new RecordingObjectStorage(clock),
    limits: { ...loadSettings({}), ...overrides },
  };
}
