/**
 * Processing's order under failures, over the in-memory fakes and the real media processor: an
 * outage of the bucket or the database leaves the attachment PENDING with its upload in place,
 * so the redelivered record finishes it; a failed event publish never undoes the outcome; the
 * uploader's connections (and only theirs) hear chat-attachment-updated.
 */
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { uploadKey, variantKey } from '#core/attachments';
import { typesMatch } from '#core/media';
import type { Attachment } from '#core/model';
import { createWorld } from './world.ts';

async function setUp() {
  const world = createWorld();
  const { conversation } = await world.conversations.startOrGet({ providerId: 5, customerId: 6, orderId: null });
  const png = await sharp({ create: { width: 640, height: 480, channels: 3, background: '#336699' } }).png().toBuffer();
  const attachment = await world.attachments.create({ conversationId: conversation.id, uploaderId: 6, uploaderSide: 'customer', fileName: 'a.png', contentType: 'image/png', size: png.byteLength });
  await world.storage.write(uploadKey(attachment), png, 'image/png');
  return { world, attachment, key: uploadKey(attachment) };
}

const statusOf = async (world: Awaited<ReturnType<typeof setUp>>['world'], attachment: Attachment) => (await world.attachments.get(attachment.id))!.status;

describe('processAttachment', () => {
  it('keeps the upload and the PENDING record when the bucket fails mid-way, and finishes on the next delivery', async () => {
    const { world, attachment, key } = await setUp();
    const storage = world.storage;
    const write = storage.write.bind(storage);
    let failWrites = true;
    storage.write = async (...args) => {
      if (failWrites && args[0].endsWith('/thumbnail')) throw new Error('the bucket is unreachable');
      return write(...args);
    };
    await expect(world.processAttachment({ key })).rejects.toThrow('unreachable');
    expect(await statusOf(world, attachment)).toBe('PENDING');
    expect(storage.objects.has(key)).toBe(true);

    failWrites = false;
    expect((await world.processAttachment({ key })).result).toBe('processed');
    expect(await statusOf(world, attachment)).toBe('READY');
    expect(storage.objects.has(key)).toBe(false);
    expect(storage.objects.has(variantKey(attachment, 'thumbnail'))).toBe(true);
  });

  it('a failed delete of the upload after READY is cleaned up by the next delivery, which records nothing', async () => {
    const { world, attachment, key } = await setUp();
    world.storage.failing.add(key);
    await expect(world.processAttachment({ key })).rejects.toThrow('unreachable');
    expect(await statusOf(world, attachment)).toBe('READY');
    const published = world.events.published.length;

    world.storage.failing.delete(key);
    expect(await world.processAttachment({ key })).toEqual({ result: 'ignored', why: 'already_processed' });
    expect(world.storage.objects.has(key)).toBe(false);
    expect(world.events.published).toHaveLength(published);
  });

  it('an events queue outage does not undo READY (the sweeper republishes the change)', async () => {
    const { world, attachment, key } = await setUp();
    world.events.failing = true;
    expect((await world.processAttachment({ key })).result).toBe('processed');
    expect(await statusOf(world, attachment)).toBe('READY');
  });

  it("tells the uploader's connections, not the other side's", async () => {
    const { world, key } = await setUp();
    const now = world.clock.now().getTime();
    const connect = (connectionId: string, identity: { userId: number; role: 'customer' | 'provider'; providerId?: number }) =>
      world.connections.put({ connectionId, connectedAt: now, expiresAt: now + 3_600_000, identity });
    await connect('phone', { userId: 6, role: 'customer' });
    await connect('desk', { userId: 50, role: 'provider', providerId: 5 });
    await world.processAttachment({ key });
    const sent = world.broadcaster.sent.filter((post) => post.frame.event === 'chat-attachment-updated');
    expect(sent.map((post) => post.connectionId)).toEqual(['phone']);
    expect(sent[0]!.frame.data).toMatchObject({ attachment: { status: 'READY', width: 640, height: 480, hasThumbnail: true } });
  });
});

describe('typesMatch', () => {
  it('matches names of one kind of file, and nothing else', () => {
    expect(typesMatch('audio/mp4', 'audio/x-m4a')).toBe(true);
    expect(typesMatch('audio/ogg', 'audio/ogg; codecs=opus')).toBe(true);
    expect(typesMatch('image/heic', 'image/heif')).toBe(true);
    expect(typesMatch('image/jpeg', 'image/png')).toBe(false);
    expect(typesMatch('application/pdf', 'application/zip')).toBe(false);
  });
});
