/**
 * Sending attachments by id against real Postgres: the append claims them in its own statement,
 * all or nothing. A refused claim stores nothing and uses no seq, and says which ids and why;
 * two sends racing for one upload: exactly one carries it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '#tests/support/postgres';
import { makeAttachmentStore } from '#adapters/postgres/attachment-store';
import { makeConversationStore } from '#adapters/postgres/conversation-store';
import { makeMessageStore } from '#adapters/postgres/message-store';
import { ConflictError, ValidationError } from '#core/errors';
import type { AppendMessageInput, AttachmentStore, ConversationStore, MessageStore } from '#core/ports';
import type { Attachment, Conversation } from '#core/model';

let db: Awaited<ReturnType<typeof createTestDatabase>>;
let conversations: ConversationStore;
let messages: MessageStore;
let attachments: AttachmentStore;

beforeAll(async () => {
  db = await createTestDatabase();
  conversations = makeConversationStore({ prisma: db.prisma });
  messages = makeMessageStore({ prisma: db.prisma });
  attachments = makeAttachmentStore({ prisma: db.prisma });
});
afterAll(async () => db?.drop());

let nextId = 8000;
async function newConversation(): Promise<Conversation> {
  return (await conversations.startOrGet({ providerId: nextId++, customerId: nextId++, orderId: null })).conversation;
}

async function upload(conversation: Conversation, options: { status?: 'READY' | 'PENDING' | 'REJECTED'; uploaderId?: number; contentType?: string } = {}): Promise<Attachment> {
  const created = await attachments.create({
    conversationId: conversation.id,
    uploaderId: options.uploaderId ?? conversation.customerId,
    uploaderSide: 'customer',
    fileName: 'photo.jpg',
    contentType: options.contentType ?? 'image/jpeg',
    size: 1000,
  });
  const status = options.status ?? 'READY';
  if (status === 'PENDING') return created;
  const outcome = status === 'READY'
    ? { status, size: 900, contentType: created.contentType, width: 640, height: 480, hasThumbnail: true } as const
    : { status, reason: 'type_mismatch' } as const;
  return (await attachments.finish(created.id, outcome, new Date()))!.attachment;
}

function withAttachments(conversation: Conversation, ids: string[], extra: Partial<AppendMessageInput> = {}): AppendMessageInput {
  return {
    conversationId: conversation.id,
    senderId: conversation.customerId,
    senderRole: 'customer',
    senderPartyId: conversation.customerId,
    messageType: 'IMAGE',
    content: '',
    attachmentIds: ids,
    ...extra,
  };
}

async function refusal(promise: Promise<unknown>) {
  return promise.then(
    () => {
      throw new Error('expected the send to be refused');
    },
    (error: unknown) => error as ValidationError | ConflictError,
  );
}

async function lastSeq(conversationId: string) {
  return (await conversations.get(conversationId))!.lastSeq;
}

describe('claiming', () => {
  it('claims READY uploads of the sender and stores their wire objects, in the order named', async () => {
    const conv = await newConversation();
    const first = await upload(conv);
    const second = await upload(conv);
    const { message, created } = await messages.append(withAttachments(conv, [second.id, first.id]));
    expect(created).toBe(true);
    expect(message.attachments).toEqual([second, first].map((a) => ({
      id: a.id,
      conversationId: conv.id,
      uploaderId: conv.customerId,
      fileName: 'photo.jpg',
      contentType: 'image/jpeg',
      size: 900,
      status: 'READY',
      width: 640,
      height: 480,
      hasThumbnail: true,
      createdAt: a.createdAt.toISOString(),
    })));
    expect((await attachments.get(first.id))!.messageId).toBe(message.id);
    expect((await attachments.get(second.id))!.messageId).toBe(message.id);
    // History renders the stored objects unchanged.
    const page = await messages.history(conv.id, { kind: 'after', afterSeq: 0, limit: 10 });
    expect(page.messages[0]!.attachments).toEqual(message.attachments);
  });

  it('answers a repeated clientMessageId with the stored message, claiming nothing more', async () => {
    const conv = await newConversation();
    const photo = await upload(conv);
    const first = await messages.append(withAttachments(conv, [photo.id], { clientMessageId: 'photo-1' }));
    const again = await messages.append(withAttachments(conv, [photo.id], { clientMessageId: 'photo-1' }));
    expect(again).toMatchObject({ created: false, message: { id: first.message.id, attachments: first.message.attachments } });
    expect(await lastSeq(conv.id)).toBe(1);
  });

  it.each([
    ['still PENDING', { status: 'PENDING' }, ConflictError, 'pending'],
    ['REJECTED', { status: 'REJECTED' }, ValidationError, 'rejected'],
    ["someone else's upload", { uploaderId: 424242 }, ValidationError, 'not_yours'],
  ] as const)('refuses an upload %s, storing nothing and using no seq', async (_what, options, errorType, reason) => {
    const conv = await newConversation();
    await messages.append(withAttachments(conv, [], { messageType: 'TEXT', content: 'hello' }));
    const good = await upload(conv);
    const bad = await upload(conv, options);
    const error = await refusal(messages.append(withAttachments(conv, [good.id, bad.id])));
    expect(error).toBeInstanceOf(errorType);
    expect(error.details).toEqual({ field: 'attachments', refused: [{ id: bad.id, reason }] });
    expect(await lastSeq(conv.id)).toBe(1);
    expect((await attachments.get(good.id))!.messageId).toBeNull();
    expect(await db.prisma.message.count({ where: { conversationId: conv.id } })).toBe(1);
    // The next send takes seq 2: nothing was burnt.
    const next = await messages.append(withAttachments(conv, [good.id]));
    expect(next.message.seq).toBe(2);
  });

  it("refuses another conversation's upload, an unknown id, one already sent and one past the sweep's cut-off", async () => {
    const conv = await newConversation();
    const elsewhere = await upload(await newConversation());
    const sent = await upload(conv);
    await messages.append(withAttachments(conv, [sent.id]));
    const old = await upload(conv);
    const error = await refusal(messages.append(withAttachments(conv, [elsewhere.id, 'no-such-upload', sent.id, old.id], {
      attachmentsCreatedAfter: new Date(old.createdAt.getTime() + 1),
    })));
    expect(error).toBeInstanceOf(ValidationError);
    expect(error.details).toEqual({
      field: 'attachments',
      refused: [
        { id: elsewhere.id, reason: 'not_found' },
        { id: 'no-such-upload', reason: 'not_found' },
        { id: sent.id, reason: 'attached' },
        { id: old.id, reason: 'expired' },
      ],
    });
    expect(await lastSeq(conv.id)).toBe(1);
  });

  it('a PENDING upload next to an invalid one answers 400, not 409: waiting would not help', async () => {
    const conv = await newConversation();
    const pending = await upload(conv, { status: 'PENDING' });
    const error = await refusal(messages.append(withAttachments(conv, [pending.id, 'nope'])));
    expect(error).toBeInstanceOf(ValidationError);
  });

  it('lets exactly one of two racing sends carry the same upload', async () => {
    for (let round = 0; round < 5; round++) {
      const conv = await newConversation();
      const photo = await upload(conv);
      const results = await Promise.allSettled([
        messages.append(withAttachments(conv, [photo.id], { clientMessageId: 'a' })),
        messages.append(withAttachments(conv, [photo.id], { clientMessageId: 'b' })),
      ]);
      const won = results.filter((r) => r.status === 'fulfilled');
      const lost = results.filter((r) => r.status === 'rejected');
      expect(won).toHaveLength(1);
      expect(lost).toHaveLength(1);
      expect((lost[0] as PromiseRejectedResult).reason).toBeInstanceOf(ValidationError);
      expect((lost[0] as PromiseRejectedResult).reason.details).toEqual({ field: 'attachments', refused: [{ id: photo.id, reason: 'attached' }] });
      const winner = (won[0] as PromiseFulfilledResult<Awaited<ReturnType<MessageStore['append']>>>).value.message;
      expect(winner.seq).toBe(1);
      expect(await lastSeq(conv.id)).toBe(1);
      expect((await attachments.get(photo.id))!.messageId).toBe(winner.id);
    }
  });
});
