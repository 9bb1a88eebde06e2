/**
 * A message's `metadata`: any JSON value a client likes, except for the keys the product itself
 * reads, which are validated wherever they appear:
 *
 * - `card`: a booking card a marketplace service attaches to a SYSTEM message ("Your wash is
 *   confirmed for 10:00", with the order's details and links), which apps render as a card.
 *
 * - `location`: where a LOCATION message points (`{latitude, longitude, label?}`), which apps
 *   show on a map. Required on a LOCATION message.
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

/** The longest label a location may carry. */
export const MAX_LOCATION_LABEL = 200;

/** A point on the map (WGS 84 degrees), optionally named ("Car wash, Main St. 4"). */
export const location = z
  .strictObject(
    {
      latitude: z.number(err).min(-90, err).max(90, err).describe('Degrees north, -90 to 90'),
      longitude: z.number(err).min(-180, err).max(180, err).describe('Degrees east, -180 to 180'),
      label: text().trim().min(1, err).max(MAX_LOCATION_LABEL, err).optional().describe(`What is there, at most ${MAX_LOCATION_LABEL} characters`),
    },
    err,
  )
  .meta({ id: 'Location', description: 'Where a LOCATION message points (`metadata.location`)' });
export type Location = z.infer<typeof location>;

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

/** Whether a message's metadata has a `location` key at all (valid or not). */
export function carriesLocation(metadata: Json | null | undefined): boolean {
  return isObject(metadata) && 'location' in metadata;
}

/** The keys of metadata the product reads, each with its schema. */
const VALIDATED_KEYS = { card, location } as const;

/**
 * A message's metadata as a client sends it: any JSON value; when it is an object with `card`
 * or `location`, that key must be valid (issues name `metadata.card.…`, `metadata.location.…`),
 * and is stored as validated (trimmed, `fields` defaulted).
 */
export const messageMetadata = jsonValue
  .transform((value, ctx): Json => {
    if (!isObject(value)) return value;
    let result: Record<string, Json> = value;
    let failed = false;
    for (const [key, schema] of Object.entries(VALIDATED_KEYS)) {
      if (!(key in value)) continue;
      const parsed = schema.safeParse(value[key], { reportInput: true });
      if (parsed.success) {
        result = { ...result, [key]: parsed.data as unknown as Json };
        continue;
      }
      failed = true;
      for (const { input, ...issue } of parsed.error.issues) {
        const path = [key, ...issue.path];
        ctx.addIssue({ ...issue, path, message: fieldError({ ...issue, input, path: ['metadata', ...path] }) ?? issue.message } as never);
      }
    }
    return failed ? z.NEVER : result;
  })
  .meta({
    description:
      'Any JSON value; in an object, `card` is a booking card (validated, SYSTEM messages only) and `location` is `{latitude, longitude, label?}` (validated; required on LOCATION messages)',
  });
