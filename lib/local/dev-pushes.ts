/**
 * `GET /dev/pushes` (local runtime only): every push the local SNS received, as the phone would
 * see it. The product pushes through the real SNS client, so what is listed here is what SNS was
 * asked to deliver: the device (from its endpoint's CustomUserData), its token, and the payload,
 * read back into the notification's parts beside the platform's own JSON.
 */
import { z } from 'zod';
import type { DevRoute } from './http-api.ts';
import type { PublishedPush } from './sns.ts';

export interface DevPush {
  deviceId: string | null;
  platform: 'apns' | 'fcm';
  token: string;
  userId: number | null;
  payload: {
    title?: string;
    body?: string;
    badge?: number;
    data?: { conversationId?: string; messageId?: string; seq?: number };
    threadId?: string;
    /** Exactly what APNs or FCM would receive. */
    apns?: unknown;
    fcm?: unknown;
  };
  at: string;
}

const devPushesQuery = z.object({
  userId: z.coerce.number().int().positive().optional(),
  since: z.iso.datetime({ offset: true }).optional(),
});

type Json = Record<string, unknown>;
const object = (value: unknown): Json => (value && typeof value === 'object' && !Array.isArray(value) ? (value as Json) : {});
const text = (value: unknown) => (typeof value === 'string' ? value : undefined);
const number = (value: unknown) => (typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' && !Number.isNaN(Number(value)) ? Number(value) : undefined);

function parse(message: string): Json {
  try {
    return object(JSON.parse(message));
  } catch {
    return {};
  }
}

/** The notification's parts of an APNs payload, and the payload itself. */
function fromApns(payload: Json): DevPush['payload'] {
  const aps = object(payload.aps);
  const alert = object(aps.alert);
  return {
    title: text(alert.title),
    body: text(alert.body) ?? text(aps.alert),
    badge: number(aps.badge),
    data: { conversationId: text(payload.conversationId), messageId: text(payload.messageId), seq: number(payload.seq) },
    threadId: text(aps['thread-id']),
    apns: payload,
  };
}

/** The notification's parts of an FCM v1 message (SNS's `fcmV1Message` envelope), and the message itself. */
function fromFcm(payload: Json): DevPush['payload'] {
  const message = object(object(payload.fcmV1Message).message);
  const notification = object(message.notification);
  const data = object(message.data);
  const android = object(message.android);
  return {
    title: text(notification.title),
    body: text(notification.body),
    badge: number(data.badge) ?? number(object(android.notification).notification_count),
    data: { conversationId: text(data.conversationId), messageId: text(data.messageId), seq: number(data.seq) },
    threadId: text(android.collapse_key),
    fcm: message,
  };
}

export function toDevPush(push: PublishedPush): DevPush {
  const owner = parse(push.customUserData ?? '');
  const payload = parse(push.message);
  const fcm = push.platform === 'GCM';
  return {
    deviceId: text(owner.deviceId) ?? null,
    platform: fcm ? 'fcm' : 'apns',
    token: push.token,
    userId: number(owner.userId) ?? null,
    payload: fcm ? fromFcm(payload) : fromApns(payload),
    at: push.at.toISOString(),
  };
}

/** The pushes for a query (`userId`, `since`), oldest first. */
export function devPushes(published: readonly PublishedPush[], query: z.output<typeof devPushesQuery>): DevPush[] {
  const since = query.since ? Date.parse(query.since) : undefined;
  return published
    .filter((push) => since === undefined || push.at.getTime() > since)
    .map(toDevPush)
    .filter((push) => query.userId === undefined || push.userId === query.userId);
}

/** The route: 200 `{pushes}`, or 400 `VALIDATION_ERROR` for a bad `userId` or `since`. */
export function devPushesRoute(published: () => readonly PublishedPush[]): DevRoute {
  return {
    method: 'GET',
    path: '/dev/pushes',
    handle(query) {
      const parsed = devPushesQuery.safeParse(query);
      if (!parsed.success) {
        const details = parsed.error.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message }));
        return { status: 400, body: { error: { code: 'VALIDATION_ERROR', message: 'userId must be a positive integer and since an ISO-8601 time', details } } };
      }
      return { status: 200, body: { pushes: devPushes(published(), parsed.data) } };
    },
  };
}
