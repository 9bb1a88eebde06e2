import { beforeEach, describe, expect, it } from 'vitest';
import { ConflictError, ForbiddenError, NotFoundError } from '#core/errors';
import type { Conversation } from '#core/model';
import { ADMIN, COLLEAGUE, CUSTOMER, STAFF, STRANGER, createWorld, type World } from './world.ts';

let world: World;
let conversation: Conversation;
let messageId: string;

beforeEach(async () => {
  world = createWorld();
  conversation = await world.conversation();
  messageId = (await world.say(STAFF, conversation.id, 'Pay me in cash, call 0170 1234567')).message.id;
});

const report = (identity = CUSTOMER, reason: 'scam' | 'spam' = 'scam') =>
  world.reportMessage({ identity, conversationId: conversation.id, messageId, reason, note: 'asked for cash' });

describe('reportMessage', () => {
  it('files one report per user and message, with the message, for participants of the other side', async () => {
    const first = await report();
    expect(first).toMatchObject({ created: true, report: { status: 'OPEN', reason: 'scam', note: 'asked for cash', reporterId: CUSTOMER.userId, message: { id: messageId } } });
    const again = await report(CUSTOMER, 'spam');
    expect(again).toMatchObject({ created: false, report: { id: first.report.id, reason: 'scam' } });
  });

  it("refuses the sender's own message, outsiders and admins", async () => {
    await expect(report(STAFF)).rejects.toBeInstanceOf(ForbiddenError);
    await expect(report(STRANGER)).rejects.toBeInstanceOf(ForbiddenError);
    await expect(report(ADMIN)).rejects.toBeInstanceOf(ForbiddenError);
    // A colleague of the sender did not send it, but is on the same side: may report it.
    expect((await report(COLLEAGUE)).created).toBe(true);
    await expect(world.reportMessage({ identity: CUSTOMER, conversationId: 'elsewhere', messageId, reason: 'spam' })).rejects.toBeInstanceOf(NotFoundError);
  });
});

describe('the review queue', () => {
  it('is for admins only, oldest first, paged, by status', async () => {
    await report();
    const other = (await world.say(CUSTOMER, conversation.id, 'spam spam')).message.id;
    await world.reportMessage({ identity: STAFF, conversationId: conversation.id, messageId: other, reason: 'spam' });
    await expect(world.listReports({ identity: CUSTOMER, status: 'OPEN', limit: 10 })).rejects.toBeInstanceOf(ForbiddenError);
    const first = await world.listReports({ identity: ADMIN, status: 'OPEN', limit: 1 });
    expect(first.reports.map((r) => r.message.id)).toEqual([messageId]);
    const second = await world.listReports({ identity: ADMIN, status: 'OPEN', limit: 1, cursor: first.nextCursor });
    expect(second).toMatchObject({ reports: [{ message: { id: other } }], nextCursor: null });
    expect((await world.listReports({ identity: ADMIN, status: 'RESOLVED', limit: 10 })).reports).toEqual([]);
  });

  it('resolves with an action that acts as the admin would, and records who, how and when', async () => {
    const { report: filed } = await report();
    const { report: resolved } = await world.resolveReport({ identity: ADMIN, reportId: filed.id, action: 'delete_message', note: 'cash request' });
    expect(resolved).toMatchObject({
      status: 'RESOLVED',
      resolution: 'delete_message',
      resolvedBy: ADMIN.userId,
      resolutionNote: 'cash request',
      resolvedAt: world.clock.now().toISOString(),
      message: { id: messageId, content: '', deletedAt: expect.any(String) },
    });
    expect(world.events.ofType('message.deleted')).toHaveLength(1);
    await expect(world.resolveReport({ identity: ADMIN, reportId: filed.id, action: 'dismiss' })).rejects.toBeInstanceOf(ConflictError);
  });

  it('blocks or ends the conversation as the admin, and leaves the report OPEN when the action is refused', async () => {
    const { report: filed } = await report();
    await world.blockConversation({ identity: CUSTOMER, conversationId: conversation.id });
    await expect(world.resolveReport({ identity: ADMIN, reportId: filed.id, action: 'end_conversation' })).rejects.toBeInstanceOf(ConflictError);
    expect((await world.listReports({ identity: ADMIN, status: 'OPEN', limit: 10 })).reports).toHaveLength(1);
    await world.resolveReport({ identity: ADMIN, reportId: filed.id, action: 'block_conversation' });
    expect((await world.conversations.get(conversation.id))).toMatchObject({ status: 'BLOCKED', blockedBy: 'customer' });
    await expect(world.resolveReport({ identity: STAFF, reportId: filed.id, action: 'dismiss' })).rejects.toBeInstanceOf(ForbiddenError);
    await expect(world.resolveReport({ identity: ADMIN, reportId: 'nope', action: 'dismiss' })).rejects.toBeInstanceOf(NotFoundError);
  });
});
