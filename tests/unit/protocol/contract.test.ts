/**
 * The protocol's own checks: that the validators catch a wrong shape (a missing field, a wrong
 * type, a key no schema declares, an undeclared status), that the declarations agree with each
 * other (change types, events, actions, the manifest, the grants), and the emoji rule.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { WEBSOCKET_ROUTES } from '#config/routes';
import { ERROR_STATUS } from '#core/errors';
import { CHANGE_TYPES } from '#core/events';
import {
  ACTIONS,
  actionData,
  assertConforms,
  CHANGE_DATA_SCHEMAS,
  checkAck,
  checkHttpResponse,
  checkServerFrame,
  ContractViolation,
  domainEventSchema,
  emoji,
  ERROR_CODES,
  HTTP_CONTRACT,
  isOneEmoji,
  routeKeyOf,
  ROUTE_KEYS,
  SERVER_EVENT_SCHEMAS,
  wireChange,
  WS_ACTIONS,
} from '#core/protocol';
import { frame, toWireMessage, type WireMessage } from '#core/use-cases/index';
import type { Message } from '#core/model';
import { FUNCTION_ACCESS } from '#lib/stacks/function-access';

const at = new Date('2030-01-01T09:00:00.000Z');
const domainMessage: Message = {
  id: 'msg-1',
  conversationId: 'conv-1',
  seq: 1,
  senderId: 2,
  senderRole: 'customer',
  receiverId: 1,
  messageType: 'TEXT',
  content: 'hello',
  attachments: null,
  status: 'SENT',
  deliveredAt: null,
  readAt: null,
  createdAt: at,
  updatedAt: at,
  replyToId: null,
  metadata: null,
  clientMessageId: null,
  editedAt: null,
  deletedAt: null,
  reactions: [{ emoji: '👍', userIds: [2, 7] }],
};
const message: WireMessage = toWireMessage(domainMessage);

describe('server frames', () => {
  it('a frame built by frame() from the wire functions matches its event schema', () => {
    expect(checkServerFrame(frame('chat-new-message', { message }))).toEqual([]);
    expect(message.reactions).toEqual([{ emoji: '👍', count: 2, userIds: [2, 7] }]);
  });

  it('catches a missing field, naming its path', () => {
    const { reactions: _dropped, ...withoutReactions } = message;
    const issues = checkServerFrame({ event: 'chat-new-message', data: { message: withoutReactions } });
    expect(issues.map((issue) => issue.path)).toEqual(['data.message.reactions']);
  });

  it('catches a wrong type and a key the schema does not declare', () => {
    expect(checkServerFrame({ event: 'chat-pong', data: { at: 12 } })).toEqual([expect.objectContaining({ path: 'data.at' })]);
    expect(checkServerFrame({ event: 'chat-pong', data: { at: at.toISOString(), extra: true } })).toEqual([
      { path: 'data.extra', message: expect.stringContaining('unexpected key') },
    ]);
    expect(checkServerFrame({ event: 'chat-new-message', data: { message: { ...message, internalNote: 'x' } } })).toEqual([
      expect.objectContaining({ path: 'data.message.internalNote' }),
    ]);
  });

  it('catches an unknown event, a frame that is not an object, and a bad chat-error code', () => {
    expect(checkServerFrame({ event: 'chat-surprise', data: {} })).not.toEqual([]);
    expect(checkServerFrame('chat-pong')).not.toEqual([]);
    expect(checkServerFrame({ event: 'chat-error', data: { code: 'OOPS', message: 'x' } })).toEqual([expect.objectContaining({ path: 'data.code' })]);
  });

  it('assertConforms throws a ContractViolation listing the zod issues', () => {
    const bad = { event: 'chat-message-deleted', data: { conversationId: 'c', messageId: 'm', seq: '1' } };
    expect(() => assertConforms('the frame', checkServerFrame(bad), bad)).toThrow(ContractViolation);
    expect(() => assertConforms('the frame', checkServerFrame(bad), bad)).toThrow(/data\.seq[\s\S]*data\.deletedAt/);
  });

  it('every new event is declared', () => {
    for (const event of ['chat-message-updated', 'chat-message-deleted', 'chat-reaction-updated', 'chat-conversation-updated', 'chat-attachment-updated']) {
      expect(SERVER_EVENT_SCHEMAS).toHaveProperty(event);
    }
  });

  it('frame() refuses a payload of the wrong shape at compile time', () => {
    const neverCalled = () => {
      // @ts-expect-error chat-new-message carries {message}, not a string
      frame('chat-new-message', { message: 'hello' });
      // @ts-expect-error chat-pong carries {at}
      frame('chat-pong', { conversationId: 'c' });
    };
    expect(typeof neverCalled).toBe('function');
  });
});

describe('HTTP responses', () => {
  it('catches the documented mark-read drift: the API answers {conversationId, lastReadSeq, unreadCount: 0, readCount}', () => {
    expect(checkHttpResponse('markRead', 200, { conversationId: 'c', lastReadSeq: 3, unreadCount: 0, readCount: 2 })).toEqual([]);
    expect(checkHttpResponse('markRead', 200, { conversationId: 'c', lastReadSeq: 3, updated: 2 })).not.toEqual([]);
  });

  it('catches a status the route does not declare, and an error code that does not match its status', () => {
    const error = { error: { code: 'CONFLICT', message: 'not active' } };
    expect(checkHttpResponse('sendMessage', 409, error)).toEqual([]);
    expect(checkHttpResponse('getMessages', 409, error)).toEqual([expect.objectContaining({ message: expect.stringContaining('does not declare') })]);
    expect(checkHttpResponse('sendMessage', 400, error)).toEqual([expect.objectContaining({ path: 'error.code' })]);
  });

  it('accepts the authorizer refusal on 401, as API Gateway and the local runtime answer it', () => {
    expect(checkHttpResponse('listConversations', 401, { message: 'Unauthorized' })).toEqual([]);
    expect(checkHttpResponse('listConversations', 401, { message: 'Unauthorized', error: { code: 'UNAUTHORIZED', message: 'x' } })).toEqual([]);
    expect(checkHttpResponse('listConversations', 401, { error: { code: 'UNAUTHORIZED', message: 'x' } })).toEqual([]);
  });

  it('declares 410 only on sync, and every error code has a status', () => {
    const with410 = Object.entries(HTTP_CONTRACT).filter(([, operation]) => 410 in operation.responses).map(([name]) => name);
    expect(with410).toEqual(['sync']);
    expect(ERROR_CODES.sort()).toEqual(Object.keys(ERROR_STATUS).sort());
    expect(ERROR_STATUS.CURSOR_EXPIRED).toBe(410);
  });

  it('a conversation carries lastReadSeq and archivedAt for a participant', () => {
    const conversation = {
      id: 'c',
      customerId: 2,
      providerId: 1,
      orderId: null,
      status: 'ACTIVE',
      blockedBy: null,
      assigneeId: null,
      lastSeq: 1,
      createdAt: at.toISOString(),
      updatedAt: at.toISOString(),
      lastMessageAt: null,
      unreadCount: 0,
      lastReadSeq: 1,
      archived: true,
      archivedAt: at.toISOString(),
      lastMessage: message,
    };
    expect(checkHttpResponse('archiveConversation', 200, { conversation })).toEqual([]);
  });
});

describe('the change log', () => {
  it('has a data schema for every change type, and validates change and event data by type', () => {
    expect(Object.keys(CHANGE_DATA_SCHEMAS).sort()).toEqual([...CHANGE_TYPES].sort());
    const change = { cursor: 'c1', conversationId: 'conv-1', type: 'message.status', at: at.toISOString(), data: { messageId: 'm', status: 'READ', upToSeq: 3 } };
    expect(wireChange.safeParse(change).success).toBe(true);
    expect(wireChange.safeParse({ ...change, data: { message } }).success).toBe(false);
    expect(wireChange.safeParse({ ...change, type: 'message.updated', data: { message } }).success).toBe(true);
    const event = { id: 'ch-1', type: 'reaction.updated', at: at.toISOString(), conversationId: 'conv-1', data: { messageId: 'm', reactions: message.reactions } };
    expect(domainEventSchema.safeParse(event).success).toBe(true);
    expect(domainEventSchema.safeParse({ ...event, type: 'conversation.read' }).success).toBe(false);
  });
});

describe('WebSocket actions', () => {
  it('map both spellings to the route key, and nothing else', () => {
    for (const key of ROUTE_KEYS) {
      expect(routeKeyOf(key)).toBe(key);
      expect(routeKeyOf(ACTIONS[key])).toBe(key);
      expect(actionData[key]).toBe(WS_ACTIONS[key].data);
    }
    expect(routeKeyOf('toString')).toBeNull();
    expect(routeKeyOf('__proto__')).toBeNull();
    expect(routeKeyOf('$default')).toBeNull();
    expect(ACTIONS).toMatchObject({ editMessage: 'chat-edit-message', deleteMessage: 'chat-delete-message', react: 'chat-react' });
  });

  it('are the manifest’s action routes, each entry a handler that names its action', () => {
    const actionRoutes = WEBSOCKET_ROUTES.filter((route) => !route.routeKey.startsWith('$'));
    expect(actionRoutes.map((route) => route.routeKey)).toEqual(ROUTE_KEYS);
    for (const route of actionRoutes) {
      const declared = WS_ACTIONS[route.routeKey as keyof typeof WS_ACTIONS];
      expect(route).toMatchObject({ entry: declared.entry, database: declared.database, summary: declared.summary });
      const kebab = route.routeKey.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
      expect(route.entry).toBe(`ws/${kebab}`);
      const source = readFileSync(new URL(`../../../functions/handlers/${route.entry}.ts`, import.meta.url), 'utf8');
      expect(source, route.entry).toContain(`export const ${route.routeKey} = action('${route.routeKey}',`);
      expect(source, route.entry).toContain(`export const handler = wsActionHandler(${route.routeKey});`);
    }
    expect(readFileSync(new URL('../../../functions/handlers/ws/default.ts', import.meta.url), 'utf8')).toContain('wsShimHandler(ACTION_IMPLEMENTATIONS)');
  });

  it('grant each route its declared access, and $default the union of all of them', () => {
    for (const key of ROUTE_KEYS) expect(FUNCTION_ACCESS[WS_ACTIONS[key].entry], key).toEqual(WS_ACTIONS[key].access);
    const union = FUNCTION_ACCESS['ws/default'];
    for (const key of ROUTE_KEYS) {
      const { tables, connectionsApi, queues } = WS_ACTIONS[key].access;
      for (const [table, level] of Object.entries(tables)) {
        const granted = union.tables[table as keyof typeof union.tables];
        if (level === 'readWrite') expect(granted, `${key} ${table}`).toBe('readWrite');
        else expect(['read', 'readWrite'], `${key} ${table}`).toContain(granted);
      }
      if (connectionsApi) expect(union.connectionsApi).toBe(true);
      for (const queue of Object.keys(queues)) expect(union.queues, `${key} ${queue}`).toHaveProperty(queue, 'send');
    }
    expect(Object.keys(union.tables).sort()).toEqual([...new Set(ROUTE_KEYS.flatMap((key) => Object.keys(WS_ACTIONS[key].access.tables)))].sort());
  });

  it('validate the new actions’ data, and their acks', () => {
    expect(actionData.react.safeParse({ messageId: 'm', emoji: '👍', added: true }).success).toBe(true);
    expect(actionData.react.safeParse({ messageId: 'm', emoji: 'ok', added: true }).success).toBe(false);
    expect(actionData.editMessage.safeParse({ messageId: 'm', content: 'fixed', conversationId: 'c' }).success).toBe(true);
    expect(actionData.deleteMessage.safeParse({ conversationId: 'c' }).success).toBe(false);
    expect(checkAck('editMessage', { message })).toEqual([]);
    expect(checkAck('markRead', { conversationId: 'c', lastReadSeq: 1, unreadCount: 0, readCount: 1, extra: 1 })).toEqual([expect.objectContaining({ path: 'extra' })]);
  });
});

describe('emoji', () => {
  it.each(['👍', '👍🏽', '🇩🇪', '👩🏽‍💻', '👨‍👩‍👧‍👦', '❤️', '🏳️‍🌈', '😀'])('accepts %s', (text) => {
    expect(isOneEmoji(text)).toBe(true);
    expect(emoji.safeParse(text).success).toBe(true);
  });

  it.each(['', 'a', 'ok', '1', '👍👍', '👍 ', ' 👍', '\u0000', '\ud83d', 'é', '👍a'])('refuses %j', (text) => {
    expect(isOneEmoji(text)).toBe(false);
    expect(emoji.safeParse(text).success).toBe(false);
  });

  it('refuses more than 32 UTF-16 units even as one cluster', () => {
    const long = `👍${'\u{1F3FD}'.repeat(20)}`;
    expect(long.length).toBeGreaterThan(32);
    expect(isOneEmoji(long)).toBe(false);
  });
});
