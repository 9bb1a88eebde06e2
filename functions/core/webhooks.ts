/**
 * Signed webhooks, the pure part: which events leave the product, the body a receiver gets, the
 * `X-Chat-Signature` header, how an answer is classified, and when the next attempt is due.
 *
 * Signature: `t=<unix seconds>,v1=<hex HMAC-SHA256 over "<t>.<raw body>" with the secret>`. The
 * timestamp is signed with the body, so a receiver that also bounds its age (five minutes is the
 * documented tolerance) refuses a replayed request.
 *
 * Retries: an attempt that failed in a way a later one can fix waits 30 s, then twice as long
 * each time, at most an hour, until 24 hours after the event happened; then the event is given
 * up and kept in the webhooks dead-letter queue, from where an operator replays it.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { DomainEvent, EventType } from './events.ts';

/** The event types a webhook receiver is sent. */
export const WEBHOOK_EVENT_TYPES = [
  'message.created',
  'message.deleted',
  'conversation.created',
  'conversation.updated',
  'report.created',
] as const satisfies readonly EventType[];
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

export const isWebhookEvent = (type: EventType): type is WebhookEventType => (WEBHOOK_EVENT_TYPES as readonly EventType[]).includes(type);

export const SIGNATURE_HEADER = 'X-Chat-Signature';
/** How old a signed timestamp a receiver should accept, in seconds (the receiver example uses it). */
export const SIGNATURE_TOLERANCE_SECONDS = 300;

/** What a receiver gets: the event's id (de-duplicate by it), type, time and data. */
export interface WebhookBody {
  id: string;
  type: WebhookEventType;
  at: string;
  data: Record<string, unknown>;
}

/** The raw body, exactly the bytes that are signed and sent. */
export function webhookBody(event: Pick<DomainEvent, 'id' | 'at'> & { type: WebhookEventType }, data: Record<string, unknown>): string {
  const body: WebhookBody = { id: event.id, type: event.type, at: event.at, data };
  return JSON.stringify(body);
}

const hmac = (secret: string, timestamp: number, body: string) => createHmac('sha256', secret).update(`${timestamp}.${body}`, 'utf8').digest('hex');

/** The `X-Chat-Signature` value of `body` signed at `at`. */
export function signWebhook(secret: string, body: string, at: Date): string {
  const timestamp = Math.floor(at.getTime() / 1000);
  return `t=${timestamp},v1=${hmac(secret, timestamp, body)}`;
}

/**
 * Whether `header` is a valid signature of `body` with `secret`, made within `toleranceSeconds`
 * of `now`: what a receiver checks (constant-time comparison of the digests). Several `v1`
 * entries are accepted (one per secret while a secret is being changed).
 */
export function verifyWebhookSignature(
  secret: string,
  body: string,
  header: string | undefined,
  now: Date = new Date(),
  toleranceSeconds = SIGNATURE_TOLERANCE_SECONDS,
): boolean {
  if (!header) return false;
  const parts = header.split(',').map((part) => part.trim().split('=') as [string, string | undefined]);
  const timestamp = Number(parts.find(([key]) => key === 't')?.[1]);
  if (!Number.isSafeInteger(timestamp) || Math.abs(now.getTime() / 1000 - timestamp) > toleranceSeconds) return false;
  const expected = Buffer.from(hmac(secret, timestamp, body), 'hex');
  return parts
    .filter(([key, value]) => key === 'v1' && value !== undefined && /^[0-9a-f]{64}$/i.test(value))
    .some(([, value]) => timingSafeEqual(Buffer.from(value!, 'hex'), expected));
}

// ─── Answers and retries ────────────────────────────────────────────────────────────────

/** What one attempt came to. */
export type WebhookOutcome =
  | { kind: 'delivered'; status: number }
  /** Worth trying again: 408, 429, 5xx, a timeout or a network error. */
  | { kind: 'retry'; status?: number; reason: string }
  /** Trying again cannot help: any other answer (4xx, a redirect). */
  | { kind: 'permanent'; status: number; reason: string };

/**
 * 2xx is delivered. 408 (timeout) and 429 (slow down) and every 5xx are worth another attempt;
 * any other status (400, 401, 403, 404, 410, a 3xx, which is not followed) will answer the same
 * again, so the event goes to the dead-letter queue at once, for replay once the receiver is fixed.
 */
export function classifyStatus(status: number): WebhookOutcome {
  if (status >= 200 && status < 300) return { kind: 'delivered', status };
  if (status === 408 || status === 429 || status >= 500) return { kind: 'retry', status, reason: `HTTP ${status}` };
  return { kind: 'permanent', status, reason: `HTTP ${status}` };
}

/** How long after the event attempts go on. */
export const WEBHOOK_RETRY_WINDOW_SECONDS = 24 * 60 * 60;

export interface RetrySchedule {
  /** The wait after the first failed attempt (30 s in AWS). */
  baseSeconds: number;
  /** The longest wait between two attempts (an hour; SQS allows a visibility timeout of 12 hours at most). */
  maxSeconds: number;
}

/** The wait after failed attempt number `attempt` (1 for the first): base × 2^(attempt−1), at most max. */
export function retryDelaySeconds(attempt: number, schedule: RetrySchedule): number {
  const exponent = Math.min(Math.max(attempt, 1) - 1, 30);
  return Math.min(schedule.maxSeconds, schedule.baseSeconds * 2 ** exponent);
}

/**
 * When failed attempt `attempt` at `now` is to be tried again, in seconds from now, or null when
 * that would be past the retry window that opened at `since` (the event's time): give it up.
 */
export function nextAttemptIn(attempt: number, since: Date, now: Date, schedule: RetrySchedule): number | null {
  const delay = retryDelaySeconds(attempt, schedule);
  const deadline = since.getTime() + WEBHOOK_RETRY_WINDOW_SECONDS * 1000;
  return now.getTime() + delay * 1000 > deadline ? null : delay;
}

/** Attempts the schedule makes within the retry window if every attempt fails at once: what maxReceiveCount must cover. */
export function attemptsInWindow(schedule: RetrySchedule): number {
  let elapsed = 0;
  let attempt = 1;
  for (; ; attempt++) {
    const delay = retryDelaySeconds(attempt, schedule);
    if (elapsed + delay > WEBHOOK_RETRY_WINDOW_SECONDS) return attempt;
    elapsed += delay;
  }
}
