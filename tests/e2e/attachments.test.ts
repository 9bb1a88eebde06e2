/**
 * Attachments end to end, against the real local runtime: the app asks to upload, POSTs the file
 * straight to the (local) S3 with `fetch` + `FormData` + `Blob` exactly as a browser or a React
 * Native app does, the bucket's notification reaches the processor through the attachments
 * queue, the uploader's connections hear `chat-attachment-updated` READY, the photo downloads
 * without its GPS position, an IMAGE message carries it and the other side receives it and can
 * download it. The storage itself refuses an upload of the wrong type, too big, expired or with a
 * tampered policy: nothing is stored and the attachment stays PENDING.
 */
import { GetObjectCommand, NoSuchKey, S3Client } from '@aws-sdk/client-s3';
import sharp from 'sharp';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_S3_CREDENTIALS } from '#adapters/s3/client';
import { startTestRuntime, type TestRuntime } from '#tests/support/runtime';
import { API, closeAllChats, eventually, openChat, restApi, type Json, type RestApi, type Subject } from './support/chat.ts';

const CUSTOMER: Subject = { userId: 62, role: 'customer' };
const STAFF: Subject = { userId: 67, role: 'provider', providerId: 61 };
const MAX_BYTES = 1_000_000;
const UPLOAD_TTL_SECONDS = 5;

let runtime: TestRuntime;
let api: RestApi;
let customer: string;
let staff: string;
let conversationId: string;
let s3: S3Client;

beforeAll(async () => {
  runtime = await startTestRuntime({
    env: { CHAT_SEND_RATE_LIMIT: '1000', CHAT_MAX_ATTACHMENT_BYTES: String(MAX_BYTES), CHAT_UPLOAD_URL_TTL_SECONDS: String(UPLOAD_TTL_SECONDS) },
  });
  api = restApi(runtime.httpUrl);
  [customer, staff] = await Promise.all([api.devToken(CUSTOMER), api.devToken(STAFF)]);
  conversationId = (await api.post('/conversations', customer, { providerId: 61, customerId: 62 })).body.conversation.id;
  s3 = new S3Client({ endpoint: runtime.s3Endpoint, forcePathStyle: true, region: 'us-east-1', credentials: LOCAL_S3_CREDENTIALS });
}, 120_000);
afterEach(closeAllChats);
afterAll(async () => {
  await closeAllChats();
  s3?.destroy();
  await runtime?.stop();
});

/** A phone photo: 1600x1200 with its camera and GPS position in EXIF. */
const phonePhoto = () => {
  const width = 1600;
  const height = 1200;
  const raw = Buffer.alloc(width * height * 3);
  for (let i = 0; i < raw.length; i += 3) raw.set([(i / 3) % 251, (i / 7) % 241, 90], i);
  return sharp(raw, { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 80 })
    .withExif({ IFD0: { Make: 'PhoneCam' }, IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '48/1 8/1 2/1', GPSLongitudeRef: 'E', GPSLongitude: '11/1 34/1 5/1' } })
    .toBuffer();
};

const intent = async (token: string, body: { fileName: string; contentType: string; size: number }) => {
  const response = await api.post(`/conversations/${conversationId}/attachments`, token, body);
  expect(response.status, response.text).toBe(201);
  return response.body as { attachment: Json; upload: { url: string; fields: Record<string, string>; expiresAt: string } };
};

/** The upload as an app makes it: every field of the form, in order, then the file. */
const upload = (form: { url: string; fields: Record<string, string> }, bytes: Uint8Array, type: string, fileName = 'file') => {
  const body = new FormData();
  for (const [name, value] of Object.entries(form.fields)) body.append(name, value);
  body.append('file', new Blob([bytes], { type }), fileName);
  return fetch(form.url, { method: 'POST', body });
};

const errorCode = (xml: string) => /<Code>([^<]+)<\/Code>/.exec(xml)?.[1];

const stored = async (key: string) => {
  try {
    await s3.send(new GetObjectCommand({ Bucket: 'chat-attachments', Key: key }));
    return true;
  } catch (error) {
    if (error instanceof NoSuchKey) return false;
    throw error;
  }
};

const getAttachment = (token: string, id: string) => api.get(`/conversations/${conversationId}/attachments/${id}`, token);
const content = (token: string, id: string, variant = 'original') =>
  fetch(`${runtime.httpUrl}${API}/conversations/${conversationId}/attachments/${id}/content?variant=${variant}`, { headers: { authorization: `Bearer ${token}` }, redirect: 'manual' });

describe('a photo from upload to the other side', () => {
  it('uploads, is processed READY without its GPS position, is sent in an IMAGE message and downloads on both sides', async () => {
    const photo = await phonePhoto();
    const phone = await openChat(runtime, customer);
    const tablet = await openChat(runtime, customer);
    const desk = await openChat(runtime, staff);

    // The SDK's upload: the intent, then the presigned POST straight to the (local) S3.
    const attachment = await phone.chat.uploadAttachment(conversationId, new Blob([photo], { type: 'image/jpeg' }), { fileName: 'Kratzer vorne.jpg', contentType: 'image/jpeg' });
    expect(attachment).toMatchObject({ status: 'PENDING', contentType: 'image/jpeg', fileName: 'Kratzer vorne.jpg' });

    // Both of the uploader's connections hear it; the other side does not.
    const updated = (await phone.nextEvent('chat-attachment-updated', (data) => data.attachment.id === attachment.id, 20_000)).data.attachment;
    expect(updated).toMatchObject({ id: attachment.id, status: 'READY', contentType: 'image/jpeg', width: 1600, height: 1200, hasThumbnail: true });
    await tablet.nextEvent('chat-attachment-updated', (data) => data.attachment.id === attachment.id);
    await desk.settle();
    expect(desk.received((frame) => frame.event === 'chat-attachment-updated')).toEqual([]);
    expect((await getAttachment(customer, attachment.id)).body.attachment).toEqual(updated);

    // The download: a redirect to a short-lived signed URL, then the cleaned photo.
    const redirect = await content(customer, attachment.id);
    expect(redirect.status).toBe(302);
    const download = await fetch(redirect.headers.get('location')!);
    expect(download.status).toBe(200);
    expect(download.headers.get('content-type')).toBe('image/jpeg');
    const bytes = Buffer.from(await download.arrayBuffer());
    expect(bytes.byteLength).toBe(updated.size);
    const metadata = await sharp(bytes).metadata();
    expect(metadata).toMatchObject({ format: 'jpeg', width: 1600, height: 1200 });
    expect(metadata.exif).toBeUndefined();
    const thumbnail = await fetch((await content(customer, attachment.id, 'thumbnail')).headers.get('location')!);
    expect(await sharp(Buffer.from(await thumbnail.arrayBuffer())).metadata()).toMatchObject({ format: 'webp', width: 320, height: 240 });
    // The upload itself is gone; what was kept lives under files/.
    expect(await stored(`uploads/${conversationId}/${attachment.id}`)).toBe(false);

    // Before a message carries it, the other side cannot read it.
    expect((await content(staff, attachment.id)).status).toBeGreaterThanOrEqual(400);

    const sent = await phone.ack('chat-send-message', { conversationId, content: 'Der Kratzer', messageType: 'IMAGE', attachments: [{ id: attachment.id }] });
    const received = (await desk.nextEvent('chat-new-message', (data) => data.message.id === sent.message.id)).data.message;
    expect(received.messageType).toBe('IMAGE');
    expect(received.attachments).toEqual([expect.objectContaining({ id: attachment.id, status: 'READY', width: 1600, height: 1200 })]);

    const staffRedirect = await content(staff, attachment.id);
    expect(staffRedirect.status).toBe(302);
    const staffDownload = Buffer.from(await (await fetch(staffRedirect.headers.get('location')!)).arrayBuffer());
    expect(staffDownload.equals(bytes)).toBe(true);
  });

  it('a text file declared as a photo is REJECTED type_mismatch, and the uploader hears it', async () => {
    const phone = await openChat(runtime, customer);
    const bytes = new TextEncoder().encode('definitely not a JPEG');
    const { attachment, upload: form } = await intent(customer, { fileName: 'photo.jpg', contentType: 'image/jpeg', size: bytes.byteLength });
    expect((await upload(form, bytes, 'image/jpeg')).status).toBe(204);
    const updated = (await phone.nextEvent('chat-attachment-updated', (data) => data.attachment.id === attachment.id, 20_000)).data.attachment;
    expect(updated).toMatchObject({ status: 'REJECTED', rejectedReason: 'type_mismatch' });
    expect((await content(customer, attachment.id)).status).toBe(404);
  });
});

describe('the storage refuses what the intent did not allow', () => {
  const stillPending = async (id: string) => {
    // Long enough for a notification to have been processed, had anything been stored.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect((await getAttachment(customer, id)).body.attachment.status).toBe('PENDING');
    expect(await stored(`uploads/${conversationId}/${id}`)).toBe(false);
  };

  it('another type than declared', async () => {
    const png = await sharp({ create: { width: 10, height: 10, channels: 3, background: '#000' } }).png().toBuffer();
    const { attachment, upload: form } = await intent(customer, { fileName: 'a.jpg', contentType: 'image/jpeg', size: png.byteLength });
    const refused = await upload({ ...form, fields: { ...form.fields, 'Content-Type': 'image/png' } }, png, 'image/png');
    expect(refused.status).toBe(403);
    expect(errorCode(await refused.text())).toBe('AccessDenied');
    await stillPending(attachment.id);
  });

  it('more bytes than CHAT_MAX_ATTACHMENT_BYTES', async () => {
    const { attachment, upload: form } = await intent(customer, { fileName: 'big.pdf', contentType: 'application/pdf', size: 1000 });
    const refused = await upload(form, new Uint8Array(MAX_BYTES + 1), 'application/pdf');
    expect(refused.status).toBe(400);
    expect(errorCode(await refused.text())).toBe('EntityTooLarge');
    await stillPending(attachment.id);
  });

  it('after the upload form expired', async () => {
    const { attachment, upload: form } = await intent(customer, { fileName: 'late.pdf', contentType: 'application/pdf', size: 9 });
    await new Promise((resolve) => setTimeout(resolve, (UPLOAD_TTL_SECONDS + 1) * 1000));
    const refused = await upload(form, new TextEncoder().encode('%PDF-1.4\n'), 'application/pdf');
    expect(refused.status).toBe(403);
    expect(errorCode(await refused.text())).toBe('AccessDenied');
    await stillPending(attachment.id);
  }, 20_000);

  it('with a tampered policy or another key', async () => {
    const { attachment, upload: form } = await intent(customer, { fileName: 'x.pdf', contentType: 'application/pdf', size: 9 });
    const policy = JSON.parse(Buffer.from(form.fields.Policy!, 'base64').toString());
    policy.conditions = policy.conditions.map((condition: Json) => (Array.isArray(condition) && condition[0] === 'content-length-range' ? ['content-length-range', 1, 10 ** 9] : condition));
    const tampered = await upload({ ...form, fields: { ...form.fields, Policy: Buffer.from(JSON.stringify(policy)).toString('base64') } }, new TextEncoder().encode('%PDF-1.4\n'), 'application/pdf');
    expect(tampered.status).toBe(403);
    const otherKey = await upload({ ...form, fields: { ...form.fields, key: `uploads/${conversationId}/someoneelse0000000000` } }, new TextEncoder().encode('%PDF-1.4\n'), 'application/pdf');
    expect(otherKey.status).toBe(403);
    await stillPending(attachment.id);
    expect(await stored(`uploads/${conversationId}/someoneelse0000000000`)).toBe(false);
  });
});

describe('the attachments queue', () => {
  it('processed every notification: nothing waits and nothing was dead-lettered', async () => {
    const view = (name: string) => runtime.sqs.queues().find((queue) => queue.name === name);
    await eventually(
      async () => view('chat-attachments'),
      (queue) => queue !== undefined && queue.visible === 0 && queue.inFlight === 0,
      10_000,
    );
    expect(view('chat-attachments-dlq')?.visible).toBe(0);
  });
});
