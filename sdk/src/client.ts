/**
 * The chat client: one WebSocket kept open (reconnecting with backoff, a fresh token each time),
 * the rooms the app joined re-joined after every reconnect, the missed changes caught up through
 * `GET /sync` and emitted as the same events live frames produce, live frames checked for gaps by
 * `seq` and de-duplicated by id, and an outbox that sends every message exactly once.
 */
import { uploadAttachment, type BlobLike, type FormDataConstructor, type UploadOptions } from './attachments.ts';
import { backoffDelay, type BackoffOptions } from './backoff.ts';
import { Emitter } from './emitter.ts';
import { ChatError, isPermanent } from './errors.ts';
import { Outbox, type OutgoingMessage, type SendInput } from './outbox.ts';
import type { AckData, ActionInput, Attachment, Change, Conversation, EventData, Message, Presence, Reaction, RouteKey, ServerFrame } from './protocol.ts';
import { createRestApi, type FetchLike, type RestApi } from './rest.ts';
import { randomId, systemClock, tokenExpiry, type Clock, type TimerId } from './runtime.ts';
import { memoryStorage, type KeyValueStorage } from './storage.ts';
import { TypingIndicator, type TypingOptions } from './typing.ts';

/** What the client needs of a WebSocket: the platform's own (browsers, React Native, Node 22) and `ws` fit. */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: never) => void) | null;
  onmessage: ((event: never) => void) | null;
  onclose: ((event: never) => void) | null;
  onerror: ((event: never) => void) | null;
}
export type WebSocketConstructor = new (url: string) => WebSocketLike;

export interface ChatClientOptions {
  /** The HTTP API's origin, e.g. `https://chat.example.com` (locally `http://127.0.0.1:3000`). */
  httpUrl: string;
  /** The WebSocket URL (locally `ws://127.0.0.1:3001`). */
  wsUrl: string;
  /** A valid token for the user: called on every (re)connect and before the current one expires. */
  getToken: () => string | Promise<string>;
  /** The WebSocket implementation (default: the global WebSocket). */
  WebSocket?: WebSocketConstructor;
  /** The fetch implementation (default: the global fetch); it also posts attachment uploads (a FormData body). */
  fetch?: FetchLike;
  /** The FormData implementation for attachment uploads (default: the global FormData). */
  FormData?: FormDataConstructor;
  /** Where the sync cursor and the outbox are kept (default: in memory). */
  storage?: KeyValueStorage;
  /** Prefix of the storage keys; use one per signed-in user (default `chat`). */
  storageKey?: string;
  /** Catch up through `GET /sync` after every (re)connect (default true; admins and services have no feed and skip it by themselves). */
  sync?: boolean;
  /**
   * Reconnect after the connection closed or failed to open (default true). With false, the
   * first close ends it: the state becomes `closed` (with the close `code`) and a `connect()`
   * still waiting rejects; no planned reconnect either (before the token expires or the 2-hour
   * cap). For tools and tests that watch one connection's life.
   */
  reconnect?: boolean;
  backoff?: BackoffOptions;
  /** A `ping` this often keeps the connection inside the 10-minute idle timeout (default 5 minutes). */
  pingIntervalMs?: number;
  /** How long an answer (a pong, an ack) may take before the connection is taken for dead (default 15 s). */
  requestTimeoutMs?: number;
  /** How long a connection may take to open (default 15 s). */
  connectTimeoutMs?: number;
  /** Reconnect proactively after this long, before API Gateway's 2-hour cap (default 1 h 55 min). */
  maxConnectionMs?: number;
  /** Reconnect with a fresh token this long before the current one expires (default 60 s, at most a fifth of its lifetime). */
  tokenRefreshMarginMs?: number;
  clock?: Clock;
}

export type ConnectionState =
  /** Not started, or stopped by `close()`. */
  | 'idle'
  | 'connecting'
  /** Open: re-joining rooms and catching up. */
  | 'syncing'
  /** Open and caught up. */
  | 'online'
  /** Closed; the next attempt is in `retryInMs`. */
  | 'waiting'
  /** Closed for good: `close()`, this connection was closed for the user's connection cap, or it closed with `reconnect: false`. */
  | 'closed';

export interface StateChange {
  state: ConnectionState;
  previous: ConnectionState;
  /** Failed attempts since the last time online. */
  attempt: number;
  retryInMs?: number;
  /** Why the connection closed or failed, when it did. */
  reason?: string;
  /** The WebSocket close code, when the server or the network closed the connection. */
  code?: number;
  /** The close frame's reason text, when it had one. */
  closeReason?: string;
}

/** Where an event came from: a live frame, the catch-up after a reconnect, a gap fill, or a send's own ack. */
export type Source = 'live' | 'sync' | 'gap' | 'ack';

export interface ChatEvents {
  state: StateChange;
  message: { message: Message; source: Source };
  messageUpdated: { message: Message; source: Source };
  messageDeleted: { conversationId: string; messageId: string; seq: number; deletedAt: string; source: Source };
  reactions: { conversationId: string; messageId: string; reactions: Reaction[]; emoji?: string; userId?: number; added?: boolean; source: Source };
  status: { conversationId: string; messageId: string; status: 'DELIVERED' | 'READ'; upToSeq?: number; source: Source };
  conversation: { conversation: Conversation; source: Source };
  read: { conversationId: string; side: 'customer' | 'provider'; lastReadSeq: number; source: Source };
  archived: { conversationId: string; archived: boolean; source: Source };
  attachment: { attachment: Attachment; source: Source };
  typing: EventData<'chat-user-typing'>;
  presence: Presence & { online: boolean };
  /** A seq gap in a live frame: the missing messages are fetched and emitted before it. */
  gap: { conversationId: string; fromSeq: number; toSeq: number };
  /** An outgoing message changed state (pending, sent or failed). */
  outbox: OutgoingMessage;
  /** The sync cursor expired (away longer than the retention): reload local state from the REST routes. */
  reset: { reason: string };
  /** Every server frame, as received. */
  frame: ServerFrame;
  /** A failure not tied to a call of the app's: a room not re-joined, a sync that failed, a `chat-error` without requestId. */
  error: ChatError;
}

interface CloseInfo {
  code?: number;
  reason?: string;
}

interface Pending {
  resolve(data: unknown): void;
  reject(error: ChatError): void;
  timer: TimerId;
}

const CLOSED_BY_APP = 'closed by the app';
const STATUS_RANK: Record<string, number> = { SENT: 0, DELIVERED: 1, READ: 2 };
const SEEN_LIMIT = 10_000;

export class ChatClient extends Emitter<ChatEvents> {
  /** Every REST route, typed. */
  readonly api: RestApi;
  /** Outgoing messages not yet acknowledged (pending) or refused (failed). */
  readonly outbox: Outbox;

  private readonly options: Required<Omit<ChatClientOptions, 'fetch' | 'FormData' | 'WebSocket' | 'storage' | 'backoff' | 'clock'>> & { backoff: BackoffOptions };
  private readonly WS: WebSocketConstructor;
  private readonly fetchImpl: FetchLike;
  private readonly FormDataImpl: FormDataConstructor | undefined;
  private readonly storage: KeyValueStorage;
  private readonly clock: Clock;

  private currentState: ConnectionState = 'idle';
  private socket: WebSocketLike | undefined;
  private generation = 0;
  private attempt = 0;
  private started = false;
  private token: string | undefined;
  private tokenExp: number | undefined;
  private timers: TimerId[] = [];
  private reconnectTimer: TimerId | undefined;
  private evicted = false;
  private syncDisabled = false;
  private readonly pending = new Map<string, Pending>();
  private readonly rooms = new Set<string>();
  private readonly openWaiters = new Set<() => void>();
  private requestCounter = 0;
  private chain: Promise<void> = Promise.resolve();

  private readonly seen = new Map<string, number>();
  private readonly lastSeq = new Map<string, number>();
  private readonly versions = new Map<string, string>();

  constructor(options: ChatClientOptions) {
    super();
    const WS = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    const fetchImpl = options.fetch ?? (globalThis as { fetch?: FetchLike }).fetch?.bind(globalThis);
    if (!WS) throw new TypeError('No WebSocket implementation: pass options.WebSocket');
    if (!fetchImpl) throw new TypeError('No fetch implementation: pass options.fetch');
    this.WS = WS;
    this.fetchImpl = fetchImpl;
    this.FormDataImpl = options.FormData;
    this.storage = options.storage ?? memoryStorage();
    this.clock = options.clock ?? systemClock;
    this.options = {
      httpUrl: options.httpUrl,
      wsUrl: options.wsUrl,
      getToken: options.getToken,
      storageKey: options.storageKey ?? 'chat',
      sync: options.sync ?? true,
      reconnect: options.reconnect ?? true,
      backoff: options.backoff ?? {},
      pingIntervalMs: options.pingIntervalMs ?? 5 * 60_000,
      requestTimeoutMs: options.requestTimeoutMs ?? 15_000,
      connectTimeoutMs: options.connectTimeoutMs ?? 15_000,
      maxConnectionMs: options.maxConnectionMs ?? 115 * 60_000,
      tokenRefreshMarginMs: options.tokenRefreshMarginMs ?? 60_000,
    };
    this.api = createRestApi({ httpUrl: options.httpUrl, fetch: fetchImpl, token: (fresh) => this.restToken(fresh) });
    this.outbox = new Outbox({
      storage: this.storage,
      key: `${this.options.storageKey}:outbox`,
      send: (entry) => this.request('sendMessage', { ...entry.input, conversationId: entry.conversationId, clientMessageId: entry.clientMessageId }, { wait: false }),
      isOpen: () => this.socket?.readyState === 1,
      clock: this.clock,
      backoff: this.options.backoff,
      onChange: (entry) => this.emit('outbox', entry),
      onSent: (message) => this.serial(() => this.deliverMessage(message, 'ack')),
      onStuck: () => this.dropConnection('no answer to a send'),
    });
  }

  /** The connection's state now (the `state` event tells each change). */
  get state(): ConnectionState {
    return this.currentState;
  }

  /**
   * Starts connecting (and keeps the connection up until `close()`); resolves once online the
   * first time. Rejects (CLOSED, with the reason) if the connection ends before that for a reason
   * other than `close()`: the connection cap, or a close with `reconnect: false`.
   */
  connect(): Promise<void> {
    if (!this.started) {
      this.started = true;
      this.evicted = false;
      void this.open();
    }
    return new Promise((resolve, reject) => this.untilOnline(resolve, reject));
  }

  /**
   * Stops: closes the connection and reconnects no more. The outbox stays in storage. Resolves
   * once the socket has closed (at once when there was none).
   */
  close(): Promise<void> {
    this.started = false;
    this.generation++;
    this.clearTimers();
    if (this.reconnectTimer !== undefined) this.clock.clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    const socket = this.socket;
    this.socket = undefined;
    const closed =
      socket && socket.readyState !== 3
        ? new Promise<void>((resolve) => {
            socket.onclose = (() => resolve()) as WebSocketLike['onclose'];
          })
        : Promise.resolve();
    try {
      socket?.close(1000, 'closed by the app');
    } catch {
      // Already closing.
    }
    this.failPending(new ChatError('CLOSED', 'The client was closed'));
    this.setState('closed', CLOSED_BY_APP);
    return closed;
  }

  /** Reconnects now (e.g. when the app returns to the foreground or the network is back): no backoff wait. */
  reconnectNow(): void {
    if (!this.started) return;
    this.attempt = 0;
    if (this.reconnectTimer !== undefined) {
      this.clock.clearTimeout(this.reconnectTimer);
      this.reconnectTimer = undefined;
      void this.open();
    } else if (this.socket?.readyState === 1) {
      void this.serial(() => this.runSync());
    } else if (this.socket) {
      // Still trying a connection that may never open (the network was down): start afresh.
      this.dropConnection('reconnect now', true);
    }
  }

  // ─── Rooms, sends, actions ─────────────────────────────────────────────────────────────

  /** Joins a conversation's room (typing, and for admins every live frame); re-joined after every reconnect. */
  async join(conversationId: string): Promise<AckData<'joinConversation'>> {
    this.rooms.add(conversationId);
    return this.request('joinConversation', { conversationId });
  }

  async leave(conversationId: string): Promise<AckData<'leaveConversation'> | undefined> {
    this.rooms.delete(conversationId);
    if (this.socket?.readyState !== 1) return undefined;
    return this.request('leaveConversation', { conversationId });
  }

  /**
   * Sends a message: answers at once with the outgoing message (its `clientMessageId`, state
   * `pending`), and sends it (again, with the same id, across reconnects) until the server
   * acknowledges it; `sent` then resolves with the stored message. A permanent refusal marks it
   * `failed` (`retry()` sends it again).
   */
  send(conversationId: string, input: SendInput): OutgoingMessage {
    return this.outbox.add(conversationId, input);
  }

  /**
   * Uploads a file as an attachment of the conversation: the upload intent, then the file straight
   * to storage through its presigned POST (every field of `upload.fields`, then `file`). Resolves
   * with the attachment, PENDING until processed (the `attachment` event tells READY or
   * REJECTED); a refused intent rejects with the API's error, a refused upload with UPLOAD_REFUSED.
   */
  uploadAttachment(conversationId: string, file: BlobLike, options: UploadOptions): Promise<Attachment> {
    const deps = { api: this.api, fetch: this.fetchImpl, ...(this.FormDataImpl ? { FormData: this.FormDataImpl } : {}) };
    return uploadAttachment(deps, conversationId, file, options);
  }

  /**
   * Sends a WebSocket action and resolves with its ack (rejects with the `chat-error`); waits for
   * the connection when it is not open. `requestId` is the frame's (default: made up; one of the
   * app's own ties the frame to its logs).
   */
  request<K extends RouteKey>(action: K, data: ActionInput<K>, options: { wait?: boolean; timeoutMs?: number; requestId?: string } = {}): Promise<AckData<K>> {
    const timeoutMs = options.timeoutMs ?? this.options.requestTimeoutMs;
    const sendNow = () =>
      new Promise<AckData<K>>((resolve, reject) => {
        const socket = this.socket;
        if (!socket || socket.readyState !== 1) return reject(new ChatError('DISCONNECTED', 'Not connected'));
        const requestId = options.requestId ?? `r${++this.requestCounter}-${randomId().slice(0, 8)}`;
        const timer = this.clock.setTimeout(() => {
          this.pending.delete(requestId);
          reject(new ChatError('TIMEOUT', `No answer to ${action} in ${timeoutMs} ms`));
        }, timeoutMs);
        this.pending.set(requestId, { resolve: resolve as (data: unknown) => void, reject, timer });
        try {
          socket.send(JSON.stringify({ action, data, requestId }));
        } catch (error) {
          this.clock.clearTimeout(timer);
          this.pending.delete(requestId);
          reject(new ChatError('DISCONNECTED', (error as Error)?.message ?? 'send failed'));
        }
      });
    if (this.socket?.readyState === 1 || options.wait === false) return sendNow();
    return this.whenOpen(timeoutMs).then(sendNow);
  }

  markRead(conversationId: string): Promise<AckData<'markRead'>> {
    return this.request('markRead', { conversationId });
  }

  updateMessageStatus(messageId: string, status: 'DELIVERED' | 'READ'): Promise<AckData<'updateMessageStatus'>> {
    return this.request('updateMessageStatus', { messageId, status });
  }

  editMessage(conversationId: string, messageId: string, content: string): Promise<AckData<'editMessage'>> {
    return this.request('editMessage', { conversationId, messageId, content });
  }

  deleteMessage(conversationId: string, messageId: string): Promise<AckData<'deleteMessage'>> {
    return this.request('deleteMessage', { conversationId, messageId });
  }

  react(conversationId: string, messageId: string, emoji: string, added = true): Promise<AckData<'react'>> {
    return this.request('react', { conversationId, messageId, emoji, added });
  }

  /** A typing indicator for an input box: call `input()` on each keystroke; it sends start once and stop after a pause (1 s). */
  typing(conversationId: string, options: TypingOptions = {}): TypingIndicator {
    return new TypingIndicator((isTyping) => this.request('typing', { conversationId, isTyping }, { wait: false }), this.clock, options);
  }

  /**
   * Marks messages the app loaded itself (history) as seen: they are not emitted again, and their
   * seqs are where gap detection starts.
   */
  markSeen(messages: readonly Message[]): void {
    for (const message of messages) this.remember(message);
  }

  /** Runs a catch-up through `GET /sync` now (also done after every reconnect). */
  catchUp(): Promise<void> {
    return this.serial(() => this.runSync());
  }

  // ─── Connection ────────────────────────────────────────────────────────────────────────

  private setState(state: ConnectionState, reason?: string, retryInMs?: number, close?: CloseInfo): void {
    const previous = this.currentState;
    if (previous === state && retryInMs === undefined) return;
    this.currentState = state;
    const change: StateChange = { state, previous, attempt: this.attempt };
    if (reason !== undefined) change.reason = reason;
    if (retryInMs !== undefined) change.retryInMs = retryInMs;
    if (close?.code !== undefined) change.code = close.code;
    if (close?.reason) change.closeReason = close.reason;
    this.emit('state', change);
  }

  private untilOnline(resolve: () => void, reject: (error: ChatError) => void): void {
    if (this.currentState === 'online') return resolve();
    const off = this.on('state', ({ state, reason }) => {
      if (state === 'online') {
        off();
        resolve();
      } else if (state === 'closed' && reason !== CLOSED_BY_APP) {
        off();
        reject(new ChatError('CLOSED', reason ?? 'closed'));
      }
    });
  }

  private whenOpen(timeoutMs: number): Promise<void> {
    if (this.socket?.readyState === 1) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const done = () => {
        this.clock.clearTimeout(timer);
        this.openWaiters.delete(done);
        resolve();
      };
      const timer = this.clock.setTimeout(() => {
        this.openWaiters.delete(done);
        reject(new ChatError('DISCONNECTED', `Not connected within ${timeoutMs} ms`));
      }, timeoutMs);
      this.openWaiters.add(done);
    });
  }

  private async freshToken(): Promise<string> {
    const token = await this.options.getToken();
    this.token = token;
    this.tokenExp = tokenExpiry(token);
    return token;
  }

  private async restToken(fresh: boolean): Promise<string> {
    const margin = 5_000;
    if (!fresh && this.token !== undefined && (this.tokenExp === undefined || this.tokenExp - margin > this.clock.now())) return this.token;
    return this.freshToken();
  }

  private async open(): Promise<void> {
    const generation = ++this.generation;
    this.reconnectTimer = undefined;
    this.setState('connecting');
    let token: string;
    try {
      token = await this.freshToken();
      await this.outbox.load();
      if (this.options.sync && !this.syncDisabled && (await this.storage.getItem(this.cursorKey)) === null) await this.startCursor();
    } catch (error) {
      if (generation === this.generation) this.retry(error instanceof Error ? error.message : String(error));
      return;
    }
    if (generation !== this.generation || !this.started) return;
    const url = `${this.options.wsUrl}${this.options.wsUrl.includes('?') ? '&' : '?'}token=${encodeURIComponent(token)}`;
    let socket: WebSocketLike;
    try {
      socket = new this.WS(url);
    } catch (error) {
      this.retry((error as Error)?.message ?? 'WebSocket failed');
      return;
    }
    this.socket = socket;
    const connectTimer = this.clock.setTimeout(() => {
      if (this.socket === socket && socket.readyState !== 1) this.dropConnection('connect timeout');
    }, this.options.connectTimeoutMs);
    this.timers.push(connectTimer);
    socket.onopen = (() => {
      if (this.socket === socket) void this.opened(socket, generation);
    }) as WebSocketLike['onopen'];
    socket.onmessage = ((event: { data: unknown }) => {
      if (this.socket === socket) this.received(event.data);
    }) as WebSocketLike['onmessage'];
    socket.onclose = ((event: { code?: number; reason?: string }) => {
      if (this.socket === socket) this.closed(`closed (${event.code ?? 'no code'}${event.reason ? `: ${event.reason}` : ''})`, event);
    }) as WebSocketLike['onclose'];
    socket.onerror = (() => {
      // A close event follows.
    }) as WebSocketLike['onerror'];
  }

  private async opened(socket: WebSocketLike, generation: number): Promise<void> {
    this.clearTimers();
    this.setState('syncing');
    const { pingIntervalMs, maxConnectionMs, tokenRefreshMarginMs } = this.options;
    const ping = () => {
      this.timers.push(
        this.clock.setTimeout(() => {
          if (this.socket !== socket) return;
          this.request('ping', {}, { wait: false }).then(ping, () => this.dropConnection('no pong'));
        }, pingIntervalMs),
      );
    };
    ping();
    // Planned reconnects; without reconnecting, the connection lives as long as the server keeps it.
    if (this.options.reconnect) this.timers.push(this.clock.setTimeout(() => this.dropConnection('connection lifetime', true), maxConnectionMs));
    if (this.tokenExp !== undefined && this.options.reconnect) {
      const lifetime = this.tokenExp - this.clock.now();
      const margin = Math.min(tokenRefreshMarginMs, Math.max(0, lifetime / 5));
      this.timers.push(this.clock.setTimeout(() => this.dropConnection('token refresh', true), Math.max(0, lifetime - margin)));
    }
    for (const waiter of [...this.openWaiters]) waiter();
    this.outbox.flush();
    const joins = [...this.rooms].map((conversationId) =>
      this.request('joinConversation', { conversationId }, { wait: false }).catch((error: ChatError) => {
        if (isPermanent(error)) this.rooms.delete(conversationId);
        this.emit('error', error);
      }),
    );
    await Promise.all(joins);
    await this.catchUpOn(socket);
    if (this.socket !== socket || generation !== this.generation) return;
    this.attempt = 0;
    this.setState('online');
  }

  private received(raw: unknown): void {
    let frame: ServerFrame;
    try {
      frame = JSON.parse(typeof raw === 'string' ? raw : String(raw)) as ServerFrame;
    } catch {
      return;
    }
    if (!frame || typeof frame.event !== 'string') return;
    this.emit('frame', frame);
    const pending = frame.requestId !== undefined ? this.pending.get(frame.requestId) : undefined;
    if (pending && (frame.event === 'chat-ack' || frame.event === 'chat-error')) {
      this.pending.delete(frame.requestId!);
      this.clock.clearTimeout(pending.timer);
      if (frame.event === 'chat-ack') pending.resolve(frame.data.data);
      else pending.reject(new ChatError(frame.data.code, frame.data.message, frame.data.details));
      return;
    }
    if (frame.event === 'chat-error') {
      const details = frame.data.details as { reason?: string } | undefined;
      if (details?.reason === 'connection_limit') this.evicted = true;
      this.emit('error', new ChatError(frame.data.code, frame.data.message, frame.data.details));
      return;
    }
    void this.serial(() => this.live(frame));
  }

  private closed(reason: string, close?: CloseInfo): void {
    this.socket = undefined;
    this.clearTimers();
    this.failPending(new ChatError('DISCONNECTED', reason));
    if (!this.started) return;
    if (this.evicted) {
      this.started = false;
      this.setState('closed', 'connection_limit: the user opened more connections elsewhere', undefined, close);
      return;
    }
    this.retry(reason, close);
  }

  /** Closes the current connection; `now` reconnects at once (a planned reconnect), otherwise after the backoff. */
  private dropConnection(reason: string, now = false): void {
    const socket = this.socket;
    if (!socket) return;
    this.socket = undefined;
    this.clearTimers();
    try {
      socket.close(1000, reason);
    } catch {
      // Already closing.
    }
    this.failPending(new ChatError('DISCONNECTED', reason));
    if (!this.started) return;
    if (now && this.options.reconnect) void this.open();
    else this.retry(reason);
  }

  private retry(reason: string, close?: CloseInfo): void {
    if (!this.started) return;
    if (!this.options.reconnect) {
      this.started = false;
      this.setState('closed', reason, undefined, close);
      return;
    }
    const delay = backoffDelay(this.attempt++, this.options.backoff);
    this.setState('waiting', reason, delay);
    this.reconnectTimer = this.clock.setTimeout(() => void this.open(), delay);
  }

  private clearTimers(): void {
    for (const timer of this.timers.splice(0)) this.clock.clearTimeout(timer);
  }

  private failPending(error: ChatError): void {
    for (const [requestId, pending] of this.pending) {
      this.pending.delete(requestId);
      this.clock.clearTimeout(pending.timer);
      pending.reject(error);
    }
  }

  // ─── Catch-up, gaps and de-duplication ─────────────────────────────────────────────────

  /** Runs `task` after every earlier one: frames, catch-ups and gap fills are emitted in order. */
  private serial(task: () => void | Promise<void>): Promise<void> {
    const next = this.chain.then(task).catch((error: unknown) => {
      this.emit('error', error instanceof ChatError ? error : new ChatError('NETWORK', (error as Error)?.message ?? String(error)));
    });
    this.chain = next;
    return next;
  }

  /** A catch-up on this connection; one that fails (the API not ready yet, say) is tried again after a backoff while the connection lasts. */
  private catchUpOn(socket: WebSocketLike, attempt = 0): Promise<void> {
    return this.serial(async () => {
      try {
        await this.runSync();
      } catch (error) {
        this.emit('error', error instanceof ChatError ? error : new ChatError('NETWORK', (error as Error)?.message ?? String(error)));
        if (this.socket !== socket) return;
        const retry = () => {
          if (this.socket === socket) void this.catchUpOn(socket, attempt + 1);
        };
        this.timers.push(this.clock.setTimeout(retry, 250 + backoffDelay(attempt, this.options.backoff)));
      }
    });
  }

  private get cursorKey(): string {
    return `${this.options.storageKey}:cursor`;
  }

  private async startCursor(): Promise<void> {
    try {
      const page = await this.api.sync({ query: {} });
      await this.storage.setItem(this.cursorKey, page.cursor);
    } catch (error) {
      if (error instanceof ChatError && error.code === 'FORBIDDEN') this.syncDisabled = true;
      else throw error;
    }
  }

  private async runSync(): Promise<void> {
    if (!this.options.sync || this.syncDisabled) return;
    let since = await this.storage.getItem(this.cursorKey);
    if (since === null) return this.startCursor();
    for (;;) {
      let page;
      try {
        page = await this.api.sync({ query: { since, limit: 500 } });
      } catch (error) {
        if (error instanceof ChatError && error.code === 'CURSOR_EXPIRED') {
          await this.storage.removeItem(this.cursorKey);
          this.emit('reset', { reason: error.message });
          return this.startCursor();
        }
        if (error instanceof ChatError && error.code === 'FORBIDDEN') {
          this.syncDisabled = true;
          return;
        }
        throw error;
      }
      for (const change of page.changes) this.applyChange(change);
      since = page.cursor;
      await this.storage.setItem(this.cursorKey, since);
      if (!page.hasMore) return;
    }
  }

  private applyChange(change: Change): void {
    const source: Source = 'sync';
    const conversationId = change.conversationId;
    switch (change.type) {
      case 'conversation.created':
      case 'conversation.updated':
        return this.deliverConversation(change.data.conversation, source);
      case 'conversation.read':
        return this.emit('read', { conversationId, side: change.data.side, lastReadSeq: change.data.lastReadSeq, source });
      case 'conversation.archived':
        return this.emit('archived', { conversationId, archived: change.data.archived, source });
      case 'message.created':
        return this.deliverMessage(change.data.message, source);
      case 'message.updated':
        return this.deliverUpdate(change.data.message, source);
      case 'message.deleted': {
        const { message } = change.data;
        return this.deliverDeleted({ conversationId, messageId: message.id, seq: message.seq, deletedAt: message.deletedAt ?? change.at, source });
      }
      case 'message.status': {
        const status: ChatEvents['status'] = { conversationId, messageId: change.data.messageId, status: change.data.status, source };
        if (change.data.upToSeq !== undefined) status.upToSeq = change.data.upToSeq;
        return this.deliverStatus(status);
      }
      case 'reaction.updated':
        return this.deliverReactions({ conversationId, messageId: change.data.messageId, reactions: change.data.reactions, source });
      case 'attachment.updated':
        return this.emit('attachment', { attachment: change.data.attachment, source });
    }
  }

  private async live(frame: ServerFrame): Promise<void> {
    const source: Source = 'live';
    switch (frame.event) {
      case 'chat-new-message': {
        const { message } = frame.data;
        const last = this.lastSeq.get(message.conversationId);
        if (last !== undefined && message.seq > last + 1 && !this.seen.has(message.id)) await this.fillGap(message.conversationId, last, message.seq);
        return this.deliverMessage(message, source);
      }
      case 'chat-message-updated':
        return this.deliverUpdate(frame.data.message, source);
      case 'chat-message-deleted':
        return this.deliverDeleted({ ...frame.data, source });
      case 'chat-reaction-updated':
        return this.deliverReactions({ ...frame.data, source });
      case 'chat-message-status-updated': {
        const { conversationId, messageId, status, upToSeq } = frame.data;
        const event: ChatEvents['status'] = { conversationId, messageId, status, source };
        if (upToSeq !== undefined) event.upToSeq = upToSeq;
        return this.deliverStatus(event);
      }
      case 'chat-conversation-updated':
        return this.deliverConversation(frame.data.conversation, source);
      case 'chat-attachment-updated':
        return this.emit('attachment', { attachment: frame.data.attachment, source });
      case 'chat-user-typing':
        return this.emit('typing', frame.data);
      case 'chat-user-online':
      case 'chat-user-offline':
        return this.emit('presence', { ...frame.data, online: frame.event === 'chat-user-online' });
      default:
        return;
    }
  }

  /** Fetches the messages between `last` and `seq` that a live frame showed missing, and emits them first. */
  private async fillGap(conversationId: string, last: number, seq: number): Promise<void> {
    this.emit('gap', { conversationId, fromSeq: last + 1, toSeq: seq - 1 });
    let after = last;
    try {
      while (after < seq - 1) {
        const page = await this.api.getMessages({ params: { conversationId }, query: { after, limit: 100 } });
        for (const message of page.messages) if (message.seq < seq) this.deliverMessage(message, 'gap');
        const newest = page.messages.at(-1)?.seq;
        if (!page.pagination.hasMore || newest === undefined || newest <= after) break;
        after = newest;
      }
    } catch (error) {
      this.emit('error', error instanceof ChatError ? error : new ChatError('NETWORK', String(error)));
    }
  }

  private remember(message: Message): boolean {
    const known = this.seen.has(message.id);
    if (!known) {
      this.seen.set(message.id, message.seq);
      if (this.seen.size > SEEN_LIMIT) this.seen.delete(this.seen.keys().next().value as string);
    }
    const last = this.lastSeq.get(message.conversationId) ?? 0;
    if (message.seq > last) this.lastSeq.set(message.conversationId, message.seq);
    return !known;
  }

  private deliverMessage(message: Message, source: Source): void {
    if (this.remember(message)) this.emit('message', { message, source });
  }

  private changed(key: string, version: string, newer: (previous: string) => boolean): boolean {
    const previous = this.versions.get(key);
    if (previous !== undefined && !newer(previous)) return false;
    this.versions.delete(key);
    this.versions.set(key, version);
    if (this.versions.size > SEEN_LIMIT) this.versions.delete(this.versions.keys().next().value as string);
    return true;
  }

  private deliverUpdate(message: Message, source: Source): void {
    this.remember(message);
    if (this.versions.has(`d:${message.id}`)) return;
    if (this.changed(`u:${message.id}`, message.editedAt ?? message.updatedAt, (previous) => (message.editedAt ?? message.updatedAt) > previous)) {
      this.emit('messageUpdated', { message, source });
    }
  }

  private deliverDeleted(event: ChatEvents['messageDeleted']): void {
    if (this.changed(`d:${event.messageId}`, event.deletedAt, () => false)) this.emit('messageDeleted', event);
  }

  private deliverReactions(event: ChatEvents['reactions']): void {
    if (this.changed(`r:${event.messageId}`, JSON.stringify(event.reactions), (previous) => previous !== JSON.stringify(event.reactions))) {
      this.emit('reactions', event);
    }
  }

  private deliverStatus(event: ChatEvents['status']): void {
    const rank = String(STATUS_RANK[event.status] ?? 0);
    if (this.changed(`s:${event.messageId}`, rank, (previous) => rank > previous)) this.emit('status', event);
  }

  private deliverConversation(conversation: Conversation, source: Source): void {
    if (this.changed(`c:${conversation.id}`, conversation.updatedAt, (previous) => conversation.updatedAt > previous)) {
      this.emit('conversation', { conversation, source });
    }
  }
}
