/**
 * A WebSocket and a fetch for the client's unit tests: the test plays the server, seeing every
 * frame the client sends and answering (or not) as it likes.
 */
import type { FetchLike, Message, WebSocketLike } from '../../../sdk/src/index.ts';

export interface SentFrame {
  action: string;
  data: Record<string, unknown>;
  requestId?: string;
}

type Handler = (frame: SentFrame, socket: FakeSocket) => void;

export class FakeServer {
  readonly sockets: FakeSocket[] = [];
  /** Answers each frame; by default acks ping, joins and sends (storing each clientMessageId once). */
  handler: Handler = (frame, socket) => this.standard(frame, socket);
  /** Whether new sockets open (false: they close at once, as when offline). */
  reachable = true;
  readonly stored = new Map<string, Message>();
  seq = 0;

  readonly WebSocket = ((server: FakeServer) =>
    class extends FakeSocket {
      constructor(url: string) {
        super(url, server);
      }
    })(this);

  get current(): FakeSocket | undefined {
    return this.sockets.at(-1);
  }

  standard(frame: SentFrame, socket: FakeSocket): void {
    const { action, data, requestId } = frame;
    if (action === 'ping') return socket.ack(requestId, { at: new Date().toISOString() });
    if (action === 'joinConversation' || action === 'leaveConversation') return socket.ack(requestId, { conversationId: data.conversationId });
    if (action === 'typing') return socket.ack(requestId, { conversationId: data.conversationId, userId: 1, isTyping: data.isTyping, expiresInMs: 5000 });
    if (action === 'sendMessage') {
      const key = String(data.clientMessageId);
      const existing = this.stored.get(key);
      const message = existing ?? makeMessage({ seq: ++this.seq, conversationId: String(data.conversationId), content: String(data.content), clientMessageId: key });
      this.stored.set(key, message);
      socket.ack(requestId, { message, created: !existing });
      socket.push('chat-new-message', { message });
    }
  }
}

export class FakeSocket implements WebSocketLike {
  readyState = 0;
  readonly sent: SentFrame[] = [];
  onopen: ((event: never) => void) | null = null;
  onmessage: ((event: never) => void) | null = null;
  onclose: ((event: never) => void) | null = null;
  onerror: ((event: never) => void) | null = null;

  constructor(
    readonly url: string,
    private readonly server: FakeServer,
  ) {
    server.sockets.push(this);
    queueMicrotask(() => {
      if (this.readyState !== 0) return;
      if (server.reachable) {
        this.readyState = 1;
        (this.onopen as ((event: unknown) => void) | null)?.({});
      } else {
        this.drop(1006);
      }
    });
  }

  get token(): string {
    return new URL(this.url).searchParams.get('token') ?? '';
  }

  send(data: string): void {
    if (this.readyState !== 1) throw new Error('not open');
    const frame = JSON.parse(data) as SentFrame;
    this.sent.push(frame);
    this.server.handler(frame, this);
  }

  close(code = 1000, reason = ''): void {
    this.drop(code, reason);
  }

  /** The server (or the network) closes it. */
  drop(code = 1006, reason = ''): void {
    if (this.readyState === 3) return;
    this.readyState = 3;
    queueMicrotask(() => (this.onclose as ((event: unknown) => void) | null)?.({ code, reason }));
  }

  push(event: string, data: unknown, requestId?: string): void {
    if (this.readyState !== 1) return;
    const frame = requestId === undefined ? { event, data } : { event, data, requestId };
    queueMicrotask(() => (this.onmessage as ((event: unknown) => void) | null)?.({ data: JSON.stringify(frame) }));
  }

  ack(requestId: string | undefined, data: unknown): void {
    if (requestId !== undefined) this.push('chat-ack', { requestId, data }, requestId);
  }

  error(requestId: string | undefined, code: string, message = code, details?: unknown): void {
    this.push('chat-error', { code, message, requestId, details }, requestId);
  }
}

let ids = 0;
export function makeMessage(fields: Partial<Message> & { seq: number; conversationId: string }): Message {
  const now = new Date().toISOString();
  return {
    id: `m-${fields.conversationId}-${fields.seq}-${++ids}`,
    senderId: 1,
    senderRole: 'customer',
    receiverId: 9,
    messageType: 'TEXT',
    content: `message ${fields.seq}`,
    attachments: null,
    status: 'SENT',
    deliveredAt: null,
    readAt: null,
    createdAt: now,
    updatedAt: now,
    replyToId: null,
    metadata: null,
    clientMessageId: null,
    editedAt: null,
    deletedAt: null,
    reactions: [],
    ...fields,
  };
}

export interface FakeRequest {
  method: string;
  url: URL;
  headers: Record<string, string>;
  body: unknown;
}

/** A fetch answering from `routes` (method and path → status and body); /sync answers no changes by default. */
export function fakeFetch(routes: (request: FakeRequest) => { status: number; body: unknown } | undefined): FetchLike & { requests: FakeRequest[] } {
  const requests: FakeRequest[] = [];
  const fetch = async (url: string, init: Parameters<FetchLike>[1]) => {
    const request = { method: init.method, url: new URL(url), headers: init.headers, body: init.body === undefined ? undefined : JSON.parse(init.body) };
    requests.push(request);
    const answer = routes(request) ?? (request.url.pathname.endsWith('/sync') ? { status: 200, body: { changes: [], cursor: request.url.searchParams.get('since') ?? 'c0', hasMore: false } } : { status: 404, body: { error: { code: 'NOT_FOUND', message: 'no route' } } });
    return { status: answer.status, text: async () => JSON.stringify(answer.body), headers: { get: () => 'application/json' } };
  };
  return Object.assign(fetch, { requests });
}

/** A JWT-shaped token (unsigned) expiring at `expSeconds`. */
export function fakeJwt(expSeconds: number, n = 0): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'none' })}.${part({ exp: expSeconds, n })}.sig`;
}

export async function until(condition: () => boolean, timeoutMs = 3000): Promise<void> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > timeoutMs) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
