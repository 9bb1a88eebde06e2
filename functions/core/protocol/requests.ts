/**
 * What clients send over HTTP: path parameters, queries and bodies. The HTTP handlers validate
 * with these, and the HTTP contract (./http.ts) pairs them with each route's responses.
 */
import { z } from 'zod';
import { CONVERSATION_STATUSES, MESSAGE_TYPES } from '../model.ts';
import { emoji, id, intId, jsonValue, noNul, NUL_MESSAGE, seq } from './primitives.ts';

export const conversationIdParam = z.object({ conversationId: id });
export const messageIdParam = z.object({ conversationId: id, messageId: id });
export const reactionParam = z.object({ conversationId: id, messageId: id, emoji });

export const startConversationBody = z.object({
  providerId: intId,
  customerId: intId,
  orderId: intId.nullish().transform((v) => v ?? null),
});

export const listConversationsQuery = z.object({
  status: z.enum(CONVERSATION_STATUSES).extract(['ACTIVE', 'ARCHIVED']).default('ACTIVE').describe("ACTIVE: the side's inbox; ARCHIVED: what the side archived"),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().max(512).optional(),
});

/** `page` (1 = newest) or keyset `after` / `before` a seq; at most one of the three. */
export const historyQuery = z
  .object({
    page: z.coerce.number().int().min(1).max(1_000_000).optional(),
    limit: z.coerce.number().int().min(1).optional(),
    after: seq.min(0).optional(),
    before: seq.min(1).optional(),
  })
  .refine((q) => [q.page, q.after, q.before].filter((v) => v !== undefined).length <= 1, {
    message: 'use at most one of page, after and before',
  });

/** What a client may send: SYSTEM messages are the product's own, never a client's. */
const clientMessageType = z.enum(MESSAGE_TYPES).exclude(['SYSTEM']);
export const CLIENT_MESSAGE_TYPES = clientMessageType.options;

export const messageContent = {
  content: z.string().refine(noNul, NUL_MESSAGE),
  messageType: clientMessageType.default('TEXT'),
  attachments: jsonValue.nullish(),
  replyToId: id.nullish(),
  metadata: jsonValue.nullish(),
  clientMessageId: z.string().trim().min(1).max(128).refine(noNul, NUL_MESSAGE).nullish(),
};

export const sendMessageBody = z.object(messageContent);

export const editMessageBody = z.object({ content: messageContent.content });

/** `since`: the `cursor` of the previous answer (none: no changes, and the current cursor as a starting point). */
export const syncQuery = z.object({
  since: z.string().max(512).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});
