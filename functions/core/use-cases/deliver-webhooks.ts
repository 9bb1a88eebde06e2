/**
 * The webhooks queue's consumer: each event is rendered from the current state of what it is
 * about (a message deleted since goes out as its tombstone, never with its old content), signed,
 * and POSTed to CHAT_WEBHOOK_URL.
 *
 * - 2xx: delivered.
 * - 408, 429, 5xx, a timeout or a network error: the record is kept invisible until its next
 *   attempt (30 s doubling to an hour: CHAT_WEBHOOK_RETRY_BASE_SECONDS, _MAX_SECONDS) and
 *   reported failed; once the next attempt would fall more than 24 hours after the event (or
 *   after a replay from the dead-letter queue first handed it out again), it is given up instead.
 * - Any other answer (400, 401, 403, 404, 410, a redirect): given up at once.
 *
 * Given up means: put on the webhooks dead-letter queue (where an alarm sees it and an operator
 * replays it once the receiver is fixed) and deleted from the queue. An event whose message or
 * conversation no longer exists is dropped (there is nothing left to tell).
 */
import type { Settings } from '#config/settings';
import { changeData, type ChangeSubject } from '#core/changes';
import type { DomainEvent } from '#core/events';
import { RetryScheduledError } from '#core/errors';
import type { ConversationStore, Clock, Logger, MessageStore, Metrics, ReportStore, WebhookOutcome, WebhookQueue, WebhookSecret, WebhookSender } from '#core/ports';
import { isWebhookEvent, nextAttemptIn, signWebhook, webhookBody, type WebhookEventType } from '#core/webhooks';

export interface DeliverWebhookDeps {
  messages: Pick<MessageStore, 'context' | 'get'>;
  conversations: Pick<ConversationStore, 'get'>;
  reports: Pick<ReportStore, 'get'>;
  webhookSender: WebhookSender;
  webhookSecret: WebhookSecret;
  webhookQueue: WebhookQueue;
  clock: Clock;
  metrics: Metrics;
  logger: Logger;
  limits: Pick<Settings, 'CHAT_WEBHOOK_URL' | 'CHAT_WEBHOOK_RETRY_BASE_SECONDS' | 'CHAT_WEBHOOK_RETRY_MAX_SECONDS'>;
}

/** Which try this is and how to reschedule it: from the SQS record. */
export interface WebhookAttempt {
  /** 1 for the first (the record's ApproximateReceiveCount). */
  attempt: number;
  receiptHandle: string;
  /**
   * When the queue first handed this record out (ApproximateFirstReceiveTimestamp). A record
   * replayed from the dead-letter queue starts over, so it gets another 24 hours.
   */
  firstReceivedAt?: Date;
}

export type WebhookDelivery = 'delivered' | 'dead-lettered' | 'dropped';

/** The attempt failed and is scheduled again: the record is reported failed (not deleted). */
export class WebhookRetryError extends RetryScheduledError {
  constructor(reason: string, retryInSeconds: number) {
    super(`Webhook delivery failed (${reason})`, retryInSeconds);
  }
}

const idOf = (value: unknown): string | undefined => {
  const id = (value as { id?: unknown } | undefined)?.id;
  return typeof id === 'string' ? id : undefined;
};

export function makeDeliverWebhook(deps: DeliverWebhookDeps) {
  const { messages, conversations, reports, webhookSender, webhookSecret, webhookQueue, clock, metrics, logger, limits } = deps;

  /** What the event is about, as it is now; null when it no longer exists. */
  async function subjectOf(type: WebhookEventType, event: DomainEvent): Promise<ChangeSubject | null> {
    const data = event.data as { message?: unknown; report?: unknown };
    switch (type) {
      case 'message.created':
      case 'message.deleted': {
        const messageId = idOf(data.message);
        return messageId ? await messages.context(messageId) : null;
      }
      case 'conversation.created':
      case 'conversation.updated': {
        const conversation = await conversations.get(event.conversationId);
        return conversation ? { conversation } : null;
      }
      case 'report.created': {
        const reportId = idOf(data.report);
        const report = reportId ? await reports.get(reportId) : null;
        const message = report ? await messages.get(report.messageId) : null;
        return report && message ? { report, message } : null;
      }
    }
  }

  async function giveUp(event: DomainEvent, reason: string): Promise<WebhookDelivery> {
    await webhookQueue.deadLetter(event, reason);
    metrics.count('WebhooksDeadLettered');
    logger.error('Webhook event given up: kept in the webhooks dead-letter queue for replay', { eventId: event.id, type: event.type, reason });
    return 'dead-lettered';
  }

  return async (event: DomainEvent, { attempt, receiptHandle, firstReceivedAt }: WebhookAttempt): Promise<WebhookDelivery> => {
    const type = event.type;
    if (!isWebhookEvent(type)) return 'dropped';
    const url = limits.CHAT_WEBHOOK_URL;
    if (!url) return giveUp(event, 'CHAT_WEBHOOK_URL is not set');

    const subject = await subjectOf(type, event);
    if (!subject) {
      logger.info('Webhook event dropped: what it is about no longer exists', { eventId: event.id, type });
      return 'dropped';
    }

    let outcome: WebhookOutcome;
    try {
      const secret = await webhookSecret.get();
      const body = webhookBody({ id: event.id, type, at: event.at }, changeData({ type, data: {} }, subject));
      outcome = await webhookSender.send({ url, body, signature: signWebhook(secret, body, clock.now()), eventId: event.id });
    } catch (error) {
      outcome = { kind: 'retry', reason: `no signing secret: ${String(error)}` };
    }

    if (outcome.kind === 'delivered') {
      metrics.count('WebhooksDelivered');
      return 'delivered';
    }
    metrics.count('WebhookFailures');
    const keys = { eventId: event.id, type, attempt, status: outcome.status, reason: outcome.reason };
    if (outcome.kind === 'permanent') return giveUp(event, `the receiver answered ${outcome.reason}, which a retry cannot change`);

    const schedule = { baseSeconds: limits.CHAT_WEBHOOK_RETRY_BASE_SECONDS, maxSeconds: limits.CHAT_WEBHOOK_RETRY_MAX_SECONDS };
    const eventAt = new Date(event.at).getTime();
    const windowStart = new Date(Math.max(eventAt, firstReceivedAt?.getTime() ?? eventAt));
    const delay = nextAttemptIn(attempt, windowStart, clock.now(), schedule);
    if (delay === null) return giveUp(event, `still failing 24 hours after the event (${outcome.reason}, attempt ${attempt})`);
    await webhookQueue.retryLater(receiptHandle, delay);
    logger.warn('Webhook attempt failed; tried again later', { ...keys, retryInSeconds: delay });
    throw new WebhookRetryError(outcome.reason, delay);
  };
}
