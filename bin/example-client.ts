/**
 * `npm run example`: a customer and a provider's staff chatting, against a running `npm start`.
 *
 *   npm start                              # in one terminal
 *   npm run example                        # in another
 *   PORT=4000 WS_PORT=4001 npm run example # when the runtime runs on other ports
 *
 * It does what an app does, through the client package (sdk/, `@provider-customer-chat/client`):
 * gets dev tokens for customer 2 and staff user 7 of provider 1 (`POST /dev/token`), starts (or
 * reopens) their conversation over REST, connects both over WebSocket (`?token=`; the staff user
 * also sends `chat-authenticate` to hear who it is), joins the conversation, and exchanges a few
 * messages with typing indicators and delivery and read receipts. Each line of the transcript is
 * printed when the other side's client received it. Exits 0 when the whole exchange went
 * through, 1 otherwise.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { ChatClient, type ChatEvents, type Message } from '../sdk/src/index.ts';

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

/** One side of the chat: a client of the SDK, and its events to wait for. */
class Peer {
  readonly client: ChatClient;

  constructor(
    readonly name: string,
    httpUrl: string,
    wsUrl: string,
    token: string,
  ) {
    this.client = new ChatClient({ httpUrl, wsUrl, getToken: () => token, WebSocket });
  }

  async connect(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`${this.name} could not connect within ${WAIT_MS / 1000} s`)), WAIT_MS);
    });
    try {
      await Promise.race([this.client.connect(), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** The next event of this kind that matches. */
  next<K extends keyof ChatEvents>(what: string, event: K, match: (payload: ChatEvents[K]) => boolean): Promise<ChatEvents[K]> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(new Error(`${this.name} waited ${WAIT_MS / 1000} s for ${what}, in vain`));
      }, WAIT_MS);
      const off = this.client.on(event, (payload) => {
        if (!match(payload)) return;
        clearTimeout(timer);
        off();
        resolve(payload);
      });
    });
  }

  close(): void {
    this.client.close();
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

  const customer = new Peer('customer 2', httpUrl, wsUrl, customerToken);
  const staff = new Peer('staff 7', httpUrl, wsUrl, staffToken);
  try {
    await customer.connect();
    print('  customer 2    connected with ?token=');
    await staff.connect();
    const signedIn = await staff.client.request('authenticate', { token: staffToken });
    print(`  staff 7       connected, then chat-authenticate: signed in as user ${signedIn.userId} of provider ${signedIn.providerId}`);

    for (const peer of [customer, staff]) await peer.client.join(conversationId);
    print('  both          joined the conversation\n');

    const seqs: number[] = [];

    /** `from` types, then sends; `to` sees the typing, then the message, and marks it delivered. */
    const exchange = async (from: Peer, fromId: number, to: Peer, content: string): Promise<Message> => {
      const typing = from.client.typing(conversationId);
      const seen = to.next(`${from.name} typing`, 'typing', (t) => t.userId === fromId && t.isTyping);
      typing.input();
      await seen;
      say(from.name, '… is typing');
      const outgoing = from.client.send(conversationId, { content, messageType: 'TEXT' });
      const arrived = to.next(`the message from ${from.name}`, 'message', ({ message }) => message.clientMessageId === outgoing.clientMessageId);
      const message = await outgoing.sent;
      typing.stop();
      await arrived;
      seqs.push(message.seq);
      say(from.name, `→ ${content}   (#${message.seq})`);
      const delivered = from.next(`the delivery receipt of #${message.seq}`, 'status', (s) => s.messageId === message.id && s.status === 'DELIVERED');
      await to.client.updateMessageStatus(message.id, 'DELIVERED');
      await delivered;
      say(to.name, `✓ delivered #${message.seq}`);
      return message;
    };
    const readReceipt = (peer: Peer, message: Message) =>
      peer.next(`the read receipt of #${message.seq}`, 'status', (s) => s.messageId === message.id && s.status === 'READ');

    const question = await exchange(customer, 2, staff, 'Hi! Is my car ready?');
    const questionRead = readReceipt(customer, question);
    await staff.client.updateMessageStatus(question.id, 'READ');
    await questionRead;
    say('staff 7', `✓✓ read #${question.seq}`);

    const reply = await exchange(staff, 7, customer, 'Almost: it is drying now. Ready in 10 minutes.');
    const thanks = await exchange(customer, 2, staff, 'Great, I am on my way!');

    // Each side reads the whole conversation at once (chat-mark-read); the other side is told.
    const replyRead = readReceipt(staff, reply);
    await customer.client.markRead(conversationId);
    await replyRead;
    say('customer 2', `✓✓ read #${reply.seq}`);
    const thanksRead = readReceipt(customer, thanks);
    await staff.client.markRead(conversationId);
    await thanksRead;
    say('staff 7', `✓✓ read #${thanks.seq}`);

    const history = await customer.client.api.getMessages({ params: { conversationId }, query: { page: 1, limit: 3 } });
    print(`\nDone. The conversation holds ${history.pagination.total} message(s); the newest:`);
    for (const message of history.messages) {
      print(`  #${message.seq}  ${message.senderRole === 'customer' ? 'customer' : 'provider'} ${message.senderId}: ${message.content}  [${message.status}]`);
    }
    return { conversationId, seqs };
  } finally {
    customer.close();
    staff.close();
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
