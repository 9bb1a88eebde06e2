/**
 * Search over a table of `messages` messages (100 000 by default): a busy provider with 1 000
 * conversations holding half of them, the rest in other providers' conversations. Contents are
 * drawn from a car-wash vocabulary with a skewed (Zipf-like) word frequency, so a common word
 * matches thousands of messages and a rare one a handful, as real chat does. Each query is timed
 * over HTTP through the runtime (p50/p99), its matches in scope counted in SQL, and one search's
 * calls counted. Like phases.ts, the client runs in the client thread.
 */
import pg from 'pg';
import { toTsQuery } from '#adapters/postgres/message-search';
import { customerToken, staffToken } from './fixtures.ts';
import { perOperation, resetCounts, settle, type BenchContext, type PerOperation } from './phases.ts';
import { round, roundSummary, summarize, type Summary } from './stats.ts';
import type { HistoryQuerySpec } from './tasks.ts';


/** Most frequent first: word i is drawn with a probability falling off with i. */
const VOCABULARY = [
  'the', 'is', 'wash', 'car', 'can', 'you', 'at', 'tomorrow', 'today', 'thanks', 'ok', 'please', 'time', 'booking',
  'interior', 'exterior', 'clean', 'price', 'minutes', 'arrive', 'late', 'early', 'morning', 'afternoon', 'evening',
  'premium', 'basic', 'wax', 'polish', 'foam', 'rims', 'tyres', 'windows', 'seats', 'vacuum', 'leather', 'ceramic',
  'coating', 'scratch', 'dent', 'mirror', 'bumper', 'roof', 'trunk', 'keys', 'parking', 'gate', 'entrance', 'address',
  'street', 'garage', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday', 'receipt', 'invoice',
  'card', 'cash', 'refund', 'discount', 'voucher', 'subscription', 'monthly', 'van', 'suv', 'truck', 'motorbike',
  'convertible', 'dog', 'hair', 'sand', 'mud', 'salt', 'pollen', 'sap', 'bird', 'droppings', 'stain', 'coffee',
  'spill', 'smell', 'odour', 'ozone', 'headlights', 'restoration', 'engine', 'bay', 'underbody', 'steam', 'detailing',
  'photos', 'before', 'after', 'damage', 'claim', 'insurance', 'reschedule', 'cancel', 'confirm', 'waiting', 'queue',
  'hose', 'pressure', 'brush', 'microfibre', 'shampoo', 'snow', 'decontamination', 'clay', 'iron', 'fallout',
  'sealant', 'graphene', 'hydrophobic', 'glass', 'dashboard', 'carpet', 'mats', 'upholstery', 'stitching', 'alcantara',
  'xenon', 'matte', 'wrap', 'vinyl', 'chrome', 'tailgate', 'sunroof', 'spoiler', 'aerial', 'wiper', 'washer', 'fluid',
];

export interface SearchFigures {
  messages: number;
  seedMs: number;
  rounds: number;
  errors: number;
  queries: { label: string; q: string; scope: string; inScope: number; matches: number; returned: number; latencyMs: Summary }[];
  /** p50 of each query over p50 of the first (an uncommon word, the busy provider). */
  ratios: Record<string, number>;
  perSearch: PerOperation;
}

interface Layout {
  busyProviderId: number;
  busyStaffId: number;
  busyConversations: number;
  /** A customer of the busy provider with one conversation. */
  loneCustomerId: number;
}

/** Writes the conversations, their participants and `count` messages in one transaction. */
async function seedSearch(databaseUrl: string, count: number): Promise<{ layout: Layout; seedMs: number }> {
  const layout: Layout = { busyProviderId: 990_001, busyStaffId: 990_101, busyConversations: 1_000, loneCustomerId: 991_000 };
  const half = Math.floor(count / 2);
  const perBusy = Math.floor(half / layout.busyConversations);
  const otherConversations = 400;
  const perOther = Math.floor((count - perBusy * layout.busyConversations) / otherConversations);
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  const started = performance.now();
  try {
    await client.query('BEGIN');
    await client.query('SELECT setseed(0.42)');
    // Conversations: the busy provider's (customers 991000…), then 400 of 40 other providers.
    await client.query(
      `INSERT INTO "chatConversations" (id, "customerId", "providerId", status, "activeKey", "lastSeq", "createdAt", "updatedAt", "lastMessageAt")
       SELECT 'search-' || g, c.customer, c.provider, 'ACTIVE', c.provider || ':' || c.customer || ':-', c.messages,
              now() - interval '30 days', now(), now()
         FROM generate_series(1, $1::int + $2::int) AS g,
              LATERAL (SELECT CASE WHEN g <= $1 THEN $3::int ELSE 992000 + (g % 40) END AS provider,
                              CASE WHEN g <= $1 THEN $4::int + g - 1 ELSE 993000 + g END AS customer,
                              CASE WHEN g <= $1 THEN $5::int ELSE $6::int END AS messages) c`,
      [layout.busyConversations, otherConversations, layout.busyProviderId, layout.loneCustomerId, perBusy, perOther],
    );
    await client.query(
      `INSERT INTO "chatParticipants" (id, "conversationId", side, "partyId", "lastActivityAt", "updatedAt")
       SELECT c.id || '-' || s.side, c.id, s.side::"ChatSide", CASE WHEN s.side = 'customer' THEN c."customerId" ELSE c."providerId" END, now(), now()
         FROM "chatConversations" c CROSS JOIN (VALUES ('customer'), ('provider')) AS s(side)
        WHERE c.id LIKE 'search-%'`,
    );
    const inserted = await client.query(
      `INSERT INTO "providerCustomerMessages"
              (id, "conversationId", seq, "senderId", "senderRole", "receiverId", "messageType", content, "createdAt", "updatedAt")
       SELECT c.id || '-' || g, c.id, g,
              CASE WHEN g % 2 = 1 THEN c."customerId" ELSE $2::int END,
              (CASE WHEN g % 2 = 1 THEN 'customer' ELSE 'provider' END)::"ChatSender",
              CASE WHEN g % 2 = 1 THEN c."providerId" ELSE c."customerId" END,
              'TEXT',
              (SELECT string_agg(($1::text[])[1 + floor(array_length($1::text[], 1) * power(random(), 2.5))::int], ' ')
                 FROM generate_series(1, 4 + (g + length(c.id)) % 9) AS w),
              now() - make_interval(mins => c."lastSeq" - g), now()
         FROM "chatConversations" c, generate_series(1, c."lastSeq") AS g
        WHERE c.id LIKE 'search-%'`,
      [VOCABULARY, layout.busyStaffId],
    );
    await client.query('COMMIT');
    // As autovacuum leaves a live table: statistics gathered, and the GIN index's pending list
    // (where fast updates park new entries) merged into the index. Until it is merged, a search
    // scans the list too, and the planner may prefer a sequential scan.
    await client.query('VACUUM ANALYZE "providerCustomerMessages", "chatParticipants", "chatConversations"');
    if ((inserted.rowCount ?? 0) < count * 0.99) throw new Error(`seeding wrote ${inserted.rowCount} of ${count} messages`);
    return { layout, seedMs: performance.now() - started };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    await client.end();
  }
}

/** Messages in a scope, and those of them a query matches (what the ranking has to sort). */
async function countMatches(databaseUrl: string, q: string, scope: { side: string; partyId: number } | null): Promise<{ inScope: number; matches: number }> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const tsquery = toTsQuery(q.split(/\s+/));
    const join = scope
      ? `FROM "chatParticipants" p JOIN "providerCustomerMessages" m ON m."conversationId" = p."conversationId" WHERE p.side = $2::"ChatSide" AND p."partyId" = $3`
      : 'FROM "providerCustomerMessages" m WHERE true';
    const values = scope ? [tsquery, scope.side, scope.partyId] : [tsquery];
    const { rows } = await client.query<{ in_scope: number; matches: number }>(
      `SELECT count(*)::int AS in_scope, count(*) FILTER (WHERE m."searchVector" @@ to_tsquery('simple', $1))::int AS matches ${join}`,
      values,
    );
    return { inScope: rows[0]!.in_scope, matches: rows[0]!.matches };
  } finally {
    await client.end();
  }
}

export async function search(context: BenchContext, options: { messages: number; limit: number; warmup: number; rounds: number }): Promise<SearchFigures> {
  const { runtime, client } = context;
  const { layout, seedMs } = await seedSearch(runtime.databaseUrl, options.messages);
  context.progress(`search: ${options.messages} messages written in ${round(seedMs, 0)} ms`);

  const staff = staffToken(runtime.issuer, layout.busyStaffId, layout.busyProviderId);
  const lone = customerToken(runtime.issuer, layout.loneCustomerId);
  const admin = runtime.issuer.sign({ userId: 990_999, role: 'admin' }, { expiresInSeconds: 3600 });
  const busy = { side: 'provider', partyId: layout.busyProviderId };
  const plans = [
    { label: 'uncommon word, provider (1 000 conversations)', q: 'alcantara', token: staff, scope: busy },
    { label: 'two words, provider', q: 'ceramic coating', token: staff, scope: busy },
    { label: 'prefix of 3 letters, provider', q: 'sat', token: staff, scope: busy },
    { label: 'common word, provider', q: 'wash', token: staff, scope: busy },
    { label: 'common word, customer (1 conversation)', q: 'wash', token: lone, scope: { side: 'customer', partyId: layout.loneCustomerId } },
    { label: 'common word, admin (every conversation)', q: 'wash', token: admin, scope: null },
    { label: 'uncommon word, admin', q: 'alcantara', token: admin, scope: null },
  ];

  const counted = await Promise.all(plans.map((plan) => countMatches(runtime.databaseUrl, plan.q, plan.scope)));
  const byToken = new Map<string, HistoryQuerySpec[]>();
  for (const plan of plans) {
    const list = byToken.get(plan.token) ?? [];
    list.push({ label: plan.label, route: 'searchMessages', query: { q: plan.q, limit: options.limit } });
    byToken.set(plan.token, list);
  }

  // One search's calls, counted on their own.
  const first = plans[0]!;
  await client.run('history', { httpUrl: runtime.httpUrl, token: first.token, queries: byToken.get(first.token)!.slice(0, 1), warmup: 1, rounds: 0 });
  await settle(context, { quietMs: 150 });
  resetCounts(context);
  await client.run('history', { httpUrl: runtime.httpUrl, token: first.token, queries: byToken.get(first.token)!.slice(0, 1), warmup: 0, rounds: 4 });
  await settle(context, { quietMs: 150 });
  const perSearch = perOperation(context.counters.snapshot(), context.posts, 4);

  const samples: Record<string, number[]> = {};
  const returned: Record<string, number> = {};
  let errors = 0;
  for (const [token, queries] of byToken) {
    const timed = await client.run('history', { httpUrl: runtime.httpUrl, token, queries, warmup: options.warmup, rounds: options.rounds });
    Object.assign(samples, timed.samples);
    for (const [label, info] of Object.entries(timed.returned)) returned[label] = info.count;
    errors += timed.errors;
  }

  const queries = plans.map((plan, i) => ({
    label: plan.label,
    q: plan.q,
    scope: plan.scope ? `${plan.scope.side} ${plan.scope.partyId}` : 'everywhere',
    inScope: counted[i]!.inScope,
    matches: counted[i]!.matches,
    returned: returned[plan.label] ?? 0,
    latencyMs: roundSummary(summarize(samples[plan.label] ?? [])),
  }));
  const base = queries[0]!.latencyMs.p50;
  return {
    messages: options.messages,
    seedMs: round(seedMs, 0),
    rounds: options.rounds,
    errors,
    queries,
    ratios: Object.fromEntries(queries.slice(1).map((query) => [query.label, round(query.latencyMs.p50 / base, 2)])),
    perSearch,
  };
}
