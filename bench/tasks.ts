import type { RouteName } from '../sdk/src/index.ts';

/**
 * What the main thread asks of the client thread, and what it answers. The clients run in a
 * worker thread of their own so that their sockets, timers and JSON parsing do not share an
 * event loop with the handlers they measure.
 */

/** One conversation and the connections of both sides (each token opens one WebSocket). */
export interface PairSpec {
  conversationId: string;
  customer: string[];
  provider: string[];
}

export interface SendOutcome {
  /** Send → the receiver's `chat-new-message`, per completed message (ms). */
  latencies: number[];
  /** Send → the sender's `chat-ack` (WebSocket) or the end of the HTTP answer, per completed message (ms). */
  replyLatencies: number[];
  /** Messages whose every expected frame arrived. */
  completed: number;
  /** `chat-error` answers, non-2xx HTTP answers, timeouts. */
  errors: number;
  /** The first few error descriptions. */
  errorSamples: string[];
  /** From the first send to the last completion (ms). */
  durationMs: number;
}

export interface ConnectOutcome {
  /** Per connection: the SDK's `connect()` → online, which for a connection with no rooms and no catch-up is `open` (ms). */
  handshakes: number[];
  opened: number;
  failed: number;
  /** From the first connect to the last `open` (ms). */
  openAllMs: number;
  /** The first few failures. */
  errorSamples: string[];
}

/** A call of one REST route through the SDK's `chat.api`: the route's name and its input. */
export interface RouteCall {
  route: RouteName;
  params?: Record<string, string | number>;
  query?: Record<string, string | number>;
  body?: unknown;
}

/** One HTTP request of the API, with the token it is made with; it succeeds when the SDK resolves (a 2xx answer). */
export interface HttpRequestSpec extends RouteCall {
  token: string;
}

export interface HttpRequestsOutcome {
  /** Request → the end of its answer, per successful request (ms). */
  latencies: number[];
  completed: number;
  errors: number;
  errorSamples: string[];
  /** The answers' JSON bodies, when asked for (in request order; null for a failed request). */
  bodies?: unknown[];
}

/** Where a walk through `GET /sync` got to. */
export interface SyncWalkOutcome {
  /** `cursors[k]` is the cursor to ask for page k + 1 with: [0] is `since` itself. */
  cursors: string[];
  /** Changes seen over all pages. */
  changes: number;
  /** Whether every change's cursor was seen once only. */
  distinct: number;
  types: Record<string, number>;
  /** `hasMore` of the last page. */
  hasMore: boolean;
  errors: number;
}

export interface HistoryQuerySpec extends RouteCall {
  label: string;
}

export interface TaskMap {
  /** Opens every connection of every pair; answers the pairs' indexes. */
  openPairs: { params: { httpUrl: string; wsUrl: string; pairs: PairSpec[] }; result: { opened: number } };
  /**
   * Each pair runs a closed loop (one message in flight): the sides take turns to send over
   * WebSocket, and a message completes when the other side's first connection got it and the
   * sender got its `chat-ack`. `warmup` messages per pair first, not recorded.
   */
  converse: {
    params: { conversationIds?: string[]; warmup: number; perPair?: number; durationMs?: number; timeLimitMs: number; tag: string };
    result: SendOutcome;
  };
  /**
   * `count` sends, one at a time, from the customer's first connection (`via: 'ws'`, the SDK's
   * `send()`) or by `POST …/messages` with its token (`via: 'http'`, `chat.api.sendMessage`); each completes when every connection of
   * both sides got `chat-new-message` (and, over WebSocket, the sender its `chat-ack`).
   */
  sequentialSends: {
    params: { httpUrl: string; pairIndex: number; count: number; via: 'ws' | 'http'; tag: string };
    result: SendOutcome;
  };
  closeAll: { params: Record<string, never>; result: { closed: number } };
  /** Opens one socket per token, all at once, and keeps them open. */
  connectStorm: { params: { httpUrl: string; wsUrl: string; tokens: string[] }; result: ConnectOutcome };
  /** Closes the sockets of the storm, all at once: from the first close to the last `close` event (ms). */
  closeStorm: { params: Record<string, never>; result: { closed: number; closeAllMs: number } };
  /** Times GETs of each query (history pages or search results), interleaved, after `warmup` rounds. */
  history: {
    params: { httpUrl: string; token: string; queries: HistoryQuerySpec[]; warmup: number; rounds: number };
    result: { samples: Record<string, number[]>; errors: number; returned: Record<string, { count: number; firstSeq: number; lastSeq: number }> };
  };
  /** Makes the requests one after another; with `keepBodies`, answers their JSON bodies too. */
  httpRequests: { params: { httpUrl: string; requests: HttpRequestSpec[]; keepBodies?: boolean }; result: HttpRequestsOutcome };
  /** Follows `GET /sync` from `since`, `pages` pages of `limit` (or until `hasMore` is false). */
  syncWalk: { params: { httpUrl: string; token: string; since: string; limit: number; pages: number }; result: SyncWalkOutcome };
  /** Times `GET /sync` pages, the queries interleaved, after `warmup` rounds. */
  syncPages: {
    params: { httpUrl: string; token: string; queries: HistoryQuerySpec[]; warmup: number; rounds: number };
    result: { samples: Record<string, number[]>; errors: number; returned: Record<string, { count: number; hasMore: boolean; types: string[] }> };
  };
}

export type TaskName = keyof TaskMap;

export interface TaskRequest<K extends TaskName = TaskName> {
  id: number;
  task: K;
  params: TaskMap[K]['params'];
}

export type TaskResponse =
  | { id: number; ok: true; result: unknown }
  | { id: number; ok: false; error: string };
