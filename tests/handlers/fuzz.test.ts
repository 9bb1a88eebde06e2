/**
 * Property tests that throw random and malformed input at every WebSocket action and every HTTP
 * route through the real handlers: random JSON, wrong types, huge strings, prototype-pollution
 * keys, unknown actions, both spellings of every action. Whatever arrives: no HTTP status of 500
 * or more, no handler that throws, no unhandled rejection, every WebSocket frame that carries a
 * requestId answered by exactly one chat-ack or chat-error, and the connection still answers a
 * ping afterwards.
 *
 * Runs are bounded (FUZZ_RUNS scales them; FUZZ_SEED replays a failure).
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DevTokenSubject } from '#adapters/auth/dev-issuer';
import { HTTP_ROUTES } from '#config/routes';
import { ACTIONS, actionData, clientFrame, routeKeyOf } from '#core/protocol';
import { MAX_FRAME_BYTES, people, startHandlerHarness, type HandlerHarness, type HttpReply, type ServerFrame } from '#tests/support/handler-harness';

const SCALE = Number(process.env.FUZZ_RUNS ?? '1');
const runs = (n: number) => Math.max(1, Math.round(n * SCALE));
const seed = process.env.FUZZ_SEED ? { seed: Number(process.env.FUZZ_SEED) } : {};

/** Codes that would mean the server failed (the WebSocket side of a 5xx). */
const SERVER_FAULTS = ['INTERNAL', 'UNAVAILABLE'];
const ERROR_CODES = ['VALIDATION_ERROR', 'UNAUTHORIZED', 'FORBIDDEN', 'NOT_FOUND', 'CONFLICT', 'PAYLOAD_TOO_LARGE', 'RATE_LIMITED'];

let h: HandlerHarness;
let conversationId: string;
/** Block, unblock and end get a conversation of their own: the main one must stay ACTIVE for the last check. */
let statusConversationId: string;
const STATUS_ROUTES: ReadonlySet<string> = new Set(['blockConversation', 'unblockConversation', 'endConversation']);
const conversationFor = (route: string, param: string) => (STATUS_ROUTES.has(route) && param === conversationId ? statusConversationId : param);
let messageId: string;
const rejections: unknown[] = [];
const onRejection = (reason: unknown) => void rejections.push(reason);
const prototypeBefore = Object.getOwnPropertyNames(Object.prototype).sort();

const SIGNED = 'fuzz-signed=';
const STAFF = 'fuzz-staff=';
const BARE = 'fuzz-bare=';

beforeAll(async () => {
  process.on('unhandledRejection', onRejection);
  h = await startHandlerHarness({ env: { CHAT_SEND_RATE_LIMIT: '1000000' } });
  const started = await h.http('startConversation', { identity: people.customer, body: { providerId: 1, customerId: 2 } });
  conversationId = started.json.conversation.id;
  statusConversationId = (await h.http('startConversation', { identity: people.customer, body: { providerId: 1, customerId: 2, orderId: 77 } })).json.conversation.id;
  messageId = (await h.http('sendMessage', { identity: people.customer, params: { conversationId }, body: { content: 'seed' } })).json.message.id;
  await h.ws.connect(SIGNED, { token: h.token(people.customer) });
  await h.ws.connect(STAFF, { token: h.token(people.staff) });
  await h.ws.connect(BARE);
});

afterAll(async () => {
  process.off('unhandledRejection', onRejection);
  await h?.stop();
});

// ─── Generators ────────────────────────────────────────────────────────────────────────

const PROTO_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf'];

/** Strings that have broken parsers, databases and key-value stores before. */
const nastyString = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom(
    '',
    ' ',
    '\u0000',
    'a\u0000b',
    '\ud800',
    'x\udc00y',
    '👋',
    '\u202e',
    '%00',
    '../../etc/passwd',
    "'; DROP TABLE x; --",
    '${jndi:ldap://x}',
    '<script>alert(1)</script>',
    'null',
    'undefined',
    'NaN',
    '-1',
    '0',
    '1e400',
    '2147483648',
    '9007199254740993',
    ...PROTO_KEYS,
    ...Object.keys(ACTIONS),
    ...Object.values(ACTIONS),
  ),
  // Huge strings: within a 32 KB frame, and past the content limit (4000).
  fc.integer({ min: 3990, max: 12_000 }).map((n) => 'x'.repeat(n)),
  fc.integer({ min: 100, max: 6000 }).map((n) => 'é'.repeat(n)),
);

const nastyNumber = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.constantFrom(0, -0, -1, 1.5, 2 ** 31, 2 ** 31 - 1, -(2 ** 31), 2 ** 53, Number.MAX_SAFE_INTEGER + 2, 1e308, 5e-324),
);

type Tree = { kind: 'lit'; text: string } | { kind: 'arr'; items: Tree[] } | { kind: 'obj'; entries: [string, Tree][] };

const key = fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...PROTO_KEYS, 'action', 'data', 'requestId', 'conversationId', 'content', 'token') }, { weight: 2, arbitrary: nastyString });
const literal: fc.Arbitrary<Tree> = fc
  .oneof(nastyString, nastyNumber, fc.boolean(), fc.constant(null))
  .map((value) => ({ kind: 'lit', text: JSON.stringify(value) ?? 'null' }));

/** JSON trees serialised by hand, so `__proto__` keys and duplicate keys reach the wire as text. */
const { tree } = fc.letrec<{ tree: Tree }>((tie) => ({
  tree: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    literal,
    fc.array(tie('tree'), { maxLength: 4 }).map((items): Tree => ({ kind: 'arr', items })),
    fc.array(fc.tuple(key, tie('tree')), { maxLength: 5 }).map((entries): Tree => ({ kind: 'obj', entries })),
  ),
}));

function serialise(node: Tree): string {
  if (node.kind === 'lit') return node.text;
  if (node.kind === 'arr') return `[${node.items.map(serialise).join(',')}]`;
  return `{${node.entries.map(([k, v]) => `${JSON.stringify(k)}:${serialise(v)}`).join(',')}}`;
}

/** A JSON object's text with extra hostile members appended. */
function withExtras(base: Record<string, unknown>, extras: [string, Tree][]): string {
  const members = [...Object.entries(base).map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v) ?? 'null'}`), ...extras.map(([k, v]) => `${JSON.stringify(k)}:${serialise(v)}`)];
  return `{${members.join(',')}}`;
}

const anyJsonText = tree.map(serialise);
const actionName = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...Object.keys(ACTIONS), ...Object.values(ACTIONS)) },
  { weight: 1, arbitrary: fc.oneof(nastyString, fc.constantFrom('$connect', '$disconnect', '$default', 'chat-', 'Ping', 'CHAT-PING', ' ping')) },
);
const requestIdValue = fc.option(
  fc.oneof({ weight: 4, arbitrary: fc.string({ minLength: 1, maxLength: 20 }) }, { weight: 1, arbitrary: fc.oneof(nastyString, nastyNumber, fc.constant(null)) }),
  { nil: undefined },
);

/** Valid-looking data for an action, with values from the nasty pools and hostile extra keys. */
function dataFor(route: string) {
  const someId = fc.oneof(fc.constant(conversationId), fc.constant(messageId), nastyString);
  const fieldsByRoute: Record<string, fc.Arbitrary<Record<string, unknown>>> = {
    authenticate: fc.record({ token: fc.oneof(fc.constant(h.token(people.customer)), fc.constant(h.expiredToken(people.customer)), fc.constant(h.otherKeyToken(people.customer)), nastyString, nastyNumber) }, { requiredKeys: [] }),
    joinConversation: fc.record({ conversationId: someId }, { requiredKeys: [] }),
    leaveConversation: fc.record({ conversationId: someId }, { requiredKeys: [] }),
    markRead: fc.record({ conversationId: someId }, { requiredKeys: [] }),
    typing: fc.record({ conversationId: someId, isTyping: fc.oneof(fc.boolean(), nastyString, nastyNumber) }, { requiredKeys: [] }),
    updateMessageStatus: fc.record(
      { messageId: someId, status: fc.oneof(fc.constantFrom('DELIVERED', 'READ', 'SENT', 'FAILED', 'read'), nastyString) },
      { requiredKeys: [] },
    ),
    sendMessage: fc.record(
      {
        conversationId: someId,
        content: fc.oneof(nastyString, nastyNumber, fc.constant(null)),
        messageType: fc.oneof(fc.constantFrom('TEXT', 'IMAGE', 'FILE', 'LOCATION', 'VOICE', 'SYSTEM'), nastyString),
        attachments: tree.map(serialise).map((text) => JSON.parse(text) as unknown),
        replyToId: fc.oneof(fc.constant(messageId), nastyString, fc.constant(null)),
        metadata: tree.map(serialise).map((text) => JSON.parse(text) as unknown),
        clientMessageId: fc.oneof(nastyString, fc.constant(null)),
      },
      { requiredKeys: [] },
    ),
    editMessage: fc.record({ messageId: someId, content: fc.oneof(nastyString, nastyNumber, fc.constant(null)), conversationId: someId }, { requiredKeys: [] }),
    deleteMessage: fc.record({ messageId: someId, conversationId: someId }, { requiredKeys: [] }),
    react: fc.record(
      { messageId: someId, emoji: fc.oneof(fc.constantFrom('👍', '🇩🇪', '👩🏽‍💻', '👍👍', 'ok'), nastyString), added: fc.oneof(fc.boolean(), nastyString), conversationId: someId },
      { requiredKeys: [] },
    ),
    ping: fc.constant({}),
  };
  return fc.tuple(fieldsByRoute[route]!, fc.array(fc.tuple(key, tree), { maxLength: 3 }));
}

const validishFrame = fc
  .constantFrom(...Object.keys(ACTIONS))
  .chain((route) =>
    fc.tuple(
      fc.constantFrom(route, ACTIONS[route as keyof typeof ACTIONS]),
      dataFor(route),
      requestIdValue,
      fc.array(fc.tuple(fc.constantFrom(...PROTO_KEYS), tree), { maxLength: 2 }),
    ),
  )
  .map(([action, [data, dataExtras], requestId, frameExtras]) =>
    withExtras({ action, data: JSON.parse(withExtras(data, dataExtras)) as unknown, ...(requestId === undefined ? {} : { requestId }) }, frameExtras),
  );

const randomFrame = fc.oneof(
  // Anything at all.
  fc.string({ maxLength: 200 }),
  anyJsonText,
  fc.constantFrom('', ' ', 'null', '[]', '{}', '{"action":null}', '{"action":"chat-ping"', '{"__proto__":{"action":"ping"}}', '{"action":"ping","data":[]}', '{"action":"ping","requestId":""}'),
  // A known or unknown action with random data and requestId.
  fc.tuple(actionName, fc.option(tree, { nil: undefined }), requestIdValue).map(([action, data, requestId]) =>
    withExtras({ action, ...(requestId === undefined ? {} : { requestId }) }, data === undefined ? [] : [['data', data]]),
  ),
);

// ─── Oracle ────────────────────────────────────────────────────────────────────────────

function parse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Whether the frame passes validation, so the action runs (and may legitimately send nothing back). */
function isWellFormed(body: string): boolean {
  const envelope = clientFrame.safeParse(parse(body));
  if (!envelope.success) return false;
  const route = routeKeyOf(envelope.data.action);
  return route !== null && actionData[route].safeParse(envelope.data.data ?? {}).success;
}

function requestIdOf(body: string): string | undefined {
  const parsed = parse(body);
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return undefined;
  const { requestId } = parsed as { requestId?: unknown };
  return typeof requestId === 'string' ? requestId : undefined;
}

async function reconnect(connectionId: string): Promise<void> {
  await h.ws.disconnect(connectionId);
  const token = connectionId === BARE ? undefined : h.token(connectionId === STAFF ? people.staff : people.customer);
  expect((await h.ws.connect(connectionId, token ? { token } : {})).statusCode).toBe(200);
}

/** Sends one fuzzed frame and checks the contract of the answer; then the connection must still answer a ping. */
async function checkFrame(connectionId: string, body: string): Promise<void> {
  const reply = await h.ws.send(connectionId, body);
  if (reply.closedWith !== undefined) {
    // Over API Gateway's frame limit: closed before any handler ran. The client reconnects.
    expect(Buffer.byteLength(body)).toBeGreaterThan(MAX_FRAME_BYTES);
    await reconnect(connectionId);
    return;
  }
  expect(reply.statusCode).toBe(200);
  const errors = reply.frames.filter((f) => f.event === 'chat-error');
  for (const error of errors) {
    expect(SERVER_FAULTS).not.toContain(error.data.code);
    expect(ERROR_CODES).toContain(error.data.code);
    expect(typeof error.data.message).toBe('string');
  }
  const requestId = requestIdOf(body);
  if (requestId !== undefined) {
    const answers = reply.frames.filter((f: ServerFrame) => (f.event === 'chat-ack' || f.event === 'chat-error') && f.requestId === requestId);
    expect(answers, `${body.slice(0, 200)} → ${JSON.stringify(reply.frames).slice(0, 400)}`).toHaveLength(1);
    expect(answers[0]!.data.requestId).toBe(requestId);
  } else if (!isWellFormed(body)) {
    expect(errors.map((e) => e.data.code), body.slice(0, 200)).toEqual(['VALIDATION_ERROR']);
  }
  // A sign-in attempt may have moved the connection to another user or left it bare; either way it answers.
  const pong = await h.ws.send(connectionId, '{"action":"chat-ping","data":{}}');
  expect(pong.frames.map((f) => f.event)).toEqual(['chat-pong']);
}

// ─── WebSocket ─────────────────────────────────────────────────────────────────────────

describe('WebSocket frames', () => {
  it('a signed-in connection survives random frames, each answered without a server fault', async () => {
    await fc.assert(
      fc.asyncProperty(randomFrame, (body) => checkFrame(SIGNED, body)),
      { numRuns: runs(150), ...seed },
    );
  });

  it('every action, in both spellings, with malformed data and hostile keys, answers its requestId once', async () => {
    await fc.assert(
      fc.asyncProperty(validishFrame, fc.constantFrom(SIGNED, STAFF), (body, connectionId) => checkFrame(connectionId, body)),
      { numRuns: runs(200), ...seed },
    );
  });

  it('a bare connection survives the same, and is only ever refused or pinged', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(validishFrame, randomFrame), async (body) => {
        await checkFrame(BARE, body);
        // It may have signed in with the customer's token: start bare again.
        await h.ws.disconnect(BARE);
        await h.ws.connect(BARE);
      }),
      { numRuns: runs(100), ...seed },
    );
  });

  it('frames over 32 KB never reach a handler, and the client can reconnect', async () => {
    const body = JSON.stringify({ action: 'chat-send-message', data: { conversationId, content: 'z'.repeat(MAX_FRAME_BYTES) }, requestId: 'big' });
    const before = await h.database.prisma.message.count();
    await checkFrame(SIGNED, body);
    expect(await h.database.prisma.message.count()).toBe(before);
    expect((await h.ws.send(SIGNED, { action: 'ping' })).frames.map((f) => f.event)).toEqual(['chat-pong']);
  });
});

// ─── HTTP ──────────────────────────────────────────────────────────────────────────────

/** Mostly participants, so requests get past the access checks to the stores. */
const callers: DevTokenSubject[] = [people.customer, people.customer, people.staff, people.otherCustomer, people.admin];

/** Built per test: the ids exist only once the harness has started. */
const httpBody = () => fc.oneof(
  fc.constant(undefined),
  fc.string({ maxLength: 100 }),
  anyJsonText,
  fc
    .tuple(
      fc.record(
        {
          providerId: fc.oneof(fc.constant(1), nastyNumber, nastyString),
          customerId: fc.oneof(fc.constant(2), nastyNumber, nastyString),
          orderId: fc.oneof(nastyNumber, nastyString, fc.constant(null)),
          content: fc.oneof(nastyString, nastyNumber),
          messageType: fc.oneof(fc.constantFrom('TEXT', 'IMAGE', 'SYSTEM'), nastyString),
          attachments: anyJsonText.map((text) => JSON.parse(text) as unknown),
          metadata: anyJsonText.map((text) => JSON.parse(text) as unknown),
          replyToId: fc.oneof(fc.constant(messageId), nastyString),
          clientMessageId: nastyString,
        },
        { requiredKeys: [] },
      ),
      fc.array(fc.tuple(key, tree), { maxLength: 3 }),
    )
    .map(([base, extras]) => withExtras(base, extras)),
);

const queryValue = fc.oneof(nastyString, nastyNumber.map(String), fc.array(fc.string({ maxLength: 5 }), { minLength: 2, maxLength: 3 }));
const httpQuery = fc.oneof(
  fc.constant({}),
  fc.dictionary(fc.constantFrom('page', 'limit', 'after', 'before', 'status', 'cursor', ...PROTO_KEYS), queryValue, { maxKeys: 4 }),
  fc.dictionary(nastyString, queryValue, { maxKeys: 3 }),
);
const httpParam = () =>
  fc.oneof({ weight: 2, arbitrary: fc.constant(conversationId) }, { weight: 1, arbitrary: nastyString.filter((s) => s.length > 0) });

function expectSafeReply(reply: HttpReply, what: string): void {
  expect(reply.status, `${what} → ${reply.body.slice(0, 300)}`).toBeLessThan(500);
  if (reply.status >= 400 && reply.invoked) {
    expect(reply.json?.error?.code, `${what} → ${reply.body.slice(0, 300)}`).toEqual(expect.any(String));
    expect(ERROR_CODES).toContain(reply.json.error.code);
    expect(reply.body).not.toMatch(/prisma|node_modules|\n\s+at /i);
  }
}

describe('HTTP routes', () => {
  it.each(HTTP_ROUTES.map((route) => [route.name, route.method, route.path] as const))(
    '%s (%s %s) never answers 5xx to random bodies, queries and path parameters',
    async (route) => {
      await fc.assert(
        fc.asyncProperty(fc.constantFrom(...callers), httpBody(), httpQuery, httpParam(), fc.boolean(), async (identity, body, query, param, base64) => {
          const reply = await h.http(route, { identity, body, query, params: { conversationId: conversationFor(route, param) }, base64 });
          expectSafeReply(reply, `${route} ${JSON.stringify({ identity, body: typeof body === 'string' ? body.slice(0, 200) : body, query, param })}`);
        }),
        { numRuns: runs(60), ...seed },
      );
    },
  );

  it('never answer 5xx to random authorizer claims', async () => {
    const claimValue = fc.oneof(nastyString, nastyNumber.map(String), fc.constantFrom('customer', 'provider', 'admin', '1', '2', '7'));
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...HTTP_ROUTES.filter((route) => route.authorized).map((route) => route.name)),
        fc.record({ userId: claimValue, role: claimValue, providerId: claimValue }, { requiredKeys: [] }),
        fc.dictionary(nastyString, claimValue, { maxKeys: 3 }),
        async (route, claims, extra) => {
          const reply = await h.http(route, { claims: { ...extra, ...claims }, params: { conversationId: conversationFor(route, conversationId) }, body: { providerId: 1, customerId: 2, content: 'claims' } });
          expectSafeReply(reply, `${route} ${JSON.stringify(claims)}`);
        },
      ),
      { numRuns: runs(100), ...seed },
    );
  });
});

describe('afterwards', () => {
  it('no unhandled rejection happened and no prototype was polluted', async () => {
    await h.settled();
    await new Promise((resolve) => setImmediate(resolve));
    expect(rejections).toEqual([]);
    expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(prototypeBefore);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('the conversation still works end to end', async () => {
    const sent = await h.http('sendMessage', { identity: people.staff, params: { conversationId }, body: { content: 'still here' } });
    expect(sent.status).toBe(201);
    const history = await h.http('getMessages', { identity: people.customer, params: { conversationId }, query: { after: String(sent.json.message.seq - 1) } });
    expect(history.json.messages.map((m: { content: string }) => m.content)).toEqual(['still here']);
    // seq stayed gapless through everything the fuzzing stored.
    const seqs = (await h.database.prisma.message.findMany({ where: { conversationId }, select: { seq: true }, orderBy: { seq: 'asc' } })).map((m) => m.seq);
    expect(seqs).toEqual(seqs.map((_, i) => i + 1));
  });
});
