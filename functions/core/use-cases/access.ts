/**
 * Who may touch a conversation, as the policy (functions/core/policy.ts) declares it: participants
 * (the customer, and every staff user of the provider) may read and write; admins (moderation) and
 * services (the marketplace's backends) may read every conversation but never act in one as a
 * participant. A conversation the caller may not see answers
 * ForbiddenError without its content; a missing one answers NotFoundError.
 */
import { ForbiddenError, NotFoundError } from '#core/errors';
import { can, canEverywhere } from '#core/policy';
import { partyOf, sideOf, type Conversation, type Identity, type Party, type Sender, type Side } from '#core/model';
import type { ConnectionStore, ConversationStore, MessageContext, MessageStore, SubscriptionStore } from '#core/ports';

export const NOT_A_PARTICIPANT = 'You are not a participant of this conversation';
export const ADMIN_READ_ONLY = 'Admins and services may read conversations but not act in them';

/** The conversation, or NotFoundError. */
export async function loadConversation(conversations: Pick<ConversationStore, 'get'>, conversationId: string): Promise<Conversation> {
  const conversation = await conversations.get(conversationId);
  if (!conversation) throw new NotFoundError('Conversation not found');
  return conversation;
}

/**
 * Read access: the caller's side for a participant, null for an admin.
 * @throws ForbiddenError for anyone else.
 */
export function requireReader(identity: Identity, conversation: Pick<Conversation, 'customerId' | 'providerId'>): Side | null {
  if (!can(identity, 'read', conversation)) throw new ForbiddenError(NOT_A_PARTICIPANT);
  return sideOf(identity, conversation);
}

/**
 * Write access: the caller's side.
 * @throws ForbiddenError for admins (read-only) and non-participants.
 */
export function requireParticipant(identity: Identity, conversation: Pick<Conversation, 'customerId' | 'providerId'>): Side {
  const side = sideOf(identity, conversation);
  if (side && can(identity, 'write', conversation)) return side;
  throw new ForbiddenError(canEverywhere(identity, 'read') ? ADMIN_READ_ONLY : NOT_A_PARTICIPANT);
}

/**
 * The party a caller speaks for: customers and provider staff.
 * @throws ForbiddenError with `noSideMessage` for admins and services (who have no side), and for
 * a provider identity without a providerId.
 */
export function requireParty(identity: Identity, noSideMessage: string): Party {
  const party = partyOf(identity);
  if (party) return party;
  throw new ForbiddenError(canEverywhere(identity, 'read') ? noSideMessage : 'Your token does not name the business you act for');
}

/** Both sides of a conversation as parties. */
export function partiesOf(conversation: Pick<Conversation, 'customerId' | 'providerId'>): Party[] {
  return [
    { side: 'customer', partyId: conversation.customerId },
    { side: 'provider', partyId: conversation.providerId },
  ];
}

export function unique<T>(values: Iterable<T>): T[] {
  return [...new Set(values)];
}

/**
 * Who hears about a conversation's messages and receipts: every live connection of both sides
 * (the customer's devices, every staff user of the provider) plus whoever joined its room, which
 * is how an admin watches a conversation live. Read in parallel: two independent queries.
 */
export async function conversationAudience(
  deps: { connections: Pick<ConnectionStore, 'forParties'>; subscriptions: Pick<SubscriptionStore, 'connectionsIn'> },
  conversation: Pick<Conversation, 'id' | 'customerId' | 'providerId'>,
): Promise<string[]> {
  const [sides, room] = await Promise.all([
    deps.connections.forParties(partiesOf(conversation)),
    deps.subscriptions.connectionsIn(conversation.id),
  ]);
  return unique([...sides.map((c) => c.connectionId), ...room.map((s) => s.connectionId)]);
}

/**
 * A message and its conversation, for a caller who may at least read it. `conversationId`, when
 * the request names one (a REST path), must be the message's own.
 * @throws NotFoundError for a missing message (or one of another conversation), ForbiddenError
 * when the caller may not read its conversation.
 */
export async function loadReadableMessage(
  messages: Pick<MessageStore, 'context'>,
  identity: Identity,
  messageId: string,
  conversationId?: string,
): Promise<MessageContext & { side: Side | null }> {
  const context = await messages.context(messageId);
  if (!context || (conversationId !== undefined && context.conversation.id !== conversationId)) {
    throw new NotFoundError('Message not found');
  }
  return { ...context, side: requireReader(identity, context.conversation) };
}

/** Whether `identity` sent `message`: the same user, acting for the same side. */
export function isSenderOf(identity: Identity, side: Side | null, message: { senderId: number; senderRole: Sender }): boolean {
  return side !== null && side === message.senderRole && identity.userId === message.senderId;
}
