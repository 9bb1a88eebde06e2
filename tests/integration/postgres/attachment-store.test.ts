/**
 * The attachment store against real Postgres: an upload intent's PENDING record, processing's
 * outcome recorded once with its change for the uploader alone (what /sync shows whom), and the
 * sweep's reads and deletes, which never take an attachment a message carries.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '#tests/support/postgres';
import { makeAttachmentStore } from '#adapters/postgres/attachment-store';
import { makeChangeLog } from '#adapters/postgres/change-log';
import { makeConversationStore } from '#adapters/postgres/conversation-store';
import { makeMessageStore } from '#adapters/postgres/message-store';
import { changeData } from '#core/changes';
import type { AttachmentStore, ChangeLog, ChangeReader, ConversationStore, MessageStore } from '#core/ports';
import type { Conversation } from '#core/model';

let db: Awaited<ReturnType<typeof createTestDatabase>>;
let conversations: ConversationStore;
let messages: MessageStore;
let attachments: AttachmentStore;
let changes: ChangeLog;

beforeAll(async () => {
  db = await createTestDatabase();
  conversations = makeConversationStore({ prisma: db.prisma });
  messages = makeMessageStore({ prisma: db.prisma });
  attachments = makeAttachmentStore({ prisma: db.prisma });
  changes = makeChangeLog({ prisma: db.prisma });
});
afterAll(async () => db?.drop());

let nextId = 7000;
async function newConversation(): Promise<Conversation> {
  return (await conversations.startOrGet({ providerId: nextId++, customerId: nextId++, orderId: null })).conversation;
}

const photo = (conversation: Conversation, extra: Partial<Parameters<AttachmentStore['create']>[0]> = {}) =>
  attachments.create({
    conversationId: conversation.id,
    uploaderId: conversation.customerId,
    uploaderSide: 'customer',
    fileName: 'before.jpg',
    contentType: 'image/jpeg',
    size: 2_000_000,
    ...extra,
  });

const READY = { status: 'READY', size: 1_500_000, contentType: 'image/jpeg', width: 1600, height: 1200, hasThumbnail: true } as const;

describe('create and get', () => {
  it('stores a PENDING attachment with what the intent declared', async () => {
    const conv = await newConversation();
    const created = await photo(conv);
    expect(created).toMatchObject({
      conversationId: conv.id,
      uploaderId: conv.customerId,
      uploaderSide: 'customer',
      fileName: 'before.jpg',
      contentType: 'image/jpeg',
      size: 2_000_000,
      status: 'PENDING',
      width: null,
      height: null,
      hasThumbnail: false,
      rejectedReason: null,
      messageId: null,
      processedAt: null,
    });
    expect(created.id).toMatch(/^[a-z0-9]{20,}$/);
    expect(await attachments.get(created.id)).toEqual(created);
    expect(await attachments.get('no-such-attachment')).toBeNull();
  });
});

describe('finish', () => {
  it('records READY with the stored size, type and dimensions, and its change, once', async () => {
    const conv = await newConversation();
    const created = await photo(conv, { contentType: 'image/heic', fileName: 'car.heic' });
    const at = new Date();
    const finished = await attachments.finish(created.id, { ...READY, contentType: 'image/jpeg' }, at);
    expect(finished?.attachment).toMatchObject({ status: 'READY', size: 1_500_000, contentType: 'image/jpeg', width: 1600, height: 1200, hasThumbnail: true, processedAt: at, fileName: 'car.heic' });
    expect(finished?.changes).toEqual([{ id: expect.stringMatching(/^\d+$/), type: 'attachment.updated', conversationId: conv.id, at, data: { attachmentId: created.id } }]);
    // A repeated delivery of the same upload: nothing more.
    expect(await attachments.finish(created.id, { status: 'REJECTED', reason: 'type_mismatch' }, new Date())).toBeNull();
    expect(await attachments.get(created.id)).toMatchObject({ status: 'READY' });
    const rows = await db.prisma.change.findMany({ where: { conversationId: conv.id, type: 'attachment.updated' } });
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ userId: conv.customerId, side: 'customer', data: { attachmentId: created.id } });
  });

  it('records REJECTED with its reason and keeps the declared size and type', async () => {
    const conv = await newConversation();
    const created = await photo(conv);
    const finished = await attachments.finish(created.id, { status: 'REJECTED', reason: 'type_mismatch' }, new Date());
    expect(finished?.attachment).toMatchObject({ status: 'REJECTED', rejectedReason: 'type_mismatch', size: 2_000_000, contentType: 'image/jpeg', width: null, hasThumbnail: false });
  });

  it('answers null for an attachment that does not exist, and records nothing', async () => {
    expect(await attachments.finish('gone-attachment', READY, new Date())).toBeNull();
  });

  it('shows the change in /sync to the uploader only, rendered from the attachment as it is now', async () => {
    const conv = await newConversation();
    const staffUpload = await photo(conv, { uploaderId: 71, uploaderSide: 'provider', fileName: 'after.jpg' });
    await attachments.finish(staffUpload.id, READY, new Date());
    const uploader: ChangeReader = { party: { side: 'provider', partyId: conv.providerId }, userId: 71 };
    const colleague: ChangeReader = { party: { side: 'provider', partyId: conv.providerId }, userId: 72 };
    const customer: ChangeReader = { party: { side: 'customer', partyId: conv.customerId }, userId: conv.customerId };
    const ofType = async (reader: ChangeReader) =>
      (await changes.page(reader, null, 500)).changes.filter((change) => change.type === 'attachment.updated' && change.conversationId === conv.id);

    const seen = await ofType(uploader);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.attachment).toMatchObject({ id: staffUpload.id, status: 'READY', width: 1600 });
    expect(changeData(seen[0]!, seen[0]!)).toEqual({
      attachment: {
        id: staffUpload.id,
        conversationId: conv.id,
        uploaderId: 71,
        fileName: 'after.jpg',
        contentType: 'image/jpeg',
        size: 1_500_000,
        status: 'READY',
        width: 1600,
        height: 1200,
        hasThumbnail: true,
        createdAt: staffUpload.createdAt.toISOString(),
      },
    });
    expect(await ofType(colleague)).toEqual([]);
    expect(await ofType(customer)).toEqual([]);
  });
});

describe('the sweep', () => {
  it('finds unclaimed attachments older than the cut-off, oldest first, and deletes them', async () => {
    const conv = await newConversation();
    const old = await photo(conv);
    const older = await photo(conv);
    await db.prisma.attachment.update({ where: { id: old.id }, data: { createdAt: new Date(Date.now() - 48 * 3600_000) } });
    await db.prisma.attachment.update({ where: { id: older.id }, data: { createdAt: new Date(Date.now() - 72 * 3600_000) } });
    const fresh = await photo(conv);
    const found = (await attachments.orphans(new Date(Date.now() - 24 * 3600_000), 1000)).filter((a) => a.conversationId === conv.id);
    expect(found.map((a) => a.id)).toEqual([older.id, old.id]);
    expect(await attachments.removeUnclaimed([older.id, old.id])).toEqual(expect.arrayContaining([older.id, old.id]));
    expect(await attachments.get(old.id)).toBeNull();
    expect(await attachments.get(fresh.id)).not.toBeNull();
  });

  it('never deletes an attachment a message carries; once that message is deleted, it does', async () => {
    const conv = await newConversation();
    const upload = await photo(conv);
    await attachments.finish(upload.id, READY, new Date());
    const { message } = await messages.append({
      conversationId: conv.id,
      senderId: conv.customerId,
      senderRole: 'customer',
      senderPartyId: conv.customerId,
      messageType: 'IMAGE',
      content: '',
      attachmentIds: [upload.id],
    });
    expect(await attachments.removeUnclaimed([upload.id])).toEqual([]);
    expect((await attachments.ofDeletedMessages(1000)).map((a) => a.id)).not.toContain(upload.id);
    await messages.tombstone(message.id, new Date());
    expect((await attachments.ofDeletedMessages(1000)).map((a) => a.id)).toContain(upload.id);
    expect(await attachments.removeUnclaimed([upload.id])).toEqual([upload.id]);
    expect(await attachments.get(upload.id)).toBeNull();
  });
});
