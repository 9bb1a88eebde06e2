/**
 * The outbox: messages the app sent that the server has not acknowledged yet. Each is written to
 * storage before its first attempt and sent, oldest first and one at a time (so a conversation's
 * messages are stored in the order they were sent), with the same `clientMessageId` on every
 * attempt: the server stores a repeated id once and answers the stored message, so a send whose
 * answer was lost is retried without being stored twice.
 */
import { backoffDelay, type BackoffOptions } from './backoff.ts';
import { ChatError, isPermanent } from './errors.ts';
import type { AckData, Message, SendMessageInput } from './protocol.ts';
import { randomId, type Clock } from './runtime.ts';
import type { KeyValueStorage } from './storage.ts';

/** What `send()` takes: the message's fields; `clientMessageId` is made up when absent. */
export type SendInput = Omit<SendMessageInput, 'clientMessageId'> & { clientMessageId?: string };

export type OutgoingState = 'pending' | 'sent' | 'failed';

export interface OutgoingMessage {
  readonly clientMessageId: string;
  readonly conversationId: string;
  readonly input: Omit<SendMessageInput, 'clientMessageId'>;
  /** When the app sent it (ISO 8601). */
  readonly createdAt: string;
  /** pending: not acknowledged yet; sent: stored (`message`); failed: refused for good (`error`). */
  readonly state: OutgoingState;
  readonly error?: ChatError;
  /** The stored message, once sent. */
  readonly message?: Message;
  /** Attempts made so far. */
  readonly attempts: number;
  /** Resolves with the stored message once the server acknowledged it (never rejects while it can still be retried). */
  readonly sent: Promise<Message>;
  /** Sends a failed message again (same clientMessageId). */
  retry(): void;
  /** Takes it out of the outbox; `sent` rejects with CLOSED. */
  cancel(): void;
}

interface Entry extends OutgoingMessage {
  state: OutgoingState;
  error?: ChatError;
  message?: Message;
  attempts: number;
}

interface Stored {
  clientMessageId: string;
  conversationId: string;
  input: Omit<SendMessageInput, 'clientMessageId'>;
  createdAt: string;
  state: 'pending' | 'failed';
  attempts: number;
  error?: { code: ChatError['code']; message: string; details?: unknown };
}

export interface OutboxOptions {
  storage: KeyValueStorage;
  key: string;
  send(entry: OutgoingMessage): Promise<AckData<'sendMessage'>>;
  isOpen(): boolean;
  clock: Clock;
  backoff: BackoffOptions;
  onChange(entry: OutgoingMessage): void;
  onSent(message: Message): void;
  /** A send got no answer, or the connection's token is no longer accepted: the connection is dropped and made again. */
  onStuck(): void;
}

export class Outbox {
  private entries: Entry[] = [];
  private readonly resolvers = new Map<string, { resolve(message: Message): void; reject(error: ChatError): void }>();
  private loading: Promise<void> | undefined;
  private writing: Promise<void> = Promise.resolve();
  private flushing = false;
  private again = false;

  constructor(private readonly options: OutboxOptions) {}

  /** The messages not yet sent, oldest first (pending and failed). */
  list(): OutgoingMessage[] {
    return [...this.entries];
  }

  /** Reads the outbox kept in storage (once); called by `connect()`, or by the app to show unsent messages at start. */
  load(): Promise<void> {
    this.loading ??= (async () => {
      const text = await this.options.storage.getItem(this.options.key);
      if (!text) return;
      let stored: Stored[];
      try {
        stored = JSON.parse(text) as Stored[];
      } catch {
        return;
      }
      const known = new Set(this.entries.map((entry) => entry.clientMessageId));
      const restored = stored
        .filter((item) => !known.has(item.clientMessageId))
        .map((item) => {
          const error = item.error ? new ChatError(item.error.code, item.error.message, item.error.details) : undefined;
          return this.entry(item.clientMessageId, item.conversationId, item.input, item.createdAt, item.state, item.attempts, error);
        });
      this.entries = [...restored, ...this.entries];
      for (const entry of restored) this.options.onChange(entry);
    })();
    return this.loading;
  }

  add(conversationId: string, input: SendInput): OutgoingMessage {
    const { clientMessageId = randomId(), ...rest } = input;
    const entry = this.entry(clientMessageId, conversationId, rest, new Date(this.options.clock.now()).toISOString(), 'pending', 0);
    this.entries.push(entry);
    this.persist();
    this.options.onChange(entry);
    this.flush();
    return entry;
  }

  private entry(
    clientMessageId: string,
    conversationId: string,
    input: Omit<SendMessageInput, 'clientMessageId'>,
    createdAt: string,
    state: 'pending' | 'failed',
    attempts: number,
    error?: ChatError,
  ): Entry {
    let resolvers!: { resolve(message: Message): void; reject(error: ChatError): void };
    const sent = new Promise<Message>((resolve, reject) => (resolvers = { resolve, reject }));
    sent.catch(() => {});
    this.resolvers.set(clientMessageId, resolvers);
    const entry: Entry = {
      clientMessageId,
      conversationId,
      input,
      createdAt,
      state,
      attempts,
      sent,
      retry: () => {
        if (entry.state !== 'failed') return;
        entry.state = 'pending';
        delete entry.error;
        this.persist();
        this.options.onChange(entry);
        this.flush();
      },
      cancel: () => {
        if (entry.state === 'sent') return;
        this.entries = this.entries.filter((other) => other !== entry);
        this.persist();
        this.resolvers.get(clientMessageId)?.reject(new ChatError('CLOSED', 'Cancelled'));
        this.resolvers.delete(clientMessageId);
      },
    };
    if (error) entry.error = error;
    return entry;
  }

  private persist(): void {
    const snapshot = JSON.stringify(
      this.entries.map((entry): Stored => {
        const item: Stored = {
          clientMessageId: entry.clientMessageId,
          conversationId: entry.conversationId,
          input: entry.input,
          createdAt: entry.createdAt,
          state: entry.state === 'failed' ? 'failed' : 'pending',
          attempts: entry.attempts,
        };
        if (entry.error) item.error = { code: entry.error.code, message: entry.error.message, details: entry.error.details };
        return item;
      }),
    );
    const { storage, key } = this.options;
    this.writing = this.writing.then(() => (this.entries.length ? storage.setItem(key, snapshot) : storage.removeItem(key))).catch(() => {});
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.options.clock.setTimeout(resolve, ms));
  }

  /** Sends what is pending, oldest first, while the connection is open. */
  flush(): void {
    if (this.flushing) {
      this.again = true;
      return;
    }
    this.flushing = true;
    this.again = false;
    void this.run().finally(() => {
      this.flushing = false;
      if (this.again && this.options.isOpen()) this.flush();
    });
  }

  private async run(): Promise<void> {
    await this.load().catch(() => {});
    for (;;) {
      const entry = this.entries.find((candidate) => candidate.state === 'pending');
      if (!entry || !this.options.isOpen()) return;
      // Stored before its first attempt: a message the app sent survives a restart from here on.
      await this.writing;
      entry.attempts++;
      try {
        const ack = await this.options.send(entry);
        entry.state = 'sent';
        entry.message = ack.message;
        this.entries = this.entries.filter((other) => other !== entry);
        this.persist();
        this.options.onChange(entry);
        this.resolvers.get(entry.clientMessageId)?.resolve(ack.message);
        this.resolvers.delete(entry.clientMessageId);
        this.options.onSent(ack.message);
      } catch (caught) {
        const error = caught instanceof ChatError ? caught : new ChatError('NETWORK', String(caught));
        if (isPermanent(error)) {
          entry.state = 'failed';
          entry.error = error;
          this.persist();
          this.options.onChange(entry);
        } else if (error.code === 'RATE_LIMITED') {
          const retryAfterMs = (error.details as { retryAfterMs?: number } | undefined)?.retryAfterMs;
          await this.sleep(Math.max(100, retryAfterMs ?? 1000));
        } else if (error.code === 'TIMEOUT' || error.code === 'UNAUTHORIZED') {
          this.options.onStuck();
          return;
        } else if (error.code === 'DISCONNECTED' || error.code === 'CLOSED') {
          return;
        } else {
          await this.sleep(backoffDelay(entry.attempts, this.options.backoff));
        }
      }
    }
  }
}
