/**
 * `npm run bench`: starts the local runtime from nothing (its own embedded Postgres and DynamoDB
 * Local in a temp directory, free ports), measures it with real WebSocket and HTTP clients, and
 * bundles every Lambda function to measure its size and cold init. Prints tables and writes
 * `bench-results/<timestamp>.json` and `bench-results/latest.json`. See docs/benchmarks.md.
 *
 *   npm run bench
 *   npm run bench -- --quick                  # smaller counts, for trying changes to the bench
 *   npm run bench -- --only latency,history   # round-trips, operations, latency, publishing, connects, history, sync, search, attachments, fan-out, costs, cpu-split, bundles
 *   npm run bench -- --only round-trips,costs,fan-out,cpu-split   # calls per send, their cost, the fan-out at scale, CPU by module
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { QUEUE_CONSUMERS } from '#config/routes';
import { startLocalRuntime, type LocalRuntime } from '#lib/local/runtime';
import { bundleAll, measureFirstQuery, measureInit, scratchDir } from '../bench/bundles.ts';
import { resolveClusterDir, startEmbeddedPostgres } from '#lib/local/postgres';
import { startClientThread, type ClientThread } from '../bench/client-thread.ts';
import { installCounters, type Counters } from '../bench/counters.ts';
import { operations, publishing, sync } from '../bench/changes.ts';
import { Ids } from '../bench/fixtures.ts';
import { connects, history, latency, roundTrips, settle, warmUp, type BenchContext } from '../bench/phases.ts';
import { installPublishingSwitch, type PublishingSwitch } from '../bench/publishing.ts';
import { formatReport, type BenchResults } from '../bench/report.ts';
import { search } from '../bench/search.ts';
import { attachments } from '../bench/attachments.ts';
import { formatSendCostPhases, runSendCostPhases, type SendCostResults } from '../bench/send-costs.ts';

const PHASES = ['round-trips', 'operations', 'latency', 'publishing', 'connects', 'history', 'sync', 'search', 'attachments', 'fan-out', 'costs', 'cpu-split', 'bundles'] as const;
type Phase = (typeof PHASES)[number];

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    out: { type: 'string', default: 'bench-results' },
  },
});

const only = values.only ? values.only.split(',').map((name) => name.trim()) : [...PHASES];
for (const name of only) if (!(PHASES as readonly string[]).includes(name)) throw new Error(`Unknown phase "${name}"; phases: ${PHASES.join(', ')}`);
const runs = (phase: Phase) => only.includes(phase);
const quick = values.quick;

/** Counts and limits: bounded so the whole run stays within about three minutes. */
const PLAN = {
  warmUp: { conversations: 5, messages: quick ? 20 : 60 },
  roundTripSends: quick ? 10 : 50,
  latencyLevels: quick
    ? [
        { conversations: 1, perConversation: 50 },
        { conversations: 10, perConversation: 20 },
      ]
    : [
        { conversations: 1, perConversation: 400 },
        { conversations: 10, perConversation: 100 },
        { conversations: 50, perConversation: 20 },
      ],
  warmupPerConversation: 5,
  latencyTimeLimitMs: 20_000,
  sustainedMs: quick ? 3_000 : 10_000,
  connectSockets: quick ? 50 : 200,
  historyMessages: 10_000,
  historyLimit: 50,
  historyWarmup: 10,
  historyRounds: quick ? 30 : 100,
  /** Edits, reactions, deletes and mark-reads counted, of each. */
  operationRequests: quick ? 10 : 20,
  syncChanges: 10_000,
  syncLimit: 100,
  syncPerTransaction: 50,
  syncWarmup: 10,
  syncRounds: quick ? 30 : 100,
  /** Messages in the table searched; a busy provider's 1 000 conversations hold half of them. */
  searchMessages: quick ? 20_000 : 100_000,
  searchLimit: 20,
  searchWarmup: 10,
  searchRounds: quick ? 30 : 100,
  /** Messages of another conversation added before the second pass of sync pages. */
  syncBackground: quick ? 20_000 : 50_000,
  /** Blocks of each mode (on, off), alternating: on off off on … */
  publishingBlocks: quick ? 1 : 2,
  publishingSendsPerBlock: quick ? 30 : 50,
  publishingConversations: 10,
  publishingLoadBlockMs: quick ? 1_500 : 2_000,
  initRuns: 3,
  /**
   * The local event source's batching window for the queue consumers (the manifest's is 1 s):
   * 0, so the local poller takes what is on the queue at once instead of polling every 50 ms for
   * a second to fill a batch, which in AWS happens outside the account and here on the handlers'
   * main thread. The consumer's work per event (one UPDATE) does not depend on it.
   */
  consumerBatchingWindowSeconds: 0,
};

/**
 * Product settings for the handlers. The send rate limit (30 per 10 s per user by default) would
 * refuse a closed-loop sender within a second; raised, the limiter still runs its DynamoDB update
 * on every send. The Postgres pool: in AWS each concurrent invocation has a container (and a pool)
 * of its own behind RDS Proxy, while locally every invocation shares one module scope and so one
 * pool; 10 connections let concurrent sends overlap as separate containers would.
 */
const SETTINGS: Record<string, string> = {
  CHAT_SEND_RATE_LIMIT: '1000000',
  DATABASE_POOL_SIZE: '10',
};

const progress = (line: string) => console.log(`· ${line}`);

/** Wall time per phase (s), for the report. */
const phaseSeconds: Record<string, number> = {};
async function phase<T>(name: Phase, work: () => Promise<T>): Promise<T> {
  const started = performance.now();
  try {
    return await work();
  } finally {
    phaseSeconds[name] = Math.round((performance.now() - started) / 100) / 10;
  }
}

async function main(): Promise<void> {
  // The runtime's own DynamoDB client (creating tables) is made before it sets this for the handlers.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const began = performance.now();
  const startedAt = new Date();
  const cpus = os.cpus();
  const results: BenchResults = {
    startedAt: startedAt.toISOString(),
    durationSeconds: 0,
    machine: {
      cpus: cpus.length,
      cpuModel: cpus[0]?.model.trim() ?? 'unknown',
      memoryGiB: Math.round(os.totalmem() / 1024 ** 3),
      node: process.versions.node,
      platform: os.platform(),
      release: os.release(),
      loadAverageAtStart: os.loadavg().map((value) => Math.round(value * 100) / 100),
    },
    settings: SETTINGS,
    plan: PLAN,
    runtimeStartupMs: {},
  };

  const needsRuntime = PHASES.some((phase) => phase !== 'bundles' && runs(phase));
  if (needsRuntime) {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'chat-bench-'));
    let runtime: LocalRuntime | undefined;
    let client: ClientThread | undefined;
    let counters: Counters | undefined;
    let toggle: PublishingSwitch | undefined;
    const stopAll = async () => {
      await client?.stop().catch(() => {});
      await runtime?.stop().catch(() => {});
      counters?.dispose();
      toggle?.dispose();
      await rm(dataDir, { recursive: true, force: true }).catch(() => {});
    };
    const interrupted = () => {
      void stopAll().finally(() => process.exit(130));
    };
    process.once('SIGINT', interrupted);
    process.once('SIGTERM', interrupted);
    try {
      const posts = new Map<string, number>();
      progress(`starting the local runtime in ${dataDir}`);
      runtime = await startLocalRuntime({
        dataDir,
        httpPort: 0,
        wsPort: 0,
        env: SETTINGS,
        emulator: {
          // No timers firing in the middle of a measurement: every connection here signs in with ?token,
          // and the sweeper (republish-events) would only find the changes of publishing-off blocks.
          scheduledTasks: [],
          queueConsumers: QUEUE_CONSUMERS.map((consumer) => ({ ...consumer, maxBatchingWindowSeconds: PLAN.consumerBatchingWindowSeconds })),
          onPost: (post) => {
            let event = 'unknown';
            try {
              event = String((JSON.parse(post.data) as { event?: unknown }).event);
            } catch {
              // Not JSON: counted as unknown.
            }
            const key = post.outcome === 'delivered' ? event : `${event} (${post.outcome})`;
            posts.set(key, (posts.get(key) ?? 0) + 1);
          },
        },
        progress,
      });
      results.runtimeStartupMs = runtime.timings;
      counters = installCounters({ dynamoEndpoint: runtime.dynamoEndpoint, callbackUrl: runtime.callbackUrl, sqsEndpoint: runtime.sqsEndpoint });
      toggle = installPublishingSwitch();
      client = startClientThread();
      const context: BenchContext = { runtime, client, counters, posts, ids: new Ids(), publishing: toggle, progress };

      progress(`warming up: ${PLAN.warmUp.conversations} conversations × ${PLAN.warmUp.messages} messages, not recorded`);
      const warm = await warmUp(context, PLAN.warmUp.conversations, PLAN.warmUp.messages);
      results.warmUp = { ...PLAN.warmUp, completed: warm.completed, errors: warm.errors, durationMs: Math.round(warm.durationMs) };

      if (runs('round-trips')) {
        progress('counting calls per send');
        results.roundTrips = await phase('round-trips', () => roundTrips(context, PLAN.roundTripSends));
      }
      if (runs('operations')) {
        progress(`counting calls per edit, reaction, delete and mark-read (${PLAN.operationRequests} of each)`);
        results.operations = await phase('operations', () => operations(context, PLAN.operationRequests));
      }
      if (runs('latency')) {
        progress('measuring send → receive latency');
        const measured = await phase('latency', () =>
          latency(context, PLAN.latencyLevels, {
            warmup: PLAN.warmupPerConversation,
            timeLimitMs: PLAN.latencyTimeLimitMs,
            sustainedMs: PLAN.sustainedMs,
          }),
        );
        results.latency = measured.latency;
        results.sustained = measured.sustained;
      }
      if (runs('publishing')) {
        progress('measuring sends with the events queue publishing on and off');
        results.publishing = await phase('publishing', () =>
          publishing(context, {
            blocks: PLAN.publishingBlocks,
            sendsPerBlock: PLAN.publishingSendsPerBlock,
            conversations: PLAN.publishingConversations,
            loadBlockMs: PLAN.publishingLoadBlockMs,
          }),
        );
      }
      if (runs('connects')) {
        progress(`opening ${PLAN.connectSockets} connections at once`);
        results.connects = await phase('connects', () => connects(context, PLAN.connectSockets));
      }
      if (runs('history')) {
        progress(`writing a history of ${PLAN.historyMessages} messages`);
        results.history = await phase('history', () =>
          history(context, {
            messages: PLAN.historyMessages,
            limit: PLAN.historyLimit,
            warmup: PLAN.historyWarmup,
            rounds: PLAN.historyRounds,
          }),
        );
      }
      if (runs('sync')) {
        progress(`writing a change log of ${PLAN.syncChanges} changes`);
        results.sync = await phase('sync', () =>
          sync(context, {
            changes: PLAN.syncChanges,
            limit: PLAN.syncLimit,
            perTransaction: PLAN.syncPerTransaction,
            warmup: PLAN.syncWarmup,
            rounds: PLAN.syncRounds,
            background: PLAN.syncBackground,
          }),
        );
      }
      if (runs('search')) {
        progress(`writing ${PLAN.searchMessages} messages to search`);
        results.search = await phase('search', () =>
          search(context, { messages: PLAN.searchMessages, limit: PLAN.searchLimit, warmup: PLAN.searchWarmup, rounds: PLAN.searchRounds }),
        );
      }
      if (runs('attachments')) results.attachments = await phase('attachments', () => attachments(context, { runs: quick ? 10 : 30 }));
      await runSendCostPhases(context, results, { runs, quick, phase });
      await settle(context, { closed: true });
    } finally {
      progress('stopping the runtime');
      await stopAll();
      process.off('SIGINT', interrupted);
      process.off('SIGTERM', interrupted);
    }
  }

  if (runs('bundles')) {
    // With the databases stopped, so that init timings do not compete with them for the CPU.
    progress('bundling every Lambda function');
    const bundlesStarted = performance.now();
    const root = scratchDir(`chat-bench-bundles-${process.pid}`);
    try {
      const deployed = await bundleAll('deployed', path.join(root, 'deployed'));
      const external = await bundleAll('sdk-external', path.join(root, 'sdk-external'));
      progress(`importing each bundle ${PLAN.initRuns} times in a fresh node process`);
      const init = await measureInit(deployed, PLAN.initRuns);
      const strip = (bundles: typeof deployed, parts: number) => bundles.map(({ file: _file, ...figures }) => ({ ...figures, composition: figures.composition.slice(0, parts) }));
      // The first database call from a cold bundle: the health function against a Postgres of its own.
      progress(`invoking the health bundle ${PLAN.initRuns} times in a fresh node process against PostgreSQL`);
      const health = deployed.find((bundle) => bundle.entry === 'http/health');
      let firstQuery: Awaited<ReturnType<typeof measureFirstQuery>> | undefined;
      if (health) {
        const cluster = await resolveClusterDir(path.join(root, 'postgres'));
        const server = await startEmbeddedPostgres({ dataDir: cluster.dir, password: 'bench', persistent: false, durable: false });
        try {
          firstQuery = await measureFirstQuery(health, server.url, PLAN.initRuns);
        } finally {
          await server.stop();
        }
        console.log(`First database call of ${health.entry}: import ${firstQuery.importMs} ms, then its first invocation ${firstQuery.firstCallMs} ms (median of ${PLAN.initRuns})`);
      }
      results.bundles = { variants: { deployed: strip(deployed, 10), 'sdk-external': strip(external, 0) }, init, initRuns: PLAN.initRuns, firstQuery };
    } finally {
      await rm(root, { recursive: true, force: true });
      phaseSeconds.bundles = Math.round((performance.now() - bundlesStarted) / 100) / 10;
    }
  }

  results.durationSeconds = Math.round((performance.now() - began) / 100) / 10;
  results.phaseSeconds = phaseSeconds;
  console.log(formatReport(results) + formatSendCostPhases(results as SendCostResults));

  const outDir = path.resolve(values.out);
  await mkdir(outDir, { recursive: true });
  const json = `${JSON.stringify(results, null, 2)}\n`;
  const file = path.join(outDir, `${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
  await writeFile(file, json);
  await writeFile(path.join(outDir, 'latest.json'), json);
  console.log(`\nWrote ${path.relative(process.cwd(), file)} and ${path.relative(process.cwd(), path.join(outDir, 'latest.json'))}`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
