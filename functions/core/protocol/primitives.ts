/**
 * The building blocks every protocol schema shares: ids, seqs, ISO times, JSON values Postgres can
 * store, and one emoji.
 */
import * as z from 'zod';
import type { Json } from '../model.ts';

/** Postgres text cannot hold U+0000, and jsonb refuses it and unpaired surrogates (`\ud800`). */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
export const noNul = (text: string) => !text.includes('\u0000');
/** Whether `text` is valid Unicode (no unpaired surrogate) without U+0000: what Postgres stores unchanged. */
export const storableText = (text: string) => noNul(text) && !LONE_SURROGATE.test(text);
export const NUL_MESSAGE = 'must not contain the character U+0000';
export const STORABLE_MESSAGE = 'must be valid Unicode text (no unpaired surrogate) without U+0000';

// ─── Messages that name the field ────────────────────────────────────────────────────────

interface IssueLike {
  code?: string;
  input?: unknown;
  path?: readonly PropertyKey[];
  expected?: string;
  origin?: string;
  minimum?: unknown;
  maximum?: unknown;
  inclusive?: boolean;
}

const fieldOf = (issue: IssueLike) => (issue.path && issue.path.length > 0 ? issue.path.map(String).join('.') : 'the value');
const kindOf = (value: unknown) => (value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value);
const an = (what: string) => (/^[aeiou]/.test(what) ? `an ${what}` : `a ${what}`);

/**
 * The error map of every request schema: messages that name the field and say what it must be
 * ("providerId is required", "providerId must be an integer, got string"). Issues it does not
 * know keep zod's message.
 */
export function fieldError(issue: IssueLike): string | undefined {
  const field = fieldOf(issue);
  if (issue.code === 'invalid_type') {
    if (issue.input === undefined) return `${field} is required`;
    return `${field} must be ${an(issue.expected ?? 'valid value')}, got ${kindOf(issue.input)}`;
  }
  const unit = issue.origin === 'string' ? ' characters' : issue.origin === 'array' ? ' items' : '';
  if (issue.code === 'too_small') {
    if (issue.origin === 'string' && issue.minimum === 1) return `${field} must not be empty`;
    return `${field} must be ${issue.inclusive === false ? 'greater than' : 'at least'} ${String(issue.minimum)}${unit}`;
  }
  if (issue.code === 'too_big') return `${field} must be ${issue.inclusive === false ? 'less than' : 'at most'} ${String(issue.maximum)}${unit}`;
  return undefined;
}
const err = { error: fieldError };

/** Any text a client sends: valid Unicode without U+0000 (lone surrogates would reach Postgres as U+FFFD). */
export const text = () => z.string(err).refine(storableText, STORABLE_MESSAGE);

/** An id a client sends (path parameter or frame field). */
export const id = text().trim().min(1, err).max(64, err);
/** An integer in a JSON body: a number, never a string (bodies are typed strictly). */
export const bodyInt = () =>
  z
    .number({
      error: (issue) => (issue.input === undefined ? `${fieldOf(issue)} is required` : `${fieldOf(issue)} must be an integer, got ${kindOf(issue.input)}`),
    })
    .int({ error: (issue) => `${fieldOf(issue)} must be an integer, got ${String(issue.input)}` })
    .max(2_147_483_647, err);
/** An integer of any size in a path or query string, where everything arrives as text (a page size). */
export const queryNumber = () =>
  z.coerce
    .number({ error: (issue) => (issue.input === undefined ? `${fieldOf(issue)} is required` : `${fieldOf(issue)} must be an integer`) })
    .int({ error: (issue) => `${fieldOf(issue)} must be an integer, got ${String(issue.input)}` });
/** A Postgres `integer` in a path or query string. */
export const queryInt = () => queryNumber().max(2_147_483_647, err);
/** A positive Postgres `integer` id in a body (userId, providerId, orderId). */
export const intId = bodyInt().positive({ error: (issue) => `${fieldOf(issue)} must be a positive integer, got ${String(issue.input)}` });
/** A seq in a query: a Postgres `integer`. */
export const seq = queryInt();
const jsonText = text();
/** JSON values only: what a jsonb column can hold and a client can send. */
export const jsonValue: z.ZodType<Json> = z
  .lazy(() => z.union([jsonText, z.number(), z.boolean(), z.null(), z.array(jsonValue), z.record(jsonText, jsonValue)]))
  .meta({ id: 'JsonValue', description: 'Any JSON value' });
/** A JSON object (string keys, any JSON values). */
export const jsonObject = z.record(jsonText, jsonValue, err);

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
  .string(err)
  .min(1, err)
  .max(MAX_EMOJI_LENGTH)
  .refine(isOneEmoji, 'must be exactly one emoji')
  .meta({ description: `One emoji: a single grapheme cluster with a pictographic or regional-indicator code point, at most ${MAX_EMOJI_LENGTH} UTF-16 units` });
