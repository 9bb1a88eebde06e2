/**
 * A message's `metadata`: any JSON value a client likes, except for the keys the product itself
 * reads, which are validated wherever they appear:
 *
 * - `card`: a booking card a marketplace service attaches to a SYSTEM message ("Your wash is
 *   confirmed for 10:00", with the order's details and links), which apps render as a card.
 *
 * A card is validated strictly (a key it does not name is refused, so a typo is not silently
 * dropped), and its links may only be `https:` URLs or an app's own deep links: never
 * `javascript:`, `data:`, `file:` or plain `http:`, since a card is shown as the product's own voice.
 */
import * as z from 'zod';
import type { Json } from '../model.ts';
import { fieldError, intId, jsonValue, text } from './primitives.ts';

const err = { error: fieldError };

/** Schemes a card's link may never use: they run code, read local files, or travel in clear text. */
const UNSAFE_SCHEMES = new Set(['javascript', 'vbscript', 'data', 'file', 'blob', 'about', 'http', 'ftp', 'ws']);
const SCHEME = /^([a-z][a-z0-9+.-]*):/i;

/** Whether `url` is an absolute `https:` URL or an app deep link (`carwash://orders/42`). */
export function isSafeCardUrl(url: string): boolean {
  const scheme = SCHEME.exec(url)?.[1]?.toLowerCase();
  if (!scheme || UNSAFE_SCHEMES.has(scheme)) return false;
  if (!URL.canParse(url)) return false;
  return scheme !== 'https' || new URL(url).hostname !== '';
}

const label = (max: number) => text().trim().min(1, err).max(max, err);

export const MAX_CARD_FIELDS = 20;
export const MAX_CARD_ACTIONS = 5;

export const bookingCard = z
  .strictObject(
    {
      type: z.literal('booking', err),
      orderId: z.union([intId, label(128)], { error: 'orderId must be a positive integer or a non-empty string' }).describe("The marketplace's order the card is about"),
      title: label(200).describe('"Wash confirmed"'),
      status: label(64).describe('The booking\'s state in the marketplace\'s words: "confirmed", "cancelled"…'),
      fields: z
        .array(z.strictObject({ label: label(100), value: text().max(500, err) }, err), err)
        .max(MAX_CARD_FIELDS, err)
        .default([])
        .describe('Rows the app shows as label: value ("Time": "10:00")'),
      actions: z
        .array(
          z.strictObject(
            {
              label: label(50),
              url: text()
                .max(2048, err)
                .refine(isSafeCardUrl, 'url must be an https: URL or an app deep link')
                .describe('An https: URL or an app deep link'),
            },
            err,
          ),
          err,
        )
        .max(MAX_CARD_ACTIONS, err)
        .optional()
        .describe('Buttons the app shows, each opening its url'),
    },
    err,
  )
  .meta({ id: 'BookingCard', description: 'A booking card a service attaches to a SYSTEM message (`metadata.card`)' });

/** Every kind of card, by `type` (only `booking` so far). */
export const card = z.discriminatedUnion('type', [bookingCard], { error: 'metadata.card.type must be booking' });
export type Card = z.infer<typeof card>;

const isObject = (value: unknown): value is Record<string, Json> => value !== null && typeof value === 'object' && !Array.isArray(value);

/** Whether a message's metadata has a `card` key at all (valid or not). */
export function carriesCard(metadata: Json | null | undefined): boolean {
  return isObject(metadata) && 'card' in metadata;
}

/** The valid card a message's metadata carries, if any (a stored message's or a request's). */
export function cardOf(metadata: Json | null | undefined): Card | undefined {
  if (!isObject(metadata) || !('card' in metadata)) return undefined;
  const parsed = card.safeParse(metadata['card']);
  return parsed.success ? parsed.data : undefined;
}

/**
 * A message's metadata as a client sends it: any JSON value; when it is an object with `card`,
 * the card must be valid (issues name `metadata.card.…`), and is stored as validated (trimmed,
 * `fields` defaulted).
 */
export const messageMetadata = jsonValue
  .transform((value, ctx): Json => {
    if (!isObject(value) || !('card' in value)) return value;
    const parsed = card.safeParse(value['card'], { reportInput: true });
    if (parsed.success) return { ...value, card: parsed.data as unknown as Json };
    for (const { input, ...issue } of parsed.error.issues) {
      const path = ['card', ...issue.path];
      ctx.addIssue({ ...issue, path, message: fieldError({ ...issue, input, path: ['metadata', ...path] }) ?? issue.message } as never);
    }
    return z.NEVER;
  })
  .meta({ description: 'Any JSON value; `card`, when present in an object, is a booking card (validated, SYSTEM messages only)' });
