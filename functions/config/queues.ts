/**
 * Every SQS queue the product uses, defined once as plain data: the CDK stack builds the real
 * queues (each with its dead-letter queue and redrive policy) from these definitions, and the
 * local runtime creates them on its SQS-compatible endpoint, so the two can never disagree.
 */
import { UPLOAD_PREFIX } from '#core/attachments';
import type { EventType } from '#core/events';
import type { Settings } from './settings.ts';

export interface QueueDefinition {
  /** The settings key whose value is the queue's URL (set by the stack; locally by the runtime). */
  urlSettingsKey: 'EVENTS_QUEUE_URL' | 'PUSH_QUEUE_URL' | 'MODERATION_QUEUE_URL' | 'WEBHOOKS_QUEUE_URL' | 'ATTACHMENTS_QUEUE_URL';
  /** The settings key whose value is the dead-letter queue's URL, for a consumer that dead-letters a record itself. */
  deadLetterUrlSettingsKey?: 'WEBHOOKS_DEAD_LETTER_QUEUE_URL';
  /** A setting without which the events queue's consumer forwards nothing to this queue. */
  enabledBy?: 'CHAT_WEBHOOK_URL';
  /**
   * Fed by the attachments bucket itself: its ObjectCreated notifications for keys under this
   * prefix (S3 event notifications to SQS in AWS; the local S3 endpoint sends the same records).
   */
  notifiedByUploadsUnder?: string;
  /** The domain event types the events queue's consumer forwards to this queue (none: it is the events queue). */
  subscribes?: readonly EventType[];
  /** The queue's name locally; in AWS the stateful stack names it `provider-customer-chat-<stage>-<key>`. */
  localName: string;
  /**
   * How long a received message stays invisible before it is delivered again. AWS asks for at
   * least six times the consumer function's timeout; the stack derives it from the consumer.
   */
  visibilityTimeoutSeconds: number;
  /** Receives after which a message moves to the dead-letter queue (SQS redrive policy). */
  maxReceiveCount: number;
  /** How long an undelivered message is kept (SQS: 60 s to 14 days). */
  retentionSeconds: number;
  /** How long the dead-letter queue keeps what landed there, for inspection and redrive. */
  deadLetterRetentionSeconds: number;
}

const DAY = 24 * 60 * 60;

export const QUEUES = {
  /**
   * Domain events, published after commit (see functions/core/events.ts). Its consumer marks each
   * change published and forwards it to the consumers that subscribe to its type.
   */
  events: {
    urlSettingsKey: 'EVENTS_QUEUE_URL',
    localName: 'chat-events',
    visibilityTimeoutSeconds: 180,
    maxReceiveCount: 5,
    retentionSeconds: 4 * DAY,
    deadLetterRetentionSeconds: 14 * DAY,
  },
  /**
   * New messages to push to offline devices. A failed push is delivered again after the
   * visibility timeout (the SDK already retried with backoff), five times, then dead-lettered.
   */
  push: {
    urlSettingsKey: 'PUSH_QUEUE_URL',
    localName: 'chat-push',
    subscribes: ['message.created'],
    visibilityTimeoutSeconds: 60,
    maxReceiveCount: 5,
    retentionSeconds: 1 * DAY,
    deadLetterRetentionSeconds: 14 * DAY,
  },
  /** New and edited messages the contact-detail policy flags, to file in the admins' review queue. */
  moderation: {
    urlSettingsKey: 'MODERATION_QUEUE_URL',
    localName: 'chat-moderation',
    subscribes: ['message.created', 'message.updated'],
    visibilityTimeoutSeconds: 60,
    maxReceiveCount: 5,
    retentionSeconds: 4 * DAY,
    deadLetterRetentionSeconds: 14 * DAY,
  },
  /**
   * Events for the webhook receiver (functions/core/webhooks.ts), only while CHAT_WEBHOOK_URL is
   * set. Its consumer schedules its own retries (ChangeMessageVisibility, 30 s doubling to an
   * hour, for 24 hours from the event) and moves a record it gives up on to the dead-letter queue
   * itself; maxReceiveCount (the schedule makes 30 attempts in 24 hours) only catches a consumer
   * that keeps crashing on a record. Retention outlasts the 24 hours of attempts.
   */
  webhooks: {
    urlSettingsKey: 'WEBHOOKS_QUEUE_URL',
    deadLetterUrlSettingsKey: 'WEBHOOKS_DEAD_LETTER_QUEUE_URL',
    enabledBy: 'CHAT_WEBHOOK_URL',
    localName: 'chat-webhooks',
    subscribes: ['message.created', 'message.deleted', 'conversation.created', 'conversation.updated', 'report.created'],
    visibilityTimeoutSeconds: 180,
    maxReceiveCount: 50,
    retentionSeconds: 2 * DAY,
    deadLetterRetentionSeconds: 14 * DAY,
  },
  /**
   * Uploads to process: the attachments bucket notifies this queue of every object created under
   * `uploads/`. Its consumer checks the bytes, strips image metadata, makes the thumbnail and
   * records READY or REJECTED; a failing record is delivered again after the visibility timeout,
   * five times, then dead-lettered (the processing-failures alarm watches it).
   */
  attachments: {
    urlSettingsKey: 'ATTACHMENTS_QUEUE_URL',
    notifiedByUploadsUnder: UPLOAD_PREFIX,
    localName: 'chat-attachments',
    visibilityTimeoutSeconds: 360,
    maxReceiveCount: 5,
    retentionSeconds: 4 * DAY,
    deadLetterRetentionSeconds: 14 * DAY,
  },
} as const satisfies Record<string, QueueDefinition>;

export type QueueKey = keyof typeof QUEUES;
export const QUEUE_KEYS = Object.keys(QUEUES) as QueueKey[];

/**
 * The queues the events queue's consumer forwards an event of `type` to: those that subscribe to
 * it, less those whose `enabledBy` setting is unset in `settings`.
 */
export function subscribersOf(type: EventType, settings: Partial<Pick<Settings, NonNullable<QueueDefinition['enabledBy']>>> = {}): QueueKey[] {
  return QUEUE_KEYS.filter((key) => {
    const queue: QueueDefinition = QUEUES[key];
    return (queue.subscribes ?? []).includes(type) && (queue.enabledBy === undefined || Boolean(settings[queue.enabledBy]));
  });
}

/** The dead-letter queue's local name. */
export const deadLetterName = (name: string) => `${name}-dlq`;

/** Queue URLs by logical name, from settings (undefined where a queue is not configured). */
export function queueUrlsFrom(settings: Pick<Settings, QueueDefinition['urlSettingsKey']>): Record<QueueKey, string | undefined> {
  return Object.fromEntries(QUEUE_KEYS.map((key) => [key, settings[QUEUES[key].urlSettingsKey]])) as Record<QueueKey, string | undefined>;
}
