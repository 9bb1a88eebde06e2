/**
 * Contact details in message text (phone numbers, e-mail addresses, links): the classic way of
 * taking a booking off the platform. Found with maintained detectors: libphonenumber-js for phone
 * numbers in international and national formats (validated against the numbering plan of
 * `defaultCountry` for numbers without a `+`), linkify-it with the IANA list of top-level domains
 * (`tlds`) for links with or without a scheme and for e-mail addresses. The one piece written
 * here is the spelled-out address ("name at gmail dot com", "name(at)gmail(dot)com"), which no
 * library reads; its domain must end in a real top-level domain.
 *
 * Out of scope, on purpose: numbers spelled out in words ("zero one seven zero"), and digits split
 * by letters. Dates (2024-11-05) and times are not phone numbers, whatever their digits.
 */
import { findPhoneNumbersInText, type CountryCode } from 'libphonenumber-js/max';
import { LinkifyIt } from 'linkify-it';
import tlds from 'tlds';

/** What replaces each detail under the `mask` policy. */
export const MASK = '[hidden]';
/** The flag a message carries in `metadata.flags` under the `flag` policy. */
export const CONTACT_INFO_FLAG = 'contact_info';

export interface ContactDetail {
  kind: 'phone' | 'email' | 'link';
  /** UTF-16 offsets of the detail in the text. */
  start: number;
  end: number;
}

const linkify = new LinkifyIt({ fuzzyLink: true, fuzzyEmail: true, fuzzyIP: false }).tlds(tlds);
const TOP_LEVEL_DOMAINS = new Set(tlds.map((tld) => tld.toLowerCase()));

const AT = String.raw`(?:\s*[([{<]\s*at\s*[)\]}>]\s*|\s+at\s+)`;
const DOT = String.raw`(?:\s*[([{<]\s*dot\s*[)\]}>]\s*|\s+dot\s+|\.)`;
/** `name at gmail dot com`, `name (at) gmail (dot) co (dot) uk`, `name[at]mail.com`. */
const SPELLED_EMAIL = new RegExp(String.raw`[\p{L}\p{N}._%+-]+${AT}[\p{L}\p{N}-]+(?:${DOT}[\p{L}\p{N}-]+)*${DOT}([\p{L}]{2,24})(?![\p{L}\p{N}])`, 'giu');
const ISO_DATE = /^\s*\d{4}-\d{2}-\d{2}\s*$/;

function spelledEmails(text: string): ContactDetail[] {
  return [...text.matchAll(SPELLED_EMAIL)]
    .filter((match) => TOP_LEVEL_DOMAINS.has(match[1]!.toLowerCase()) && !/@/.test(match[0]))
    .map((match) => ({ kind: 'email' as const, start: match.index, end: match.index + match[0].length }));
}

function phoneNumbers(text: string, defaultCountry: CountryCode): ContactDetail[] {
  return findPhoneNumbersInText(text, { defaultCountry })
    .filter((found) => !ISO_DATE.test(text.slice(found.startsAt, found.endsAt)))
    .map((found) => ({ kind: 'phone' as const, start: found.startsAt, end: found.endsAt }));
}

function links(text: string): ContactDetail[] {
  return (linkify.match(text) ?? []).map((match) => ({ kind: match.schema === 'mailto:' ? ('email' as const) : ('link' as const), start: match.index, end: match.lastIndex }));
}

/** Every contact detail in `text`, in order, overlapping finds merged into the first. */
export function findContactDetails(text: string, defaultCountry: CountryCode): ContactDetail[] {
  const found = [...phoneNumbers(text, defaultCountry), ...links(text), ...spelledEmails(text)].sort((a, b) => a.start - b.start || b.end - a.end);
  const merged: ContactDetail[] = [];
  for (const detail of found) {
    const last = merged.at(-1);
    if (last && detail.start < last.end) last.end = Math.max(last.end, detail.end);
    else merged.push({ ...detail });
  }
  return merged;
}

/** The text with every detail replaced by {@link MASK}. */
export function maskContactDetails(text: string, details: readonly ContactDetail[]): string {
  let masked = '';
  let from = 0;
  for (const detail of details) {
    masked += `${text.slice(from, detail.start)}${MASK}`;
    from = detail.end;
  }
  return masked + text.slice(from);
}
