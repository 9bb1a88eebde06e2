import { beforeEach, describe, expect, it } from 'vitest';
import { ForbiddenError, NotFoundError, ValidationError } from '#core/errors';
import type { Conversation } from '#core/model';
import { HIGHLIGHT_LENGTH, highlight, searchWords } from '#core/search';
import { ADMIN, CUSTOMER, STAFF, STRANGER, createWorld, type World } from './world.ts';

describe('searchWords', () => {
  it('splits on anything but letters and digits, in any script, keeping the order', () => {
    expect(searchWords('  Car-wash: 10:00 tomorrow?')).toEqual(['Car', 'wash', '10', '00', 'tomorrow']);
    expect(searchWords('Außenwäsche für 19,90 €')).toEqual(['Außenwäsche', 'für', '19', '90']);
    expect(searchWords("o'clock & !(x) | y:*")).toEqual(['o', 'clock', 'x', 'y']);
  });

  it('refuses a query without a word, or with more than eight', () => {
    expect(() => searchWords('?!… — ***')).toThrow(ValidationError);
    expect(() => searchWords('one two three four five six seven eight nine')).toThrow(/at most 8 words/);
    expect(searchWords('one two three four five six seven eight')).toHaveLength(8);
  });
});

describe('highlight', () => {
  it('marks every matching word, the last one as a prefix, whatever its case', () => {
    expect(highlight('Premium wash on Saturday, premium wax too', ['premium', 'sat'])).toBe(
      '<mark>Premium</mark> wash on <mark>Saturday</mark>, <mark>premium</mark> wax too',
    );
    // Only the last word is a prefix.
    expect(highlight('satellite parking', ['sat', 'park'])).toBe('satellite <mark>parking</mark>');
  });

  it('escapes the content, so it is safe to render as HTML', () => {
    expect(highlight('<img src=x onerror=alert(1)> wash & "dry"', ['wash'])).toBe(
      '&lt;img src=x onerror=alert(1)&gt; <mark>wash</mark> &amp; &quot;dry&quot;',
    );
  });

  it('shows the part of a long message around its first match, cut between words', () => {
    const content = `${'lorem ipsum dolor sit amet '.repeat(12)}the ceramic coating needs two days ${'consectetur adipiscing elit '.repeat(12)}`;
    const shown = highlight(content, ['ceramic']);
    expect(shown.startsWith('…')).toBe(true);
    expect(shown.endsWith('…')).toBe(true);
    expect(shown).toContain('<mark>ceramic</mark> coating needs two days');
    const text = shown.replace(/<\/?mark>/g, '').slice(1, -1);
    expect(text.length).toBeLessThanOrEqual(HIGHLIGHT_LENGTH);
    expect(content).toContain(text.trim());
    // Whole words at both ends.
    expect(content).toMatch(new RegExp(`(^|\\s)${text.trim().split(' ')[0]}\\s`));
  });
});

describe('searchMessages', () => {
  let world: World;
  let conversation: Conversation;

  beforeEach(async () => {
    world = createWorld();
    conversation = await world.conversation();
  });

  const search = (identity = CUSTOMER, extra: { conversationId?: string; cursor?: string } = {}) =>
    world.searchMessages({ identity, q: 'gate co', limit: 20, ...extra });

  it("searches the caller's side: the customer's, the provider's, or everything for an admin", async () => {
    await search(CUSTOMER);
    await search(STAFF);
    await search(ADMIN);
    expect(world.search.searches.map((s) => s.scope)).toEqual([
      { kind: 'party', side: 'customer', partyId: CUSTOMER.userId },
      { kind: 'party', side: 'provider', partyId: STAFF.providerId },
      { kind: 'everywhere' },
    ]);
    expect(world.search.searches[0]).toMatchObject({ words: ['gate', 'co'], limit: 20, cursor: null });
  });

  it('narrows to one conversation only for those who may read it', async () => {
    await search(STAFF, { conversationId: conversation.id });
    expect(world.search.searches[0]!.scope).toEqual({ kind: 'conversation', conversationId: conversation.id });
    await expect(search(STRANGER, { conversationId: conversation.id })).rejects.toBeInstanceOf(ForbiddenError);
    await expect(search(CUSTOMER, { conversationId: 'missing' })).rejects.toBeInstanceOf(NotFoundError);
    expect(world.search.searches).toHaveLength(1);
  });

  it('answers each message on the wire with its highlight, and the cursor for the next page', async () => {
    const { message } = await world.say(CUSTOMER, conversation.id, 'The gate code is 4711');
    const stored = (await world.messages.get(message.id))!;
    world.search.results = [stored];
    world.search.nextCursor = 'next-page';
    const page = await search(CUSTOMER);
    expect(page).toEqual({
      results: [{ message, highlight: 'The <mark>gate</mark> <mark>code</mark> is 4711' }],
      nextCursor: 'next-page',
    });
  });

  it('refuses a query without a word before searching', async () => {
    await expect(world.searchMessages({ identity: CUSTOMER, q: '…', limit: 20 })).rejects.toBeInstanceOf(ValidationError);
    expect(world.search.searches).toEqual([]);
  });
});
