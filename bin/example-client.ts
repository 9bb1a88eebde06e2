/**
 * `npm run example`: a customer and a provider's staff chatting, against a running `npm start`.
 *
 *   npm start                              # in one terminal
 *   npm run example                        # in another
 *   PORT=4000 WS_PORT=4001 npm run example # when the runtime runs on other ports
 *
 * It does what an app does: gets dev tokens for customer 2 and staff user 7 of provider 1
 * (`POST /dev/token`), starts (or reopens) their conversation over REST, connects both over
 * WebSocket (the customer with `?token=`, the staff user with `chat-authenticate`), joins the
 * conversation, and exchanges a few messages with typing indicators and delivery and read
 * receipts. Each line of the transcript is printed when the other side's socket received it.
 * Exits 0 when the whole exchange went through, 1 otherwise.
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';

const API = '/api/provider-customer-chat';
const WAIT_MS = 10_000;

export interface ExampleOptions {
  /** The HTTP API, e.g. http://127.0.0.1:3000. */
  httpUrl: string;
  /** The WebSocket API, e.g. ws://127.0.0.1:3001. */
  wsUrl: string;
  /** Where transcript lines go; console.log by default. */
  print?: (line: string) => void;
}

export interface ExampleResult {
  conversationId: string;
  /** The seq of each message this run sent, in order. */
  seqs: number[];
}

interface Frame {
  event: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  data: any;
  requestId?: string;
}

/** One WebSocket client, as an app would hold it: frames are handled as they come, or awaited. */
class Peer {
  private readonly frames: Frame[] = [];
  private readonly waiters = new Set<() => void>();

  private constructor(
    readonly name: string,
    private readonly ws: WebSocket,
  ) {
    ws.on('message', (data) => {
      try {
        this.frames.push(JSON.parse(data.toString()) as Frame);
      } catch {
        return;
      }
      for (const wake of [...this.waiters]) wake();
    });
  }

  static connect(name: string, url: string): Promise<Peer> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      ws.once('open', () => resolve(new Peer(name, ws)));
      ws.once('unexpected-response', (_request, response) => reject(new Error(`${name}: the WebSocket upgrade was refused (${response.statusCode})`)));
      ws.once('error', (error) => reject(new Error(`${name}: cannot connect to ${url.split('?')[0]} (${error.message})`)));
    });
  }

  /** The next frame (not returned before) that matches. */
  next(what: string, match: (frame: Frame) => boolean): Promise<Frame> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const index = this.frames.findIndex(match);
        if (index < 0) return;
        const [found] = this.frames.splice(index, 1);
        done();
        resolve(found!);
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`${this.name} waited ${WAIT_MS / 1000} s for ${what}, in vain`));
      }, WAIT_MS);
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
      check();
    });
  }

  /** Sends `{action, data, requestId}` and resolves with the `chat-ack` data; a `chat-error` rejects. */
  async request(action: string, data: unknown): Promise<Frame['data']> {
    const requestId = randomUUID();
    const answer = this.next(`the answer to ${action}`, (f) => (f.event === 'chat-ack' || f.event === 'chat-error') && f.data?.requestId === requestId);
    this.ws.send(JSON.stringify({ action, data, requestId }));
    const frame = await answer;
    if (frame.event === 'chat-error') throw new Error(`${this.name}: ${action} was refused: ${frame.data.code} ${frame.data.message}`);
    return frame.data.data;
  }

  /** Sends a frame without waiting for an answer (the seed's `socket.emit`). */
  emit(action: string, data: unknown): void {
    this.ws.send(JSON.stringify({ action, data }));
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.ws.readyState === WebSocket.CLOSED) return resolve();
      this.ws.once('close', () => resolve());
      this.ws.close(1000);
    });
  }
}

async function call(httpUrl: string, method: string, route: string, token?: string, body?: unknown) {
  let response: Response;
  try {
    response = await fetch(`${httpUrl}${route}`, {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (error) {
    throw new Error(`Nothing answers at ${httpUrl} (${(error as Error).message}). Start the runtime with \`npm start\` first, or set PORT and WS_PORT to where it runs.`, {
      cause: error,
    });
  }
  const text = await response.text();
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const json: any = text ? JSON.parse(text) : undefined;
  if (response.status >= 400) throw new Error(`${method} ${route} answered ${response.status}: ${text}`);
  return { status: response.status, body: json };
}

/** Plays the conversation and prints its transcript. */
export async function runExample({ httpUrl, wsUrl, print = (line) => console.log(line) }: ExampleOptions): Promise<ExampleResult> {
  const clock = () => new Date().toISOString().slice(11, 19);
  const say = (who: string, text: string) => print(`${clock()}  ${who.padEnd(12)} ${text}`);

  print(`Provider-customer chat example against ${httpUrl} and ${wsUrl}\n`);
  const health = await call(httpUrl, 'GET', '/health');
  if (health.body?.status !== 'ok') throw new Error(`${httpUrl}/health answered ${JSON.stringify(health.body)}`);

  const customerToken = (await call(httpUrl, 'POST', '/dev/token', undefined, { userId: 2, role: 'customer' })).body.token as string;
  const staffToken = (await call(httpUrl, 'POST', '/dev/token', undefined, { userId: 7, role: 'provider', providerId: 1 })).body.token as string;
  print('  tokens        customer 2 and staff user 7 of provider 1 (POST /dev/token)');

  const started = await call(httpUrl, 'POST', `${API}/conversations`, staffToken, { providerId: 1, customerId: 2 });
  const conversationId = started.body.conversation.id as string;
  print(`  conversation  ${conversationId} (${started.status === 201 ? 'started: 201' : 'already there: 200'})`);

  const customer = await Peer.connect('customer 2', `${wsUrl}/?token=${encodeURIComponent(customerToken)}`);
  print('  customer 2    connected with ?token=');
  const staff = await Peer.connect('staff 7', `${wsUrl}/`);
  const signedIn = await staff.request('chat-authenticate', { token: staffToken });
  print(`  staff 7       connected, then chat-authenticate: signed in as user ${signedIn.userId} of provider ${signedIn.providerId}`);

  try {
    for (const peer of [customer, staff]) await peer.request('chat-join-conversation', { conversationId });
    print('  both          joined the conversation\n');

    const seqs: number[] = [];
    const isMessage = (id: string) => (f: Frame) => f.event === 'chat-new-message' && f.data.message.id === id;
    const isStatus = (id: string, status: string) => (f: Frame) => f.event === 'chat-message-status-updated' && f.data.messageId === id && f.data.status === status;
    const isTyping = (userId: number, typing: boolean) => (f: Frame) => f.event === 'chat-user-typing' && f.data.userId === userId && f.data.isTyping === typing;

    /** `from` types, then sends; `to` sees the typing, then the message, and marks it delivered. */
    const exchange = async (from: Peer, fromId: number, to: Peer, content: string) => {
      from.emit('chat-typing', { conversationId, isTyping: true });
      await to.next(`${from.name} typing`, isTyping(fromId, true));
      say(from.name, '… is typing');
      const { message } = await from.request('chat-send-message', { conversationId, content, messageType: 'TEXT' });
      from.emit('chat-typing', { conversationId, isTyping: false });
      await to.next(`the message from ${from.name}`, isMessage(message.id));
      seqs.push(message.seq);
      say(from.name, `→ ${content}   (#${message.seq})`);
      await to.request('chat-update-message-status', { messageId: message.id, status: 'DELIVERED' });
      await from.next(`the delivery receipt of #${message.seq}`, isStatus(message.id, 'DELIVERED'));
      say(to.name, `✓ delivered #${message.seq}`);
      return message;
    };

    const question = await exchange(customer, 2, staff, 'Hi! Is my car ready?');
    await staff.request('chat-update-message-status', { messageId: question.id, status: 'READ' });
    await customer.next(`the read receipt of #${question.seq}`, isStatus(question.id, 'READ'));
    say('staff 7', `✓✓ read #${question.seq}`);

    const reply = await exchange(staff, 7, customer, 'Almost: it is drying now. Ready in 10 minutes.');
    const thanks = await exchange(customer, 2, staff, 'Great, I am on my way!');

    // Each side reads the whole conversation at once (chat-mark-read); the other side is told.
    await customer.request('chat-mark-read', { conversationId });
    await staff.next(`the read receipt of #${reply.seq}`, isStatus(reply.id, 'READ'));
    say('customer 2', `✓✓ read #${reply.seq}`);
    await staff.request('chat-mark-read', { conversationId });
    await customer.next(`the read receipt of #${thanks.seq}`, isStatus(thanks.id, 'READ'));
    say('staff 7', `✓✓ read #${thanks.seq}`);

    const history = await call(httpUrl, 'GET', `${API}/conversations/${conversationId}/messages?page=1&limit=3`, customerToken);
    print(`\nDone. The conversation holds ${history.body.pagination.total} message(s); the newest:`);
    for (const message of history.body.messages) {
      print(`  #${message.seq}  ${message.senderRole === 'customer' ? 'customer' : 'provider'} ${message.senderId}: ${message.content}  [${message.status}]`);
    }
    return { conversationId, seqs };
  } finally {
    await Promise.all([customer.close(), staff.close()]);
  }
}

async function main(): Promise<void> {
  const host = '127.0.0.1';
  const httpUrl = `http://${host}:${process.env.PORT || 3000}`;
  const wsUrl = `ws://${host}:${process.env.WS_PORT || 3001}`;
  try {
    await runExample({ httpUrl, wsUrl });
    process.exitCode = 0;
  } catch (error) {
    console.error(`\nThe example stopped: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
