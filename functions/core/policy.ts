/**
 * Who may do what to a conversation: the one declared policy. Every use case asks it (through
 * the access helpers of functions/core/use-cases/access.ts) instead of checking roles itself, so
 * "admins read but never write" or "only the provider's staff end a conversation" is written
 * once, here, and the authorization matrix test checks every route against it.
 *
 * A caller acts on a conversation as an **actor**: the side they are on (the customer, or any
 * staff user of the provider), an admin, a service (a backend of the marketplace), or nobody (an
 * outsider, who may do nothing). Admins and services act on every conversation and are never on
 * a side of one.
 */
import { ForbiddenError } from './errors.ts';
import { sideOf, type Actor, type Conversation, type Identity } from './model.ts';

export const CAPABILITIES = ['read', 'start', 'write', 'sendSystem', 'block', 'unblock', 'end', 'assign', 'moderate', 'viewStats'] as const;
export type Capability = (typeof CAPABILITIES)[number];

/** The parts of a conversation the policy looks at. */
type Subject = Pick<Conversation, 'customerId' | 'providerId'> & { blockedBy?: Actor | null };

/** `blocker`: whichever actor blocked the conversation. */
type Grantee = Actor | 'blocker';

/** For each capability, who holds it. */
export const POLICY: Readonly<Record<Capability, readonly Grantee[]>> = {
  /** Open it, its history, typing, and join its room. */
  read: ['customer', 'provider', 'admin', 'service'],
  /** Start it (or get the ACTIVE one): either of its two sides, an admin, or a service. */
  start: ['customer', 'provider', 'admin', 'service'],
  /** Send, react, mark read, archive, type, mute its pushes: the two sides only. */
  write: ['customer', 'provider'],
  /** Send a SYSTEM message into it (a booking confirmed, an order cancelled): services only. */
  sendSystem: ['service'],
  /** Block it (no more sends, no new conversation for the pair): either side, an admin, or a service. */
  block: ['customer', 'provider', 'admin', 'service'],
  /** Lift a block: only the actor who blocked it, or an admin. */
  unblock: ['blocker', 'admin'],
  /** End it for good (a booking done): the provider's staff, an admin, or a service. */
  end: ['provider', 'admin', 'service'],
  /** Assign it to a staff user in the provider's shared inbox: the provider's staff. */
  assign: ['provider'],
  /** Delete anyone's message: admins. */
  moderate: ['admin'],
  /** Read a provider's response times and volumes: its own staff, or an admin. */
  viewStats: ['provider', 'admin'],
};

/** Why a capability was refused, safe to show. */
const REFUSALS: Readonly<Record<Capability, string>> = {
  read: 'You are not a participant of this conversation',
  start: 'Customers may only start their own conversations, provider staff only their own business\'s',
  write: 'Only the conversation\'s customer and its provider\'s staff may act in it (admins and services may read it)',
  sendSystem: 'Only services may send SYSTEM messages',
  block: 'Only the conversation\'s participants, an admin or a service may block it',
  unblock: 'Only the actor that blocked this conversation, or an admin, may unblock it',
  end: "Only the provider's staff, an admin or a service may end a conversation",
  assign: "Only the provider's staff may assign a conversation",
  moderate: 'Only admins may moderate',
  viewStats: "Only the provider's own staff, or an admin, may read its statistics",
};

/** The actor a caller is on every conversation (admins and services), or null for everyone else. */
function actorEverywhere(identity: Identity): Actor | null {
  return identity.role === 'admin' || identity.role === 'service' ? identity.role : null;
}

/** The actor a caller is on a conversation, or null for an outsider. */
export function actorOf(identity: Identity, conversation: Pick<Conversation, 'customerId' | 'providerId'>): Actor | null {
  return sideOf(identity, conversation) ?? actorEverywhere(identity);
}

/** Whether the caller holds the capability on this conversation. */
export function can(identity: Identity, capability: Capability, conversation: Subject): boolean {
  const actor = actorOf(identity, conversation);
  if (!actor) return false;
  return POLICY[capability].some((grantee) => grantee === actor || (grantee === 'blocker' && (conversation.blockedBy ?? null) === actor));
}

/**
 * The caller's actor, when they hold the capability.
 * @throws ForbiddenError saying who may.
 */
export function requireCapability(identity: Identity, capability: Capability, conversation: Subject): Actor {
  if (!can(identity, capability, conversation)) throw new ForbiddenError(REFUSALS[capability]);
  return actorOf(identity, conversation)!;
}

/**
 * For what is not about one conversation (the review queue): whether the caller holds the
 * capability on every conversation, as only an admin or a service can.
 */
export function canEverywhere(identity: Identity, capability: Capability): boolean {
  const actor = actorEverywhere(identity);
  return actor !== null && POLICY[capability].includes(actor);
}

/**
 * {@link canEverywhere}, or ForbiddenError saying who may.
 */
export function requireCapabilityEverywhere(identity: Identity, capability: Capability): void {
  if (!canEverywhere(identity, capability)) throw new ForbiddenError(REFUSALS[capability]);
}

/**
 * For what is about one provider's business rather than one conversation (its statistics): its
 * staff act on it as `provider`, admins and services as themselves.
 * @throws ForbiddenError saying who may.
 */
export function requireCapabilityOnProvider(identity: Identity, capability: Capability, providerId: number): Actor {
  const actor: Actor | null = identity.role === 'provider' && identity.providerId === providerId ? 'provider' : actorEverywhere(identity);
  if (!actor || !POLICY[capability].includes(actor)) throw new ForbiddenError(REFUSALS[capability]);
  return actor;
}

/**
 * Who may see an attachment (its record and its bytes), over and above reading its conversation:
 * the uploader's side always (every staff user of a provider shares its uploads, as its inbox);
 * the other side only once a message carries it (`carried`: claimed by a message not deleted
 * since); admins and services always (moderation, the marketplace's backends).
 */
export function canReadAttachment(
  identity: Identity,
  conversation: Pick<Conversation, 'customerId' | 'providerId'>,
  attachment: { uploaderSide: 'customer' | 'provider' },
  carried: boolean,
): boolean {
  if (!can(identity, 'read', conversation)) return false;
  const side = sideOf(identity, conversation);
  return side === null || side === attachment.uploaderSide || carried;
}

/** The refusal of a capability, safe to show. */
export function refusalOf(capability: Capability): string {
  return REFUSALS[capability];
}
