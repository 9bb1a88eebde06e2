/**
 * Who may do what, route by route and action by action, through the real handlers: the
 * conversation's customer, its provider's staff (two users of one business), another customer,
 * another provider's staff, an admin, a service (a backend of the marketplace), and callers
 * without a valid token. Outsiders are refused and never see the conversation's content.
 *
 * HTTP callers without a valid token: in AWS the JWT authorizer answers 401 before any handler
 * runs (as the harness does here), and the handler's own defence, an event without verified
 * claims, answers 401 UNAUTHORIZED. WebSocket callers use real tokens throughout.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DevTokenSubject } from '#adapters/auth/dev-issuer';
import { HTTP_ROUTES } from '#config/routes';
import { makeAttachmentStore } from '#adapters/postgres/attachment-store';
import { ACTIONS } from '#core/protocol';
import { people, startHandlerHarness, type HandlerHarness, type HttpRequestOptions, type HttpRouteName, type Loose } from '#tests/support/handler-harness';

const SECRET = 'the gate code is 4711';

const CALLERS = [
  'participantCustomer',
  'participantStaff',
  'sameProviderStaff',
  'otherCustomer',
  'otherProviderStaff',
  'admin',
  'service',
  'noToken',
  'expiredToken',
  'wrongAudience',
] as const;
type Caller = (typeof CALLERS)[number];

const SUBJECTS: Record<Exclude<Caller, 'noToken'>, DevTokenSubject> = {
  participantCustomer: people.customer,
  participantStaff: people.staff,
  sameProviderStaff: people.staff2,
  otherCustomer: people.otherCustomer,
  otherProviderStaff: people.otherStaff,
  admin: people.admin,
  service: people.service,
  expiredToken: people.customer,
  wrongAudience: people.customer,
};

/** Callers who must never see the conversation's content. */
const OUTSIDERS: readonly Caller[] = ['otherCustomer', 'otherProviderStaff', 'noToken', 'expiredToken', 'wrongAudience'];
const UNAUTHENTICATED: readonly Caller[] = ['noToken', 'expiredToken', 'wrongAudience'];

let h: HandlerHarness;
let conversationId: string;
/** A message the customer sent: only the provider's side may move its status. */
let customerMessageId: string;
/** Messages of the customer's for the edit and delete rows (so the secret one stays as it is). */
let editableMessageId: string;
let deletableMessageId: string;
let wsDeletableMessageId: string;
/** A sync cursor from before anything below happened: every caller pages from it. */
let syncStart: string;
/** A conversation of the same pair for the block, unblock and end rows (the main one stays ACTIVE). */
let statusConversationId: string;
/** The staff's reply: the customer reports it; the report is what admins resolve. */
let staffReplyId: string;
let reportId: string;
/** The participant customer's own device: only they may delete it. */
let customerDeviceId: string;
/** The customer's photo, processed and sent in a message: both sides and admins and services read it. */
let attachmentId: string;

function auth(caller: Caller): HttpRequestOptions {
  if (caller === 'noToken') return {};
  if (caller === 'expiredToken') return { token: h.expiredToken(SUBJECTS[caller]) };
  if (caller === 'wrongAudience') return { token: h.wrongAudienceToken(SUBJECTS[caller]) };
  return { identity: SUBJECTS[caller] };
}

beforeAll(async () => {
  h = await startHandlerHarness({ env: { CHAT_SEND_RATE_LIMIT: '1000' } });
  syncStart = (await h.http('sync', { identity: people.customer })).json.cursor;
  const started = await h.http('startConversation', { identity: people.customer, body: { providerId: 1, customerId: 2 } });
  conversationId = started.json.conversation.id;
  const secret = await h.http('sendMessage', { identity: people.customer, params: { conversationId }, body: { content: SECRET } });
  customerMessageId = secret.json.message.id;
  const own = async (content: string) =>
    (await h.http('sendMessage', { identity: people.customer, params: { conversationId }, body: { content } })).json.message.id as string;
  editableMessageId = await own(`${SECRET}, to edit`);
  deletableMessageId = await own(`${SECRET}, to delete`);
  wsDeletableMessageId = await own(`${SECRET}, to delete over WebSocket`);
  staffReplyId = (await h.http('sendMessage', { identity: people.staff, params: { conversationId }, body: { content: `re: ${SECRET}` } })).json.message.id;
  const reported = await h.http('reportMessage', { identity: people.customer, params: { conversationId, messageId: staffReplyId }, body: { reason: 'other' } });
  reportId = reported.json.report.id;
  statusConversationId = (await h.http('startConversation', { identity: people.customer, body: { providerId: 1, customerId: 2, orderId: 404 } })).json.conversation.id;
  const intent = await h.http('createAttachment', { identity: people.customer, params: { conversationId }, body: { fileName: 'dent.jpg', contentType: 'image/jpeg', size: 1000 } });
  attachmentId = intent.json.attachment.id;
  await makeAttachmentStore({ prisma: h.database.prisma }).finish(attachmentId, { status: 'READY', size: 900, contentType: 'image/jpeg', width: 10, height: 10, hasThumbnail: true }, new Date());
  await h.http('sendMessage', { identity: people.customer, params: { conversationId }, body: { content: SECRET, messageType: 'IMAGE', attachments: [{ id: attachmentId }] } });
  customerDeviceId = (await h.http('registerDevice', { identity: people.customer, body: { platform: 'fcm', token: 'matrix-customer-device-token' } })).json.device.id;
  // The outsiders have conversations of their own, so their inboxes are not empty.
  await h.http('startConversation', { identity: people.otherCustomer, body: { providerId: 2, customerId: 3 } });
});

afterAll(async () => {
  await h?.stop();
});

// ─── HTTP ──────────────────────────────────────────────────────────────────────────────

/** Expected status per caller, in CALLERS order; the last entry is for every unauthenticated caller. */
type Row = [participantCustomer: number, participantStaff: number, sameProviderStaff: number, otherCustomer: number, otherProviderStaff: number, admin: number, service: number, unauthenticated: number];

// Ordered so that archiving comes last (a send would bring the conversation back to the inbox).
const HTTP_MATRIX: [HttpRouteName, Row][] = [
  ['startConversation', [200, 200, 200, 403, 403, 200, 200, 401]],
  ['listConversations', [200, 200, 200, 200, 200, 403, 403, 401]],
  ['getMessages', [200, 200, 200, 403, 403, 200, 200, 401]],
  // Searching one conversation is reading it; without conversationId, see the test below.
  ['searchMessages', [200, 200, 200, 403, 403, 200, 200, 401]],
  ['getTyping', [200, 200, 200, 403, 403, 200, 200, 401]],
  ['onlineUsers', [200, 200, 200, 200, 200, 200, 403, 401]],
  ['sendMessage', [201, 201, 201, 403, 403, 403, 403, 401]],
  ['markRead', [200, 200, 200, 403, 403, 403, 403, 401]],
  ['editMessage', [200, 403, 403, 403, 403, 403, 403, 401]],
  // The customer deletes first; the admin's delete then answers the same tombstone.
  ['deleteMessage', [200, 403, 403, 403, 403, 200, 403, 401]],
  ['addReaction', [200, 200, 200, 403, 403, 403, 403, 401]],
  ['removeReaction', [200, 200, 200, 403, 403, 403, 403, 401]],
  // Outsiders have a feed of their own, without this conversation in it; admins have none.
  ['sync', [200, 200, 200, 200, 200, 403, 403, 401]],
  ['archiveConversation', [200, 200, 200, 403, 403, 403, 403, 401]],
  // The customer blocks; the rest find it blocked already (200 for whoever may block), then the
  // customer (who blocked) lifts it; then staff end it for good.
  ['blockConversation', [200, 200, 200, 403, 403, 200, 200, 401]],
  ['unblockConversation', [200, 200, 200, 403, 403, 200, 200, 401]],
  ['endConversation', [403, 200, 200, 403, 403, 200, 200, 401]],
  // Assignment in the shared inbox: the provider's staff only.
  ['assignConversation', [403, 200, 200, 403, 403, 403, 403, 401]],
  // Reports: of the other side's message (staff sent it; their colleague is not its sender);
  // the queue and its resolutions are the admins'.
  ['reportMessage', [200, 403, 201, 403, 403, 403, 403, 401]],
  ['listReports', [403, 403, 403, 403, 403, 200, 403, 401]],
  ['resolveReport', [403, 403, 403, 403, 403, 200, 403, 401]],
  // Devices are everyone's own: admins have none (nothing is ever pushed to them).
  ['registerDevice', [201, 201, 201, 201, 201, 403, 403, 401]],
  ['listDevices', [200, 200, 200, 200, 200, 200, 200, 401]],
  // The customer deletes their own device; to everyone else it does not exist.
  ['deleteDevice', [204, 404, 404, 404, 404, 404, 404, 401]],
  ['muteConversation', [200, 200, 200, 403, 403, 403, 403, 401]],
  // A provider's statistics: its own staff and admins.
  ['providerStats', [403, 200, 200, 403, 403, 200, 403, 401]],
  // Attachments: participants upload; a sent one is read by both sides, admins and services.
  ['createAttachment', [201, 201, 201, 403, 403, 403, 403, 401]],
  ['getAttachment', [200, 200, 200, 403, 403, 200, 200, 401]],
  ['getAttachmentContent', [302, 302, 302, 403, 403, 302, 302, 401]],
  ['health', [200, 200, 200, 200, 200, 200, 200, 200]],
  ['apiDocs', [200, 200, 200, 200, 200, 200, 200, 200]],
  ['openApiDocument', [200, 200, 200, 200, 200, 200, 200, 200]],
];

const CODES: Record<number, string> = { 401: 'UNAUTHORIZED', 403: 'FORBIDDEN', 404: 'NOT_FOUND' };

function requestFor(route: HttpRouteName, caller: Caller, id = conversationId): HttpRequestOptions {
  const base = auth(caller);
  switch (route) {
    case 'startConversation':
      return { ...base, body: { providerId: 1, customerId: 2 } };
    case 'listConversations':
      return { ...base, query: { limit: '100' } };
    case 'sendMessage':
      return { ...base, params: { conversationId: id }, body: { content: `matrix http ${caller}` } };
    case 'editMessage':
      return { ...base, params: { conversationId: id, messageId: editableMessageId }, body: { content: `matrix edit ${caller}` } };
    case 'deleteMessage':
      return { ...base, params: { conversationId: id, messageId: deletableMessageId } };
    case 'addReaction':
    case 'removeReaction':
      return { ...base, params: { conversationId: id, messageId: customerMessageId, emoji: '👍' } };
    case 'sync':
      return { ...base, query: { since: syncStart, limit: '500' } };
    case 'blockConversation':
    case 'unblockConversation':
    case 'endConversation':
      return { ...base, params: { conversationId: id === conversationId ? statusConversationId : id } };
    case 'assignConversation':
      return { ...base, params: { conversationId: id }, body: { userId: 8 } };
    case 'reportMessage':
      return { ...base, params: { conversationId: id, messageId: staffReplyId }, body: { reason: 'spam' } };
    case 'resolveReport':
      return { ...base, params: { reportId }, body: { action: 'dismiss' } };
    case 'registerDevice':
      return { ...base, body: { platform: 'apns', token: `matrix-${caller}-apns-token` } };
    case 'deleteDevice':
      return { ...base, params: { deviceId: customerDeviceId } };
    case 'muteConversation':
      return { ...base, params: { conversationId: id }, body: { muted: true } };
    case 'searchMessages':
      return { ...base, query: { q: 'gate co', conversationId: id } };
    case 'providerStats':
      return { ...base, params: { providerId: '1' } };
    case 'createAttachment':
      return { ...base, params: { conversationId: id }, body: { fileName: `matrix-${caller}.pdf`, contentType: 'application/pdf', size: 2048 } };
    case 'getAttachment':
      return { ...base, params: { conversationId: id, attachmentId } };
    case 'getAttachmentContent':
      return { ...base, params: { conversationId: id, attachmentId }, query: { variant: 'thumbnail' } };
    case 'getMessages':
    case 'getTyping':
    case 'markRead':
    case 'archiveConversation':
      return { ...base, params: { conversationId: id } };
    default:
      return base;
  }
}

const httpCases = HTTP_MATRIX.flatMap(([route, row]) =>
  CALLERS.map((caller, i) => [route, caller, row[Math.min(i, 7)]!] as const),
);

describe('HTTP routes', () => {
  beforeAll(async () => {
    // Everyone is online, so online-users has someone to leak if it would.
    for (const caller of CALLERS.slice(0, 7)) await h.ws.connect(`http-${caller}`, { token: h.token(SUBJECTS[caller as Exclude<Caller, 'noToken'>]) });
  });

  it('covers every HTTP route of the manifest', () => {
    expect(HTTP_MATRIX.map(([route]) => route).sort()).toEqual(HTTP_ROUTES.map((route) => route.name).sort());
  });

  it.each(httpCases)('%s as %s answers %i', async (route, caller, expected) => {
    const reply = await h.http(route, requestFor(route, caller));
    expect(reply.status, reply.body.slice(0, 300)).toBe(expected);
    const authorized = HTTP_ROUTES.find((r) => r.name === route)!.authorized;

    if (authorized && (caller === 'expiredToken' || caller === 'wrongAudience')) {
      // API Gateway's JWT authorizer refuses; the handler never runs.
      expect(reply.invoked).toBe(false);
    } else if (expected >= 400) {
      expect(reply.json).toEqual({ error: { code: CODES[expected], message: expect.any(String) } });
    }

    if (OUTSIDERS.includes(caller)) {
      expect(reply.body).not.toContain(SECRET);
      if (route !== 'apiDocs' && route !== 'openApiDocument') expect(reply.body).not.toContain(conversationId);
    }
    if (route === 'listDevices' && expected === 200) {
      // Only the caller's own: the customer's device (deleted later) is nobody else's.
      const ids = reply.json.devices.map((d: Loose) => d.id);
      expect(ids.includes(customerDeviceId)).toBe(caller === 'participantCustomer');
    }
    if (route === 'listConversations' && expected === 200) {
      const ids = reply.json.conversations.map((c: Loose) => c.id);
      expect(ids.includes(conversationId)).toBe(!OUTSIDERS.includes(caller));
    }
    if (route === 'onlineUsers' && OUTSIDERS.includes(caller) && expected === 200) {
      // Outsiders share no conversation with the customer or provider 1's staff.
      const ids = reply.json.users.map((u: Loose) => u.userId);
      for (const userId of [2, 7, 8]) expect(ids).not.toContain(userId);
    }
    if (route === 'getMessages' && expected === 200) {
      expect(reply.json.messages.map((m: Loose) => m.content)).toContain(SECRET);
    }
    if (route === 'searchMessages' && expected === 200) {
      expect(reply.json.results.map((r: Loose) => r.message.content)).toContain(SECRET);
    }
  });

  // SYSTEM messages are the services' own: anyone else's is invalid data. Sent after the matrix,
  // since a message brings an archived conversation back to the inbox.
  const systemCases = CALLERS.map((caller) => [caller, caller === 'service' ? 201 : UNAUTHENTICATED.includes(caller) ? 401 : 400] as const);
  it.each(systemCases)('a SYSTEM message sent over HTTP as %s answers %i', async (caller, expected) => {
    const reply = await h.http('sendMessage', {
      ...auth(caller),
      params: { conversationId },
      body: { content: `matrix system ${caller}`, messageType: 'SYSTEM' },
    });
    expect(reply.status, reply.body.slice(0, 300)).toBe(expected);
    if (expected === 201) expect(reply.json.message).toMatchObject({ senderRole: 'system', messageType: 'SYSTEM', senderId: people.service.userId });
    if (expected === 400) expect(reply.json.error.code).toBe('VALIDATION_ERROR');
  });

  it.each(CALLERS.filter((caller) => !UNAUTHENTICATED.includes(caller)))(
    'searching everything finds the conversation\'s messages only for its readers (%s)',
    async (caller) => {
      const reply = await h.http('searchMessages', { ...auth(caller), query: { q: 'gate code 4711' } });
      expect(reply.status, reply.body.slice(0, 300)).toBe(200);
      const contents = reply.json.results.map((r: Loose) => r.message.content);
      if (OUTSIDERS.includes(caller)) {
        expect(reply.body).not.toContain(SECRET);
        expect(reply.body).not.toContain(conversationId);
      } else {
        expect(contents).toContain(SECRET);
      }
    },
  );

  it.each(CALLERS.filter((caller) => !UNAUTHENTICATED.includes(caller)))(
    'a conversation that does not exist answers 404 to %s, whoever asks',
    async (caller) => {
      for (const route of ['getMessages', 'searchMessages', 'getTyping', 'markRead', 'archiveConversation', 'sendMessage', 'blockConversation', 'unblockConversation', 'endConversation', 'assignConversation', 'muteConversation', 'createAttachment', 'getAttachment', 'getAttachmentContent'] as const) {
        const reply = await h.http(route, requestFor(route, caller, 'no-such-conversation'));
        // Admins and services may not send TEXT anywhere: refused before the lookup.
        const expected = (caller === 'admin' || caller === 'service') && route === 'sendMessage' ? 403 : 404;
        expect(reply.status, `${route}: ${reply.body}`).toBe(expected);
        expect(reply.json.error.code).toBe(CODES[expected]);
      }
    },
  );
});

// ─── WebSocket ─────────────────────────────────────────────────────────────────────────

type Outcome = 'ack' | 'UNAUTHORIZED' | 'FORBIDDEN' | 'VALIDATION_ERROR';
type WsRow = [
  participantCustomer: Outcome,
  participantStaff: Outcome,
  sameProviderStaff: Outcome,
  otherCustomer: Outcome,
  otherProviderStaff: Outcome,
  admin: Outcome,
  service: Outcome,
  noToken: Outcome,
  expiredToken: Outcome,
  wrongAudience: Outcome,
];

const U = 'UNAUTHORIZED';
const F = 'FORBIDDEN';

const WS_MATRIX: [action: string, event: string, row: WsRow][] = [
  // Without a token, `chat-authenticate {}` is invalid data; a bad token is refused.
  ['authenticate', 'chat-authenticate', ['ack', 'ack', 'ack', 'ack', 'ack', 'ack', 'ack', 'VALIDATION_ERROR', U, U]],
  ['joinConversation', 'chat-join-conversation', ['ack', 'ack', 'ack', F, F, 'ack', 'ack', U, U, U]],
  ['typing', 'chat-typing', ['ack', 'ack', 'ack', F, F, F, F, U, U, U]],
  ['sendMessage', 'chat-send-message', ['ack', 'ack', 'ack', F, F, F, F, U, U, U]],
  // Only the receiving side moves a status: the customer sent this message.
  ['updateMessageStatus', 'chat-update-message-status', [F, 'ack', 'ack', F, F, F, F, U, U, U]],
  ['markRead', 'chat-mark-read', ['ack', 'ack', 'ack', F, F, F, F, U, U, U]],
  ['editMessage', 'chat-edit-message', ['ack', F, F, F, F, F, F, U, U, U]],
  ['deleteMessage', 'chat-delete-message', ['ack', F, F, F, F, 'ack', F, U, U, U]],
  ['react', 'chat-react', ['ack', 'ack', 'ack', F, F, F, F, U, U, U]],
  // Leaving a room is never an error for a signed-in connection (nothing to protect).
  ['leaveConversation', 'chat-leave-conversation', ['ack', 'ack', 'ack', 'ack', 'ack', 'ack', 'ack', U, U, U]],
  ['ping', 'chat-ping', ['ack', 'ack', 'ack', 'ack', 'ack', 'ack', 'ack', 'ack', 'ack', 'ack']],
];

const connectionOf = (caller: Caller) => `ws-${caller}`;

function dataFor(action: string, caller: Caller, spelling: string): unknown {
  switch (action) {
    case 'authenticate':
      if (caller === 'noToken') return {};
      if (caller === 'expiredToken') return { token: h.expiredToken(SUBJECTS[caller]) };
      if (caller === 'wrongAudience') return { token: h.wrongAudienceToken(SUBJECTS[caller]) };
      return { token: h.token(SUBJECTS[caller]) };
    case 'sendMessage':
      return { conversationId, content: `matrix ws ${caller} ${spelling}` };
    case 'typing':
      return { conversationId, isTyping: true };
    case 'updateMessageStatus':
      return { messageId: customerMessageId, status: 'DELIVERED' };
    case 'editMessage':
      return { messageId: editableMessageId, content: `matrix ws edit ${caller} ${spelling}` };
    case 'deleteMessage':
      return { messageId: wsDeletableMessageId };
    case 'react':
      return { messageId: customerMessageId, emoji: '🚗', added: true };
    case 'ping':
      return {};
    default:
      return { conversationId };
  }
}

const wsCases = WS_MATRIX.flatMap(([action, event, row]) =>
  [action, event].flatMap((spelling) => CALLERS.map((caller, i) => [action, spelling, caller, row[i]!] as const)),
);

describe('WebSocket actions', () => {
  beforeAll(async () => {
    for (const caller of CALLERS) {
      const token = UNAUTHENTICATED.includes(caller) ? undefined : h.token(SUBJECTS[caller as Exclude<Caller, 'noToken'>]);
      // Callers without a valid token could only connect bare (their token is refused at $connect).
      const reply = await h.ws.connect(connectionOf(caller), token ? { token } : {});
      expect(reply.statusCode).toBe(200);
    }
  });

  it.each(['expiredToken', 'wrongAudience'] as const)('%s is refused at $connect with 401', async (caller) => {
    const token = caller === 'expiredToken' ? h.expiredToken(SUBJECTS[caller]) : h.wrongAudienceToken(SUBJECTS[caller]);
    const reply = await h.ws.connect(`refused-${caller}`, { token });
    expect(reply.statusCode).toBe(401);
    expect(reply.open).toBe(false);
  });

  it('covers every WebSocket action in both spellings', () => {
    expect(WS_MATRIX.map(([action, event]) => [action, event]).sort()).toEqual(Object.entries(ACTIONS).sort());
  });

  let n = 0;
  it.each(wsCases)('%s as %s by %s answers %s', async (action, spelling, caller, expected) => {
    const requestId = `matrix-${++n}`;
    const reply = await h.ws.send(connectionOf(caller), { action: spelling, data: dataFor(action, caller, spelling), requestId });
    expect(reply.statusCode).toBe(200);
    const answers = reply.frames.filter((f) => (f.event === 'chat-ack' || f.event === 'chat-error') && f.requestId === requestId);
    expect(answers, JSON.stringify(reply.frames)).toHaveLength(1);
    const [answer] = answers;
    if (expected === 'ack') {
      expect(answer!.event, JSON.stringify(answer!.data)).toBe('chat-ack');
    } else {
      expect(answer!.event).toBe('chat-error');
      expect(answer!.data.code).toBe(expected);
    }
    if (OUTSIDERS.includes(caller)) expect(JSON.stringify(reply.frames)).not.toContain(SECRET);
  });

  const wsSystemCases = CALLERS.map((caller) => [caller, caller === 'service' ? 'ack' : UNAUTHENTICATED.includes(caller) ? U : 'VALIDATION_ERROR'] as const);
  it.each(wsSystemCases)('a SYSTEM message sent over WebSocket by %s answers %s', async (caller, expected) => {
    const requestId = `matrix-system-${caller}`;
    const data = { conversationId, content: `matrix ws system ${caller}`, messageType: 'SYSTEM' };
    const reply = await h.ws.send(connectionOf(caller), { action: 'sendMessage', data, requestId });
    const answer = reply.frames.find((f) => (f.event === 'chat-ack' || f.event === 'chat-error') && f.requestId === requestId);
    if (expected === 'ack') expect(answer?.event, JSON.stringify(answer?.data)).toBe('chat-ack');
    else expect(answer?.data.code).toBe(expected);
  });

  it('never delivered the conversation’s content to an outsider’s connection', () => {
    for (const caller of OUTSIDERS) {
      for (const id of [connectionOf(caller), `http-${caller}`]) {
        const frames = JSON.stringify(h.framesFor(id));
        expect(frames, id).not.toContain(SECRET);
        expect(frames, id).not.toContain('matrix ');
        expect(h.eventsFor(id, 'chat-new-message'), id).toEqual([]);
        expect(h.eventsFor(id, 'chat-user-typing'), id).toEqual([]);
        expect(h.eventsFor(id, 'chat-message-status-updated'), id).toEqual([]);
      }
    }
  });

  it('let every participant’s connection, and the admin and the service who joined, hear the participants’ messages', () => {
    for (const caller of ['participantCustomer', 'participantStaff', 'sameProviderStaff', 'admin', 'service'] as const) {
      const contents = h.eventsFor(connectionOf(caller), 'chat-new-message').map((f) => f.data.message.content);
      expect(contents, caller).toEqual(expect.arrayContaining(['matrix ws participantCustomer sendMessage', 'matrix ws sameProviderStaff chat-send-message']));
    }
  });
});
