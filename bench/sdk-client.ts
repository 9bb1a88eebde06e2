/**
 * The bench's clients: one `@provider-customer-chat/client` per connection (the SDK the apps
 * use), each with `ws` as its WebSocket. What the bench adds is only timing: a caller registers
 * what it waits for (the message reaching the app, a frame reaching the connection, the outbox's
 * ack) before the send that causes it, and gets the performance.now() of the moment it happened.
 */
import { WebSocket } from 'ws';
import { ChatClient, ChatError, type FetchLike, type Message, type OutgoingMessage, type RestApi, type SendInput } from '../sdk/src/index.ts';

export class TimeoutError extends Error {
  constructor(what: string, ms: number) {
    super(`no ${what} within ${ms} ms`);
    this.name = 'TimeoutError';
  }
}

/** `ws` without permessage-deflate, as the bench always measured: no compression on either side. */
class PlainWebSocket extends WebSocket {
  constructor(url: string) {
    super(url, { perMessageDeflate: false });
  }
}

interface Waiter {
  resolve: (at: number) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

/** Waiters by key, failed together when the connection ends. */
class Waiters {
  private readonly map = new Map<string, Waiter>();

  add(key: string, timeoutMs: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.map.delete(key);
        reject(new TimeoutError(key, timeoutMs));
      }, timeoutMs);
      this.map.set(key, { resolve, reject, timer });
    });
  }

  settle(key: string, outcome: number | Error): void {
    const waiter = this.map.get(key);
    if (!waiter) return;
    this.map.delete(key);
    clearTimeout(waiter.timer);
    if (typeof outcome === 'number') waiter.resolve(outcome);
    else waiter.reject(outcome);
  }

  failAll(error: Error): void {
    for (const key of [...this.map.keys()]) this.settle(key, error);
  }
}

export interface BenchClientOptions {
  httpUrl: string;
  wsUrl: string;
  token: string;
  connectTimeoutMs?: number;
  /** How long an ack may take before the SDK takes the connection for dead. */
  requestTimeoutMs?: number;
  /** The fetch the SDK uses (default: the global one); a wrapper times the parts of a call. */
  fetch?: FetchLike;
}

export class BenchClient {
  readonly chat: ChatClient;
  private readonly messages = new Waiters();
  private readonly frames = new Waiters();
  private readonly acks = new Waiters();
  private readonly outgoing = new Map<string, OutgoingMessage>();

  private constructor(options: BenchClientOptions) {
    this.chat = new ChatClient({
      httpUrl: options.httpUrl,
      wsUrl: options.wsUrl,
      getToken: () => options.token,
      WebSocket: PlainWebSocket,
      fetch: options.fetch ?? globalThis.fetch,
      // The bench counts what each operation costs the server: no `GET /sync` catch-up on connect,
      // and a connection that ends is an error to count, not one to reopen.
      sync: false,
      reconnect: false,
      connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
      requestTimeoutMs: options.requestTimeoutMs ?? 10_000,
    });
    this.chat.on('message', ({ message }) => {
      if (message.clientMessageId) this.messages.settle(message.clientMessageId, performance.now());
    });
    this.chat.on('frame', (frame) => {
      if (frame.event === 'chat-new-message' && frame.data.message.clientMessageId) this.frames.settle(frame.data.message.clientMessageId, performance.now());
    });
    this.chat.on('outbox', (entry) => {
      if (entry.state === 'pending') return;
      this.outgoing.delete(entry.clientMessageId);
      if (entry.state === 'failed') this.acks.settle(entry.clientMessageId, entry.error ?? new Error('failed'));
      else if (entry.attempts > 1) this.acks.settle(entry.clientMessageId, new Error(`sent after ${entry.attempts} attempts: a transient refusal, retried by the outbox`));
      else this.acks.settle(entry.clientMessageId, performance.now());
    });
    this.chat.on('state', ({ state, reason }) => {
      if (state !== 'closed') return;
      const error = new Error(`the connection closed (${reason ?? 'no reason'})`);
      for (const waiters of [this.messages, this.frames, this.acks]) waiters.failAll(error);
      for (const entry of this.outgoing.values()) entry.cancel();
      this.outgoing.clear();
    });
  }

  /** Connects; resolves once the SDK is online (for a connection with no rooms to join and no catch-up: once open). */
  static async open(options: BenchClientOptions): Promise<BenchClient> {
    const client = new BenchClient(options);
    await client.chat.connect();
    return client;
  }

  get api(): RestApi {
    return this.chat.api;
  }

  /** When the message with this clientMessageId reaches the app (the SDK's `message` event: live, or the sender's own ack). */
  expectMessage(clientMessageId: string, timeoutMs: number): Promise<number> {
    return this.messages.add(clientMessageId, timeoutMs);
  }

  /** When this connection receives the `chat-new-message` frame of that clientMessageId (the sender's own copy included). */
  expectFrame(clientMessageId: string, timeoutMs: number): Promise<number> {
    return this.frames.add(clientMessageId, timeoutMs);
  }

  /** `chat.send()` through the outbox; resolves when it is acknowledged, rejects when refused (or retried). */
  send(conversationId: string, input: SendInput & { clientMessageId: string }, timeoutMs: number): Promise<number> {
    const ack = this.acks.add(input.clientMessageId, timeoutMs);
    if (this.chat.state !== 'online') {
      this.acks.settle(input.clientMessageId, new ChatError('DISCONNECTED', 'not connected'));
      return ack;
    }
    this.outgoing.set(input.clientMessageId, this.chat.send(conversationId, input));
    return ack;
  }

  close(): Promise<void> {
    return this.chat.close();
  }
}

export type { Message };
