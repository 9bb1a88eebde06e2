/**
 * The fan-out at scale: who receives a message in one conversation while N other users sit
 * connected and idle, found two ways against the same DynamoDB Local tables, side by side:
 *
 * - the product's recipient lookup (`conversationAudience`: both parties' connections in one
 *   PartiQL request on the byParty index, and the conversation's room), through the product's
 *   own stores;
 * - a full-table Scan of the connections table, as the canonical AWS sample
 *   (simple-websockets-chat-app, `sendmessage`) does before posting to every connection.
 *
 * Idle connections are written directly into the table (signed-in customers, each of their
 * own party, shaped as the connection store writes them), 100, then 1 000, then 10 000 in all.
 * They are left in place (expiring by TTL like any record): the runtime's data lives in a
 * temporary directory of the run, and no later phase reads connections other than its own. Every request asks for ReturnConsumedCapacity, counted by a
 * middleware on a client of this phase's own, so the figures are DynamoDB's own read units.
 */
import { BatchWriteCommand, DynamoDBDocumentClient, paginateScan } from '@aws-sdk/lib-dynamodb';
import { createDynamoClient } from '#adapters/dynamodb/client';
import { makeConnectionStore } from '#adapters/dynamodb/connection-store';
import { makeSubscriptionStore } from '#adapters/dynamodb/subscription-store';
import { conversationAudience } from '#core/use-cases/access';
import type { BenchContext } from './phases.ts';
import { median, round, table } from './stats.ts';

export interface FanOutRow {
  idleConnections: number;
  method: 'product lookup' | 'full-table Scan';
  /** DynamoDB requests per lookup (pages included). */
  requests: number;
  /** Items DynamoDB read (ScannedCount, or the items a query or statement returned). */
  itemsRead: number;
  /** Connections the lookup answers: the ones a post goes to. */
  recipients: number;
  /** Read units DynamoDB Local reported (ReturnConsumedCapacity). */
  readUnits: number;
  /** Read units by AWS's billing rules where Local reports less (see billedReadUnits). */
  billedReadUnits: number;
  /** Median wall time of one lookup (ms). */
  medianMs: number;
  rounds: number;
}

export interface FanOutFigures {
  rows: FanOutRow[];
}

interface Tally {
  requests: number;
  itemsRead: number;
  readUnits: number;
  billedReadUnits: number;
}

/**
 * Read units as AWS bills them, where DynamoDB Local reports less: it reports 0 for a Query that
 * finds nothing (AWS charges its minimum, 0.5 eventually consistent or 1 consistent) and no
 * ConsumedCapacity at all for a PartiQL statement (AWS bills each partition key of an `IN` as a
 * query of its own: here at least 0.5 per key on the index, 0.5 per 4 KB of items read).
 */
function billedReadUnits(command: string, input: Record<string, unknown>, items: unknown[], reported: number): number {
  const minimum = input.ConsistentRead ? 1 : 0.5;
  if (command === 'ExecuteStatementCommand') {
    const keys = Array.isArray(input.Parameters) ? input.Parameters.filter((value) => typeof value === 'string').length : 1;
    const bytes = items.reduce<number>((sum, item) => sum + JSON.stringify(item).length, 0);
    return Math.max(keys * 0.5, Math.ceil(bytes / 4096) * 0.5);
  }
  if (command === 'QueryCommand' || command === 'ScanCommand') return Math.max(reported, minimum);
  return reported;
}

const HOUR = 60 * 60 * 1000;
const BATCH = 25;
const CONCURRENCY = 8;

/** A document client whose every request reports its consumed capacity into `tally`. */
function measuredClient(endpoint: string, tally: Tally): DynamoDBDocumentClient {
  const doc = DynamoDBDocumentClient.from(createDynamoClient({ endpoint, region: 'us-east-1' }), { marshallOptions: { removeUndefinedValues: true } });
  doc.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as Record<string, unknown>;
      if (!('RequestItems' in input)) input.ReturnConsumedCapacity = 'TOTAL';
      const result = await next(args);
      const output = result.output as { ConsumedCapacity?: { CapacityUnits?: number }; ScannedCount?: number; Items?: unknown[] };
      const reported = output.ConsumedCapacity?.CapacityUnits ?? 0;
      tally.requests += 1;
      tally.itemsRead += output.ScannedCount ?? output.Items?.length ?? 0;
      tally.readUnits += reported;
      tally.billedReadUnits += billedReadUnits(context.commandName ?? '', input, output.Items ?? [], reported);
      return result;
    },
    { step: 'initialize', name: 'benchConsumedCapacity' },
  );
  return doc;
}

async function inBatches<T>(items: T[], size: number, work: (batch: T[]) => Promise<void>): Promise<void> {
  const batches: T[][] = [];
  for (let i = 0; i < items.length; i += size) batches.push(items.slice(i, i + size));
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < batches.length) await work(batches[next++]!);
    }),
  );
}

/** Writes (or deletes) items, retrying what DynamoDB leaves unprocessed. */
async function batchWrite(doc: DynamoDBDocumentClient, tableName: string, requests: Record<string, unknown>[]): Promise<void> {
  await inBatches(requests, BATCH, async (batch) => {
    let pending = batch;
    while (pending.length > 0) {
      const result = await doc.send(new BatchWriteCommand({ RequestItems: { [tableName]: pending } }));
      pending = (result.UnprocessedItems?.[tableName] ?? []) as Record<string, unknown>[];
    }
  });
}

function idleConnection(index: number, now: number): Record<string, unknown> {
  const userId = 900_000_000 + index;
  const connectedAt = now - 60_000;
  return {
    connectionId: `benchIdle${String(index).padStart(6, '0')}=`,
    connectedAt,
    expiresAt: connectedAt + 2 * HOUR,
    ttl: Math.ceil((connectedAt + 2 * HOUR) / 1000),
    tokenExpiresAt: now + HOUR,
    userId,
    role: 'customer',
    partyKey: `customer#${userId}`,
  };
}

export async function fanOut(context: BenchContext, levels: readonly number[], rounds: (level: number) => number): Promise<FanOutFigures> {
  const { runtime } = context;
  const tableName = runtime.tableNames.connections;
  const tally: Tally = { requests: 0, itemsRead: 0, readUnits: 0, billedReadUnits: 0 };
  const doc = measuredClient(runtime.dynamoEndpoint, tally);
  const connections = makeConnectionStore({ doc, tableName });
  const subscriptions = makeSubscriptionStore({ doc, tableName: runtime.tableNames.subscriptions });

  // The conversation: one customer and one staff member connected, both signed in.
  const now = Date.now();
  const customerId = 800_000_001;
  const providerId = 800_000_002;
  const conversation = { id: 'bench-fan-out-conversation', customerId, providerId };
  const sides = [
    { ...idleConnection(-1, now), connectionId: 'benchCustomer=', userId: customerId, partyKey: `customer#${customerId}` },
    { ...idleConnection(-2, now), connectionId: 'benchStaff=', userId: 800_000_003, role: 'provider', providerId, partyKey: `provider#${providerId}` },
  ];
  await batchWrite(doc, tableName, sides.map((Item) => ({ PutRequest: { Item } })));

  const measure = async (method: FanOutRow['method'], idle: number, count: number, lookup: () => Promise<number>): Promise<FanOutRow> => {
    await lookup(); // warm: connections open, the JVM's paths compiled
    const times: number[] = [];
    let recipients = 0;
    const before = { ...tally };
    for (let i = 0; i < count; i++) {
      const started = performance.now();
      recipients = await lookup();
      times.push(performance.now() - started);
    }
    const per = (key: keyof Tally) => round((tally[key] - before[key]) / count, 2);
    return { idleConnections: idle, method, requests: per('requests'), itemsRead: per('itemsRead'), recipients, readUnits: per('readUnits'), billedReadUnits: per('billedReadUnits'), medianMs: round(median(times), 2), rounds: count };
  };

  const rows: FanOutRow[] = [];
  let seeded = 0;
  try {
    for (const level of levels) {
      const fresh = Array.from({ length: level - seeded }, (_, i) => idleConnection(seeded + i, now));
      const writing = performance.now();
      await batchWrite(doc, tableName, fresh.map((Item) => ({ PutRequest: { Item } })));
      context.progress(`fan-out: ${level} idle connections (${fresh.length} written in ${Math.round(performance.now() - writing)} ms)`);
      seeded = level;
      const count = rounds(level);
      rows.push(await measure('product lookup', level, count, async () => (await conversationAudience({ connections, subscriptions }, conversation)).length));
      rows.push(
        await measure('full-table Scan', level, count, async () => {
          // The sample: scan every connection (only its id), then post to each.
          let found = 0;
          for await (const page of paginateScan({ client: doc }, { TableName: tableName, ProjectionExpression: 'connectionId' })) found += page.Items?.length ?? 0;
          return found;
        }),
      );
    }
  } finally {
    doc.destroy();
  }
  return { rows };
}

export function formatFanOut(figures: FanOutFigures): string {
  const byLevel = new Map<number, FanOutRow[]>();
  for (const row of figures.rows) byLevel.set(row.idleConnections, [...(byLevel.get(row.idleConnections) ?? []), row]);
  const lines: string[][] = [];
  for (const [level, rows] of byLevel) {
    const product = rows.find((row) => row.method === 'product lookup');
    for (const row of rows) {
      const versus = product && row !== product ? ` (${round(row.billedReadUnits / product.billedReadUnits, 1)}× units, ${round(row.medianMs / product.medianMs, 1)}× time)` : '';
      lines.push([String(level), row.method, String(row.requests), String(row.itemsRead), String(row.recipients), String(row.readUnits), `${row.billedReadUnits}${versus}`, row.medianMs.toFixed(2), String(row.rounds)]);
    }
  }
  return `\nFan-out at scale: recipients of one conversation among idle connections (per lookup; DynamoDB Local, ReturnConsumedCapacity)\n${table(
    ['idle connections', 'method', 'requests', 'items read', 'recipients', 'RRU reported', 'RRU billed (AWS rules)', 'median ms', 'rounds'],
    lines,
  )}`;
}
