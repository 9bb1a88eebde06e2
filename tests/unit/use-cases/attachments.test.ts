/**
 * Attachments through the use cases over fakes: the upload intent and the policy it signs, who
 * may read an attachment and its bytes, sending by id (every refusal), and the orphan sweep.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { ConflictError, ForbiddenError, NotFoundError, PayloadTooLargeError, ValidationError } from '#core/errors';
import type { Conversation } from '#core/model';
import { SWEEP_MARGIN_MS, uploadPolicyFor } from '#core/use-cases/index';
import { pushNotificationFor } from '#core/push-notification';
import { ADMIN, COLLEAGUE, CUSTOMER, OTHER_STAFF, SERVICE, STAFF, STRANGER, createWorld, type World } from './world.ts';

let world: World;
let conversation: Conversation;

beforeEach(async () => {
  world = createWorld({ CHAT_MAX_ATTACHMENT_BYTES: 5_000_000, CHAT_UPLOAD_URL_TTL_SECONDS: 120, CHAT_DOWNLOAD_URL_TTL_SECONDS: 60 });
  conversation = await world.conversation();
});

const intent = (identity = CUSTOMER, body: Partial<{ fileName: string; contentType: string; size: number }> = {}, conversationId = conversation.id) =>
  world.createAttachment({ identity, conversationId, fileName: 'scratch.jpg', contentType: 'image/jpeg', size: 3_000_000, ...body });

async function refusal(promise: Promise<unknown>) {
  return promise.then(
    () => {
      throw new Error('expected a refusal');
    },
    (error: unknown) => error as Error & { details?: unknown },
  );
}

describe('the upload intent', () => {
  it('creates a PENDING attachment and signs a POST for exactly its key, type, size range and expiry', async () => {
    const { attachment, upload } = await intent();
    expect(attachment).toEqual({
      id: expect.any(String),
      conversationId: conversation.id,
      uploaderId: CUSTOMER.userId,
      fileName: 'scratch.jpg',
      contentType: 'image/jpeg',
      size: 3_000_000,
      status: 'PENDING',
      hasThumbnail: false,
      createdAt: world.clock.now().toISOString(),
    });
    expect(world.storage.forms).toEqual([
      { key: `uploads/${conversation.id}/${attachment.id}`, policy: { contentType: 'image/jpeg', minBytes: 1, maxBytes: 5_000_000, expiresInSeconds: 120 } },
    ]);
    expect(upload.url).toBe('https://attachments.test.example');
    expect(upload.fields).toMatchObject({ key: `uploads/${conversation.id}/${attachment.id}`, 'Content-Type': 'image/jpeg' });
    expect(upload.expiresAt).toBe(new Date(world.clock.now().getTime() + 120_000).toISOString());
    expect(await world.attachments.get(attachment.id)).toMatchObject({ uploaderSide: 'customer', status: 'PENDING', messageId: null });
    expect(world.metrics.total('AttachmentIntents')).toBe(1);
  });

  it("signs whatever size was declared up to the maximum: the storage, not the declaration, bounds the file", () => {
    const limits = { CHAT_ATTACHMENT_TYPES: ['audio/mp4'], CHAT_MAX_ATTACHMENT_BYTES: 10, CHAT_UPLOAD_URL_TTL_SECONDS: 300 };
    expect(uploadPolicyFor('audio/mp4', limits)).toEqual({ contentType: 'audio/mp4', minBytes: 1, maxBytes: 10, expiresInSeconds: 300 });
  });

  it("the provider's staff upload for their side; the key never holds the file's name", async () => {
    const { attachment } = await intent(STAFF, { fileName: '../../etc/passwd.pdf', contentType: 'application/pdf' });
    expect(await world.attachments.get(attachment.id)).toMatchObject({ uploaderId: STAFF.userId, uploaderSide: 'provider', fileName: '../../etc/passwd.pdf' });
    expect(world.storage.forms[0]!.key).toBe(`uploads/${conversation.id}/${attachment.id}`);
  });

  it('refuses a type that is not allowed (400 naming the allowed list) and a size over the maximum (413)', async () => {
    const wrongType = await refusal(intent(CUSTOMER, { contentType: 'text/html' }));
    expect(wrongType).toBeInstanceOf(ValidationError);
    expect(wrongType.details).toEqual({ field: 'contentType', allowed: world.limits.CHAT_ATTACHMENT_TYPES });
    expect(wrongType.message).toContain('image/jpeg');
    const tooBig = await refusal(intent(CUSTOMER, { size: 5_000_001 }));
    expect(tooBig).toBeInstanceOf(PayloadTooLargeError);
    expect(tooBig.details).toEqual({ field: 'size', maxBytes: 5_000_000, bytes: 5_000_001 });
    expect(world.storage.forms).toEqual([]);
  });

  it('is for participants of an ACTIVE conversation only', async () => {
    for (const identity of [ADMIN, SERVICE, STRANGER, OTHER_STAFF]) await expect(intent(identity)).rejects.toBeInstanceOf(ForbiddenError);
    await expect(intent(CUSTOMER, {}, 'no-such-conversation')).rejects.toBeInstanceOf(NotFoundError);
    for (const status of ['BLOCKED', 'ENDED'] as const) {
      const other = await world.conversation({ orderId: status === 'BLOCKED' ? 1 : 2 });
      world.db.setStatus(other.id, status);
      await expect(intent(CUSTOMER, {}, other.id)).rejects.toBeInstanceOf(ForbiddenError);
    }
    expect(world.storage.forms).toEqual([]);
  });
});

describe('reading an attachment and its bytes', () => {
  it('the uploader\'s side reads it at once; the other side only once a message carries it', async () => {
    const photo = await world.readyUpload(STAFF, conversation.id);
    const read = (identity = CUSTOMER) => world.getAttachment({ identity, conversationId: conversation.id, attachmentId: photo.id });
    expect((await read(STAFF)).attachment).toMatchObject({ id: photo.id, status: 'READY', width: 800, height: 600, hasThumbnail: true });
    expect((await read(COLLEAGUE)).attachment.id).toBe(photo.id);
    expect((await read(ADMIN)).attachment.id).toBe(photo.id);
    expect((await read(SERVICE)).attachment.id).toBe(photo.id);
    await expect(read(CUSTOMER)).rejects.toBeInstanceOf(ForbiddenError);
    await expect(read(STRANGER)).rejects.toBeInstanceOf(ForbiddenError);
    await expect(read(OTHER_STAFF)).rejects.toBeInstanceOf(ForbiddenError);

    const { message } = await world.sendMessage({ identity: STAFF, conversationId: conversation.id, content: 'after the wash', messageType: 'IMAGE', attachments: [{ id: photo.id }] });
    expect((await read(CUSTOMER)).attachment.id).toBe(photo.id);
    // Once that message is deleted, the other side loses it again.
    await world.deleteMessage({ identity: STAFF, conversationId: conversation.id, messageId: message.id });
    await expect(read(CUSTOMER)).rejects.toBeInstanceOf(ForbiddenError);
    expect((await read(STAFF)).attachment.id).toBe(photo.id);
  });

  it("answers 404 for an unknown id and for another conversation's attachment", async () => {
    const elsewhere = await world.conversation({ orderId: 7 });
    const photo = await world.readyUpload(CUSTOMER, elsewhere.id);
    await expect(world.getAttachment({ identity: CUSTOMER, conversationId: conversation.id, attachmentId: photo.id })).rejects.toBeInstanceOf(NotFoundError);
    await expect(world.getAttachment({ identity: CUSTOMER, conversationId: conversation.id, attachmentId: 'nope' })).rejects.toBeInstanceOf(NotFoundError);
  });

  it('redirects to a signed URL of the original or the thumbnail, valid CHAT_DOWNLOAD_URL_TTL_SECONDS', async () => {
    const photo = await world.readyUpload(CUSTOMER, conversation.id, { fileName: 'dent.jpeg' });
    const original = await world.attachmentContent({ identity: CUSTOMER, conversationId: conversation.id, attachmentId: photo.id, variant: 'original' });
    const thumbnail = await world.attachmentContent({ identity: ADMIN, conversationId: conversation.id, attachmentId: photo.id, variant: 'thumbnail' });
    expect(original.location).toContain(`files/${conversation.id}/${photo.id}/original`);
    expect(thumbnail.location).toContain(`files/${conversation.id}/${photo.id}/thumbnail`);
    expect(world.storage.downloads).toEqual([
      { key: `files/${conversation.id}/${photo.id}/original`, options: { expiresInSeconds: 60, fileName: 'dent.jpeg', contentType: 'image/jpeg' } },
      { key: `files/${conversation.id}/${photo.id}/thumbnail`, options: { expiresInSeconds: 60, fileName: 'dent.webp', contentType: 'image/webp' } },
    ]);
  });

  it('answers 404 for a variant that does not exist: PENDING and REJECTED have none, a PDF no thumbnail', async () => {
    const pending = await world.readyUpload(CUSTOMER, conversation.id, { pending: true });
    const rejected = await world.readyUpload(CUSTOMER, conversation.id, { outcome: { status: 'REJECTED', reason: 'type_mismatch' } });
    const pdf = await world.readyUpload(CUSTOMER, conversation.id, { contentType: 'application/pdf', fileName: 'receipt.pdf' });
    const content = (attachmentId: string, variant: 'original' | 'thumbnail') =>
      world.attachmentContent({ identity: CUSTOMER, conversationId: conversation.id, attachmentId, variant });
    for (const id of [pending.id, rejected.id]) {
      await expect(content(id, 'original')).rejects.toBeInstanceOf(NotFoundError);
      await expect(content(id, 'thumbnail')).rejects.toBeInstanceOf(NotFoundError);
    }
    await expect(content(pdf.id, 'thumbnail')).rejects.toBeInstanceOf(NotFoundError);
    expect((await content(pdf.id, 'original')).location).toContain('receipt.pdf');
    expect((await world.getAttachment({ identity: CUSTOMER, conversationId: conversation.id, attachmentId: rejected.id })).attachment).toMatchObject({ status: 'REJECTED', rejectedReason: 'type_mismatch' });
  });
});

describe('sending attachments by id', () => {
  const send = (body: Record<string, unknown>, identity = CUSTOMER) =>
    world.sendMessage({ identity, conversationId: conversation.id, content: '', ...body } as Parameters<World['sendMessage']>[0]);

  it('carries the attachment objects, in the order named, to both sides', async () => {
    await world.online(STAFF, 'staff-desk');
    const a = await world.readyUpload(CUSTOMER, conversation.id);
    const b = await world.readyUpload(CUSTOMER, conversation.id, { contentType: 'image/png', fileName: 'b.png' });
    const { message } = await send({ messageType: 'IMAGE', attachments: [{ id: b.id }, { id: a.id }] });
    expect(message.attachments).toEqual([
      { id: b.id, conversationId: conversation.id, uploaderId: 2, fileName: 'b.png', contentType: 'image/png', size: 1024, status: 'READY', width: 800, height: 600, hasThumbnail: true, createdAt: expect.any(String) },
      { id: a.id, conversationId: conversation.id, uploaderId: 2, fileName: 'photo.jpg', contentType: 'image/jpeg', size: 1024, status: 'READY', width: 800, height: 600, hasThumbnail: true, createdAt: expect.any(String) },
    ]);
    expect(world.broadcaster.eventsTo('staff-desk', 'chat-new-message')[0]?.data).toEqual({ message });
  });

  it('FILE carries any type, VOICE exactly one audio file', async () => {
    const pdf = await world.readyUpload(CUSTOMER, conversation.id, { contentType: 'application/pdf' });
    const photo = await world.readyUpload(CUSTOMER, conversation.id);
    expect((await send({ messageType: 'FILE', attachments: [{ id: pdf.id }, { id: photo.id }] })).message.messageType).toBe('FILE');
    const voice = await world.readyUpload(CUSTOMER, conversation.id, { contentType: 'audio/mp4', fileName: 'note.m4a' });
    expect((await send({ messageType: 'VOICE', attachments: [{ id: voice.id }] })).message.attachments).toMatchObject([{ id: voice.id, contentType: 'audio/mp4' }]);
  });

  it.each([
    ['TEXT with attachments', { messageType: 'TEXT', content: 'hi', attachments: [{ id: 'x' }] }],
    ['LOCATION with attachments', { messageType: 'LOCATION', metadata: { location: { latitude: 1, longitude: 2 } }, attachments: [{ id: 'x' }] }],
    ['IMAGE without attachments', { messageType: 'IMAGE', content: 'look' }],
    ['VOICE with two', { messageType: 'VOICE', attachments: [{ id: 'x' }, { id: 'y' }] }],
    ['LOCATION without metadata.location', { messageType: 'LOCATION', content: 'here', metadata: { lat: 1 } }],
  ])('refuses %s (400), storing nothing', async (_what, body) => {
    await expect(send(body)).rejects.toBeInstanceOf(ValidationError);
    expect(world.db.messageCount()).toBe(0);
  });

  it('refuses uploads a message may not carry, 409 only while one is still PENDING', async () => {
    const pending = await world.readyUpload(CUSTOMER, conversation.id, { pending: true });
    const conflict = await refusal(send({ messageType: 'IMAGE', attachments: [{ id: pending.id }] }));
    expect(conflict).toBeInstanceOf(ConflictError);
    expect(conflict.details).toEqual({ field: 'attachments', refused: [{ id: pending.id, reason: 'pending' }] });

    const staffPhoto = await world.readyUpload(STAFF, conversation.id);
    const rejected = await world.readyUpload(CUSTOMER, conversation.id, { outcome: { status: 'REJECTED', reason: 'unreadable_image' } });
    const audio = await world.readyUpload(CUSTOMER, conversation.id, { contentType: 'audio/mpeg' });
    const photo = await world.readyUpload(CUSTOMER, conversation.id);
    const cases = [
      [staffPhoto.id, 'not_yours', 'IMAGE'],
      [rejected.id, 'rejected', 'IMAGE'],
      [audio.id, 'wrong_type', 'IMAGE'],
      [photo.id, 'wrong_type', 'VOICE'],
      ['no-such-upload', 'not_found', 'FILE'],
    ] as const;
    for (const [id, reason, messageType] of cases) {
      const error = await refusal(send({ messageType, attachments: [{ id }] }));
      expect(error, reason).toBeInstanceOf(ValidationError);
      expect(error.details).toEqual({ field: 'attachments', refused: [{ id, reason }] });
    }
    // Once sent, it is on that message only.
    await send({ messageType: 'IMAGE', attachments: [{ id: photo.id }] });
    const again = await refusal(send({ messageType: 'IMAGE', attachments: [{ id: photo.id }] }));
    expect(again.details).toEqual({ field: 'attachments', refused: [{ id: photo.id, reason: 'attached' }] });
    expect(world.db.messageCount()).toBe(1);
  });

  it('pushes a photo, a file or a voice note without a caption by its kind', async () => {
    const kinds = [
      ['IMAGE', 'image/jpeg', 'Photo'],
      ['FILE', 'application/pdf', 'File'],
      ['VOICE', 'audio/ogg', 'Voice message'],
    ] as const;
    for (const [messageType, contentType, body] of kinds) {
      const upload = await world.readyUpload(CUSTOMER, conversation.id, { contentType });
      await send({ messageType, attachments: [{ id: upload.id }] });
      const stored = (await world.messages.history(conversation.id, { kind: 'page', page: 1, limit: 1 })).messages[0]!;
      expect(pushNotificationFor(stored, { badge: 1, locale: 'en', preview: 'full' })).toMatchObject({ body, richMedia: messageType === 'IMAGE' });
    }
  });

  it('a retry with the same clientMessageId answers the stored message', async () => {
    const photo = await world.readyUpload(CUSTOMER, conversation.id);
    const first = await send({ messageType: 'IMAGE', attachments: [{ id: photo.id }], clientMessageId: 'c-1' });
    const again = await send({ messageType: 'IMAGE', attachments: [{ id: photo.id }], clientMessageId: 'c-1' });
    expect(again).toEqual({ message: first.message, created: false });
  });

  it('refuses an upload older than CHAT_ATTACHMENT_ORPHAN_HOURS: the sweep is about to take it', async () => {
    const photo = await world.readyUpload(CUSTOMER, conversation.id);
    world.clock.advance(world.limits.CHAT_ATTACHMENT_ORPHAN_HOURS * 3600_000 + 1);
    const error = await refusal(send({ messageType: 'IMAGE', attachments: [{ id: photo.id }] }));
    expect(error.details).toEqual({ field: 'attachments', refused: [{ id: photo.id, reason: 'expired' }] });
  });
});

describe('the sweep', () => {
  it('deletes unclaimed uploads after CHAT_ATTACHMENT_ORPHAN_HOURS and the attachments of deleted messages, objects first', async () => {
    const orphan = await world.readyUpload(CUSTOMER, conversation.id);
    const sent = await world.readyUpload(CUSTOMER, conversation.id);
    const deleted = await world.readyUpload(CUSTOMER, conversation.id);
    await world.sendMessage({ identity: CUSTOMER, conversationId: conversation.id, content: '', messageType: 'IMAGE', attachments: [{ id: sent.id }] });
    const gone = await world.sendMessage({ identity: CUSTOMER, conversationId: conversation.id, content: '', messageType: 'IMAGE', attachments: [{ id: deleted.id }] });
    await world.deleteMessage({ identity: CUSTOMER, conversationId: conversation.id, messageId: gone.message.id });

    // Not yet: only the deleted message's attachment goes.
    expect(await world.sweepAttachments()).toEqual({ orphans: 0, ofDeletedMessages: 1 });
    expect(world.storage.removed).toEqual([`uploads/${conversation.id}/${deleted.id}`, `files/${conversation.id}/${deleted.id}/original`, `files/${conversation.id}/${deleted.id}/thumbnail`]);
    expect(await world.attachments.get(deleted.id)).toBeNull();

    world.clock.advance(world.limits.CHAT_ATTACHMENT_ORPHAN_HOURS * 3600_000 + SWEEP_MARGIN_MS + 1);
    const fresh = await world.readyUpload(CUSTOMER, conversation.id);
    expect(await world.sweepAttachments()).toEqual({ orphans: 1, ofDeletedMessages: 0 });
    expect(await world.attachments.get(orphan.id)).toBeNull();
    expect(await world.attachments.get(sent.id)).not.toBeNull();
    expect(await world.attachments.get(fresh.id)).not.toBeNull();
    expect(world.metrics.total('AttachmentsSwept')).toBe(2);
    expect(world.logger.entries.at(-1)).toMatchObject({ message: 'Swept attachments', details: { orphans: 1, ofDeletedMessages: 0 } });
  });

  it('keeps the records when the bucket fails, so the next run tries again', async () => {
    const orphan = await world.readyUpload(CUSTOMER, conversation.id);
    world.clock.advance(world.limits.CHAT_ATTACHMENT_ORPHAN_HOURS * 3600_000 + SWEEP_MARGIN_MS + 1);
    world.storage.failing.add(`uploads/${conversation.id}/${orphan.id}`);
    await expect(world.sweepAttachments()).rejects.toThrow();
    expect(await world.attachments.get(orphan.id)).not.toBeNull();
    world.storage.failing.clear();
    expect(await world.sweepAttachments()).toEqual({ orphans: 1, ofDeletedMessages: 0 });
  });
});
