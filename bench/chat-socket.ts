/**
 * A WebSocket client of the chat protocol for the benchmark: sends `{action, data, requestId}`
 * frames, and lets a caller wait for one expected server frame by key, timestamped with the
 * high-resolution clock the moment it arrived (before it is parsed).
 */
import { WebSocket } from 'ws';

export interface Arrival {
  /** performance.now() when the frame arrived. */
  at: number;
  frame: ServerFrame;
}

export interface ServerFrame {
  event: string;
  data?: Record<string, unknown>;
  requestId?: string;
}

/**
 * The key a frame is awaited by: `message:<clientMessageId>` for `chat-new-message`,
 * `reply:<requestId>` for `chat-ack` and `chat-error`; other frames (presence…) have none.
 */
export function keyOf(frame: ServerFrame): string | undefined {
  if (frame.event === 'chat-new-message') {
    const id = (frame.data?.message as { clientMessageId?: unknown } | undefined)?.clientMessageId;
    return typeof id === 'string' ? `message:${id}` : undefined;
  }
  if (frame.event === 'chat-ack' || frame.event === 'chat-error') {
    const id = frame.requestId ?? (frame.data as { requestId?: unknown } | undefined)?.requestId;
    return typeof id === 'string' ? `reply:${id}` : undefined;
  }
  return undefined;
}

export class TimeoutError extends Error {
  constructor(what: string, ms: number) {
    super(`no ${what} within ${ms} ms`);
    this.name = 'TimeoutError';
  }
}

interface Waiter {
  resolve: (arrival: Arrival) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

export class ChatSocket {
  private readonly waiters = new Map<string, Waiter>();
  private closedPromise: Promise<void>;
  /** Frames that arrived with no one waiting for them (presence announcements, own copies…). */
  unexpected = 0;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (raw: Buffer, isBinary: boolean) => {
      const at = performance.now();
      if (isBinary) return;
      let frame: ServerFrame;
      try {
        frame = JSON.parse(raw.toString('utf8')) as ServerFrame;
      } catch {
        return;
      }
      const key = keyOf(frame);
      const waiter = key === undefined ? undefined : this.waiters.get(key);
      if (!waiter || key === undefined) {
        this.unexpected++;
        return;
      }
      this.waiters.delete(key);
      clearTimeout(waiter.timer);
      waiter.resolve({ at, frame });
    });
    this.closedPromise = new Promise((resolve) => ws.once('close', () => resolve()));
    ws.once('close', () => {
      for (const [key, waiter] of this.waiters) {
        clearTimeout(waiter.timer);
        waiter.reject(new Error(`the connection closed while waiting for ${key}`));
      }
      this.waiters.clear();
    });
  }

  /** Opens `url?token=…`; resolves once the upgrade (and so `$connect`) completed. */
  static open(wsUrl: string, token: string, timeoutMs = 10_000): Promise<ChatSocket> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(`${wsUrl}/?token=${encodeURIComponent(token)}`, { perMessageDeflate: false, handshakeTimeout: timeoutMs });
      const fail = (error: Error) => {
        ws.removeAllListeners('open');
        reject(error);
      };
      ws.once('error', fail);
      ws.once('unexpected-response', (_request, response) => {
        fail(new Error(`$connect refused: HTTP ${response.statusCode}`));
        ws.terminate();
      });
      ws.once('open', () => {
        ws.off('error', fail);
        ws.on('error', () => {});
        resolve(new ChatSocket(ws));
      });
    });
  }

  /** Waits for the frame with this key; register before sending what causes it. */
  expect(key: string, timeoutMs: number): Promise<Arrival> {
    return new Promise((resolve, reject) => {
      if (this.ws.readyState !== WebSocket.OPEN) {
        reject(new Error(`the connection is closed (waiting for ${key})`));
        return;
      }
      const timer = setTimeout(() => {
        this.waiters.delete(key);
        reject(new TimeoutError(key, timeoutMs));
      }, timeoutMs);
      this.waiters.set(key, { resolve, reject, timer });
    });
  }

  send(action: string, data: unknown, requestId?: string): void {
    this.ws.send(JSON.stringify(requestId === undefined ? { action, data } : { action, data, requestId }));
  }

  close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    this.ws.close(1000);
    return this.closedPromise;
  }
}
