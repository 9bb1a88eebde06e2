import { ConflictError, ValidationError } from '#core/errors';
import { sideOf, type Identity } from '#core/model';
import { requireCapability } from '#core/policy';
import type { ConversationStore } from '#core/ports';
import type { PublishChanges } from './publish.ts';
import { toWireConversation, type WireConversation } from './wire.ts';

export interface StartConversationDeps {
  conversations: Pick<ConversationStore, 'startOrGet' | 'summaryFor' | 'blockedPair'>;
  publish: PublishChanges;
}

export interface StartConversationInput {
  identity: Identity;
  providerId: number;
  customerId: number;
  orderId?: number | null;
}

export interface StartConversationResult {
  /** The caller's side's view (unread count, archive state, last message); an admin or a service gets the bare conversation. */
  conversation: WireConversation;
  /** true: created now (201). false: the ACTIVE one for this provider, customer and order already existed (200). */
  created: boolean;
}

function isPositiveInt(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value > 0;
}

/**
 * `POST /conversations`: starts the conversation between a provider and a customer (optionally
 * about one order), or answers the ACTIVE one that already exists for that triple.
 *
 * The ids come from the body, so they must match the caller: a customer may only start their own
 * (`customerId` = their userId), provider staff only their business's (`providerId` = theirs), an
 * admin or a service (a marketplace backend opening the chat of a booking) any: the policy's
 * `start` capability.
 *
 * @throws ValidationError for ids that are not positive integers.
 * @throws ForbiddenError when the caller may not speak for that customer or provider.
 * @throws ConflictError while a conversation of this customer and provider is BLOCKED.
 */
export function makeStartConversation({ conversations, publish }: StartConversationDeps) {
  return async (input: StartConversationInput): Promise<StartConversationResult> => {
    const { identity, providerId, customerId } = input;
    const orderId = input.orderId ?? null;
    const bad: string[] = (['providerId', 'customerId'] as const).filter((field) => !isPositiveInt(input[field]));
    if (orderId !== null && !isPositiveInt(orderId)) bad.push('orderId');
    if (bad.length > 0) throw new ValidationError('Ids must be positive integers', { fields: bad });

    const key = { providerId, customerId, orderId };
    requireCapability(identity, 'start', key);
    const side = sideOf(identity, key);

    // A block is between the two parties: no new conversation of theirs while one is blocked.
    if (await conversations.blockedPair(providerId, customerId)) {
      throw new ConflictError('This customer and provider have a blocked conversation; it must be unblocked before they can start another');
    }
    const { conversation, created, changes } = await conversations.startOrGet(key);
    await publish(changes, { conversation });
    if (!side) return { conversation: toWireConversation(conversation), created };
    // A new conversation's side view is known without asking: nothing unread, nothing archived.
    const summary = created
      ? { ...conversation, unreadCount: 0, lastReadSeq: 0, archivedAt: null, lastMessage: null }
      : ((await conversations.summaryFor(conversation.id, side)) ?? conversation);
    return { conversation: toWireConversation(summary), created };
  };
}
