import { beforeAll, describe, expect, it } from 'vitest';
import { ForbiddenError, NotFoundError, ValidationError } from '#core/errors';
import type { Conversation } from '#core/model';
import { ADMIN, COLLEAGUE, CUSTOMER, OTHER_STAFF, STAFF, STRANGER, createWorld, type World } from './world.ts';

let world: World;
let conversation: Conversation;

beforeAll(async () => {
  world = createWorld({ CHAT_MESSAGE_LIMIT: 10, CHAT_SEND_RATE_LIMIT: 1000 });
  conversation = await world.conversation();
  for (let i = 1; i <= 25; i++) {
    world.clock.advance(1000);
    await world.say(i % 2 ? CUSTOMER : STAFF, conversation.id, `m${i}`);
  }
});

const seqs = (result: { messages: { seq: number }[] }) => result.messages.map((m) => m.seq);
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('getHistory', () => {
  it('page 1 is the newest page, in ascending order, and says there is more', async () => {
    const result = await world.getHistory({ identity: CUSTOMER, conversationId: conversation.id, page: 1, limit: 10 });
    expect(seqs(result)).toEqual(range(16, 25));
    expect(result.pagination).toEqual({ page: 1, limit: 10, total: 25, hasMore: true });
    const last = await world.getHistory({ identity: CUSTOMER, conversationId: conversation.id, page: 3, limit: 10 });
    expect(seqs(last)).toEqual(range(1, 5));
    expect(last.pagination.hasMore).toBe(false);
  });

  it('never answers more than CHAT_MESSAGE_LIMIT messages, whatever the client asks', async () => {
    const result = await world.getHistory({ identity: CUSTOMER, conversationId: conversation.id, limit: 500 });
    expect(seqs(result)).toEqual(range(16, 25));
    expect(result.pagination).toMatchObject({ page: 1, limit: 10 });
  });

  it('answers the newest page when the client names neither page nor limit', async () => {
    const small = await world.getHistory({ identity: CUSTOMER, conversationId: conversation.id });
    expect(seqs(small)).toEqual(range(16, 25));

    const roomy = createWorld();
    const other = await roomy.conversation();
    for (let i = 0; i < 60; i++) await roomy.messages.append({ conversationId: other.id, senderId: 2, senderRole: 'customer', senderPartyId: 2, messageType: 'TEXT', content: `m${i}` });
    const page = await roomy.getHistory({ identity: CUSTOMER, conversationId: other.id });
    expect(page.messages).toHaveLength(50);
    expect(page.pagination).toEqual({ page: 1, limit: 50, total: 60, hasMore: true });
  });

  it('catches up with after=, oldest first, in pages', async () => {
    const first = await world.getHistory({ identity: STAFF, conversationId: conversation.id, after: 12, limit: 5 });
    expect(seqs(first)).toEqual(range(13, 17));
    expect(first.pagination).toEqual({ after: 12, limit: 5, total: 25, hasMore: true });
    const rest = await world.getHistory({ identity: STAFF, conversationId: conversation.id, after: 17, limit: 10 });
    expect(seqs(rest)).toEqual(range(18, 25));
    expect(rest.pagination.hasMore).toBe(false);
    const nothingNew = await world.getHistory({ identity: STAFF, conversationId: conversation.id, after: 25 });
    expect(nothingNew.messages).toEqual([]);
  });

  it('walks back with before=, each page ascending', async () => {
    const older = await world.getHistory({ identity: COLLEAGUE, conversationId: conversation.id, before: 16, limit: 5 });
    expect(seqs(older)).toEqual(range(11, 15));
    expect(older.pagination).toEqual({ before: 16, limit: 5, total: 25, hasMore: true });
    const oldest = await world.getHistory({ identity: COLLEAGUE, conversationId: conversation.id, before: 4, limit: 5 });
    expect(seqs(oldest)).toEqual([1, 2, 3]);
    expect(oldest.pagination.hasMore).toBe(false);
  });

  it('answers messages with ISO times', async () => {
    const { messages } = await world.getHistory({ identity: CUSTOMER, conversationId: conversation.id, after: 0, limit: 1 });
    expect(messages[0]?.createdAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  it('an admin may read any conversation’s history', async () => {
    const result = await world.getHistory({ identity: ADMIN, conversationId: conversation.id, page: 1 });
    expect(seqs(result)).toEqual(range(16, 25));
  });

  it('a customer of another conversation is refused without any of its content', async () => {
    for (const identity of [STRANGER, OTHER_STAFF]) {
      const error = await world.getHistory({ identity, conversationId: conversation.id }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ForbiddenError);
      expect(JSON.stringify(error)).not.toContain('m25');
      expect(JSON.stringify((error as ForbiddenError).details ?? null)).toBe('null');
    }
  });

  it('a conversation that does not exist is not found', async () => {
    await expect(world.getHistory({ identity: ADMIN, conversationId: 'nope' })).rejects.toBeInstanceOf(NotFoundError);
  });

  it('refuses mixing page, after and before, and numbers out of range', async () => {
    const id = conversation.id;
    await expect(world.getHistory({ identity: CUSTOMER, conversationId: id, page: 1, after: 3 })).rejects.toBeInstanceOf(ValidationError);
    await expect(world.getHistory({ identity: CUSTOMER, conversationId: id, page: 0 })).rejects.toBeInstanceOf(ValidationError);
    await expect(world.getHistory({ identity: CUSTOMER, conversationId: id, limit: 0 })).rejects.toBeInstanceOf(ValidationError);
    await expect(world.getHistory({ identity: CUSTOMER, conversationId: id, after: -1 })).rejects.toBeInstanceOf(ValidationError);
    await expect(world.getHistory({ identity: CUSTOMER, conversationId: id, before: 2.5 })).rejects.toBeInstanceOf(ValidationError);
  });
});
