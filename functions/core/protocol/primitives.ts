/**
 * The building blocks every protocol schema shares: ids, seqs, ISO times, JSON values Postgres can
 * store, and one emoji.
 */
import { z } from 'zod';
import type { Json } from '../model.ts';

/** Postgres text cannot hold U+0000, and jsonb refuses it and unpaired surrogates (`\ud800`). */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
export const noNul = (text: string) => !text.includes('\u0000');
const storableJsonText = (text: string) => noNul(text) && !LONE_SURROGATE.test(text);
export const NUL_MESSAGE = 'must not contain the character U+0000';

/** An id a client sends (path parameter or frame field). */
export const id = z.string().trim().min(1).max(64).refine(noNul, NUL_MESSAGE);
/** A positive Postgres `integer` id (userId, providerId, orderId). */
export const intId = z.coerce.number().int().positive().max(2_147_483_647);
/** A seq: a Postgres `integer`. */
export const seq = z.coerce.number().int().max(2_147_483_647);
const jsonText = z.string().refine(storableJsonText, 'must be valid Unicode text without U+0000');
/** JSON values only: what a jsonb column can hold and a client can send. */
export const jsonValue: z.ZodType<Json> = z
  .lazy(() => z.union([jsonText, z.number(), z.boolean(), z.null(), z.array(jsonValue), z.record(jsonText, jsonValue)]))
  .meta({ id: 'JsonValue', description: 'Any JSON value' });

/** An ISO-8601 UTC time as the API writes it (`2030-01-01T09:00:00.000Z`). */
export const isoDate = z.iso.datetime();
/** An integer in a response. */
export const int = z.number().int();

/**
 * How deeply a request body or frame may nest. Validating and storing JSON both recurse (zod,
 * Postgres' jsonb parser), so deeper input is refused before either sees it.
 */
export const MAX_JSON_DEPTH = 64;

/** Whether a parsed JSON value nests deeper than `max` arrays/objects. Iterative: never overflows the stack. */
export function jsonTooDeep(value: unknown, max = MAX_JSON_DEPTH): boolean {
  const pending: [unknown, number][] = [[value, 0]];
  while (pending.length > 0) {
    const [current, depth] = pending.pop()!;
    if (current === null || typeof current !== 'object') continue;
    if (depth >= max) return true;
    for (const inner of Object.values(current)) pending.push([inner, depth + 1]);
  }
  return false;
}

// ─── Emoji ──────────────────────────────────────────────────────────────────────────────

/** UTF-16 units one reaction may take: enough for a family ZWJ sequence with skin tones. */
export const MAX_EMOJI_LENGTH = 32;
const graphemes = new Intl.Segmenter('en', { granularity: 'grapheme' });
const PICTOGRAPHIC = /[\p{Extended_Pictographic}\p{Regional_Indicator}]/u;

/**
 * Whether `text` is exactly one emoji: a single extended grapheme cluster (so flags, ZWJ
 * sequences and skin-tone modifiers count as one) containing an Extended_Pictographic or
 * Regional_Indicator code point, at most {@link MAX_EMOJI_LENGTH} UTF-16 units.
 */
export function isOneEmoji(text: string): boolean {
  if (text.length === 0 || text.length > MAX_EMOJI_LENGTH || LONE_SURROGATE.test(text)) return false;
  const iterator = graphemes.segment(text)[Symbol.iterator]();
  const first = iterator.next();
  if (first.done || first.value.segment !== text) return false;
  return PICTOGRAPHIC.test(text);
}

/** One emoji (a reaction): `👍`, `🇩🇪`, `👩🏽‍💻`. */
export const emoji = z
  .string()
  .min(1)
  .max(MAX_EMOJI_LENGTH)
  .refine(isOneEmoji, 'must be exactly one emoji')
  .meta({ description: `One emoji: a single grapheme cluster with a pictographic or regional-indicator code point, at most ${MAX_EMOJI_LENGTH} UTF-16 units` });
