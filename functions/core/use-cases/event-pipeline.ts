/**
 * The change log's side of the event pipeline: confirming events that reached the queue,
 * publishing again those that never did, and purging changes past the retention.
 */
import type { Settings } from '#config/settings';
import { toDomainEvent } from '#core/changes';
import { subscribersOf, type QueueKey } from '#config/queues';
import type { DomainEvent, EventForwarder, EventPublisher } from '#core/events';
import type { ChangeLog, Clock, Logger, Metrics } from '#core/ports';

/** Changes one sweep publishes again at most; the next sweep takes the rest. */
export const REPUBLISH_BATCH = 500;
/** Changes one purge statement deletes at most, and how many statements one run makes. */
export const PURGE_BATCH = 5000;
export const PURGE_BATCHES_PER_RUN = 20;

/**
 * The events queue's consumer: each event goes on the queue of every consumer that subscribes
 * to its type (push…; webhooks only while CHAT_WEBHOOK_URL is set), then is confirmed in the change log, so the sweeper leaves it alone. When
 * forwarding fails nothing is confirmed and the event is delivered again; confirming twice
 * (redelivery) changes nothing.
 */
export function makeRouteEvents({
  changes,
  forwarder,
  clock,
  limits,
}: {
  changes: Pick<ChangeLog, 'markPublished'>;
  forwarder: EventForwarder;
  clock: Clock;
  limits: Partial<Pick<Settings, 'CHAT_WEBHOOK_URL'>>;
}) {
  return async (events: readonly DomainEvent[]): Promise<{ confirmed: number; forwarded: number }> => {
    const byQueue = new Map<QueueKey, DomainEvent[]>();
    for (const event of events) {
      for (const queue of subscribersOf(event.type, limits)) byQueue.set(queue, [...(byQueue.get(queue) ?? []), event]);
    }
    await Promise.all([...byQueue].map(([queue, forwarded]) => forwarder.forward(queue, forwarded)));
    const forwarded = [...byQueue.values()].reduce((sum, list) => sum + list.length, 0);
    return { confirmed: await changes.markPublished(events.map((event) => event.id), clock.now()), forwarded };
  };
}

/**
 * The sweeper: changes older than `CHAT_EVENT_REPUBLISH_AFTER_SECONDS` that no consumer
 * confirmed (the publish after commit failed, or the function stopped before it) are published
 * again, from their current state. Each claimed change waits longer before its next try
 * (30 s, 1 min, 2 min … up to an hour), so a consumer that is down is not flooded.
 */
export function makeRepublishEvents(deps: {
  changes: Pick<ChangeLog, 'claimUnpublished'>;
  events: EventPublisher;
  clock: Clock;
  metrics: Metrics;
  logger: Logger;
  limits: Pick<Settings, 'CHAT_EVENT_REPUBLISH_AFTER_SECONDS'>;
}) {
  const { changes, events, clock, metrics, logger, limits } = deps;
  return async (): Promise<{ republished: number }> => {
    const now = clock.now();
    const olderThan = new Date(now.getTime() - limits.CHAT_EVENT_REPUBLISH_AFTER_SECONDS * 1000);
    const claimed = await changes.claimUnpublished(olderThan, REPUBLISH_BATCH, now);
    if (claimed.length === 0) return { republished: 0 };
    try {
      await events.publish(claimed.map((change) => toDomainEvent(change, change)));
    } catch (error) {
      metrics.count('EventPublishFailures', claimed.length);
      logger.error('Could not publish unconfirmed changes again; the next sweep tries later', { count: claimed.length, error: String(error) });
      return { republished: 0 };
    }
    metrics.count('EventsRepublished', claimed.length);
    logger.info('Published unconfirmed changes again', { count: claimed.length, oldest: claimed[0]!.at.toISOString() });
    return { republished: claimed.length };
  };
}

/** Deletes changes older than `CHAT_SYNC_RETENTION_DAYS`, in bounded batches. */
export function makePurgeChanges(deps: {
  changes: Pick<ChangeLog, 'purge'>;
  clock: Clock;
  metrics: Metrics;
  limits: Pick<Settings, 'CHAT_SYNC_RETENTION_DAYS'>;
}) {
  const { changes, clock, metrics, limits } = deps;
  return async (): Promise<{ purged: number }> => {
    const before = new Date(clock.now().getTime() - limits.CHAT_SYNC_RETENTION_DAYS * 24 * 60 * 60 * 1000);
    let purged = 0;
    for (let batch = 0; batch < PURGE_BATCHES_PER_RUN; batch++) {
      const deleted = await changes.purge(before, PURGE_BATCH);
      purged += deleted;
      if (deleted < PURGE_BATCH) break;
    }
    if (purged > 0) metrics.count('ChangesPurged', purged);
    return { purged };
  };
}
