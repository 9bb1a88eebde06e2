/**
 * What clients send over HTTP: path parameters, queries and bodies. The HTTP handlers validate
 * with these, and the HTTP contract (./http.ts) pairs them with each route's responses.
 *
 * Bodies are typed strictly (a number is a JSON number, never a string); only path parameters
 * and query strings, which arrive as text, are coerced. Every text field refuses U+0000 and
 * unpaired surrogates, and every message names the field.
 */
import * as z from 'zod';
import { CONVERSATION_STATUSES, MESSAGE_TYPES, PUSH_PLATFORMS, REPORT_REASONS, REPORT_RESOLUTIONS, REPORT_STATUSES } from '../model.ts';
import { emoji, fieldError, id, intId, jsonObject, queryInt, queryNumber, seq, text } from './primitives.ts';
import { messageMetadata } from './metadata.ts';

const err = { error: fieldError };

export const conversationIdParam = z.object({ conversationId: id });
export const messageIdParam = z.object({ conversationId: id, messageId: id });
export const reactionParam = z.object({ conversationId: id, messageId: id, emoji });

export const startConversationBody = z.object({
  providerId: intId,
  customerId: intId,
  orderId: intId.nullish().transform((v) => v ?? null),
});

/** The largest inbox page; a larger `limit` is capped to it. */
export const MAX_INBOX_LIMIT = 100;
/** The largest `/sync` page; a larger `limit` is capped to it. */
export const MAX_SYNC_LIMIT = 500;

/**
 * A page size: a positive integer; one above `max` is capped to `max`, never refused (every
 * route's `limit` behaves the same). The OpenAPI document shows `max` as the maximum.
 */
function pageLimit(max: number, fallback: number) {
  return queryNumber()
    .min(1, err)
    .default(fallback)
    .transform((value) => Math.min(value, max))
    .meta({ maximum: max, description: `Page size, default ${fallback}; a larger limit is capped to ${max}` });
}

export const listConversationsQuery = z.object({
  status: z.enum(CONVERSATION_STATUSES).extract(['ACTIVE', 'ARCHIVED']).default('ACTIVE').describe("ACTIVE: the side's inbox; ARCHIVED: what the side archived"),
  assignee: z
    .union([z.enum(['me', 'unassigned']), z.string().regex(/^[1-9][0-9]{0,9}$/, 'must be me, unassigned or a user id').transform(Number).pipe(intId)], err)
    .optional()
    .describe("Provider staff only: the conversations assigned to the caller (me), to nobody (unassigned), or to this user id"),
  limit: pageLimit(MAX_INBOX_LIMIT, 20),
  cursor: text().max(512, err).optional(),
});

/** `page` (1 = newest) or keyset `after` / `before` a seq; at most one of the three. */
export const historyQuery = z
  .object({
    page: queryInt().min(1, err).max(1_000_000, err).optional(),
    // Capped by the use case at CHAT_MESSAGE_LIMIT (a setting, so not a static maximum here).
    limit: queryNumber()
      .min(1, err)
      .optional()
      .meta({ description: 'Page size, default 50; a larger limit is capped to CHAT_MESSAGE_LIMIT (default 100, a setting of at most 1000)' }),
    after: seq.min(0, err).optional(),
    before: seq.min(1, err).optional(),
  })
  .refine((q) => [q.page, q.after, q.before].filter((v) => v !== undefined).length <= 1, {
    message: 'use at most one of page, after and before',
  });

/** What a participant may send: SYSTEM messages are the product's own, sent by its services only. */
export const CLIENT_MESSAGE_TYPES = z.enum(MESSAGE_TYPES, err).exclude(['SYSTEM']).options;
const messageType = z.enum(MESSAGE_TYPES, err).meta({ description: 'SYSTEM is for services only: anyone else sending one gets VALIDATION_ERROR' });

/** Attachments: a list of objects (the attachments feature refines each to `{id, …}`). */
export const attachmentList = z.array(jsonObject, err);

export const messageContent = {
  content: text(),
  messageType: messageType.default('TEXT'),
  attachments: attachmentList.nullish(),
  replyToId: id.nullish(),
  metadata: messageMetadata.nullish(),
  clientMessageId: text().trim().min(1, err).max(128, err).nullish(),
};

export const sendMessageBody = z.object(messageContent);

export const editMessageBody = z.object({ content: messageContent.content });

/** `since`: the `cursor` of the previous answer (none: no changes, and the current cursor as a starting point). */
export const syncQuery = z.object({
  since: text().max(512, err).optional(),
  limit: pageLimit(MAX_SYNC_LIMIT, 100),
});

// ─── Push: devices and mutes ────────────────────────────────────────────────────────────

export const deviceIdParam = z.object({ deviceId: id });

/** A BCP 47 language tag as phones report it (`en`, `de-AT`, `pt_BR`, `zh-Hant-TW`). */
const LOCALE = /^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8}){0,3}$/;

export const registerDeviceBody = z.object({
  platform: z.enum(PUSH_PLATFORMS, err).describe('apns: an APNs device token; fcm: an FCM registration token'),
  token: text()
    .trim()
    .min(1, err)
    .max(4096, err)
    .refine((token) => !/\s/.test(token), 'token must not contain whitespace'),
  appId: text().trim().min(1, err).max(255, err).nullish().describe('The app (bundle id or package name) the token belongs to'),
  locale: text()
    .trim()
    .max(35, err)
    .refine((locale) => LOCALE.test(locale), 'locale must be a BCP 47 language tag such as en or de-AT')
    .nullish()
    .describe("The device's language: the fixed words of its pushes follow it (English otherwise)"),
});

export const muteConversationBody = z.object({
  muted: z.boolean(err),
  mutedUntil: z.iso
    .datetime({ offset: true, error: 'mutedUntil must be an ISO-8601 date-time' })
    .nullish()
    .describe('When the mute ends by itself (in the future); none mutes until unmuted. Only with muted: true'),
});

export const assignConversationBody = z.object({
  userId: intId.nullable().describe("The provider's staff user who will handle it; null unassigns"),
});

// ─── Search ─────────────────────────────────────────────────────────────────────────────

/** The largest page of search results; a larger `limit` is capped to it. */
export const MAX_SEARCH_LIMIT = 50;

export const searchMessagesQuery = z.object({
  q: text()
    .trim()
    .min(1, err)
    .max(200, err)
    .describe('Words to find, at most 8: every one must appear, the last one as a prefix ("wash" finds "washing")'),
  conversationId: id.optional().describe('Search one conversation only'),
  limit: pageLimit(MAX_SEARCH_LIMIT, 20),
  cursor: text().max(512, err).optional(),
});

// ─── Reports and moderation ─────────────────────────────────────────────────────────────

/** The largest review-queue page; a larger `limit` is capped to it. */
export const MAX_REPORTS_LIMIT = 100;

const reportNote = text().trim().max(1000, err).nullish().describe('Free text for the admins, at most 1000 characters');

export const reportMessageBody = z.object({ reason: z.enum(REPORT_REASONS, err), note: reportNote });
export const reportIdParam = z.object({ reportId: id });
export const listReportsQuery = z.object({
  status: z.enum(REPORT_STATUSES, err).default('OPEN'),
  limit: pageLimit(MAX_REPORTS_LIMIT, 50),
  cursor: text().max(512, err).optional(),
});
export const resolveReportBody = z.object({
  action: z.enum(REPORT_RESOLUTIONS, err).describe('dismiss, or what the admin\'s own route would do: delete the message, block or end the conversation'),
  note: reportNote,
});

// ─── Response times ─────────────────────────────────────────────────────────────────────

/** The longest range one statistics request may cover. */
export const MAX_STATS_RANGE_DAYS = 366;
const DAY_MS = 24 * 60 * 60 * 1000;

const statsTime = z.iso
  .datetime({ offset: true, error: (issue) => `${issue.path?.join('.') || 'the value'} must be an ISO-8601 date-time` })
  .transform((value) => new Date(value));

export const providerIdParam = z.object({ providerId: queryInt().min(1, err) });

export const providerStatsQuery = z
  .object({
    from: statsTime.optional().describe(`The range's start (inclusive); default ${30} days before to`),
    to: statsTime.optional().describe("The range's end (exclusive); default now"),
  })
  .refine(({ from, to }) => !from || !to || from < to, { message: 'from must be before to', path: ['from'] })
  .refine(({ from, to }) => !from || !to || to.getTime() - from.getTime() <= MAX_STATS_RANGE_DAYS * DAY_MS, {
    message: `from and to may be at most ${MAX_STATS_RANGE_DAYS} days apart`,
    path: ['to'],
  });
