/**
 * Publishing the changes a use case just committed as domain events. Never on the critical
 * path of the answer and never a reason for it to fail: the change is committed, and one whose
 * event did not reach the queue stays unconfirmed in the change log, where the sweeper
 * (republish-events) finds it and publishes it again.
 */
import { toDomainEvent, type ChangeSubject } from '#core/changes';
import type { EventPublisher } from '#core/events';
import type { Conversation } from '#core/model';
import type { ConnectionStore, Logger, Metrics, RecordedChange, SubscriptionStore } from '#core/ports';
import type { ServerFrame } from '#core/protocol';
import { conversationAudience } from './access.ts';
import { notifyAfterCommit, type Deliver } from './deliver.ts';

/** Publishes committed changes as events; resolves whether or not that worked. */
export type PublishChanges = (changes: readonly RecordedChange[], subject: ChangeSubject) => Promise<void>;

export function makePublishChanges({ events, metrics, logger }: { events: EventPublisher; metrics: Metrics; logger: Logger }): PublishChanges {
  return async (changes, subject) => {
    if (changes.length === 0) return;
    try {
      await events.publish(changes.map((change) => toDomainEvent(change, subject)));
      metrics.count('EventsPublished', changes.length);
    } catch (error) {
      metrics.count('EventPublishFailures', changes.length);
      logger.warn('Events not published; the sweeper publishes them again', {
        changes: changes.map((change) => change.id),
        error: String(error),
      });
    }
  };
}

export interface AnnounceDeps {
  connections: Pick<ConnectionStore, 'forParties'>;
  subscriptions: Pick<SubscriptionStore, 'connectionsIn'>;
  deliver: Deliver;
  publish: PublishChanges;
  logger: Logger;
}

/**
 * After a change committed: the live frame to everyone who hears about `conversation` (both
 * sides' connections and its room) and its events to the queue, side by side. Neither can fail
 * the change.
 */
export async function announce(
  deps: AnnounceDeps,
  conversation: Pick<Conversation, 'id' | 'customerId' | 'providerId'>,
  out: ServerFrame,
  changes: readonly RecordedChange[],
  subject: ChangeSubject,
): Promise<void> {
  await Promise.all([
    notifyAfterCommit(deps.logger, out.event, async () => deps.deliver(out, await conversationAudience(deps, conversation))),
    deps.publish(changes, subject),
  ]);
}
