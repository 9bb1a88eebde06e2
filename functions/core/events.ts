/**
 * Domain events: every change recorded in the change log is also published, after its
 * transaction commits, as an event on the events queue. Consumers (push, webhooks, attachment
 * processing…) take them from there, never from a request's own path.
 *
 * An event's `id` is its change's id, so a consumer that sees one twice (delivery is
 * at-least-once) de-duplicates by it.
 */
import type { QueueKey } from '#config/queues';

export const CHANGE_TYPES = [
  'conversation.created',
  'conversation.updated',
  'conversation.read',
  'conversation.archived',
  'message.created',
  'message.updated',
  'message.deleted',
  'message.status',
  'reaction.updated',
  'attachment.updated',
] as const;

export type ChangeType = (typeof CHANGE_TYPES)[number];

/**
 * Changes recorded in the change log for the event pipeline only: they are published like every
 * other change (and swept again when unconfirmed) but never appear in any reader's `/sync`.
 * `report.created`: a report was filed (by a participant, or by the contact-detail policy).
 */
export const INTERNAL_CHANGE_TYPES = ['report.created'] as const;

/** Every type the events queue carries: the change log's, and the internal ones. */
export const EVENT_TYPES = [...CHANGE_TYPES, ...INTERNAL_CHANGE_TYPES] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** What goes on the events queue: one change of the change log. */
export interface DomainEvent {
  /** The change's id: unique, stable across republishing. */
  id: string;
  type: EventType;
  /** ISO-8601 time of the change. */
  at: string;
  conversationId: string;
  /** The change's data, as `/sync` carries it (see the protocol's change schemas). */
  data: unknown;
}

/** Puts events on the events queue (SQS). */
export interface EventPublisher {
  /**
   * Publishes every event, in batches.
   * @throws when any event could not be published; the sweeper publishes it again later.
   */
  publish(events: readonly DomainEvent[]): Promise<void>;
}

/** Puts events on a consumer's own queue (the events queue's consumer routes them by type). */
export interface EventForwarder {
  /** @throws when any event could not be put on the queue; the events queue delivers them again. */
  forward(queue: QueueKey, events: readonly DomainEvent[]): Promise<void>;
}
