import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { QUEUES } from '#config/queues';
import { loadSettings } from '#config/settings';
import {
  attemptsInWindow,
  classifyStatus,
  nextAttemptIn,
  retryDelaySeconds,
  signWebhook,
  verifyWebhookSignature,
  WEBHOOK_RETRY_WINDOW_SECONDS,
  webhookBody,
} from '#core/webhooks';

const SECRET = 'whsec-0123456789abcdef';
const AT = new Date('2030-01-01T09:00:00.000Z');
const BODY = webhookBody({ id: '42', type: 'message.created', at: AT.toISOString() }, { message: { id: 'm1' } });

describe('the signature', () => {
  it('is t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">', () => {
    const t = Math.floor(AT.getTime() / 1000);
    const expected = createHmac('sha256', SECRET).update(`${t}.${BODY}`).digest('hex');
    expect(signWebhook(SECRET, BODY, AT)).toBe(`t=${t},v1=${expected}`);
    expect(JSON.parse(BODY)).toEqual({ id: '42', type: 'message.created', at: AT.toISOString(), data: { message: { id: 'm1' } } });
  });

  it('verifies within the tolerance, and refuses another body, secret, a stale or future timestamp, or garbage', () => {
    const header = signWebhook(SECRET, BODY, AT);
    expect(verifyWebhookSignature(SECRET, BODY, header, new Date(AT.getTime() + 299_000))).toBe(true);
    expect(verifyWebhookSignature(SECRET, `${BODY} `, header, AT)).toBe(false);
    expect(verifyWebhookSignature('another-secret-0123456789', BODY, header, AT)).toBe(false);
    expect(verifyWebhookSignature(SECRET, BODY, header, new Date(AT.getTime() + 301_000))).toBe(false);
    expect(verifyWebhookSignature(SECRET, BODY, header, new Date(AT.getTime() - 301_000))).toBe(false);
    for (const bad of [undefined, '', 't=abc,v1=00', `t=${AT.getTime() / 1000}`, `t=${AT.getTime() / 1000},v1=zz`]) {
      expect(verifyWebhookSignature(SECRET, BODY, bad, AT)).toBe(false);
    }
  });

  it('accepts any of several v1 signatures (while the secret changes)', () => {
    const header = signWebhook(SECRET, BODY, AT);
    const other = signWebhook('old-secret-0123456789abcdef', BODY, AT).split(',')[1];
    expect(verifyWebhookSignature(SECRET, BODY, `${header.split(',')[0]},${other},${header.split(',')[1]}`, AT)).toBe(true);
  });
});

describe('answers', () => {
  it('2xx is delivered; 408, 429 and 5xx are retried; every other status is permanent', () => {
    expect(classifyStatus(200).kind).toBe('delivered');
    expect(classifyStatus(204).kind).toBe('delivered');
    for (const status of [408, 429, 500, 502, 503, 504]) expect(classifyStatus(status).kind).toBe('retry');
    for (const status of [301, 302, 400, 401, 403, 404, 410, 422]) expect(classifyStatus(status).kind).toBe('permanent');
  });
});

describe('the retry schedule', () => {
  const defaults = loadSettings({});
  const schedule = { baseSeconds: defaults.CHAT_WEBHOOK_RETRY_BASE_SECONDS, maxSeconds: defaults.CHAT_WEBHOOK_RETRY_MAX_SECONDS };

  it('waits 30 s, doubling each attempt, at most an hour', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8, 9, 50].map((attempt) => retryDelaySeconds(attempt, schedule))).toEqual([30, 60, 120, 240, 480, 960, 1920, 3600, 3600, 3600]);
  });

  it('gives up once the next attempt would fall more than 24 hours after the event', () => {
    const hours = (h: number) => new Date(AT.getTime() + h * 3_600_000);
    expect(nextAttemptIn(1, AT, AT, schedule)).toBe(30);
    expect(nextAttemptIn(20, AT, hours(22.9), schedule)).toBe(3600);
    expect(nextAttemptIn(20, AT, hours(23.1), schedule)).toBeNull();
    expect(nextAttemptIn(1, AT, hours(24), schedule)).toBeNull();
  });

  it('makes fewer attempts in 24 hours than the webhooks queue receives a record before redriving it', () => {
    const attempts = attemptsInWindow(schedule);
    expect(attempts).toBe(30);
    expect(QUEUES.webhooks.maxReceiveCount).toBeGreaterThan(attempts);
    // The record outlives its attempts in the queue.
    expect(QUEUES.webhooks.retentionSeconds).toBeGreaterThan(WEBHOOK_RETRY_WINDOW_SECONDS + schedule.maxSeconds);
  });
});
