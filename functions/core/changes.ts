/**
 * The change log as clients and consumers see it: one rendering of a change's data (used by
 * `/sync`, by the events published after commit and by the sweeper that publishes them again),
 * and the opaque sync cursor.
 *
 * A change refers to the message or conversation it is about, and is rendered from its current
 * state: a message deleted since is a tombstone in every change about it, so old content never
 * comes back through the log, an event or a webhook.
 */
import { CursorExpiredError, ValidationError } from './errors.ts';
import type { DomainEvent } from './events.ts';
import type { Attachment, Conversation, Json, Message, Report } from './model.ts';
import type { ChangePosition, RecordedChange } from './ports.ts';
import { toWireReport } from './use-cases/reports.ts';
import { iso, toWireAttachment, toWireConversation, toWireMessage } from './use-cases/wire.ts';

/** What a change refers to: its message (for message and reaction changes), conversation, report and attachment. */
export interface ChangeSubject {
  message?: Message | null;
  conversation?: Conversation | null;
  report?: Report | null;
  attachment?: Attachment | null;
}

const stringOr = (value: Json | undefined, fallback: string) => (typeof value === 'string' ? value : fallback);

/** A change's `data` on the wire, per type (the protocol's change schemas describe each). */
export function changeData(change: Pick<RecordedChange, 'type' | 'data'>, subject: ChangeSubject): Record<string, unknown> {
  const { message, conversation, report, attachment } = subject;
  const need = <T>(value: T | null | undefined, what: string): T => {
    if (value === null || value === undefined) throw new Error(`A ${change.type} change needs its ${what}`);
    return value;
  };
  switch (change.type) {
    case 'conversation.created':
    case 'conversation.updated':
      return { conversation: toWireConversation(need(conversation, 'conversation')) };
    case 'conversation.read':
      return { side: change.data.side, lastReadSeq: change.data.lastReadSeq };
    case 'conversation.archived':
      return { archived: change.data.archived === true };
    case 'message.created':
    case 'message.updated':
    case 'message.deleted':
      return { message: toWireMessage(need(message, 'message')) };
    case 'message.status': {
      const { upToSeq } = change.data;
      return {
        messageId: need(message, 'message').id,
        status: stringOr(change.data.status, 'READ'),
        ...(typeof upToSeq === 'number' ? { upToSeq } : {}),
      };
    }
    case 'reaction.updated': {
      const wire = toWireMessage(need(message, 'message'));
      return { messageId: wire.id, reactions: wire.reactions };
    }
    case 'report.created':
      return { report: toWireReport(need(report, 'report'), need(message, 'message')) };
    case 'attachment.updated':
      return { attachment: toWireAttachment(need(attachment, 'attachment')) };
    default:
      return { ...change.data };
  }
}

/** The domain event of a change. */
export function toDomainEvent(change: RecordedChange, subject: ChangeSubject): DomainEvent {
  return { id: change.id, type: change.type, at: iso(change.at), conversationId: change.conversationId, data: changeData(change, subject) };
}

// ─── The sync cursor ────────────────────────────────────────────────────────────────────

/**
 * A reader's place in the change log, and the time up to which it has seen every change: a
 * cursor whose time is older than the retention may have lost changes to the purge.
 */
export interface SyncPosition extends ChangePosition {
  /** Epoch milliseconds. */
  seenUntil: number;
}

const CURSOR_VERSION = 'c1';
const DIGITS = /^\d{1,19}$/;
const MAX_BIGINT = 9_223_372_036_854_775_807n;

export function encodeSyncCursor(position: SyncPosition): string {
  return Buffer.from(`${CURSOR_VERSION}.${position.txid}.${position.id}.${position.seenUntil}`).toString('base64url');
}

/** @throws ValidationError for anything {@link encodeSyncCursor} did not produce. */
export function decodeSyncCursor(cursor: string): SyncPosition {
  const parts = /^[A-Za-z0-9_-]{1,200}$/.test(cursor) ? Buffer.from(cursor, 'base64url').toString('utf8').split('.') : [];
  const [version, txid, id, seenUntil] = parts;
  if (parts.length === 4 && version === CURSOR_VERSION && [txid, id, seenUntil].every((part) => DIGITS.test(part ?? ''))) {
    const position = { txid: BigInt(txid!), id: BigInt(id!), seenUntil: Number(seenUntil) };
    if (position.txid <= MAX_BIGINT && position.id <= MAX_BIGINT && Number.isSafeInteger(position.seenUntil)) return position;
  }
  throw new ValidationError('since is not a cursor this API returned', { field: 'since' });
}

/** @throws CursorExpiredError when the cursor is older than the change log keeps changes. */
export function requireFreshCursor(position: SyncPosition, now: number, retentionDays: number): void {
  if (position.seenUntil < now - retentionDays * 24 * 60 * 60 * 1000) {
    throw new CursorExpiredError(`This cursor is older than ${retentionDays} days; sync again from scratch (without since)`);
  }
}
