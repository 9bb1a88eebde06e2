/**
 * Message search, the parts that are not SQL: what a query means (its words, the last one a
 * prefix so results appear while the user is still typing) and the highlight shown with each
 * result. The full-text matching and ranking themselves are Postgres's (see the message search
 * adapter).
 */
import { ValidationError } from './errors.ts';

/** The most words a query may have; each one must appear in a result. */
export const MAX_SEARCH_WORDS = 8;

/** Letters (with their combining marks) and digits: what a word is made of, in any script. */
const WORD = /[\p{L}\p{M}\p{N}]+/gu;

/**
 * The words of a query, in order; every one must match, the last one as a prefix.
 * Punctuation separates words ("car-wash" is "car" and "wash"), so nothing a user types can
 * change the query's structure.
 * @throws ValidationError when the query has no word, or more than MAX_SEARCH_WORDS.
 */
export function searchWords(query: string): string[] {
  const words = query.normalize('NFC').match(WORD) ?? [];
  if (words.length === 0) throw new ValidationError('q must contain a word (letters or digits)', { field: 'q' });
  if (words.length > MAX_SEARCH_WORDS) {
    throw new ValidationError(`q may have at most ${MAX_SEARCH_WORDS} words`, { field: 'q' });
  }
  return words;
}

/** How much of a long message the highlight shows, in characters (about two lines on a phone). */
export const HIGHLIGHT_LENGTH = 160;
/** How much of the text before the first match the highlight keeps. */
const LEAD = 40;

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);

/**
 * The highlight of a result: the part of the content around its first match, HTML-escaped,
 * each matching word wrapped in `<mark>`…`</mark>`, and `…` where the content was cut. Safe to
 * render as HTML; an app that shows plain text strips the two tags.
 */
export function highlight(content: string, words: readonly string[]): string {
  const wanted = words.map((word) => word.toLocaleLowerCase());
  const last = wanted.length - 1;
  const matches = (token: string) => {
    const lower = token.toLocaleLowerCase();
    return wanted.some((word, i) => lower === word || (i === last && lower.startsWith(word)));
  };

  const text = content.normalize('NFC');
  const tokens = [...text.matchAll(WORD)].map((m) => ({ start: m.index, end: m.index + m[0].length, hit: matches(m[0]) }));
  const first = tokens.find((t) => t.hit);

  let from = 0;
  let to = text.length;
  if (text.length > HIGHLIGHT_LENGTH) {
    from = first ? Math.max(0, first.start - LEAD) : 0;
    to = Math.min(text.length, from + HIGHLIGHT_LENGTH);
    from = Math.max(0, Math.min(from, to - HIGHLIGHT_LENGTH));
    // Cut between words, never inside one.
    const inside = (at: number) => tokens.find((t) => t.start < at && at < t.end);
    from = inside(from)?.end ?? from;
    to = inside(to)?.start ?? to;
  }

  let out = from > 0 ? '…' : '';
  let at = from;
  for (const token of tokens) {
    if (!token.hit || token.start < from || token.end > to) continue;
    out += `${escapeHtml(text.slice(at, token.start))}<mark>${escapeHtml(text.slice(token.start, token.end))}</mark>`;
    at = token.end;
  }
  out += escapeHtml(text.slice(at, to));
  return (to < text.length ? `${out.trimEnd()}…` : out).replace(/^…\s+/, '…');
}
