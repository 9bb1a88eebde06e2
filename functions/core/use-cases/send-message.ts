import type { Settings } from '#config/settings';
import { PayloadTooLargeError, RateLimitedError, ValidationError } from '#core/errors';
import { MESSAGE_TYPES, type Identity, type Json, type MessageType } from '#core/model';
import { canEverywhere, refusalOf, requireCapability } from '#core/policy';
import type { AppendMessageInput, Clock, ConnectionStore, ConversationStore, Logger, MessageStore, Metrics, SubscriptionStore } from '#core/ports';
import { carriesCard, carriesLocation } from '#core/protocol';
import { claimableAfter } from './sweep-attachments.ts';
import { ADMIN_READ_ONLY, loadConversation, requireParty } from './access.ts';
import type { Deliver } from './deliver.ts';
import { announce, type PublishChanges } from './publish.ts';
import { frame, iso, toWireMessage, type WireMessage } from './wire.ts';
import { applyContactPolicy, type ContactPolicyLimits } from './contact-policy.ts';

/** One attachment a message names: the id of an upload. */
export interface AttachmentRef {
  id: string;
}

/** The message types that carry attachments, and what each one's attachments must be. */
export const ATTACHMENT_RULES: Partial<Record<MessageType, { typePrefix?: string; exactlyOne?: boolean; what: string }>> = {
  IMAGE: { typePrefix: 'image/', what: 'photos (image/*)' },
  FILE: { what: 'files of any allowed type' },
  VOICE: { typePrefix: 'audio/', exactlyOne: true, what: 'exactly one voice note (audio/*)' },
};

export type SendMessageLimits = Pick<
  Settings,
  'CHAT_MAX_CONTENT_LENGTH' | 'CHAT_MAX_METADATA_BYTES' | 'CHAT_SEND_RATE_LIMIT' | 'CHAT_SEND_RATE_WINDOW_MS' | 'CHAT_ATTACHMENT_ORPHAN_HOURS'
> &
  ContactPolicyLimits;

export interface SendMessageDeps {
  /** Stores the message and counts the sender's rate in the same statement (SendRate). */
  messages: Pick<MessageStore, 'append'>;
  /** Read for a service's SYSTEM message only (a participant's send checks access in the append). */
  conversations: Pick<ConversationStore, 'get'>;
  connections: Pick<ConnectionStore, 'forParties'>;
  subscriptions: Pick<SubscriptionStore, 'connectionsIn'>;
  deliver: Deliver;
  publish: PublishChanges;
  clock: Clock;
  metrics: Metrics;
  logger: Logger;
  limits: SendMessageLimits;
}

export interface SendMessageInput {
  identity: Identity;
  conversationId: string;
  content: string;
  /** Default TEXT. */
  messageType?: MessageType;
  /** Uploads by id (IMAGE, FILE and VOICE messages only); the request schema allows nothing else. */
  attachments?: readonly AttachmentRef[] | null;
  replyToId?: string | null;
  metadata?: Json | null;
  /** The client's own id for this send; repeating it stores nothing new. */
  clientMessageId?: string | null;
}

export interface SendMessageResult {
  message: WireMessage;
  /** true: stored now (201). false: a repeated clientMessageId, answered with the stored message (200). */
  created: boolean;
}

/** The rate-limit key of a user's sends; a service's are counted by its serviceId when it has one. */
export const sendRateKey = (identity: Pick<Identity, 'userId' | 'serviceId'>) =>
  identity.serviceId === undefined ? `send:${identity.userId}` : `send:service:${identity.serviceId}`;

/** Length in characters (code points), as JSON Schema's maxLength counts: an emoji is one. */
function characterCount(text: string, atMost: number): number {
  // A string never has more code points than UTF-16 units, so short ones need no counting.
  if (text.length <= atMost) return text.length;
  let count = 0;
  for (const _ of text) count++;
  return count;
}

/**
 * @throws ValidationError when `content` is not a string; PayloadTooLargeError when it is longer
 * than `maxLength` characters.
 */
export function requireContentLength(content: unknown, maxLength: number): asserts content is string {
  if (typeof content !== 'string') throw new ValidationError('content must be a string', { field: 'content' });
  const length = characterCount(content, maxLength);
  if (length > maxLength) {
    throw new PayloadTooLargeError(`content is longer than ${maxLength} characters`, { field: 'content', maxLength, length });
  }
}

/** UTF-8 bytes of a JSON value as it is stored and sent (0 for none). */
function jsonBytes(value: Json | null | undefined): number {
  return value === undefined || value === null ? 0 : Buffer.byteLength(JSON.stringify(value), 'utf8');
}

/**
 * @throws PayloadTooLargeError when `attachments` and `metadata` together serialise to more than
 * `maxBytes` UTF-8 bytes of JSON; `details: {field, maxBytes, bytes}`, `field` naming the one sent
 * (`attachments+metadata` when both were).
 */
export function requireMetadataSize(attachments: Json | null | undefined, metadata: Json | null | undefined, maxBytes: number): void {
  const attachmentBytes = jsonBytes(attachments);
  const metadataBytes = jsonBytes(metadata);
  const bytes = attachmentBytes + metadataBytes;
  if (bytes <= maxBytes) return;
  const field = attachmentBytes === 0 ? 'metadata' : metadataBytes === 0 ? 'attachments' : 'attachments+metadata';
  throw new PayloadTooLargeError(`${field} take ${bytes} bytes as JSON; at most ${maxBytes} are allowed`, { field, maxBytes, bytes });
}

function checkContent(input: SendMessageInput, maxLength: number): MessageType {
  const messageType = input.messageType ?? 'TEXT';
  if (!(MESSAGE_TYPES as readonly string[]).includes(messageType)) {
    throw new ValidationError(`messageType must be one of ${MESSAGE_TYPES.join(', ')}`, { field: 'messageType' });
  }
  // SYSTEM messages are the product's own: a participant's (or an admin's) is invalid data, not a refusal.
  if (messageType === 'SYSTEM' && !canEverywhere(input.identity, 'sendSystem')) {
    throw new ValidationError(`messageType SYSTEM is not allowed: ${refusalOf('sendSystem')}`, { field: 'messageType' });
  }
  // A card speaks with the product's voice (an order's state, links to follow): a service's only.
  const hasCard = carriesCard(input.metadata);
  if (hasCard && messageType !== 'SYSTEM') {
    throw new ValidationError(`metadata.card belongs to SYSTEM messages: ${refusalOf('sendSystem')}`, { field: 'metadata.card' });
  }
  requireContentLength(input.content, maxLength);
  const blank = input.content.trim() === '';
  const hasAttachments = requireAttachmentsFit(messageType, input.attachments);
  if (messageType === 'LOCATION' && !carriesLocation(input.metadata)) {
    throw new ValidationError('A LOCATION message needs metadata.location {latitude, longitude, label?}', { field: 'metadata.location' });
  }
  if (blank && messageType === 'TEXT') throw new ValidationError('A text message needs content', { field: 'content' });
  if (blank && !hasAttachments && !hasCard) {
    throw new ValidationError('A message needs content or attachments', { field: 'content' });
  }
  return messageType;
}

/**
 * Whether the message names attachments, after checking they fit its type: IMAGE, FILE and VOICE
 * carry 1 to 10 uploads (VOICE exactly one), every other type none.
 * @throws ValidationError (`field: 'attachments'`) otherwise.
 */
function requireAttachmentsFit(messageType: MessageType, attachments: readonly AttachmentRef[] | null | undefined): boolean {
  const count = attachments?.length ?? 0;
  const rule = ATTACHMENT_RULES[messageType];
  if (!rule) {
    if (count > 0) {
      throw new ValidationError(`A ${messageType} message carries no attachments; send them as IMAGE, FILE or VOICE`, { field: 'attachments' });
    }
    return false;
  }
  if (count === 0) throw new ValidationError(`A ${messageType} message carries ${rule.what}: attachments [{"id"}] of uploads`, { field: 'attachments' });
  if (rule.exactlyOne && count !== 1) throw new ValidationError(`A ${messageType} message carries ${rule.what}, not ${count}`, { field: 'attachments' });
  return true;
}

/**
 * Sends a message (`POST /conversations/:id/messages` and `chat-send-message`).
 *
 * In order:
 * 1. the content: blank TEXT (or blank anything without attachments or a card) → ValidationError;
 *    attachments on anything but IMAGE, FILE or VOICE, none on those, or more than one on VOICE →
 *    ValidationError; a LOCATION message without metadata.location → ValidationError;
 *    a booking card (`metadata.card`) on anything but a SYSTEM message → ValidationError; longer
 *    than `CHAT_MAX_CONTENT_LENGTH` characters, or metadata over `CHAT_MAX_METADATA_BYTES`
 *    bytes of JSON → PayloadTooLargeError;
 *    then the contact-detail policy (`CHAT_CONTACT_INFO_POLICY`, ./contact-policy.ts): flagged,
 *    masked, or refused with ValidationError;
 * 2. the sender's rate (`CHAT_SEND_RATE_LIMIT` per `CHAT_SEND_RATE_WINDOW_MS`, per user) →
 *    RateLimitedError with `{retryAfterMs, resetAt}`, counted as `RateLimited`. The store counts
 *    it in the statement that appends (step 4), before every check of that statement, so it
 *    costs no call of its own; a send that passes it is counted even when refused after;
 * 3. admins and services are read-only for every other type (ForbiddenError); a SYSTEM message
 *    is a service's only (the policy's `sendSystem`; anyone else's is a ValidationError, step 1),
 *    and its conversation is read first (NotFoundError when missing);
 * 4. the store (`messages.append`), which checks access in the same statement that appends (one
 *    Postgres round trip for the whole send) and may refuse: NotFoundError for a missing
 *    conversation, ForbiddenError for a non-participant, ConflictError when the conversation is
 *    not ACTIVE, ValidationError for a `replyToId` of another conversation. The same statement
 *    claims the attachments, all or nothing: each must be READY, the sender's own upload into this
 *    conversation (IMAGE: image/*, VOICE: audio/*), on no other message and younger than
 *    CHAT_ATTACHMENT_ORPHAN_HOURS; else ValidationError, or ConflictError while one is still
 *    PENDING (details name each refused id and why). A service's SYSTEM
 *    message is sent by neither side (`senderRole: "system"`): both sides' unread counts rise;
 * 5. only then the fan-out: `chat-new-message {message}` to every live connection of both sides,
 *    the sender's own included, and to connections that joined the room (admins watching).
 *
 * A repeated `clientMessageId` from the same sender stores nothing and answers the stored message
 * with `created: false` — and delivers it again. Delivery is at-least-once and clients
 * de-duplicate by `id`, so the repeat is harmless; and a client retries precisely when something
 * went wrong, possibly after the message was stored but before it was delivered (a timeout), in
 * which case this is the only delivery the other side gets.
 *
 * The fan-out never fails the send: the message is stored, and a client that missed the frame
 * catches up with `GET …/messages?after=<seq>`.
 */
export function makeSendMessage(deps: SendMessageDeps) {
  const { messages, clock, metrics, logger, limits } = deps;
  return async (input: SendMessageInput): Promise<SendMessageResult> => {
    const { identity, conversationId } = input;
    const messageType = checkContent(input, limits.CHAT_MAX_CONTENT_LENGTH);
    // Attachments are ids here; what the message stores of them is the product's own, not the client's.
    requireMetadataSize(null, input.metadata, limits.CHAT_MAX_METADATA_BYTES);
    const { content, metadata } = applyContactPolicy({ messageType, content: input.content, metadata: input.metadata ?? null }, limits);

    const now = clock.now().getTime();
    const { sender, conversation } = await senderOf(deps, identity, conversationId, messageType);
    const appended = await messages.append({
      conversationId,
      senderId: identity.userId,
      ...sender,
      messageType,
      content,
      ...attachmentClaim(messageType, input.attachments, clock.now(), limits),
      replyToId: input.replyToId ?? null,
      metadata,
      clientMessageId: input.clientMessageId ?? null,
    }, { key: sendRateKey(identity), limit: limits.CHAT_SEND_RATE_LIMIT, windowMs: limits.CHAT_SEND_RATE_WINDOW_MS, now });
    if ('rateLimited' in appended) {
      metrics.count('RateLimited');
      logger.info('Send refused: over the rate', { userId: identity.userId, resetAt: appended.resetAt });
      throw new RateLimitedError('You are sending messages too fast; try again shortly', {
        retryAfterMs: Math.max(0, appended.resetAt - now),
        resetAt: iso(appended.resetAt),
      });
    }
    const { message, created, changes, firstResponseMs } = appended;
    metrics.count(created ? 'MessagesSent' : 'DuplicateSends');
    if (firstResponseMs !== undefined) metrics.timing('FirstResponseTime', firstResponseMs);

    const wire = toWireMessage(message);
    // A repeat records no change: its event went out with the first attempt (or the sweeper sends it).
    await announce(deps, conversation(message), frame('chat-new-message', { message: wire }), changes, { message });
    return { message: wire, created };
  };
}

/** What the append claims for a message's attachments. */
function attachmentClaim(
  messageType: MessageType,
  attachments: readonly AttachmentRef[] | null | undefined,
  now: Date,
  limits: Pick<Settings, 'CHAT_ATTACHMENT_ORPHAN_HOURS'>,
): Pick<AppendMessageInput, 'attachmentIds' | 'attachmentTypePrefix' | 'attachmentsCreatedAfter'> {
  if (!attachments || attachments.length === 0) return {};
  const typePrefix = ATTACHMENT_RULES[messageType]?.typePrefix;
  return {
    attachmentIds: attachments.map((ref) => ref.id),
    ...(typePrefix ? { attachmentTypePrefix: typePrefix } : {}),
    attachmentsCreatedAfter: claimableAfter(now, limits),
  };
}

type Sender = Pick<AppendMessageInput, 'senderRole' | 'senderPartyId'>;

/**
 * Who sends, and the conversation's parties for the fan-out. A participant's side is checked by
 * the append itself (no read here; the parties follow from the stored message); a service's
 * SYSTEM message needs the conversation read first, for the policy and the fan-out.
 */
async function senderOf(
  deps: Pick<SendMessageDeps, 'conversations'>,
  identity: Identity,
  conversationId: string,
  messageType: MessageType,
): Promise<{ sender: Sender; conversation: (message: { receiverId: number }) => { id: string; customerId: number; providerId: number } }> {
  if (messageType === 'SYSTEM') {
    const found = await loadConversation(deps.conversations, conversationId);
    requireCapability(identity, 'sendSystem', found);
    return { sender: { senderRole: 'system', senderPartyId: null }, conversation: () => found };
  }
  const party = requireParty(identity, ADMIN_READ_ONLY);
  return {
    sender: { senderRole: party.side, senderPartyId: party.partyId },
    conversation: (message) => ({
      id: conversationId,
      customerId: party.side === 'customer' ? party.partyId : message.receiverId,
      providerId: party.side === 'provider' ? party.partyId : message.receiverId,
    }),
  };
}
