/**
 * The measurements of the change log and the event pipeline: calls per edit, delete, reaction
 * and mark-read (`operations`), `GET /sync` pages at the start of the log against 10 000 changes
 * deep (`sync`), and what publishing each change to the events queue costs a send, with it on
 * and off side by side (`publishing`). Like phases.ts, the clients run in the client thread and
 * the counters here, beside the handlers.
 */
import { emptySnapshot } from './counters.ts';
import { startCpuMeasure, type CpuFigures } from './cpu.ts';
import {
  analyze,
  changeLogShape,
  countMessages,
  customerToken,
  explainStatements,
  makePairs,
  seedChanges,
  seedHistory,
  staffToken,
  startConversation,
  startOfLogCursor,
  type StatementPlan,
} from './fixtures.ts';
import { checkOutcome, perOperation, resetCounts, settle, type BenchContext, type PerOperation, type RoundTripFigures } from './phases.ts';
import { round, roundSummary, summarize, type Summary } from './stats.ts';
import type { HistoryQuerySpec, HttpRequestSpec, HttpRequestsOutcome } from './tasks.ts';

const REACTION = '👍';

function checkRequests(what: string, outcome: HttpRequestsOutcome, expected: number): void {
  if (outcome.completed !== expected || outcome.errors > 0) {
    throw new Error(`${what}: ${outcome.completed} of ${expected} answered as expected, ${outcome.errors} errors (${outcome.errorSamples.join('; ')})`);
  }
}

// ─── Calls per edit, delete, reaction, mark-read ───────────────────────────────────────

/**
 * Counts, over `count` sequential requests of each kind (each a fresh message or conversation,
 * so every one changes something and records a change), what an edit, a reaction, a delete and
 * a mark-read cost, with one WebSocket connection per side open to hear about them. Each kind is
 * warmed with 5 uncounted requests first; the counts run until the events queue consumer has
 * confirmed every change the requests recorded.
 */
export async function operations(context: BenchContext, count: number): Promise<RoundTripFigures[]> {
  const { runtime, client, ids } = context;
  const warm = 5;
  const figures: RoundTripFigures[] = [];
  const connections = { customer: 1, provider: 1 };

  // One conversation, its customer's `warm + count` messages to edit, react to and delete.
  const party = ids.party(1);
  const [pair] = await makePairs(runtime.httpUrl, runtime.issuer, [party], 1);
  await client.run('openPairs', { httpUrl: runtime.httpUrl, wsUrl: runtime.wsUrl, pairs: [pair!] });
  const customer = customerToken(runtime.issuer, party.customerId);
  const staff = staffToken(runtime.issuer, party.staffIds[0]!, party.providerId);
  const conversationId = pair!.conversationId;
  const sent = await client.run('httpRequests', {
    httpUrl: runtime.httpUrl,
    keepBodies: true,
    requests: Array.from({ length: warm + count }, (_, i) => ({ route: 'sendMessage' as const, params: { conversationId }, token: customer, body: { content: `To be changed ${i}` } })),
  });
  checkRequests('messages to change', sent, warm + count);
  const messageIds = sent.bodies!.map((body) => (body as { message: { id: string } }).message.id);

  const measure = async (label: string, requests: HttpRequestSpec[]) => {
    const warmOutcome = await client.run('httpRequests', { httpUrl: runtime.httpUrl, requests: requests.slice(0, warm) });
    checkRequests(`${label} (warm-up)`, warmOutcome, warm);
    await settle(context, { quietMs: 150 });
    resetCounts(context);
    const outcome = await client.run('httpRequests', { httpUrl: runtime.httpUrl, requests: requests.slice(warm) });
    await settle(context, { quietMs: 150 });
    checkRequests(label, outcome, requests.length - warm);
    figures.push({ label, connections, perSend: perOperation(context.counters.snapshot(), context.posts, requests.length - warm) });
  };
  const each = (make: (messageId: string) => HttpRequestSpec) => messageIds.map(make);
  await measure(
    'edit (PATCH …/messages/:id)',
    each((id) => ({ route: 'editMessage', params: { conversationId, messageId: id }, token: customer, body: { content: `Edited ${id}` } })),
  );
  await measure(
    'reaction (PUT …/reactions/:emoji)',
    each((id) => ({ route: 'addReaction', params: { conversationId, messageId: id, emoji: REACTION }, token: staff })),
  );
  await measure('delete (DELETE …/messages/:id)', each((id) => ({ route: 'deleteMessage', params: { conversationId, messageId: id }, token: customer })));
  await client.run('closeAll', {});
  await settle(context, { closed: true });

  // Mark-read: one conversation each, with one unread message from the customer, read by the provider's staff.
  const parties = Array.from({ length: warm + count }, () => ids.party(1));
  const pairs = await makePairs(runtime.httpUrl, runtime.issuer, parties, 1);
  await client.run('openPairs', { httpUrl: runtime.httpUrl, wsUrl: runtime.wsUrl, pairs });
  const unread = await client.run('httpRequests', {
    httpUrl: runtime.httpUrl,
    requests: pairs.map((spec) => ({ route: 'sendMessage' as const, params: { conversationId: spec.conversationId }, token: spec.customer[0]!, body: { content: 'Read me' } })),
  });
  checkRequests('messages to read', unread, pairs.length);
  await measure(
    'mark-read (PATCH …/read, 1 message)',
    pairs.map((spec) => ({ route: 'markRead' as const, params: { conversationId: spec.conversationId }, token: spec.provider[0]! })),
  );
  await client.run('closeAll', {});
  await settle(context, { closed: true });
  return figures;
}

// ─── Sync pages at depth ───────────────────────────────────────────────────────────────

export interface SyncQueryFigures {
  label: string;
  depth: number | null;
  latencyMs: Summary;
  returned: { count: number; hasMore: boolean; types: string[] };
}

/** One timing pass over the queries, with the tables as they were then. */
export interface SyncPass {
  label: string;
  /** Rows in the messages table (every conversation's) during the pass. */
  messagesInTable: number;
  errors: number;
  queries: SyncQueryFigures[];
  /** Each query's p50 and p99 over the first page's. */
  ratios: Record<string, { p50: number; p99: number }>;
  /**
   * The page statement of the first and the deepest page exactly as the handler sent it,
   * EXPLAIN ANALYZEd straight in SQL (median of 9), to show where the time goes.
   */
  plans: { label: string; plan: StatementPlan }[];
}

export interface SyncFigures {
  /** Changes seeded into the reader's one conversation. */
  seeded: number;
  perTransaction: number;
  seedMs: number;
  /** The reader's changes in the log, the transactions that wrote them, and the table's rows. */
  log: { changes: number; transactions: number; tableRows: number };
  limit: number;
  /** Following the cursor from the start of the log to the deepest page measured. */
  walk: { pages: number; changes: number; distinct: number; ms: number; types: Record<string, number> };
  rounds: number;
  /** Messages of other conversations added before the second pass. */
  background: number;
  passes: SyncPass[];
  perPage: PerOperation;
}

/** How the change log's page statement starts (functions/adapters/postgres/change-log.ts). */
const PAGE_STATEMENT = /^\s*WITH h AS \(SELECT pg_snapshot_xmin/;

/**
 * A customer whose one conversation holds `changes + limit` messages with their
 * `message.created` changes (fixtures.ts: written in transactions of `perTransaction`, as the
 * message store writes them), then `GET /sync?since=…&limit=` from the start of the log, halfway
 * and `changes` deep, and from the horizon (caught up: no changes), the queries interleaved.
 * The cursors deep in the log are the API's own, got by following it page by page from the start.
 *
 * Two passes: with the tables as the run left them, then with `background` more messages in
 * other conversations (one statement, fixtures.ts seedHistory) and the tables analyzed again, since
 * how the page statement joins its messages depends on the planner's view of the table's size.
 */
export async function sync(
  context: BenchContext,
  options: { changes: number; limit: number; perTransaction: number; warmup: number; rounds: number; background: number },
): Promise<SyncFigures> {
  const { runtime, client, ids } = context;
  const { changes, limit } = options;
  const party = ids.party(1);
  const conversationId = await startConversation(runtime.httpUrl, runtime.issuer, party);
  const seeded = changes + limit;
  const seedMs = await seedChanges(runtime.databaseUrl, conversationId, party.staffIds[0]!, seeded, options.perTransaction);
  const log = await changeLogShape(runtime.databaseUrl, party.customerId);
  context.progress(`sync: ${seeded} changes written in ${round(seedMs, 0)} ms (${log.transactions} transactions; ${log.tableRows} rows in the change log)`);

  const token = customerToken(runtime.issuer, party.customerId);
  const start = startOfLogCursor();
  const depthPages = changes / limit;
  const walkStarted = performance.now();
  const walk = await client.run('syncWalk', { httpUrl: runtime.httpUrl, token, since: start, limit, pages: depthPages });
  const walkMs = performance.now() - walkStarted;
  if (walk.errors > 0 || walk.cursors.length !== depthPages + 1 || walk.distinct !== walk.changes || walk.changes !== changes) {
    throw new Error(`sync walk: ${walk.cursors.length - 1} pages, ${walk.changes} changes (${walk.distinct} distinct), ${walk.errors} errors; expected ${depthPages} pages of ${limit}`);
  }
  const fresh = await client.run('httpRequests', { httpUrl: runtime.httpUrl, keepBodies: true, requests: [{ route: 'sync', token }] });
  checkRequests('GET /sync without since', fresh, 1);
  const horizon = (fresh.bodies![0] as { cursor: string }).cursor;

  const page = (cursor: string) => ({ route: 'sync' as const, query: { since: cursor, limit } });
  const half = Math.round(depthPages / 2);
  const specs: (HistoryQuerySpec & { depth: number | null })[] = [
    { label: 'first page (start of the log)', ...page(start), depth: 0 },
    { label: `${half * limit} changes deep`, ...page(walk.cursors[half]!), depth: half * limit },
    { label: `${changes} changes deep`, ...page(walk.cursors[depthPages]!), depth: changes },
    { label: 'caught up (at the horizon: no changes)', ...page(horizon), depth: null },
  ];
  const queries = specs.map(({ depth: _depth, ...query }) => query);

  // Counted: one round of every query to warm, then two counted.
  await client.run('syncPages', { httpUrl: runtime.httpUrl, token, queries, warmup: 0, rounds: 1 });
  await settle(context, { quietMs: 150 });
  resetCounts(context);
  await client.run('syncPages', { httpUrl: runtime.httpUrl, token, queries, warmup: 0, rounds: 2 });
  await settle(context, { quietMs: 150 });
  const perPage = perOperation(context.counters.snapshot(), context.posts, queries.length * 2);

  const pass = async (label: string): Promise<SyncPass> => {
    const timed = await client.run('syncPages', { httpUrl: runtime.httpUrl, token, queries, warmup: options.warmup, rounds: options.rounds });
    const figures = specs.map((spec) => ({
      label: spec.label,
      depth: spec.depth,
      latencyMs: roundSummary(summarize(timed.samples[spec.label] ?? [])),
      returned: timed.returned[spec.label] ?? { count: 0, hasMore: false, types: [] },
    }));
    // The page statements as the handler sent them, for EXPLAIN.
    context.counters.capture(true);
    await client.run('syncPages', { httpUrl: runtime.httpUrl, token, queries: [queries[0]!, queries[2]!], warmup: 0, rounds: 1 });
    const pageStatements = context.counters.captured().filter((statement) => PAGE_STATEMENT.test(statement.text));
    context.counters.capture(false);
    await settle(context, { quietMs: 150 });
    const explained = pageStatements.length === 2 ? await explainStatements(runtime.databaseUrl, pageStatements, 9) : [];
    const first = figures[0]!.latencyMs;
    const ratios = Object.fromEntries(figures.slice(1).map((query) => [query.label, { p50: round(query.latencyMs.p50 / first.p50, 2), p99: round(query.latencyMs.p99 / first.p99, 2) }]));
    const deep = figures[2]!;
    const messagesInTable = await countMessages(runtime.databaseUrl);
    context.progress(`sync, ${label}: first page p50 ${first.p50} ms, ${changes} deep p50 ${deep.latencyMs.p50} ms (${ratios[deep.label]?.p50}×), p99 ${ratios[deep.label]?.p99}×`);
    return {
      label,
      messagesInTable,
      errors: timed.errors,
      queries: figures,
      ratios,
      plans: explained.map((plan, index) => ({ label: [specs[0]!.label, specs[2]!.label][index]!, plan })),
    };
  };

  const passes = [await pass('tables as the run left them')];
  if (options.background > 0) {
    const other = ids.party(1);
    const otherConversation = await startConversation(runtime.httpUrl, runtime.issuer, other);
    await seedHistory(runtime.databaseUrl, otherConversation, other.staffIds[0]!, options.background);
    await analyze(runtime.databaseUrl);
    passes.push(await pass(`${options.background} more messages in another conversation`));
  }
  return {
    seeded,
    perTransaction: options.perTransaction,
    seedMs: round(seedMs, 0),
    log,
    limit,
    walk: { pages: depthPages, changes: walk.changes, distinct: walk.distinct, ms: round(walkMs, 0), types: walk.types },
    rounds: options.rounds,
    background: options.background,
    passes,
    perPage,
  };
}

// ─── What publishing costs a send ──────────────────────────────────────────────────────

/**
 * `on`: the product as deployed (each send's SendMessageBatch goes to the local SQS, and the
 * consumer confirms each event while the next sends run); `held`: the same sends, with the
 * consumer held back until the block is over (publishing.ts), so that only the send's own
 * publishing is inside the timings, as in AWS where the consumer has a container of its own;
 * `off`: SendMessageBatch answered in process, nothing on the queue, nothing to confirm.
 */
export type PublishingModeName = 'on' | 'held' | 'off';
const MODES: readonly PublishingModeName[] = ['on', 'held', 'off'];
/** Block order: each mode as often early as late in a round. */
const ORDER: readonly PublishingModeName[] = ['on', 'held', 'off', 'off', 'held', 'on'];

export interface PublishingMode {
  mode: PublishingModeName;
  sends: number;
  errors: number;
  /** Send → the receiver's `chat-new-message`. */
  receiveMs: Summary;
  /** Send → the sender's `chat-ack` (the whole request, publishing included). */
  ackMs: Summary;
  /** Counted from the block's first send until the consumer confirmed its last event. */
  perSend: PerOperation;
}

export interface PublishingLoadMode {
  mode: PublishingModeName;
  /** From the first send to the last completion, summed over the blocks. */
  durationMs: number;
  /** The time CPU was measured over: until every confirmation was done (on, off), until the last completion (held). */
  wallMs: number;
  completed: number;
  errors: number;
  messagesPerSecond: number;
  latencyMs: Summary;
  cpu: CpuFigures;
  /** Main-thread busy time per completed message (ms). */
  mainThreadMsPerMessage: number;
}

export interface PublishingFigures {
  /** Blocks of each mode. */
  blocks: number;
  sendsPerBlock: number;
  /** One conversation, one message at a time over WebSocket. */
  sequential: Record<PublishingModeName, PublishingMode>;
  /** `conversations` closed loops at once (the main thread saturated). */
  load: { conversations: number; blockMs: number; modes: Record<PublishingModeName, PublishingLoadMode> };
  /** SendMessageBatch calls answered in process while publishing was off (all of them: none went out). */
  shortCircuited: number;
  /** ReceiveMessage answers held back from the consumer in `held` blocks. */
  heldBack: number;
}

/**
 * A send's latency with the events queue publishing and without, in alternating blocks of the
 * three modes (above) so that drift in the machine's load falls on all alike. First one
 * conversation with one message at a time over WebSocket (counted as well: calls per send in
 * each mode); then `conversations` closed loops at once, where the main thread is the
 * bottleneck, for what publishing and confirming cost a send in CPU.
 */
export async function publishing(
  context: BenchContext,
  options: { blocks: number; sendsPerBlock: number; conversations: number; loadBlockMs: number },
): Promise<PublishingFigures> {
  const { runtime, client, ids, publishing: toggle } = context;
  const before = { shortCircuited: toggle.shortCircuited(), heldBack: toggle.heldBack() };
  const enter = (mode: PublishingModeName) => {
    toggle.set(mode !== 'off');
    toggle.holdConsumers(mode === 'held');
  };
  const leave = () => {
    toggle.set(true);
    toggle.holdConsumers(false);
  };

  const [pair] = await makePairs(runtime.httpUrl, runtime.issuer, [ids.party(1)], 1);
  await client.run('openPairs', { httpUrl: runtime.httpUrl, wsUrl: runtime.wsUrl, pairs: [pair!] });
  const collected = Object.fromEntries(MODES.map((mode) => [mode, { latencies: [] as number[], replies: [] as number[], sends: 0, errors: 0, snapshots: [] as Snapshot[] }]));
  try {
    for (const mode of MODES) {
      enter(mode);
      checkOutcome(`publishing ${mode} (warm-up)`, await client.run('sequentialSends', { httpUrl: runtime.httpUrl, pairIndex: 0, count: 10, via: 'ws', tag: 'pub-warm' }), 10);
      leave();
      await settle(context, { quietMs: 150 });
    }
    for (let block = 0; block < options.blocks * MODES.length; block++) {
      const mode = ORDER[block % ORDER.length]!;
      await settle(context, { quietMs: 150 });
      resetCounts(context);
      enter(mode);
      const outcome = await client.run('sequentialSends', { httpUrl: runtime.httpUrl, pairIndex: 0, count: options.sendsPerBlock, via: 'ws', tag: 'pub' });
      leave();
      await settle(context, { quietMs: 150 });
      checkOutcome(`publishing ${mode}`, outcome, options.sendsPerBlock);
      const into = collected[mode]!;
      into.latencies.push(...outcome.latencies);
      into.replies.push(...outcome.replyLatencies);
      into.sends += outcome.completed;
      into.errors += outcome.errors;
      into.snapshots.push(context.counters.snapshot());
    }
  } finally {
    leave();
  }
  await client.run('closeAll', {});
  await settle(context, { closed: true });
  const sequential = Object.fromEntries(
    MODES.map((mode): [PublishingModeName, PublishingMode] => {
      const from = collected[mode]!;
      return [
        mode,
        {
          mode,
          sends: from.sends,
          errors: from.errors,
          receiveMs: roundSummary(summarize(from.latencies)),
          ackMs: roundSummary(summarize(from.replies)),
          perSend: perOperation(mergeSnapshots(from.snapshots), new Map(), from.sends),
        },
      ];
    }),
  ) as Record<PublishingModeName, PublishingMode>;
  context.progress(`publishing, 1 conversation: ack p50 ${MODES.map((mode) => `${sequential[mode].ackMs.p50} ms ${mode}`).join(', ')}`);

  // Under load: the main thread saturated, so what publishing costs shows in messages/s.
  const parties = Array.from({ length: options.conversations }, () => ids.party(1));
  const pairs = await makePairs(runtime.httpUrl, runtime.issuer, parties, 1);
  await client.run('openPairs', { httpUrl: runtime.httpUrl, wsUrl: runtime.wsUrl, pairs });
  const loadRuns = Object.fromEntries(MODES.map((mode) => [mode, [] as LoadRun[]])) as Record<PublishingModeName, LoadRun[]>;
  try {
    for (const mode of MODES) {
      enter(mode);
      await client.run('converse', { warmup: 0, perPair: 5, timeLimitMs: 20_000, tag: 'pubload-warm' });
      leave();
      await settle(context, { quietMs: 150 });
    }
    for (let block = 0; block < options.blocks * MODES.length; block++) {
      const mode = ORDER[block % ORDER.length]!;
      await settle(context, { quietMs: 150 });
      enter(mode);
      const cpuOf = startCpuMeasure();
      const began = performance.now();
      const run = await client.run('converse', { warmup: 0, durationMs: options.loadBlockMs, timeLimitMs: options.loadBlockMs + 10_000, tag: 'pubload' });
      let cpu: CpuFigures;
      let wallMs: number;
      if (mode === 'held') {
        // The sends' own cost: measured before the consumer is let go.
        cpu = cpuOf();
        wallMs = performance.now() - began;
        leave();
      } else {
        // The consumer's confirmations of this block's events belong to its cost: measured until they are done.
        leave();
        await settle(context, { quietMs: 100 });
        cpu = cpuOf();
        wallMs = performance.now() - began;
      }
      loadRuns[mode].push({ run, cpu, wallMs });
    }
  } finally {
    leave();
  }
  await client.run('closeAll', {});
  await settle(context, { closed: true });
  const load = Object.fromEntries(MODES.map((mode) => [mode, loadMode(mode, loadRuns[mode])])) as Record<PublishingModeName, PublishingLoadMode>;
  context.progress(`publishing, ${options.conversations} conversations: ${MODES.map((mode) => `${load[mode].messagesPerSecond} messages/s ${mode}`).join(', ')}`);

  return {
    blocks: options.blocks,
    sendsPerBlock: options.sendsPerBlock,
    sequential,
    load: { conversations: options.conversations, blockMs: options.loadBlockMs, modes: load },
    shortCircuited: toggle.shortCircuited() - before.shortCircuited,
    heldBack: toggle.heldBack() - before.heldBack,
  };
}

interface LoadRun {
  run: { latencies: number[]; completed: number; errors: number; durationMs: number };
  cpu: CpuFigures;
  /** The time the CPU was measured over. */
  wallMs: number;
}

/** Whole-time figures of several blocks of one mode: CPU shares weighted by the blocks' wall time. */
function loadMode(mode: PublishingModeName, runs: LoadRun[]): PublishingLoadMode {
  const durationMs = runs.reduce((sum, { run }) => sum + run.durationMs, 0);
  const completed = runs.reduce((sum, { run }) => sum + run.completed, 0);
  const wall = runs.reduce((sum, { wallMs }) => sum + wallMs, 0);
  const weighted = (pick: (cpu: CpuFigures) => number) => runs.reduce((sum, { cpu, wallMs }) => sum + pick(cpu) * wallMs, 0) / wall;
  const components = new Set(runs.flatMap(({ cpu }) => Object.keys(cpu.coresBusy)));
  const cpu: CpuFigures = {
    mainThreadBusy: round(weighted((c) => c.mainThreadBusy), 2),
    coresBusy: Object.fromEntries([...components].map((component) => [component, round(weighted((c) => c.coresBusy[component] ?? 0), 2)])),
  };
  return {
    mode,
    durationMs: round(durationMs, 0),
    wallMs: round(wall, 0),
    completed,
    errors: runs.reduce((sum, { run }) => sum + run.errors, 0),
    messagesPerSecond: round(completed / (durationMs / 1000), 1),
    latencyMs: roundSummary(summarize(runs.flatMap(({ run }) => run.latencies))),
    cpu,
    mainThreadMsPerMessage: round((cpu.mainThreadBusy * wall) / Math.max(1, completed), 2),
  };
}

type Snapshot = ReturnType<BenchContext['counters']['snapshot']>;

/** The sum of several counter snapshots. */
function mergeSnapshots(snapshots: readonly Snapshot[]): Snapshot {
  const add = (into: Record<string, number>, from: Record<string, number>) => {
    for (const [key, value] of Object.entries(from)) into[key] = (into[key] ?? 0) + value;
  };
  const total: Snapshot = emptySnapshot();
  for (const s of snapshots) {
    total.postgresRoundTrips += s.postgresRoundTrips;
    add(total.postgresRoundTripsByStatement, s.postgresRoundTripsByStatement);
    add(total.postgresStatements, s.postgresStatements);
    add(total.dynamodb, s.dynamodb);
    add(total.dynamodbTargets, s.dynamodbTargets);
    total.dynamodbTotal += s.dynamodbTotal;
    add(total.connections, s.connections);
    add(total.sqs, s.sqs);
    total.sqsTotal += s.sqsTotal;
    total.waitingMs.postgres += s.waitingMs.postgres;
    total.waitingMs.dynamodb += s.waitingMs.dynamodb;
    total.waitingMs.connections += s.waitingMs.connections;
    add(total.waitingMs.sqs, s.waitingMs.sqs);
  }
  return total;
}
