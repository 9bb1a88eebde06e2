/**
 * The client thread: clients of the local runtime built on the SDK (`@provider-customer-chat/client`,
 * one per connection, with `ws`; REST through its `chat.api`), driven by the main thread (see
 * tasks.ts). Everything it measures is timed here with performance.now().
 */
import { parentPort } from 'node:worker_threads';
import { createRestApi, type RestApi } from '../sdk/src/index.ts';
import { BenchClient, TimeoutError } from './sdk-client.ts';
import type { ConnectOutcome, HttpRequestsOutcome, PairSpec, RouteCall, SendOutcome, SyncWalkOutcome, TaskMap, TaskName, TaskRequest, TaskResponse } from './tasks.ts';

/** How long one message may take before it counts as an error. */
const MESSAGE_TIMEOUT_MS = 10_000;
const MAX_ERROR_SAMPLES = 5;

interface OpenPair {
  spec: PairSpec;
  customer: BenchClient[];
  provider: BenchClient[];
}

let pairs: OpenPair[] = [];
let sequence = 0;

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

class Tally {
  latencies: number[] = [];
  replyLatencies: number[] = [];
  completed = 0;
  errors = 0;
  errorSamples: string[] = [];
  first = Number.POSITIVE_INFINITY;
  last = 0;

  fail(error: unknown): void {
    this.errors++;
    if (this.errorSamples.length < MAX_ERROR_SAMPLES) this.errorSamples.push(describe(error));
  }

  outcome(): SendOutcome {
    return {
      latencies: this.latencies,
      replyLatencies: this.replyLatencies,
      completed: this.completed,
      errors: this.errors,
      errorSamples: this.errorSamples,
      durationMs: this.completed + this.errors === 0 ? 0 : this.last - this.first,
    };
  }
}

/**
 * One `send()` and what it must cause: the message reaching the receiver's app (timed) and the
 * sender's ack, plus, when `everyone` is set, the `chat-new-message` frame on every other
 * connection of both sides (the sender's own included).
 */
async function sendOverWebSocket(pair: OpenPair, from: 'customer' | 'provider', tag: string, everyone: boolean, tally: Tally): Promise<void> {
  const senders = pair[from];
  const receivers = pair[from === 'customer' ? 'provider' : 'customer'];
  const sender = senders[0]!;
  const receiver = receivers[0]!;
  const clientMessageId = `${tag}-${++sequence}`;
  const arrival = receiver.expectMessage(clientMessageId, MESSAGE_TIMEOUT_MS);
  const others = everyone ? [...senders, ...receivers].filter((client) => client !== receiver).map((client) => client.expectFrame(clientMessageId, MESSAGE_TIMEOUT_MS)) : [];
  const started = performance.now();
  tally.first = Math.min(tally.first, started);
  const ack = sender.send(pair.spec.conversationId, { content: `Benchmark message ${sequence} from the ${from}`, clientMessageId }, MESSAGE_TIMEOUT_MS);
  record(tally, started, await Promise.allSettled([arrival, ack, ...others]));
}

/**
 * Counts one send: a failure if any awaited arrival or answer failed, else the receiver's latency
 * (the first result) and the reply's (the second: the ack, or the HTTP answer).
 */
function record(tally: Tally, started: number, settled: PromiseSettledResult<number>[]): void {
  tally.last = Math.max(tally.last, performance.now());
  const failure = settled.find((result) => result.status === 'rejected');
  if (failure) {
    tally.fail(failure.reason);
    return;
  }
  tally.completed++;
  tally.latencies.push((settled[0] as PromiseFulfilledResult<number>).value - started);
  tally.replyLatencies.push((settled[1] as PromiseFulfilledResult<number>).value - started);
}

/** One `POST …/messages` by the customer (`chat.api.sendMessage`); completes when every connection of both sides got the message. */
async function sendOverHttp(pair: OpenPair, tag: string, tally: Tally): Promise<void> {
  const clientMessageId = `${tag}-${++sequence}`;
  const receiver = pair.provider[0]!;
  const arrival = receiver.expectMessage(clientMessageId, MESSAGE_TIMEOUT_MS);
  const others = [...pair.customer, ...pair.provider.slice(1)].map((client) => client.expectFrame(clientMessageId, MESSAGE_TIMEOUT_MS));
  const started = performance.now();
  tally.first = Math.min(tally.first, started);
  const response = pair.customer[0]!.api
    .sendMessage({ params: { conversationId: pair.spec.conversationId }, body: { content: `Benchmark message ${sequence} over HTTP`, clientMessageId } })
    .then(() => performance.now());
  record(tally, started, await Promise.allSettled([arrival, response, ...others]));
}

async function openPairs({ httpUrl, wsUrl, pairs: specs }: TaskMap['openPairs']['params']): Promise<TaskMap['openPairs']['result']> {
  const opened: OpenPair[] = specs.map((spec) => ({ spec, customer: [], provider: [] }));
  // Pairs a few at a time, but the connections of one pair one after another: a user's
  // `chat-user-online` goes to the other side's connections, and a post to a connection whose
  // own $connect is still running answers 410 (as in API Gateway), so setting up stays free of
  // that race and of its lost frames.
  let next = 0;
  let count = 0;
  const worker = async () => {
    while (next < opened.length) {
      const pair = opened[next++]!;
      for (const token of pair.spec.customer) pair.customer.push(await BenchClient.open({ httpUrl, wsUrl, token }));
      for (const token of pair.spec.provider) pair.provider.push(await BenchClient.open({ httpUrl, wsUrl, token }));
      count += pair.customer.length + pair.provider.length;
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  pairs.push(...opened);
  return { opened: count };
}

async function converse(params: TaskMap['converse']['params']): Promise<SendOutcome> {
  const chosen = params.conversationIds ? pairs.filter((pair) => params.conversationIds!.includes(pair.spec.conversationId)) : pairs;
  const warm = new Tally();
  await Promise.all(
    chosen.map(async (pair) => {
      for (let i = 0; i < params.warmup; i++) await sendOverWebSocket(pair, i % 2 === 0 ? 'customer' : 'provider', `${params.tag}-warm`, false, warm);
    }),
  );
  const tally = new Tally();
  const began = performance.now();
  const hardStop = began + params.timeLimitMs;
  const stopAt = params.durationMs === undefined ? hardStop : Math.min(hardStop, began + params.durationMs);
  await Promise.all(
    chosen.map(async (pair) => {
      for (let i = 0; params.perPair === undefined || i < params.perPair; i++) {
        if (performance.now() >= stopAt) break;
        await sendOverWebSocket(pair, i % 2 === 0 ? 'customer' : 'provider', params.tag, false, tally);
      }
    }),
  );
  const outcome = tally.outcome();
  // Warm-up failures are failures too.
  outcome.errors += warm.errors;
  outcome.errorSamples.push(...warm.errorSamples.slice(0, MAX_ERROR_SAMPLES - outcome.errorSamples.length));
  return outcome;
}

async function sequentialSends({ pairIndex, count, via, tag }: TaskMap['sequentialSends']['params']): Promise<SendOutcome> {
  const pair = pairs[pairIndex];
  if (!pair) throw new Error(`no open pair #${pairIndex}`);
  const tally = new Tally();
  for (let i = 0; i < count; i++) {
    if (via === 'ws') await sendOverWebSocket(pair, 'customer', tag, true, tally);
    else await sendOverHttp(pair, tag, tally);
  }
  return tally.outcome();
}

async function closeAll(): Promise<TaskMap['closeAll']['result']> {
  const clients = pairs.flatMap((pair) => [...pair.customer, ...pair.provider]);
  pairs = [];
  await Promise.all(clients.map((client) => client.close()));
  return { closed: clients.length };
}

let storm: BenchClient[] = [];

async function connectStorm({ httpUrl, wsUrl, tokens }: TaskMap['connectStorm']['params']): Promise<ConnectOutcome> {
  const handshakes: number[] = [];
  const errorSamples: string[] = [];
  let failed = 0;
  let lastOpen = 0;
  const began = performance.now();
  const sockets = await Promise.all(
    tokens.map(async (token) => {
      const started = performance.now();
      try {
        const client = await BenchClient.open({ httpUrl, wsUrl, token, connectTimeoutMs: 30_000 });
        lastOpen = performance.now();
        handshakes.push(lastOpen - started);
        return client;
      } catch (error) {
        failed++;
        if (errorSamples.length < MAX_ERROR_SAMPLES) errorSamples.push(describe(error));
        return undefined;
      }
    }),
  );
  storm = sockets.filter((client): client is BenchClient => client !== undefined);
  return { handshakes, opened: handshakes.length, failed, openAllMs: lastOpen - began, errorSamples };
}

async function closeStorm(): Promise<TaskMap['closeStorm']['result']> {
  const clients = storm;
  storm = [];
  const began = performance.now();
  await Promise.all(clients.map((client) => client.close()));
  return { closed: clients.length, closeAllMs: performance.now() - began };
}

/** The SDK's REST API for one token (one per token, kept: the apps keep theirs). */
const apis = new Map<string, RestApi>();
function apiFor(httpUrl: string, token: string): RestApi {
  const key = `${httpUrl} ${token}`;
  let api = apis.get(key);
  if (!api) apis.set(key, (api = createRestApi({ httpUrl, fetch: globalThis.fetch, token: async () => token })));
  return api;
}

/** Calls a route by name, its input as the spec gives it (the spec's types are the tasks', the SDK checks nothing at run time). */
function call(api: RestApi, spec: RouteCall): Promise<unknown> {
  const input = { params: spec.params, query: spec.query, body: spec.body };
  return (api[spec.route] as (input: unknown) => Promise<unknown>)(input);
}

/** Times each query's call, interleaved, after `warmup` rounds; `take` reads what a page returned (undefined: not a page). */
async function timeQueries<T>(api: RestApi, queries: TaskMap['history']['params']['queries'], warmup: number, rounds: number, take: (body: unknown) => T | undefined) {
  const samples: Record<string, number[]> = Object.fromEntries(queries.map((query) => [query.label, []]));
  const returned: Record<string, T> = {};
  let errors = 0;
  for (let round = 0; round < warmup + rounds; round++) {
    for (const query of queries) {
      const started = performance.now();
      const page = await call(api, query).then(take, () => undefined);
      const elapsed = performance.now() - started;
      if (page === undefined) {
        errors++;
        continue;
      }
      if (round >= warmup) samples[query.label]!.push(elapsed);
      returned[query.label] = page;
    }
  }
  return { samples, errors, returned };
}

async function history({ httpUrl, token, queries, warmup, rounds }: TaskMap['history']['params']): Promise<TaskMap['history']['result']> {
  return timeQueries(apiFor(httpUrl, token), queries, warmup, rounds, (body) => {
    // History answers messages; search answers results, each with its message.
    const answer = body as { messages?: { seq: number }[]; results?: { message: { seq: number } }[] };
    const messages = answer.messages ?? answer.results?.map((result) => result.message);
    return messages && { count: messages.length, firstSeq: messages[0]?.seq ?? 0, lastSeq: messages.at(-1)?.seq ?? 0 };
  });
}

async function httpRequests({ httpUrl, requests, keepBodies }: TaskMap['httpRequests']['params']): Promise<HttpRequestsOutcome> {
  const outcome: HttpRequestsOutcome = { latencies: [], completed: 0, errors: 0, errorSamples: [], ...(keepBodies ? { bodies: [] } : {}) };
  for (const request of requests) {
    const started = performance.now();
    try {
      const body = await call(apiFor(httpUrl, request.token), request);
      outcome.latencies.push(performance.now() - started);
      outcome.completed++;
      outcome.bodies?.push(body ?? null);
    } catch (error) {
      outcome.errors++;
      if (outcome.errorSamples.length < MAX_ERROR_SAMPLES) outcome.errorSamples.push(`${request.route}: ${describe(error)}`);
      outcome.bodies?.push(null);
    }
  }
  return outcome;
}

async function syncWalk({ httpUrl, token, since, limit, pages }: TaskMap['syncWalk']['params']): Promise<SyncWalkOutcome> {
  const api = apiFor(httpUrl, token);
  const cursors = [since];
  const seen = new Set<string>();
  const types: Record<string, number> = {};
  let changes = 0;
  let errors = 0;
  let hasMore = true;
  for (let page = 0; page < pages && hasMore; page++) {
    const body = await api.sync({ query: { since: cursors.at(-1)!, limit } }).catch(() => undefined);
    if (!body) {
      errors++;
      break;
    }
    for (const change of body.changes) {
      seen.add(change.cursor);
      types[change.type] = (types[change.type] ?? 0) + 1;
    }
    changes += body.changes.length;
    hasMore = body.hasMore;
    cursors.push(body.cursor);
  }
  return { cursors, changes, distinct: seen.size, types, hasMore, errors };
}

async function syncPages({ httpUrl, token, queries, warmup, rounds }: TaskMap['syncPages']['params']): Promise<TaskMap['syncPages']['result']> {
  return timeQueries(apiFor(httpUrl, token), queries, warmup, rounds, (body) => {
    const page = body as { changes?: { type: string }[]; hasMore?: boolean };
    return page.changes && { count: page.changes.length, hasMore: page.hasMore === true, types: [...new Set(page.changes.map((change) => change.type))] };
  });
}

/** Every task the main thread may ask for (client-thread.ts imports this type, so the type check covers this file). */
export type ClientTasks = typeof TASKS;

const TASKS: { [K in TaskName]: (params: TaskMap[K]['params']) => Promise<TaskMap[K]['result']> } = {
  openPairs,
  converse,
  sequentialSends,
  closeAll,
  connectStorm,
  closeStorm,
  history,
  httpRequests,
  syncWalk,
  syncPages,
};

if (!parentPort) throw new Error('bench/client-worker.ts runs as a worker thread');
const port = parentPort;
port.on('message', (request: TaskRequest) => {
  const run = TASKS[request.task] as (params: unknown) => Promise<unknown>;
  run(request.params).then(
    (result) => port.postMessage({ id: request.id, ok: true, result } satisfies TaskResponse),
    (error: unknown) => port.postMessage({ id: request.id, ok: false, error: error instanceof TimeoutError ? error.message : describe(error) } satisfies TaskResponse),
  );
});
