/**
 * Processing uploads for real: images made here with sharp, uploaded to the local S3 endpoint,
 * processed by the use case over the S3 object storage, the real media processor and the
 * Postgres attachment store. What a user would notice: a photo comes out upright and without its
 * GPS position, a thumbnail is there, a file that lies about its type or an image that cannot be
 * read is REJECTED, and the uploader's event says so.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeMediaProcessor } from '#adapters/media/image-processor';
import { makeAttachmentStore } from '#adapters/postgres/attachment-store';
import { makeConversationStore } from '#adapters/postgres/conversation-store';
import { createS3Client, LOCAL_S3_CREDENTIALS } from '#adapters/s3/client';
import { makeS3ObjectStorage } from '#adapters/s3/object-storage';
import { uploadKey, variantKey } from '#core/attachments';
import type { Attachment, Conversation } from '#core/model';
import type { AttachmentStore, ObjectStorage } from '#core/ports';
import { makeProcessAttachment, type ProcessAttachment } from '#core/use-cases/process-attachment';
import { makePublishChanges } from '#core/use-cases/publish';
import { startLocalS3, type LocalS3 } from '#lib/local/s3';
import { createTestDatabase } from '#tests/support/postgres';
import { RecordingEventPublisher, RecordingLogger, RecordingMetrics } from '#tests/support/fakes';

const BUCKET = 'chat-attachments';
const REGION = 'us-east-1';
const MAX_BYTES = 10 * 1024 * 1024;

let db: Awaited<ReturnType<typeof createTestDatabase>>;
let s3: LocalS3;
let dataDir: string;
let attachments: AttachmentStore;
let storage: ObjectStorage;
let events: RecordingEventPublisher;
let metrics: RecordingMetrics;
let processAttachment: ProcessAttachment;
let conversation: Conversation;

beforeAll(async () => {
  db = await createTestDatabase();
  dataDir = await mkdtemp(join(tmpdir(), 'process-attachment-'));
  s3 = await startLocalS3({ dataDir, region: REGION, credentials: LOCAL_S3_CREDENTIALS, buckets: [BUCKET] });
  attachments = makeAttachmentStore({ prisma: db.prisma });
  storage = makeS3ObjectStorage({ client: createS3Client({ AWS_REGION: REGION, S3_ENDPOINT: s3.endpoint }), bucket: BUCKET, clock: { now: () => new Date() } });
  events = new RecordingEventPublisher();
  const logger = new RecordingLogger();
  metrics = new RecordingMetrics();
  processAttachment = makeProcessAttachment({
    attachments,
    storage,
    media: makeMediaProcessor(),
    clock: { now: () => new Date() },
    limits: { CHAT_MAX_ATTACHMENT_BYTES: MAX_BYTES },
    publish: makePublishChanges({ events, metrics, logger }),
    connections: { forUser: async () => [] },
    deliver: async () => ({ delivered: [], gone: [], failed: [] }),
    metrics,
    logger,
  });
  conversation = (await makeConversationStore({ prisma: db.prisma }).startOrGet({ providerId: 801, customerId: 802, orderId: null })).conversation;
}, 60_000);

afterAll(async () => {
  await s3?.stop();
  await db?.drop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

/** An intent for `bytes` declared as `contentType`, the upload stored, then processed. */
async function uploadAndProcess(bytes: Uint8Array, contentType: string, fileName = 'file'): Promise<Attachment> {
  const attachment = await attachments.create({
    conversationId: conversation.id,
    uploaderId: conversation.customerId,
    uploaderSide: 'customer',
    fileName,
    contentType,
    size: bytes.byteLength,
  });
  await storage.write(uploadKey(attachment), bytes, contentType);
  const result = await processAttachment({ key: uploadKey(attachment) });
  expect(result.result).toBe('processed');
  // The upload itself is never kept.
  expect(await storage.read(uploadKey(attachment))).toBeNull();
  return (await attachments.get(attachment.id))!;
}

/** The `attachment.updated` event's data published for this attachment. */
const eventOf = (attachment: Attachment) =>
  events.published
    .filter((published) => published.type === 'attachment.updated')
    .map((published) => published.data as { attachment: { id: string } })
    .find((data) => data.attachment.id === attachment.id);

const original = async (attachment: Attachment) => (await storage.read(variantKey(attachment, 'original')))!;
const thumbnail = async (attachment: Attachment) => storage.read(variantKey(attachment, 'thumbnail'));

/** A photo `width`x`height` with a gradient, so re-encoding has something to keep. */
function pixels(width: number, height: number) {
  const raw = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) raw.set([x % 256, y % 256, 128], (y * width + x) * 3);
  return sharp(raw, { raw: { width, height, channels: 3 } });
}

/** EXIF holds a GPS IFD when its GPSInfo pointer tag (0x8825) is there, in either byte order. */
const hasGpsPointer = (exif: Buffer) => exif.includes(Buffer.from([0x88, 0x25])) || exif.includes(Buffer.from([0x25, 0x88]));

describe('images', () => {
  it('a phone photo comes out upright, without EXIF or its GPS position, with a WebP thumbnail', async () => {
    // 1200x800 pixels stored sideways: EXIF orientation 6 says "rotate 90° clockwise to view".
    const photo = await pixels(1200, 800)
      .jpeg()
      .withExif({ IFD0: { Make: 'PhoneCam', Model: 'X1' }, IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '48/1 8/1 2/1', GPSLongitudeRef: 'E', GPSLongitude: '11/1 34/1 5/1' } })
      .withMetadata({ orientation: 6 })
      .toBuffer();
    const before = await sharp(photo).metadata();
    expect(before.orientation).toBe(6);
    expect(hasGpsPointer(before.exif!)).toBe(true);

    const done = await uploadAndProcess(photo, 'image/jpeg', 'IMG_0001.jpg');
    expect(done).toMatchObject({ status: 'READY', contentType: 'image/jpeg', width: 800, height: 1200, hasThumbnail: true, rejectedReason: null });

    const kept = await original(done);
    expect(kept.contentType).toBe('image/jpeg');
    expect(done.size).toBe(kept.bytes.byteLength);
    const after = await sharp(kept.bytes).metadata();
    expect(after).toMatchObject({ format: 'jpeg', width: 800, height: 1200 });
    expect(after.exif).toBeUndefined();
    expect(after.orientation).toBeUndefined();
    expect(after.xmp).toBeUndefined();
    expect(after.icc).toBeUndefined();
    expect(Buffer.from(kept.bytes).includes(Buffer.from('PhoneCam'))).toBe(false);

    const thumb = await thumbnail(done);
    expect(thumb!.contentType).toBe('image/webp');
    expect(await sharp(thumb!.bytes).metadata()).toMatchObject({ format: 'webp', width: 213, height: 320 });

    // The uploader's event carries the READY attachment.
    expect(eventOf(done)?.attachment).toMatchObject({ id: done.id, status: 'READY', width: 800, height: 1200, hasThumbnail: true });
  });

  it.each([
    ['PNG', 'image/png', 'png', () => pixels(640, 480).png().toBuffer()],
    ['WebP', 'image/webp', 'webp', () => pixels(500, 900).webp().toBuffer()],
    ['GIF', 'image/gif', 'gif', () => pixels(120, 60).gif().toBuffer()],
  ] as const)('a %s keeps its format and dimensions and gets a thumbnail', async (_name, type, format, make) => {
    const bytes = await make();
    const { width, height } = await sharp(bytes).metadata();
    const done = await uploadAndProcess(bytes, type);
    expect(done).toMatchObject({ status: 'READY', contentType: type, width, height, hasThumbnail: true });
    expect((await sharp((await original(done)).bytes).metadata()).format).toBe(format);
    const thumb = await sharp((await thumbnail(done))!.bytes).metadata();
    expect(Math.max(thumb.width!, thumb.height!)).toBe(Math.min(320, Math.max(width!, height!)));
  });

  it('never enlarges a small image for its thumbnail', async () => {
    const done = await uploadAndProcess(await pixels(100, 40).png().toBuffer(), 'image/png');
    expect(await sharp((await thumbnail(done))!.bytes).metadata()).toMatchObject({ width: 100, height: 40 });
  });

  it('an animated GIF keeps its frames; its height is one frame', async () => {
    const frame = (colour: string) => sharp({ create: { width: 50, height: 40, channels: 4, background: colour } }).png().toBuffer();
    const animation = await sharp([await frame('#ff0000'), await frame('#00ff00'), await frame('#0000ff')], { join: { animated: true } }).gif().toBuffer();
    const done = await uploadAndProcess(animation, 'image/gif');
    expect(done).toMatchObject({ status: 'READY', width: 50, height: 40 });
    expect((await sharp((await original(done)).bytes, { animated: true }).metadata()).pages).toBe(3);
  });

  it('a HEIC photo (iPhone) is kept as a JPEG with its dimensions', async () => {
    // 96x64, encoded with libheif's heif-enc (x265); see tests/support/media/README.md.
    const heic = readFileSync(join(import.meta.dirname, '../../support/media/photo-96x64.heic'));
    const done = await uploadAndProcess(heic, 'image/heic', 'IMG_0002.HEIC');
    expect(done).toMatchObject({ status: 'READY', contentType: 'image/jpeg', width: 96, height: 64, hasThumbnail: true });
    const kept = await original(done);
    expect(kept.contentType).toBe('image/jpeg');
    expect(await sharp(kept.bytes).metadata()).toMatchObject({ format: 'jpeg', width: 96, height: 64 });
  });
});

describe('files', () => {
  const pdf = Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n');
  // An MPEG-1 Layer III frame header (128 kbit/s, 44.1 kHz) and its frame's bytes.
  const mp3 = Buffer.concat([Buffer.from([0xff, 0xfb, 0x90, 0x64]), Buffer.alloc(413 * 3)]);
  // An Ogg page whose first packet is an Opus header.
  const ogg = Buffer.concat([Buffer.from('OggS'), Buffer.alloc(24), Buffer.from('OpusHead'), Buffer.alloc(64)]);
  // An iPhone voice memo's container: ftyp brand `M4A ` (detected as audio/x-m4a, declared audio/mp4).
  const m4a = Buffer.concat([Buffer.from([0, 0, 0, 0x18]), Buffer.from('ftypM4A '), Buffer.alloc(4), Buffer.from('M4A isom'), Buffer.from([0, 0, 0, 8]), Buffer.from('free'), Buffer.alloc(64)]);

  it.each([
    ['a PDF', pdf, 'application/pdf'],
    ['an MP3 voice note', mp3, 'audio/mpeg'],
    ['an Ogg Opus voice note', ogg, 'audio/ogg'],
    ['an M4A voice memo declared audio/mp4', m4a, 'audio/mp4'],
    ['a text file', Buffer.from('Notes about the job: bring the ladder.\n'), 'text/plain'],
  ])('%s is kept byte for byte, without a thumbnail', async (_name, bytes, type) => {
    const done = await uploadAndProcess(bytes, type);
    expect(done).toMatchObject({ status: 'READY', contentType: type, size: bytes.byteLength, width: null, height: null, hasThumbnail: false });
    expect(Buffer.from((await original(done)).bytes).equals(bytes)).toBe(true);
    expect(await thumbnail(done)).toBeNull();
  });
});

describe('refusals', () => {
  it('a text file declared as image/jpeg is REJECTED type_mismatch and nothing is kept', async () => {
    const done = await uploadAndProcess(Buffer.from('not a photo at all'), 'image/jpeg', 'photo.jpg');
    expect(done).toMatchObject({ status: 'REJECTED', rejectedReason: 'type_mismatch', hasThumbnail: false });
    expect(await storage.read(variantKey(done, 'original'))).toBeNull();
    expect(eventOf(done)?.attachment).toMatchObject({ status: 'REJECTED', rejectedReason: 'type_mismatch' });
    expect(metrics.counts.get('AttachmentsRejected')).toBeGreaterThanOrEqual(1);
    expect(metrics.counts.get('AttachmentsProcessed')).toBeGreaterThan(metrics.counts.get('AttachmentsRejected')!);
    expect(metrics.timings.some((timing) => timing.metric === 'AttachmentProcessingTime')).toBe(true);
  });

  it('a PDF declared as audio is REJECTED type_mismatch', async () => {
    const done = await uploadAndProcess(Buffer.from('%PDF-1.4\n%%EOF\n'), 'audio/mpeg');
    expect(done).toMatchObject({ status: 'REJECTED', rejectedReason: 'type_mismatch' });
  });

  it('a PNG declared as image/jpeg is REJECTED type_mismatch', async () => {
    const done = await uploadAndProcess(await pixels(20, 20).png().toBuffer(), 'image/jpeg');
    expect(done).toMatchObject({ status: 'REJECTED', rejectedReason: 'type_mismatch' });
  });

  it('a corrupt (truncated) JPEG is REJECTED unreadable_image', async () => {
    const photo = await pixels(800, 600).jpeg().toBuffer();
    const done = await uploadAndProcess(photo.subarray(0, Math.floor(photo.length / 2)), 'image/jpeg');
    expect(done).toMatchObject({ status: 'REJECTED', rejectedReason: 'unreadable_image' });
    expect(await storage.read(variantKey(done, 'original'))).toBeNull();
  });
});

describe('deliveries', () => {
  it('a repeated delivery changes nothing and publishes nothing', async () => {
    const done = await uploadAndProcess(await pixels(30, 30).png().toBuffer(), 'image/png');
    const published = events.published.length;
    expect(await processAttachment({ key: uploadKey(done) })).toEqual({ result: 'ignored', why: 'already_processed' });
    expect(await attachments.get(done.id)).toEqual(done);
    expect(events.published).toHaveLength(published);
  });

  it('ignores keys that are not uploads, and deletes an upload no intent made', async () => {
    expect(await processAttachment({ key: 'files/c/a/original' })).toEqual({ result: 'ignored', why: 'not_an_upload' });
    const stray = `uploads/${conversation.id}/nosuchattachment0000`;
    await storage.write(stray, Buffer.from('x'), 'text/plain');
    expect(await processAttachment({ key: stray })).toEqual({ result: 'ignored', why: 'no_attachment' });
    expect(await storage.read(stray)).toBeNull();
  });
});
