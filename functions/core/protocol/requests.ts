/**
 * What clients send over HTTP: path parameters, queries and bodies. The HTTP handlers validate
 * with these, and the HTTP contract (./http.ts) pairs them with each route's responses.
 *
 * Bodies are typed strictly (a number is a JSON number, never a string); only path parameters
 * and query strings, which arrive as text, are coerced. Every text field refuses U+0000 and
 * unpaired surrogates, and every message names the field.
 */
import * as z from 'zod';
import { ATTACHMENT_VARIANTS, CONVERSATION_STATUSES, MESSAGE_TYPES, PUSH_PLATFORMS, REPORT_REASONS, REPORT_RESOLUTIONS, REPORT_STATUSES } from '../model.ts';
import { bodyInt, emoji, fieldError, id, intId, queryInt, queryNumber, seq, STORABLE_MESSAGE, storableText, text } from './primitives.ts';
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

/** The most attachments one message carries. */
export const MAX_MESSAGE_ATTACHMENTS = 10;

const ATTACHMENT_REF_HINT = 'each attachment is {"id"} of an upload (POST /conversations/:id/attachments); free-form attachment JSON is not accepted';

/** One attachment a message carries: the id of an upload, nothing else. */
const uploadId = z
  .string({ error: (issue) => `${issue.path?.map(String).join('.') || 'id'} ${issue.input === undefined ? 'is required' : 'must be a string'}: ${ATTACHMENT_REF_HINT}` })
  .refine(storableText, STORABLE_MESSAGE)
  .trim()
  .min(1, err)
  .max(64, err);

const attachmentRef = z.strictObject(
  { id: uploadId },
  {
    error: (issue) =>
      issue.code === 'unrecognized_keys'
        ? `${issue.path?.map(String).join('.') || 'attachments'} has ${(issue as { keys?: string[] }).keys?.join(', ') ?? 'other keys'}: ${ATTACHMENT_REF_HINT}`
        : issue.code === 'invalid_type' && issue.input !== undefined
          ? `${issue.path?.map(String).join('.') || 'attachments'} must be an object: ${ATTACHMENT_REF_HINT}`
          : fieldError(issue),
  },
);

/**
 * Attachments: 1 to {@link MAX_MESSAGE_ATTACHMENTS} uploads by id, each named once; anything else
 * (URLs, file names, any other JSON) is refused, so a message can only carry what was uploaded
 * and processed.
 */
export const attachmentList = z
  .array(attachmentRef, { error: (issue) => (issue.code === 'invalid_type' && issue.input !== undefined ? `attachments must be a list: ${ATTACHMENT_REF_HINT}` : fieldError(issue)) })
  .min(1, { error: `attachments must name at least one upload (or be left out): ${ATTACHMENT_REF_HINT}` })
  .max(MAX_MESSAGE_ATTACHMENTS, { error: `attachments must be at most ${MAX_MESSAGE_ATTACHMENTS} items` })
  .refine((list) => new Set(list.map((ref) => ref.id)).size === list.length, { message: 'attachments must name each upload once' })
  .meta({ description: `1 to ${MAX_MESSAGE_ATTACHMENTS} uploads by id ([{"id"}]), READY and uploaded by the sender into this conversation; only with messageType IMAGE, FILE or VOICE` });

export const messageContent = {
  content: text(),
  messageType: messageType.default('TEXT'),
  attachments: attachmentList.nullish(),
  replyToId: id.nullish(),
  metadata: messageMetadata.nullish(),
  clientMessageId: text().trim().min(1, err).max(128, err).nullish(),
};

export const sendMessageBody = z.object(messageContent);

// ─── Attachments ────────────────────────────────────────────────────────────────────────

export const attachmentIdParam = z.object({ conversationId: id, attachmentId: id });

/** An upload intent: what the app is about to upload. The storage enforces the type and size. */
export const createAttachmentBody = z.object({
  fileName: text().trim().min(1, err).max(255, err).meta({ description: 'As shown to the other side; never part of a storage key' }),
  contentType: text().trim().toLowerCase().min(3, err).max(255, err).meta({ description: 'One of CHAT_ATTACHMENT_TYPES; the upload must declare exactly this type' }),
  size: bodyInt().positive(err).meta({ description: 'Bytes, at most CHAT_MAX_ATTACHMENT_BYTES (else 413)' }),
});

export const attachmentContentQuery = z.object({
  variant: z.enum(ATTACHMENT_VARIANTS, err).default('original'),
});

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
