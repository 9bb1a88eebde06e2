/**
 * The push queue's consumer: a stored message is pushed to every device of every user on the
 * receiving side (the customer; each staff user of the provider) who has no live WebSocket
 * connection now and has not muted the conversation. `SYSTEM` messages go to both sides.
 *
 * Round trips per message, whatever the number of devices: Postgres reads the message as it is
 * now (a message deleted since is not pushed), the recipients' devices with mutes applied, and
 * the badges (one query each); DynamoDB reads the receiving parties' live connections (one
 * query per party); then one push per device; then one transaction records the round
 * (last push times, new endpoints, dead devices removed).
 */
import type { Settings } from '#config/settings';
import type { DomainEvent } from '#core/events';
import { otherSide, SIDES, type Device, type Message, type Party, type Side } from '#core/model';
import { partyKey, type Clock, type ConnectionStore, type Logger, type MessageStore, type Metrics, type PushRegistry, type PushResult, type PushSender } from '#core/ports';
import { pushNotificationFor } from '#core/push-notification';

/** Pushes in flight at once for one message. */
export const PUSH_CONCURRENCY = 10;

export interface SendPushesDeps {
  messages: Pick<MessageStore, 'context'>;
  pushRegistry: Pick<PushRegistry, 'recipients' | 'badges' | 'recordPushes'>;
  connections: Pick<ConnectionStore, 'forParties'>;
  pushSender: PushSender;
  clock: Clock;
  metrics: Metrics;
  logger: Logger;
  limits: Pick<Settings, 'CHAT_PUSH_PREVIEW'>;
}

export interface PushRound {
  sent: number;
  removed: number;
  /** Devices skipped because their user is online, or their platform has no push application. */
  skipped: number;
}

/** Some pushes failed in a way a later try can fix; the queue delivers the message again. */
export class PushDeliveryError extends Error {
  constructor(readonly failed: number, cause: unknown) {
    super(`${failed} push(es) failed and will be retried`, { cause });
    this.name = 'PushDeliveryError';
  }
}

/** The sides a message is pushed to: the receiving side, or both for a SYSTEM message. */
export function receivingParties(message: Pick<Message, 'messageType' | 'senderRole'>, conversation: { customerId: number; providerId: number }): Party[] {
  const sides: readonly Side[] = message.messageType === 'SYSTEM' || message.senderRole === 'system' ? SIDES : [otherSide(message.senderRole)];
  return sides.map((side) => ({ side, partyId: side === 'customer' ? conversation.customerId : conversation.providerId }));
}

const userKey = (side: Side, userId: number) => `${side}:${userId}`;

/** Runs `work` over `items` with at most `limit` in flight. */
async function inBatches<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<PromiseSettledResult<R>[]> {
  const results: PromiseSettledResult<R>[] = [];
  for (let start = 0; start < items.length; start += limit) {
    results.push(...(await Promise.allSettled(items.slice(start, start + limit).map(work))));
  }
  return results;
}

export function makeSendPushes(deps: SendPushesDeps) {
  const { messages, pushRegistry, connections, pushSender, clock, metrics, logger, limits } = deps;

  return async (event: Pick<DomainEvent, 'type' | 'data'>): Promise<PushRound> => {
    const none: PushRound = { sent: 0, removed: 0, skipped: 0 };
    if (event.type !== 'message.created') return none;
    const messageId = (event.data as { message?: { id?: unknown } }).message?.id;
    if (typeof messageId !== 'string') return none;

    const context = await messages.context(messageId);
    // Deleted before its push went out (or gone with its conversation): never pushed.
    if (!context || context.message.deletedAt) return none;
    const { message, conversation } = context;

    const now = clock.now();
    const parties = receivingParties(message, conversation);
    const devices = (await pushRegistry.recipients(conversation.id, parties, now)).filter((device) => pushSender.configured(device.platform));
    if (devices.length === 0) return none;

    const live = new Set(
      (await connections.forParties(parties)).flatMap((connection) => {
        const side = connection.identity.role === 'customer' ? 'customer' : connection.identity.role === 'provider' ? 'provider' : null;
        return side ? [userKey(side, connection.identity.userId)] : [];
      }),
    );
    const targets = devices.filter((device) => !live.has(userKey(device.side, device.userId)));
    const skipped = devices.length - targets.length;
    if (targets.length === 0) return { ...none, skipped };

    const badges = await pushRegistry.badges(parties.filter((party) => targets.some((device) => partyKey(device) === partyKey(party))));
    const results = await inBatches(targets, PUSH_CONCURRENCY, (device: Device): Promise<PushResult> =>
      pushSender.send(
        device,
        pushNotificationFor(message, { badge: badges.get(partyKey(device)) ?? 0, locale: device.locale, preview: limits.CHAT_PUSH_PREVIEW }),
      ),
    );

    const pushed: { deviceId: string; endpointArn: string }[] = [];
    const removed: string[] = [];
    const failures: unknown[] = [];
    results.forEach((result, index) => {
      const device = targets[index]!;
      if (result.status === 'rejected') failures.push(result.reason);
      else if (result.value.status === 'sent') pushed.push({ deviceId: device.id, endpointArn: result.value.endpointArn });
      else {
        removed.push(device.id);
        logger.info('Removed a device whose push token is dead', { deviceId: device.id, userId: device.userId, reason: result.value.reason });
      }
    });
    await pushRegistry.recordPushes({ pushed, removed, at: now });

    if (pushed.length) metrics.count('PushesSent', pushed.length);
    if (removed.length) metrics.count('DevicesRemoved', removed.length);
    if (failures.length) {
      metrics.count('PushFailures', failures.length);
      logger.warn('Pushes failed; the message is delivered to this consumer again', { messageId, failed: failures.length, error: String(failures[0]) });
      throw new PushDeliveryError(failures.length, failures[0]);
    }
    return { sent: pushed.length, removed: removed.length, skipped };
  };
}
