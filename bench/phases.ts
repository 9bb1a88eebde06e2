/**
 * The measurements, one function each, against a running local runtime. The clients run in the
 * client thread; the counters (counters.ts) run here, beside the handlers.
 */
import type { LocalRuntime } from '#lib/local/runtime';
import type { ClientThread } from './client-thread.ts';
import type { CounterSnapshot, Counters } from './counters.ts';
import type { PublishingSwitch } from './publishing.ts';
import { startCpuMeasure, type CpuFigures } from './cpu.ts';
import { customerToken, makePairs, rangeVersusOffset, seedHistory, startConversation, type Ids } from './fixtures.ts';
import { round, roundSummary, summarize, type Summary } from './stats.ts';
import type { HistoryQuerySpec, SendOutcome } from './tasks.ts';
import { ROUTES, routeUrl } from '../sdk/src/index.ts';


export interface BenchContext {
  runtime: LocalRuntime;
  client: ClientThread;
  counters: Counters;
  /** `@connections` posts the emulator delivered, by the frame's event; reset with the counters. */
  posts: Map<string, number>;
  ids: Ids;
  /** Turns the events queue publishing off and on (publishing.ts). */
  publishing: PublishingSwitch;
  progress: (line: string) => void;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Messages on the local queues not yet deleted by a consumer (received or not). */
function queued(runtime: LocalRuntime): number {
  return runtime.sqs.queues().reduce((sum, queue) => sum + queue.visible + queue.inFlight + queue.delayed, 0);
}

/**
 * Waits until the handlers stopped calling out (no new Postgres, DynamoDB, `@connections` or
 * SQS request for `quietMs`, and nothing left on the queues for a consumer) and, with `closed`,
 * every WebSocket is gone first, so that one step's work (`$disconnect`s, the events queue
 * consumer's confirmations) does not run into the next step's figures.
 */
export async function settle(context: BenchContext, options: { quietMs?: number; closed?: boolean } = {}): Promise<void> {
  const quietMs = options.quietMs ?? 300;
  const deadline = Date.now() + 15_000;
  const activity = () => {
    const s = context.counters.snapshot();
    return s.postgresRoundTrips + s.dynamodbTotal + s.sqsTotal + Object.values(s.connections).reduce((a, b) => a + b, 0);
  };
  while (options.closed && Date.now() < deadline && context.runtime.emulator.connections().length > 0) await sleep(20);
  while (Date.now() < deadline && queued(context.runtime) > 0) await sleep(20);
  let last = activity();
  let quietSince = Date.now();
  while (Date.now() < deadline) {
    await sleep(25);
    const now = activity();
    if (now !== last) {
      last = now;
      quietSince = Date.now();
    } else if (Date.now() - quietSince >= quietMs && queued(context.runtime) === 0) {
      return;
    }
  }
}

export function resetCounts(context: BenchContext): void {
  context.counters.reset();
  context.posts.clear();
}

/**
 * Statements of the events queue's consumer (queue/route-events: confirming each event in the
 * change log), not of the operation's own request; they run after it, off its path.
 */
export function isConsumerStatement(label: string): boolean {
  return /^UPDATE "chatChanges" SET "publishedAt"/.test(label);
}

/** SQS operations of the local event source (Lambda's poller in AWS), not of the handlers. */
export const EVENT_SOURCE_OPERATIONS = new Set(['ReceiveMessage', 'DeleteMessageBatch', 'DeleteMessage', 'ChangeMessageVisibilityBatch', 'ChangeMessageVisibility']);

export interface PerOperation {
  operations: number;
  /** Round trips of the operation itself: every round trip but the queue consumer's. */
  postgresRoundTrips: number;
  /** Round trips of the events queue consumer confirming the operation's events, after it. */
  consumerRoundTrips: number;
  postgresStatements: { statement: string; perOperation: number; consumer: boolean }[];
  dynamodb: Record<string, number>;
  /** By operation and table/index. */
  dynamodbTargets: Record<string, number>;
  dynamodbTotal: number;
  /** `@connections` requests by method (client side: what the SDK sent). */
  connectionsRequests: Record<string, number>;
  /** Frames the emulator delivered, by event (server side of the same posts). */
  framesDelivered: Record<string, number>;
  /** SQS requests by operation: the handlers' sends and the local event source's polling. */
  sqs: Record<string, number>;
  /** SQS requests the handlers made (SendMessageBatch, SendMessage). */
  sqsSends: number;
  /** Time spent waiting on each kind of call, summed over its calls (ms per operation); SQS: the handlers' sends. */
  waitingMs: { postgres: number; dynamodb: number; connections: number; sqs: number };
}

export function perOperation(snapshot: CounterSnapshot, posts: Map<string, number>, operations: number): PerOperation {
  const per = (value: number) => round(value / operations, 2);
  const perRecord = (record: Record<string, number>) => Object.fromEntries(Object.entries(record).map(([key, value]) => [key, per(value)]));
  const consumer = Object.entries(snapshot.postgresRoundTripsByStatement)
    .filter(([label]) => isConsumerStatement(label))
    .reduce((sum, [, count]) => sum + count, 0);
  const sends = Object.entries(snapshot.sqs)
    .filter(([operation]) => !EVENT_SOURCE_OPERATIONS.has(operation))
    .reduce((sum, [, count]) => sum + count, 0);
  const sendWaiting = Object.entries(snapshot.waitingMs.sqs)
    .filter(([operation]) => !EVENT_SOURCE_OPERATIONS.has(operation))
    .reduce((sum, [, ms]) => sum + ms, 0);
  return {
    operations,
    postgresRoundTrips: per(snapshot.postgresRoundTrips - consumer),
    consumerRoundTrips: per(consumer),
    postgresStatements: Object.entries(snapshot.postgresStatements)
      .map(([statement, count]) => ({ statement, perOperation: per(count), consumer: isConsumerStatement(statement) }))
      .sort((a, b) => Number(a.consumer) - Number(b.consumer) || b.perOperation - a.perOperation),
    dynamodb: perRecord(snapshot.dynamodb),
    dynamodbTargets: perRecord(snapshot.dynamodbTargets),
    dynamodbTotal: per(snapshot.dynamodbTotal),
    connectionsRequests: perRecord(snapshot.connections),
    framesDelivered: perRecord(Object.fromEntries(posts)),
    sqs: perRecord(snapshot.sqs),
    sqsSends: per(sends),
    waitingMs: {
      postgres: per(snapshot.waitingMs.postgres),
      dynamodb: per(snapshot.waitingMs.dynamodb),
      connections: per(snapshot.waitingMs.connections),
      sqs: per(sendWaiting),
    },
  };
}

export function checkOutcome(what: string, outcome: SendOutcome, expected: number): void {
  if (outcome.completed !== expected || outcome.errors > 0) {
    throw new Error(`${what}: ${outcome.completed} of ${expected} completed, ${outcome.errors} errors (${outcome.errorSamples.join('; ')})`);
  }
}

// ─── Warm-up ───────────────────────────────────────────────────────────────────────────

/**
 * Sends `perConversation` messages in each of `conversations` conversations, recorded nowhere:
 * loads every handler module on the send path, opens the pools and keep-alive sockets, and lets
 * the JIT compilers (Node's and DynamoDB Local's JVM) settle before anything is measured.
 */
export async function warmUp(context: BenchContext, conversations: number, perConversation: number): Promise<SendOutcome> {
  const { runtime, client, ids } = context;
  const pairs = await makePairs(runtime.httpUrl, runtime.issuer, Array.from({ length: conversations }, () => ids.party(1)), 1);
  await client.run('openPairs', { httpUrl: runtime.httpUrl, wsUrl: runtime.wsUrl, pairs });
  const outcome = await client.run('converse', { warmup: 0, perPair: perConversation, timeLimitMs: 30_000, tag: 'warm' });
  await client.run('closeAll', {});
  await settle(context, { closed: true });
  return outcome;
}

// ─── Round trips per operation ─────────────────────────────────────────────────────────

export interface RoundTripFigures {
  label: string;
  /** Connections per side while counting. */
  connections: { customer: number; provider: number };
  perSend: PerOperation;
}

/**
 * Counts, over `sends` sequential sends (each waited for: the ack and every connection's copy),
 * what each send cost: over WebSocket with one connection per side, over HTTP, and over
 * WebSocket with three connections per side (the fan-out's width).
 */
export async function roundTrips(context: BenchContext, sends: number): Promise<RoundTripFigures[]> {
  const { runtime, client, ids } = context;
  const narrow = ids.party(1);
  const wide = ids.party(3);
  const [narrowPair] = await makePairs(runtime.httpUrl, runtime.issuer, [narrow], 1);
  const [widePair] = await makePairs(runtime.httpUrl, runtime.issuer, [wide], 3);
  await client.run('openPairs', { httpUrl: runtime.httpUrl, wsUrl: runtime.wsUrl, pairs: [narrowPair!, widePair!] });

  const cases = [
    { label: 'send over WebSocket (1 connection per side)', pairIndex: 0, via: 'ws' as const, connections: { customer: 1, provider: 1 } },
    { label: 'send over HTTP POST (1 connection per side)', pairIndex: 0, via: 'http' as const, connections: { customer: 1, provider: 1 } },
    { label: 'send over WebSocket (3 connections per side)', pairIndex: 1, via: 'ws' as const, connections: { customer: 3, provider: 3 } },
  ];
  const figures: RoundTripFigures[] = [];
  for (const item of cases) {
    // Warm: modules loaded, pools and keep-alive sockets open, JWKS read.
    checkOutcome(`${item.label} (warm-up)`, await client.run('sequentialSends', { httpUrl: runtime.httpUrl, pairIndex: item.pairIndex, count: 5, via: item.via, tag: 'rt-warm' }), 5);
    await settle(context, { quietMs: 150 });
    resetCounts(context);
    const outcome = await client.run('sequentialSends', { httpUrl: runtime.httpUrl, pairIndex: item.pairIndex, count: sends, via: item.via, tag: 'rt' });
    await settle(context, { quietMs: 150 });
    checkOutcome(item.label, outcome, sends);
    figures.push({ label: item.label, connections: item.connections, perSend: perOperation(context.counters.snapshot(), context.posts, sends) });
  }
  await client.run('closeAll', {});
  await settle(context, { closed: true });
  return figures;
}

// ─── Latency and throughput ────────────────────────────────────────────────────────────

export interface LatencyFigures {
  conversations: number;
  connections: number;
  warmupPerConversation: number;
  messages: number;
  errors: number;
  errorSamples: string[];
  latencyMs: Summary;
  p99OverP50: number;
  /** Completed messages per second during the measured part. */
  messagesPerSecond: number;
  durationMs: number;
  cpu: CpuFigures;
}

export interface SustainedFigures {
  conversations: number;
  targetDurationMs: number;
  durationMs: number;
  completed: number;
  messagesPerSecond: number;
  /** `chat-new-message` frames delivered per second (receiver's and sender's own copies). */
  framesPerSecond: number;
  errors: number;
  errorSamples: string[];
  latencyMs: Summary;
  cpu: CpuFigures;
  /** Main-thread busy time per completed message (ms): the handlers' CPU cost of a send, roughly. */
  mainThreadMsPerMessage: number;
}

function latencyFigures(conversations: number, warmup: number, outcome: SendOutcome, cpu: CpuFigures): LatencyFigures {
  const summary = summarize(outcome.latencies);
  return {
    conversations,
    connections: conversations * 2,
    warmupPerConversation: warmup,
    messages: outcome.completed,
    errors: outcome.errors,
    errorSamples: outcome.errorSamples,
    latencyMs: roundSummary(summary),
    p99OverP50: round(summary.p99 / summary.p50, 2),
    messagesPerSecond: round(outcome.completed / (outcome.durationMs / 1000), 1),
    durationMs: round(outcome.durationMs, 0),
    cpu,
  };
}

/**
 * For each N: N conversations, a customer and a provider connected to each; every conversation
 * runs a closed loop with one message in flight, the sides taking turns, after a warm-up. With
 * `sustainedMs`, the largest N then keeps going for that long, counting what completes.
 */
export async function latency(
  context: BenchContext,
  levels: { conversations: number; perConversation: number }[],
  options: { warmup: number; timeLimitMs: number; sustainedMs: number },
): Promise<{ latency: LatencyFigures[]; sustained: SustainedFigures | null }> {
  const { runtime, client, ids } = context;
  const results: LatencyFigures[] = [];
  let sustained: SustainedFigures | null = null;
  const largest = Math.max(...levels.map((level) => level.conversations));
  for (const level of levels) {
    const parties = Array.from({ length: level.conversations }, () => ids.party(1));
    const pairs = await makePairs(runtime.httpUrl, runtime.issuer, parties, 1);
    await client.run('openPairs', { httpUrl: runtime.httpUrl, wsUrl: runtime.wsUrl, pairs });
    await settle(context, { quietMs: 150 });
    const cpuOf = startCpuMeasure();
    const outcome = await client.run('converse', { warmup: options.warmup, perPair: level.perConversation, timeLimitMs: options.timeLimitMs, tag: `lat${level.conversations}` });
    const figures = latencyFigures(level.conversations, options.warmup, outcome, cpuOf());
    results.push(figures);
    context.progress(
      `latency, ${level.conversations} conversation(s): p50 ${figures.latencyMs.p50} ms, p99 ${figures.latencyMs.p99} ms over ${figures.messages} messages, ${figures.errors} errors`,
    );

    if (level.conversations === largest && options.sustainedMs > 0) {
      await settle(context, { quietMs: 150 });
      context.posts.clear();
      const cpuOf = startCpuMeasure();
      const run = await client.run('converse', { warmup: 0, durationMs: options.sustainedMs, timeLimitMs: options.sustainedMs + 5000, tag: 'sustained' });
      const cpu = cpuOf();
      await settle(context, { quietMs: 150 });
      const seconds = run.durationMs / 1000;
      sustained = {
        conversations: level.conversations,
        targetDurationMs: options.sustainedMs,
        durationMs: round(run.durationMs, 0),
        completed: run.completed,
        messagesPerSecond: round(run.completed / seconds, 1),
        framesPerSecond: round((context.posts.get('chat-new-message') ?? 0) / seconds, 1),
        errors: run.errors,
        errorSamples: run.errorSamples,
        latencyMs: roundSummary(summarize(run.latencies)),
        cpu,
        mainThreadMsPerMessage: round((cpu.mainThreadBusy * run.durationMs) / Math.max(1, run.completed), 2),
      };
      context.progress(`sustained, ${level.conversations} conversations: ${sustained.messagesPerSecond} messages/s for ${sustained.durationMs} ms, ${sustained.errors} errors`);
    }
    await client.run('closeAll', {});
    await settle(context, { closed: true });
  }
  return { latency: results, sustained };
}

// ─── Connects ──────────────────────────────────────────────────────────────────────────

export interface ConnectFigures {
  sockets: number;
  opened: number;
  failed: number;
  errorSamples: string[];
  openAllMs: number;
  connectsPerSecond: number;
  handshakeMs: Summary;
  closeAllMs: number;
  perConnect: PerOperation;
  perDisconnect: PerOperation;
  cpu: CpuFigures;
}

/** Opens `sockets` connections with `?token` (distinct customers) all at once; then closes them all at once. */
export async function connects(context: BenchContext, sockets: number): Promise<ConnectFigures> {
  const { runtime, client, ids } = context;
  // Warm the $connect and $disconnect functions first.
  await client.run('connectStorm', { httpUrl: runtime.httpUrl, wsUrl: runtime.wsUrl, tokens: ids.customers(5).map((id) => customerToken(runtime.issuer, id)) });
  await client.run('closeStorm', {});
  await settle(context, { closed: true });

  const tokens = ids.customers(sockets).map((id) => customerToken(runtime.issuer, id));
  resetCounts(context);
  const cpuOf = startCpuMeasure();
  const open = await client.run('connectStorm', { httpUrl: runtime.httpUrl, wsUrl: runtime.wsUrl, tokens });
  const cpu = cpuOf();
  await settle(context, { quietMs: 200 });
  const perConnect = perOperation(context.counters.snapshot(), context.posts, Math.max(1, open.opened));
  resetCounts(context);
  const closed = await client.run('closeStorm', {});
  await settle(context, { quietMs: 300, closed: true });
  const perDisconnect = perOperation(context.counters.snapshot(), context.posts, Math.max(1, closed.closed));
  const figures: ConnectFigures = {
    sockets,
    opened: open.opened,
    failed: open.failed,
    errorSamples: open.errorSamples,
    openAllMs: round(open.openAllMs, 1),
    connectsPerSecond: round(open.opened / (open.openAllMs / 1000), 1),
    handshakeMs: roundSummary(summarize(open.handshakes)),
    closeAllMs: round(closed.closeAllMs, 1),
    perConnect,
    perDisconnect,
    cpu,
  };
  context.progress(`connects: ${figures.opened}/${sockets} open in ${figures.openAllMs} ms (${figures.connectsPerSecond}/s), ${figures.failed} failed`);
  return figures;
}

// ─── History at depth ──────────────────────────────────────────────────────────────────

export interface HistoryFigures {
  messages: number;
  seedMs: number;
  limit: number;
  rounds: number;
  errors: number;
  queries: { label: string; path: string; latencyMs: Summary; returned: { count: number; firstSeq: number; lastSeq: number } }[];
  /** p50 of each query over p50 of page 1. */
  ratios: Record<string, number>;
  perPage: PerOperation;
  /** The same depth straight in SQL: the store's seq range against OFFSET. */
  sql: { depth: number; rangeMs: Summary; offsetMs: Summary; offsetOverRange: number };
}

export async function history(context: BenchContext, options: { messages: number; limit: number; warmup: number; rounds: number }): Promise<HistoryFigures> {
  const { runtime, client, ids } = context;
  const { messages, limit } = options;
  const party = ids.party(1);
  const conversationId = await startConversation(runtime.httpUrl, runtime.issuer, party);
  const seedMs = await seedHistory(runtime.databaseUrl, conversationId, party.staffIds[0]!, messages);
  context.progress(`history: ${messages} messages written in ${round(seedMs, 0)} ms`);

  const deepest = Math.ceil(messages / limit);
  const page = (label: string, query: Record<string, number>): HistoryQuerySpec => ({ label, route: 'getMessages', params: { conversationId }, query: { ...query, limit } });
  const queries: HistoryQuerySpec[] = [
    page('page=1 (newest)', { page: 1 }),
    page(`page=${Math.ceil(deepest / 2)} (${messages / 2} back)`, { page: Math.ceil(deepest / 2) }),
    page(`page=${deepest} (${messages} back, oldest)`, { page: deepest }),
    page(`before=${limit + 1} (near the start)`, { before: limit + 1 }),
    page(`after=${limit} (catch-up from near the start)`, { after: limit }),
  ];
  const token = customerToken(runtime.issuer, party.customerId);

  // Counted separately: one round of every query.
  await client.run('history', { httpUrl: runtime.httpUrl, token, queries, warmup: 0, rounds: 1 });
  await settle(context, { quietMs: 150 });
  resetCounts(context);
  await client.run('history', { httpUrl: runtime.httpUrl, token, queries, warmup: 0, rounds: 2 });
  await settle(context, { quietMs: 150 });
  const perPage = perOperation(context.counters.snapshot(), context.posts, queries.length * 2);

  const timed = await client.run('history', { httpUrl: runtime.httpUrl, token, queries, warmup: options.warmup, rounds: options.rounds });
  const figures = queries.map((query) => ({
    label: query.label,
    path: routeUrl('', ROUTES[query.route][1], query).replace(conversationId, ':id'),
    latencyMs: roundSummary(summarize(timed.samples[query.label] ?? [])),
    returned: timed.returned[query.label] ?? { count: 0, firstSeq: 0, lastSeq: 0 },
  }));
  const first = figures[0]!.latencyMs.p50;
  const ratios = Object.fromEntries(figures.slice(1).map((query) => [query.label, round(query.latencyMs.p50 / first, 2)]));

  const depth = messages - limit;
  const sql = await rangeVersusOffset(runtime.databaseUrl, conversationId, depth, limit, options.rounds);
  const rangeMs = roundSummary(summarize(sql.range));
  const offsetMs = roundSummary(summarize(sql.offset));
  return {
    messages,
    seedMs: round(seedMs, 0),
    limit,
    rounds: options.rounds,
    errors: timed.errors,
    queries: figures,
    ratios,
    perPage,
    sql: { depth, rangeMs, offsetMs, offsetOverRange: round(offsetMs.p50 / rangeMs.p50, 1) },
  };
}
