/**
 * Search on real Postgres: the generated tsvector and its GIN index as migrated, every word
 * required and the last one a prefix, a party's conversations only, deleted messages never and
 * edited ones by their new content (re-indexed by the edit's own statement), best match first,
 * and keyset paging that sees each result once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, withClient } from '#tests/support/postgres';
import { makeConversationStore } from '#adapters/postgres/conversation-store';
import { makeMessageSearch } from '#adapters/postgres/message-search';
import { makeMessageStore } from '#adapters/postgres/message-store';
import type { MessageSearch, MessageStore, SearchScope } from '#core/ports';
import { searchWords } from '#core/search';

let db: Awaited<ReturnType<typeof createTestDatabase>>;
let messages: MessageStore;
let search: MessageSearch;
let mine: string;
let theirs: string;
const customerId = 8201;
const providerId = 8200;
const customer: SearchScope = { kind: 'party', side: 'customer', partyId: customerId };

beforeAll(async () => {
  db = await createTestDatabase();
  messages = makeMessageStore({ prisma: db.prisma });
  search = makeMessageSearch({ prisma: db.prisma });
  const conversations = makeConversationStore({ prisma: db.prisma });
  mine = (await conversations.startOrGet({ providerId, customerId, orderId: null })).conversation.id;
  theirs = (await conversations.startOrGet({ providerId, customerId: 8202, orderId: null })).conversation.id;
});
afterAll(async () => db?.drop());

const say = async (conversationId: string, senderPartyId: number, content: string) =>
  (await messages.append({ conversationId, senderId: senderPartyId, senderRole: 'customer', senderPartyId, messageType: 'TEXT', content })).message;

const contents = async (scope: SearchScope, q: string, limit = 50) =>
  (await search.search({ scope, words: searchWords(q), limit, cursor: null })).messages.map((m) => m.content);

describe('message search', () => {
  it('requires every word, matches the last as a prefix, ignores case, and stays inside the caller\'s conversations', async () => {
    await say(mine, customerId, 'Is the Premium wash still available on Saturday?');
    await say(mine, customerId, 'Saturday works, thanks');
    await say(theirs, 8202, 'Premium wash for my van on Saturday please');

    expect(await contents(customer, 'premium saturday')).toEqual(['Is the Premium wash still available on Saturday?']);
    expect(await contents(customer, 'satur')).toHaveLength(2);
    expect(await contents(customer, 'sat premium')).toEqual([]); // only the last word is a prefix
    expect(await contents(customer, 'PREMIUM Wa')).toEqual(['Is the Premium wash still available on Saturday?']);
    // The provider's staff see both of its conversations; the other customer only theirs.
    expect(await contents({ kind: 'party', side: 'provider', partyId: providerId }, 'premium wash')).toHaveLength(2);
    expect(await contents({ kind: 'party', side: 'customer', partyId: 8202 }, 'available')).toEqual([]);
    expect(await contents({ kind: 'conversation', conversationId: theirs }, 'premium')).toEqual(['Premium wash for my van on Saturday please']);
    expect((await contents({ kind: 'everywhere' }, 'premium wash saturday')).sort()).toHaveLength(2);
  });

  it('finds words in any script, and punctuation a user types cannot break the query', async () => {
    await say(mine, customerId, 'Die Außenwäsche für 19,90 € — geht das morgen um 10:00?');
    expect(await contents(customer, 'außenwäsche')).toHaveLength(1);
    expect(await contents(customer, "morgen' & !(geht")).toHaveLength(1);
    expect(await contents(customer, 'morgen:* | x')).toEqual([]);
  });

  it('never finds a deleted message, and finds an edited one by its new content only', async () => {
    const deleted = await say(mine, customerId, 'my door code is zebra42');
    const edited = await say(mine, customerId, 'meet at the yellow gate');
    expect(await contents(customer, 'zebra42')).toHaveLength(1);

    await messages.tombstone(deleted.id, new Date());
    await messages.edit(edited.id, 'meet at the purple gate', new Date());

    expect(await contents(customer, 'zebra42')).toEqual([]);
    expect(await contents(customer, 'yellow')).toEqual([]);
    expect(await contents(customer, 'purple gate')).toEqual(['meet at the purple gate']);
  });

  it('ranks the better match first and pages through every result exactly once', async () => {
    const conversationId = (await makeConversationStore({ prisma: db.prisma }).startOrGet({ providerId, customerId, orderId: 77 })).conversation.id;
    const scope: SearchScope = { kind: 'conversation', conversationId };
    for (let i = 0; i < 23; i += 1) await say(conversationId, customerId, `foam number ${i} for the rims`);
    await say(conversationId, customerId, 'foam foam foam: the foam cannon with extra foam');

    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: Awaited<ReturnType<MessageSearch['search']>> = await search.search({ scope, words: ['foam'], limit: 5, cursor });
      seen.push(...page.messages.map((m) => m.content));
      cursor = page.nextCursor;
      pages += 1;
    } while (cursor);

    expect(pages).toBe(5);
    expect(seen).toHaveLength(24);
    expect(new Set(seen).size).toBe(24);
    expect(seen[0]).toBe('foam foam foam: the foam cannon with extra foam');
    // Equal ranks: newest first.
    expect(seen[1]).toBe('foam number 22 for the rims');
  });

  it('refuses a cursor issued for another search', async () => {
    const page = await search.search({ scope: customer, words: ['saturday'], limit: 1, cursor: null });
    expect(page.nextCursor).not.toBeNull();
    await expect(search.search({ scope: customer, words: ['premium'], limit: 1, cursor: page.nextCursor })).rejects.toMatchObject({ code: 'VALIDATION_ERROR' });
    await expect(search.search({ scope: customer, words: ['saturday'], limit: 1, cursor: 'garbage' })).rejects.toMatchObject({ code: 'VALIDATION_ERROR' });
  });

  it("reaches the messages through the GIN index, and a party's conversations through one participant index scan", async () => {
    const explain = (sql: string) =>
      withClient(db.url, async (client) => {
        await client.query('SET enable_seqscan = off');
        const { rows } = await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${sql}`);
        return rows.map((row) => row['QUERY PLAN']).join('\n');
      });
    const matches = `m."searchVector" @@ to_tsquery('simple', '''saturday'':*') AND m."deletedAt" IS NULL`;
    expect(await explain(`SELECT m.id FROM "providerCustomerMessages" m WHERE ${matches}`)).toContain('providerCustomerMessages_searchVector_idx');
    const party = await explain(`
      SELECT m.id FROM "chatParticipants" p JOIN "providerCustomerMessages" m ON m."conversationId" = p."conversationId"
       WHERE p.side = 'customer' AND p."partyId" = ${customerId} AND ${matches}`);
    expect(party).toMatch(/Index (Only )?Scan using "?chatParticipants_side_partyId/);
  });
});
