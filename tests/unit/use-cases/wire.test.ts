import { describe, expect, it } from 'vitest';
import type { ConversationSummary, Message } from '#core/model';
import { toWireConversation, toWireMessage, toWirePresence } from '#core/use-cases/index';

const at = new Date('2030-01-01T09:00:00.000Z');
const message: Message = {
  id: 'msg-1',
  conversationId: 'conv-1',
  seq: 1,
  senderId: 2,
  senderRole: 'customer',
  receiverId: 1,
  messageType: 'TEXT',
  content: 'hello',
  attachments: null,
  status: 'READ',
  deliveredAt: new Date('2030-01-01T09:00:01.000Z'),
  readAt: new Date('2030-01-01T09:00:02.000Z'),
  createdAt: at,
  updatedAt: at,
  replyToId: null,
  metadata: { source: 'app' },
  clientMessageId: 'c-1',
  editedAt: new Date('2030-01-01T09:01:00.000Z'),
  deletedAt: null,
  reactions: [{ emoji: '👍', userIds: [7, 8] }],
};

describe('wire shapes', () => {
  it('a message carries every contract field, with ISO times, and survives JSON unchanged', () => {
    const wire = toWireMessage(message);
    expect(wire).toEqual({
      ...message,
      deliveredAt: '2030-01-01T09:00:01.000Z',
      readAt: '2030-01-01T09:00:02.000Z',
      createdAt: '2030-01-01T09:00:00.000Z',
      updatedAt: '2030-01-01T09:00:00.000Z',
      editedAt: '2030-01-01T09:01:00.000Z',
      reactions: [{ emoji: '👍', count: 2, userIds: [7, 8] }],
    });
    expect(JSON.parse(JSON.stringify(wire))).toEqual(wire);
  });

  it('a message never leaks fields the contract does not name', () => {
    const wire = toWireMessage({ ...message, internalNote: 'secret' } as Message);
    expect(wire).not.toHaveProperty('internalNote');
  });

  it("a conversation seen by a participant carries that side's unread count, archive state and last message", () => {
    const summary: ConversationSummary = {
      id: 'conv-1',
      customerId: 2,
      providerId: 1,
      orderId: null,
      status: 'ACTIVE',
      blockedBy: null,
      assigneeId: null,
      lastSeq: 1,
      createdAt: at,
      updatedAt: at,
      lastMessageAt: at,
      unreadCount: 1,
      lastReadSeq: 0,
      archivedAt: null,
      lastMessage: message,
    };
    expect(toWireConversation(summary)).toMatchObject({
      blockedBy: null,
      assigneeId: null,
      lastMessageAt: '2030-01-01T09:00:00.000Z',
      unreadCount: 1,
      lastReadSeq: 0,
      archived: false,
      archivedAt: null,
      lastMessage: { id: 'msg-1', createdAt: '2030-01-01T09:00:00.000Z' },
    });
  });

  it('presence names the business only for provider staff', () => {
    expect(toWirePresence({ userId: 2, role: 'customer', lastSeen: at.getTime() })).toEqual({ userId: 2, role: 'customer', lastSeen: '2030-01-01T09:00:00.000Z' });
    expect(toWirePresence({ userId: 7, role: 'provider', providerId: 1, lastSeen: at.getTime() })).toMatchObject({ providerId: 1 });
  });
});
