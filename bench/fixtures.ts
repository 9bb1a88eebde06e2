/**
 * Users, tokens and conversations for the benchmark: conversations are started through the real
 * API; a deep history is written straight into Postgres in one statement (seq 1..N without gaps,
 * the conversation's lastSeq and both participant rows kept consistent, as appends leave them).
 */
import pg from 'pg';
import type { DevIssuer } from '#adapters/auth/dev-issuer';
import { encodeSyncCursor } from '#core/changes';
import type { PairSpec } from './tasks.ts';

const API = '/api/provider-customer-chat';

export interface Party {
  customerId: number;
  providerId: number;
  /** Staff users of the provider, one per provider connection. */
  staffIds: number[];
}

/** Hands out user ids that never repeat within a run, so no user reaches the per-user connection cap. */
export class Ids {
  private customer = 10_000;
  private staff = 500_000;
  private provider = 1_000;

  party(staff = 1): Party {
    return {
      customerId: ++this.customer,
      providerId: ++this.provider,
      staffIds: Array.from({ length: staff }, () => ++this.staff),
    };
  }

  customers(count: number): number[] {
    return Array.from({ length: count }, () => ++this.customer);
  }
}

export function customerToken(issuer: DevIssuer, userId: number): string {
  return issuer.sign({ userId, role: 'customer' }, { expiresInSeconds: 3600 });
}

export function staffToken(issuer: DevIssuer, userId: number, providerId: number): string {
  return issuer.sign({ userId, role: 'provider', providerId }, { expiresInSeconds: 3600 });
}

/** `POST /conversations` as the customer; the conversation's id. */
export async function startConversation(httpUrl: string, issuer: DevIssuer, party: Party): Promise<string> {
  const response = await fetch(`${httpUrl}${API}/conversations`, {
    method: 'POST',
    headers: { authorization: `Bearer ${customerToken(issuer, party.customerId)}`, 'content-type': 'application/json' },
    body: JSON.stringify({ providerId: party.providerId, customerId: party.customerId }),
  });
  const body = (await response.json()) as { conversation?: { id: string } };
  if (response.status !== 201 || !body.conversation) throw new Error(`POST /conversations answered ${response.status}: ${JSON.stringify(body)}`);
  return body.conversation.id;
}

/**
 * Starts a conversation per party (a few at a time) and describes its connections: `customerConnections`
 * sockets of the customer and one socket per staff user of the provider.
 */
export async function makePairs(httpUrl: string, issuer: DevIssuer, parties: Party[], customerConnections = 1): Promise<PairSpec[]> {
  const pairs: PairSpec[] = new Array(parties.length);
  let next = 0;
  const worker = async () => {
    while (next < parties.length) {
      const index = next++;
      const party = parties[index]!;
      const conversationId = await startConversation(httpUrl, issuer, party);
      pairs[index] = {
        conversationId,
        customer: Array.from({ length: customerConnections }, () => customerToken(issuer, party.customerId)),
        provider: party.staffIds.map((staffId) => staffToken(issuer, staffId, party.providerId)),
      };
    }
  };
  await Promise.all(Array.from({ length: 5 }, worker));
  return pairs;
}

/**
 * Writes `count` messages (seq 1..count, alternating sides, one second apart, the newest now)
 * into an empty conversation, and brings the conversation row (lastSeq, lastMessageAt) and both
 * participant rows (lastActivityAt, unread counts) to what `count` appends would have left.
 */
export async function seedHistory(databaseUrl: string, conversationId: string, staffId: number, count: number): Promise<number> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  const started = performance.now();
  try {
    await client.query('BEGIN');
    const inserted = await client.query(
      `WITH conv AS (
         SELECT id, "customerId", "providerId", (now() AT TIME ZONE 'UTC')::timestamp(3) AS newest
           FROM "chatConversations" WHERE id = $1 AND "lastSeq" = 0
       )
       INSERT INTO "providerCustomerMessages"
              (id, "conversationId", seq, "senderId", "senderRole", "receiverId", "messageType", content, "createdAt", "updatedAt")
       SELECT 'seed-' || conv.id || '-' || g, conv.id, g,
              CASE WHEN g % 2 = 1 THEN conv."customerId" ELSE $2::int END,
              (CASE WHEN g % 2 = 1 THEN 'customer' ELSE 'provider' END)::"ChatSender",
              CASE WHEN g % 2 = 1 THEN conv."providerId" ELSE conv."customerId" END,
              'TEXT', 'Seeded history message ' || g,
              conv.newest - make_interval(secs => $3::int - g), conv.newest - make_interval(secs => $3::int - g)
         FROM conv, generate_series(1, $3::int) AS g`,
      [conversationId, staffId, count],
    );
    if (inserted.rowCount !== count) throw new Error(`seeding wrote ${inserted.rowCount} of ${count} messages (is the conversation empty?)`);
    await client.query(
      `UPDATE "chatConversations" c
          SET "lastSeq" = $2::int, "lastMessageAt" = m."createdAt", "updatedAt" = m."createdAt"
         FROM "providerCustomerMessages" m
        WHERE c.id = $1 AND m."conversationId" = c.id AND m.seq = $2::int`,
      [conversationId, count],
    );
    await client.query(
      `UPDATE "chatParticipants" p
          SET "lastActivityAt" = c."lastMessageAt", "updatedAt" = c."lastMessageAt",
              "unreadCount" = (SELECT count(*) FROM "providerCustomerMessages" m
                                WHERE m."conversationId" = p."conversationId" AND m."senderRole"::text <> p.side::text)
         FROM "chatConversations" c
        WHERE c.id = p."conversationId" AND p."conversationId" = $1`,
      [conversationId],
    );
    await client.query('COMMIT');
    await client.query('ANALYZE "providerCustomerMessages"');
    return performance.now() - started;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    await client.end();
  }
}

/**
 * For contrast, straight in SQL: the newest-first page `depth` messages back read by the
 * (conversationId, seq) range the store uses, and by OFFSET, which must walk every newer row.
 */
export async function rangeVersusOffset(databaseUrl: string, conversationId: string, depth: number, limit: number, rounds: number) {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const range = `SELECT * FROM "providerCustomerMessages" WHERE "conversationId" = $1 AND seq > $2::int - $3::int AND seq <= $2::int ORDER BY seq`;
    const offset = `SELECT * FROM "providerCustomerMessages" WHERE "conversationId" = $1 ORDER BY seq DESC OFFSET $2::int LIMIT $3::int`;
    const { rows } = await client.query<{ lastSeq: number }>(`SELECT "lastSeq" FROM "chatConversations" WHERE id = $1`, [conversationId]);
    const upper = (rows[0]?.lastSeq ?? 0) - depth;
    const samples = { range: [] as number[], offset: [] as number[] };
    for (let round = 0; round < rounds + 5; round++) {
      let started = performance.now();
      await client.query(range, [conversationId, upper, limit]);
      if (round >= 5) samples.range.push(performance.now() - started);
      started = performance.now();
      await client.query(offset, [conversationId, depth, limit]);
      if (round >= 5) samples.offset.push(performance.now() - started);
    }
    return samples;
  } finally {
    await client.end();
  }
}

/**
 * Appends `count` messages to a conversation, each with the `message.created` change an append
 * records, in transactions of `perTransaction`: every statement takes the next seqs (the
 * conversation's lastSeq moves on), inserts the messages and, in the same statement, their
 * change-log rows with the transaction's id (`pg_current_xact_id()`, as the message store
 * writes them), so the log holds many transactions as a live one does. Then both participant
 * rows are brought to what the appends would have left. Sides alternate as in seedHistory.
 */
export async function seedChanges(databaseUrl: string, conversationId: string, staffId: number, count: number, perTransaction: number): Promise<number> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  const started = performance.now();
  try {
    for (let done = 0; done < count; done += perTransaction) {
      const batch = Math.min(perTransaction, count - done);
      const written = await client.query(
        `WITH conv AS (
           UPDATE "chatConversations"
              SET "lastSeq" = "lastSeq" + $3::int,
                  "lastMessageAt" = (now() AT TIME ZONE 'UTC')::timestamp(3), "updatedAt" = (now() AT TIME ZONE 'UTC')::timestamp(3)
            WHERE id = $1 AND status = 'ACTIVE'
           RETURNING id, "customerId", "providerId", "lastSeq" - $3::int AS first, "lastMessageAt" AS at
         ), inserted AS (
           INSERT INTO "providerCustomerMessages"
                  (id, "conversationId", seq, "senderId", "senderRole", "receiverId", "messageType", content, "createdAt", "updatedAt")
           SELECT 'seed-' || conv.id || '-' || (conv.first + g), conv.id, conv.first + g,
                  CASE WHEN (conv.first + g) % 2 = 1 THEN conv."customerId" ELSE $2::int END,
                  (CASE WHEN (conv.first + g) % 2 = 1 THEN 'customer' ELSE 'provider' END)::"ChatSender",
                  CASE WHEN (conv.first + g) % 2 = 1 THEN conv."providerId" ELSE conv."customerId" END,
                  'TEXT', 'Seeded change ' || (conv.first + g), conv.at, conv.at
             FROM conv, generate_series(1, $3::int) AS g
           RETURNING id, "conversationId", seq, "createdAt"
         )
         INSERT INTO "chatChanges" (txid, "conversationId", "customerId", "providerId", type, "messageId", at)
         SELECT pg_current_xact_id()::text::bigint, i."conversationId", conv."customerId", conv."providerId", 'message.created', i.id, i."createdAt"
           FROM inserted i, conv
          ORDER BY i.seq`,
        [conversationId, staffId, batch],
      );
      if (written.rowCount !== batch) throw new Error(`seeding wrote ${written.rowCount} of ${batch} changes (is the conversation ACTIVE?)`);
    }
    await client.query(
      `UPDATE "chatParticipants" p
          SET "lastActivityAt" = c."lastMessageAt", "updatedAt" = c."lastMessageAt",
              "unreadCount" = (SELECT count(*) FROM "providerCustomerMessages" m
                                WHERE m."conversationId" = p."conversationId" AND m."senderRole"::text <> p.side::text AND m.seq > p."lastReadSeq")
         FROM "chatConversations" c
        WHERE c.id = p."conversationId" AND p."conversationId" = $1`,
      [conversationId],
    );
    await client.query('ANALYZE "chatChanges"');
    await client.query('ANALYZE "providerCustomerMessages"');
    return performance.now() - started;
  } finally {
    await client.end();
  }
}

/** The party's changes in the log, and how many transactions wrote them. */
export async function changeLogShape(databaseUrl: string, customerId: number): Promise<{ changes: number; transactions: number; tableRows: number }> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ changes: string; transactions: string; tableRows: string }>(
      `SELECT count(*) AS changes, count(DISTINCT txid) AS transactions, (SELECT count(*) FROM "chatChanges") AS "tableRows"
         FROM "chatChanges" WHERE "customerId" = $1`,
      [customerId],
    );
    const row = rows[0]!;
    return { changes: Number(row.changes), transactions: Number(row.transactions), tableRows: Number(row.tableRows) };
  } finally {
    await client.end();
  }
}

/** A sync cursor at the very start of the log: before every (txid, id), seen until now. */
export function startOfLogCursor(now = Date.now()): string {
  return encodeSyncCursor({ txid: 0n, id: 0n, seenUntil: now });
}

export interface StatementPlan {
  /** Median over the runs of EXPLAIN ANALYZE's execution time (ms). */
  executionMs: number;
  planningMs: number;
  /** Shared buffers hit and read by the whole plan (its top node's counts). */
  sharedBuffers: number;
  /** The relations the plan reads with a sequential scan. */
  seqScans: string[];
  /** How the rows referred to are joined (the plan's join nodes, outermost first). */
  joins: string[];
}

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Shared Hit Blocks'?: number;
  'Shared Read Blocks'?: number;
  Plans?: PlanNode[];
}

/**
 * EXPLAIN (ANALYZE, BUFFERS) of statements exactly as a handler sent them (text and values, as
 * counters.ts captured them), `runs` times each, interleaved.
 */
export async function explainStatements(databaseUrl: string, statements: readonly { text: string; values: unknown[] }[], runs: number): Promise<StatementPlan[]> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const samples = statements.map(() => ({ execution: [] as number[], planning: [] as number[], plan: undefined as PlanNode | undefined }));
    for (let run = 0; run < runs; run++) {
      for (const [index, statement] of statements.entries()) {
        const { rows } = await client.query<{ 'QUERY PLAN': [{ Plan: PlanNode; 'Execution Time': number; 'Planning Time': number }] }>(
          `EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ${statement.text}`,
          statement.values,
        );
        const [result] = rows[0]!['QUERY PLAN'];
        const sample = samples[index]!;
        sample.execution.push(result['Execution Time']);
        sample.planning.push(result['Planning Time']);
        sample.plan = result.Plan;
      }
    }
    return samples.map(({ execution, planning, plan }) => {
      const seqScans: string[] = [];
      const joins: string[] = [];
      const visit = (node: PlanNode) => {
        if (node['Node Type'] === 'Seq Scan' && node['Relation Name']) seqScans.push(node['Relation Name']);
        if (/Join|Nested Loop/.test(node['Node Type'])) joins.push(node['Node Type']);
        for (const child of node.Plans ?? []) visit(child);
      };
      if (plan) visit(plan);
      const middle = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;
      return {
        executionMs: middle(execution),
        planningMs: middle(planning),
        sharedBuffers: (plan?.['Shared Hit Blocks'] ?? 0) + (plan?.['Shared Read Blocks'] ?? 0),
        seqScans,
        joins,
      };
    });
  } finally {
    await client.end();
  }
}

/** Rows in the messages table. */
export async function countMessages(databaseUrl: string): Promise<number> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ count: string }>('SELECT count(*) AS count FROM "providerCustomerMessages"');
    return Number(rows[0]!.count);
  } finally {
    await client.end();
  }
}

/** ANALYZE of the tables the change log's page reads. */
export async function analyze(databaseUrl: string): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query('ANALYZE "providerCustomerMessages", "chatChanges", "chatConversations"');
  } finally {
    await client.end();
  }
}
