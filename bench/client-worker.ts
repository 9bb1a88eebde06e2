/**
 * The client thread: real `ws` and `fetch` clients of the local runtime, driven by the main
 * thread (see tasks.ts). Everything it measures is timed here with performance.now().
 */
import { parentPort } from 'node:worker_threads';
import { ChatSocket, TimeoutError, type Arrival } from './chat-socket.ts';
import type { ConnectOutcome, HttpRequestsOutcome, PairSpec, SendOutcome, SyncWalkOutcome, TaskMap, TaskName, TaskRequest, TaskResponse } from './tasks.ts';

const API = '/api/provider-customer-chat';
/** How long one message may take before it counts as an error. */
const MESSAGE_TIMEOUT_MS = 10_000;
const MAX_ERROR_SAMPLES = 5;

interface OpenPair {
  spec: PairSpec;
  customer: ChatSocket[];
  provider: ChatSocket[];
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

/** A `chat-error` answer to a request, as an error. */
function replyOk(arrival: Arrival): Arrival {
  if (arrival.frame.event === 'chat-error') {
    const data = arrival.frame.data as { code?: string; message?: string } | undefined;
    throw new Error(`chat-error ${data?.code}: ${data?.message}`);
  }
  return arrival;
}

/**
 * One WebSocket send and what it must cause: the receiver's copy (timed) and the sender's ack,
 * plus, when `everyone` is set, the copy on every other connection of both sides.
 */
async function sendOverWebSocket(pair: OpenPair, from: 'customer' | 'provider', tag: string, everyone: boolean, tally: Tally): Promise<void> {
  const senders = pair[from];
  const receivers = pair[from === 'customer' ? 'provider' : 'customer'];
  const sender = senders[0] as ChatSocket;
  const receiver = receivers[0] as ChatSocket;
  const clientMessageId = `${tag}-${++sequence}`;
  const key = `message:${clientMessageId}`;
  const arrival = receiver.expect(key, MESSAGE_TIMEOUT_MS);
  const ack = sender.expect(`reply:${clientMessageId}`, MESSAGE_TIMEOUT_MS).then(replyOk);
  const others = everyone ? [...senders, ...receivers].filter((socket) => socket !== receiver).map((socket) => socket.expect(key, MESSAGE_TIMEOUT_MS)) : [];
  const started = performance.now();
  tally.first = Math.min(tally.first, started);
  sender.send('sendMessage', { conversationId: pair.spec.conversationId, content: `Benchmark message ${sequence} from the ${from}`, clientMessageId }, clientMessageId);
  record(tally, started, await Promise.allSettled([arrival, ack, ...others]));
}

/**
 * Counts one send: a failure if any awaited frame or answer failed, else the receiver's latency
 * (the first result) and the reply's (the second: the ack, or the HTTP answer).
 */
function record(tally: Tally, started: number, settled: PromiseSettledResult<unknown>[]): void {
  tally.last = Math.max(tally.last, performance.now());
  const failure = settled.find((result) => result.status === 'rejected');
  if (failure) {
    tally.fail(failure.reason);
    return;
  }
  tally.completed++;
  tally.latencies.push((settled[0] as PromiseFulfilledResult<Arrival>).value.at - started);
  tally.replyLatencies.push((settled[1] as PromiseFulfilledResult<{ at: number }>).value.at - started);
}

/** One `POST …/messages` by the customer; completes when every connection of both sides got the message. */
async function sendOverHttp(httpUrl: string, pair: OpenPair, tag: string, tally: Tally): Promise<void> {
  const clientMessageId = `${tag}-${++sequence}`;
  const key = `message:${clientMessageId}`;
  const receiver = pair.provider[0] as ChatSocket;
  const arrival = receiver.expect(key, MESSAGE_TIMEOUT_MS);
  const others = [...pair.customer, ...pair.provider.slice(1)].map((socket) => socket.expect(key, MESSAGE_TIMEOUT_MS));
  const started = performance.now();
  tally.first = Math.min(tally.first, started);
  const response = fetch(`${httpUrl}${API}/conversations/${pair.spec.conversationId}/messages`, {
    method: 'POST',
    headers: { authorization: `Bearer ${pair.spec.customer[0]}`, 'content-type': 'application/json' },
    body: JSON.stringify({ content: `Benchmark message ${sequence} over HTTP`, clientMessageId }),
  }).then(async (answer) => {
    const text = await answer.text();
    const at = performance.now();
    if (answer.status !== 201) throw new Error(`HTTP ${answer.status}: ${text.slice(0, 200)}`);
    return { at };
  });
  record(tally, started, await Promise.allSettled([arrival, response, ...others]));
}

async function openPairs({ wsUrl, pairs: specs }: TaskMap['openPairs']['params']): Promise<TaskMap['openPairs']['result']> {
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
      for (const token of pair.spec.customer) pair.customer.push(await ChatSocket.open(wsUrl, token));
      for (const token of pair.spec.provider) pair.provider.push(await ChatSocket.open(wsUrl, token));
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

async function sequentialSends({ httpUrl, pairIndex, count, via, tag }: TaskMap['sequentialSends']['params']): Promise<SendOutcome> {
  const pair = pairs[pairIndex];
  if (!pair) throw new Error(`no open pair #${pairIndex}`);
  const tally = new Tally();
  for (let i = 0; i < count; i++) {
    if (via === 'ws') await sendOverWebSocket(pair, 'customer', tag, true, tally);
    else await sendOverHttp(httpUrl, pair, tag, tally);
  }
  return tally.outcome();
}

async function closeAll(): Promise<TaskMap['closeAll']['result']> {
  const sockets = pairs.flatMap((pair) => [...pair.customer, ...pair.provider]);
  pairs = [];
  await Promise.all(sockets.map((socket) => socket.close()));
  return { closed: sockets.length };
}

let storm: ChatSocket[] = [];

async function connectStorm({ wsUrl, tokens }: TaskMap['connectStorm']['params']): Promise<ConnectOutcome> {
  const handshakes: number[] = [];
  const errorSamples: string[] = [];
  let failed = 0;
  let lastOpen = 0;
  const began = performance.now();
  const sockets = await Promise.all(
    tokens.map(async (token) => {
      const started = performance.now();
      try {
        const socket = await ChatSocket.open(wsUrl, token, 30_000);
        lastOpen = performance.now();
        handshakes.push(lastOpen - started);
        return socket;
      } catch (error) {
        failed++;
        if (errorSamples.length < MAX_ERROR_SAMPLES) errorSamples.push(describe(error));
        return undefined;
      }
    }),
  );
  storm = sockets.filter((socket): socket is ChatSocket => socket !== undefined);
  return { handshakes, opened: handshakes.length, failed, openAllMs: lastOpen - began, errorSamples };
}

async function closeStorm(): Promise<TaskMap['closeStorm']['result']> {
  const sockets = storm;
  storm = [];
  const began = performance.now();
  await Promise.all(sockets.map((socket) => socket.close()));
  return { closed: sockets.length, closeAllMs: performance.now() - began };
}

async function history({ httpUrl, token, queries, warmup, rounds }: TaskMap['history']['params']): Promise<TaskMap['history']['result']> {
  const samples: Record<string, number[]> = Object.fromEntries(queries.map((query) => [query.label, []]));
  const returned: TaskMap['history']['result']['returned'] = {};
  let errors = 0;
  for (let round = 0; round < warmup + rounds; round++) {
    for (const query of queries) {
      const started = performance.now();
      const response = await fetch(`${httpUrl}${query.path}`, { headers: { authorization: `Bearer ${token}` } });
      const body = (await response.json()) as { messages?: { seq: number }[]; results?: { message: { seq: number } }[] };
      const elapsed = performance.now() - started;
      // History answers messages; search answers results, each with its message.
      const messages = body.messages ?? body.results?.map((result) => result.message);
      if (response.status !== 200 || !messages) {
        errors++;
        continue;
      }
      if (round >= warmup) samples[query.label]!.push(elapsed);
      returned[query.label] = { count: messages.length, firstSeq: messages[0]?.seq ?? 0, lastSeq: messages.at(-1)?.seq ?? 0 };
    }
  }
  return { samples, errors, returned };
}

async function httpRequests({ httpUrl, requests, keepBodies }: TaskMap['httpRequests']['params']): Promise<HttpRequestsOutcome> {
  const outcome: HttpRequestsOutcome = { latencies: [], completed: 0, errors: 0, errorSamples: [], ...(keepBodies ? { bodies: [] } : {}) };
  for (const request of requests) {
    const started = performance.now();
    try {
      const response = await fetch(`${httpUrl}${request.path}`, {
        method: request.method,
        headers: { authorization: `Bearer ${request.token}`, ...(request.body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(request.body === undefined ? {} : { body: JSON.stringify(request.body) }),
      });
      const text = await response.text();
      const elapsed = performance.now() - started;
      if (response.status !== request.expect) throw new Error(`${request.method} ${request.path.split('?')[0]}: HTTP ${response.status}: ${text.slice(0, 200)}`);
      outcome.completed++;
      outcome.latencies.push(elapsed);
      outcome.bodies?.push(text ? JSON.parse(text) : null);
    } catch (error) {
      outcome.errors++;
      if (outcome.errorSamples.length < MAX_ERROR_SAMPLES) outcome.errorSamples.push(describe(error));
      outcome.bodies?.push(null);
    }
  }
  return outcome;
}

interface SyncAnswer {
  changes?: { cursor: string; type: string }[];
  cursor?: string;
  hasMore?: boolean;
}

async function getSync(httpUrl: string, token: string, since: string, limit: number): Promise<{ status: number; body: SyncAnswer; elapsed: number }> {
  const started = performance.now();
  const response = await fetch(`${httpUrl}${API}/sync?since=${encodeURIComponent(since)}&limit=${limit}`, { headers: { authorization: `Bearer ${token}` } });
  const body = (await response.json()) as SyncAnswer;
  return { status: response.status, body, elapsed: performance.now() - started };
}

async function syncWalk({ httpUrl, token, since, limit, pages }: TaskMap['syncWalk']['params']): Promise<SyncWalkOutcome> {
  const cursors = [since];
  const seen = new Set<string>();
  const types: Record<string, number> = {};
  let changes = 0;
  let errors = 0;
  let hasMore = true;
  for (let page = 0; page < pages && hasMore; page++) {
    const { status, body } = await getSync(httpUrl, token, cursors.at(-1)!, limit);
    if (status !== 200 || !body.changes || !body.cursor) {
      errors++;
      break;
    }
    for (const change of body.changes) {
      seen.add(change.cursor);
      types[change.type] = (types[change.type] ?? 0) + 1;
    }
    changes += body.changes.length;
    hasMore = body.hasMore === true;
    cursors.push(body.cursor);
  }
  return { cursors, changes, distinct: seen.size, types, hasMore, errors };
}

async function syncPages({ httpUrl, token, queries, warmup, rounds }: TaskMap['syncPages']['params']): Promise<TaskMap['syncPages']['result']> {
  const samples: Record<string, number[]> = Object.fromEntries(queries.map((query) => [query.label, []]));
  const returned: TaskMap['syncPages']['result']['returned'] = {};
  let errors = 0;
  for (let round = 0; round < warmup + rounds; round++) {
    for (const query of queries) {
      const started = performance.now();
      const response = await fetch(`${httpUrl}${query.path}`, { headers: { authorization: `Bearer ${token}` } });
      const body = (await response.json()) as SyncAnswer;
      const elapsed = performance.now() - started;
      if (response.status !== 200 || !body.changes) {
        errors++;
        continue;
      }
      if (round >= warmup) samples[query.label]!.push(elapsed);
      returned[query.label] = { count: body.changes.length, hasMore: body.hasMore === true, types: [...new Set(body.changes.map((change) => change.type))] };
    }
  }
  return { samples, errors, returned };
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
