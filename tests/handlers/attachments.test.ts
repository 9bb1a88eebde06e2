/**
 * Attachments through the real handlers and the real S3 adapter's presigning: the upload
 * intent's presigned POST, reading and downloading (302 to a signed GET), sending by id over
 * HTTP and WebSocket with every refusal, LOCATION metadata, `/sync` for the uploader, and the
 * sweep's scheduled handler. Processing is played by the attachment store's `finish`, as the
 * processor calls it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeAttachmentStore } from '#adapters/postgres/attachment-store';
import type { ProcessingOutcome } from '#core/ports';
import { people, startHandlerHarness, type HandlerHarness, type HttpReply, type Loose } from '#tests/support/handler-harness';

let h: HandlerHarness;
let conversationId: string;

const MAX_BYTES = 1_000_000;

beforeAll(async () => {
  h = await startHandlerHarness({ env: { CHAT_SEND_RATE_LIMIT: '1000', CHAT_MAX_ATTACHMENT_BYTES: String(MAX_BYTES), CHAT_UPLOAD_URL_TTL_SECONDS: '120' } });
  conversationId = (await h.http('startConversation', { identity: people.customer, body: { providerId: 1, customerId: 2 } })).json.conversation.id;
});
afterAll(async () => h?.stop());

function expectError(reply: HttpReply, status: number, code: string): Loose {
  expect(reply.status, reply.body).toBe(status);
  expect(reply.json.error.code).toBe(code);
  return reply.json.error;
}

const intent = (body: Record<string, unknown> = {}, identity: Loose = people.customer, id = conversationId) =>
  h.http('createAttachment', { identity, params: { conversationId: id }, body: { fileName: 'dent.jpg', contentType: 'image/jpeg', size: 50_000, ...body } });

const READY: ProcessingOutcome = { status: 'READY', size: 40_000, contentType: 'image/jpeg', width: 1200, height: 900, hasThumbnail: true };

/** An upload as processing leaves it. */
async function processed(body: Record<string, unknown> = {}, outcome: ProcessingOutcome | null = READY, identity: Loose = people.customer): Promise<Loose> {
  const reply = await intent(body, identity);
  expect(reply.status, reply.body).toBe(201);
  if (!outcome) return reply.json.attachment;
  const contentType = (body.contentType as string | undefined) ?? 'image/jpeg';
  const finished = await makeAttachmentStore({ prisma: h.database.prisma }).finish(
    reply.json.attachment.id,
    outcome.status === 'READY' ? { ...outcome, contentType, hasThumbnail: contentType.startsWith('image/') } : outcome,
    new Date(),
  );
  return finished!.attachment;
}

const send = (body: Record<string, unknown>, identity: Loose = people.customer) =>
  h.http('sendMessage', { identity, params: { conversationId }, body: { content: '', ...body } });

describe('the upload intent', () => {
  it('answers 201 with the PENDING attachment and a presigned POST for exactly its key and type', async () => {
    const reply = await intent();
    expect(reply.status, reply.body).toBe(201);
    const { attachment, upload } = reply.json;
    expect(attachment).toMatchObject({ conversationId, uploaderId: 2, fileName: 'dent.jpg', contentType: 'image/jpeg', size: 50_000, status: 'PENDING', hasThumbnail: false });
    expect(attachment).not.toHaveProperty('width');
    expect(upload.url).toContain('chat-attachments-test');
    expect(upload.fields).toMatchObject({ key: `uploads/${conversationId}/${attachment.id}`, 'Content-Type': 'image/jpeg' });
    const policy = JSON.parse(Buffer.from(upload.fields.Policy, 'base64').toString('utf8'));
    expect(policy.conditions).toEqual(expect.arrayContaining([['content-length-range', 1, MAX_BYTES]]));
    expect(JSON.stringify(policy.conditions)).toContain(`uploads/${conversationId}/${attachment.id}`);
    expect(Date.parse(upload.expiresAt) - Date.now()).toBeGreaterThan(100_000);
    expect(Date.parse(upload.expiresAt) - Date.now()).toBeLessThanOrEqual(120_000);
  });

  it('refuses a type not in CHAT_ATTACHMENT_TYPES (400 naming them), a size over the maximum (413), and bad bodies', async () => {
    const type = expectError(await intent({ contentType: 'text/html' }), 400, 'VALIDATION_ERROR');
    expect(type.details).toMatchObject({ field: 'contentType', allowed: expect.arrayContaining(['image/jpeg', 'application/pdf', 'audio/mp4']) });
    const size = expectError(await intent({ size: MAX_BYTES + 1 }), 413, 'PAYLOAD_TOO_LARGE');
    expect(size.details).toEqual({ field: 'size', maxBytes: MAX_BYTES, bytes: MAX_BYTES + 1 });
    for (const body of [{ size: 0 }, { size: '12' }, { fileName: '' }, { fileName: 'x'.repeat(256) }]) expectError(await intent(body), 400, 'VALIDATION_ERROR');
  });

  it('refuses uploads into a BLOCKED conversation (403)', async () => {
    const other = (await h.http('startConversation', { identity: people.customer, body: { providerId: 1, customerId: 2, orderId: 77 } })).json.conversation.id;
    expect((await h.http('blockConversation', { identity: people.customer, params: { conversationId: other } })).status).toBe(200);
    expectError(await intent({}, people.customer, other), 403, 'FORBIDDEN');
  });
});

describe('reading and downloading', () => {
  it('redirects (302) to a signed GET of the original or thumbnail; 404 for a variant that does not exist', async () => {
    const photo = await processed();
    const content = (attachmentId: string, variant?: string) =>
      h.http('getAttachmentContent', { identity: people.customer, params: { conversationId, attachmentId }, ...(variant ? { query: { variant } } : {}) });
    const original = await content(photo.id);
    expect(original.status).toBe(302);
    const location = new URL(original.headers.location!);
    expect(location.pathname).toContain(`files/${conversationId}/${photo.id}/original`);
    expect(location.searchParams.get('X-Amz-Expires')).toBe('300');
    const thumbnail = await content(photo.id, 'thumbnail');
    expect(thumbnail.status).toBe(302);
    expect(thumbnail.headers.location).toContain(`files/${conversationId}/${photo.id}/thumbnail`);

    const pending = await processed({}, null);
    expectError(await content(pending.id), 404, 'NOT_FOUND');
    const rejected = await processed({}, { status: 'REJECTED', reason: 'type_mismatch' });
    expectError(await content(rejected.id), 404, 'NOT_FOUND');
    const pdf = await processed({ contentType: 'application/pdf', fileName: 'receipt.pdf' });
    expectError(await content(pdf.id, 'thumbnail'), 404, 'NOT_FOUND');
    expect((await content(pdf.id)).status).toBe(302);
    expectError(await content(photo.id, 'large'), 400, 'VALIDATION_ERROR');
    expectError(await content('no-such-attachment'), 404, 'NOT_FOUND');

    const read = await h.http('getAttachment', { identity: people.customer, params: { conversationId, attachmentId: rejected.id } });
    expect(read.json.attachment).toMatchObject({ status: 'REJECTED', rejectedReason: 'type_mismatch' });
  });

  it("hides an upload from the other side until a message carries it", async () => {
    const photo = await processed();
    const asStaff = () => h.http('getAttachment', { identity: people.staff, params: { conversationId, attachmentId: photo.id } });
    expectError(await asStaff(), 403, 'FORBIDDEN');
    expect((await send({ messageType: 'IMAGE', attachments: [{ id: photo.id }] })).status).toBe(201);
    expect((await asStaff()).json.attachment).toMatchObject({ id: photo.id, status: 'READY', width: 1200, height: 900 });
  });
});

describe('sending by attachment id', () => {
  it('stores the attachment objects as the message carries them, in history and live, over HTTP and WebSocket', async () => {
    const since = h.mark();
    await h.ws.connect('staff-ws', { token: h.token(people.staff) });
    const a = await processed();
    const b = await processed({ fileName: 'b.png', contentType: 'image/png' });
    const reply = await send({ messageType: 'IMAGE', content: 'before and after', attachments: [{ id: a.id }, { id: b.id }] });
    expect(reply.status, reply.body).toBe(201);
    expect(reply.json.message.attachments).toEqual([
      { id: a.id, conversationId, uploaderId: 2, fileName: 'dent.jpg', contentType: 'image/jpeg', size: 40_000, status: 'READY', width: 1200, height: 900, hasThumbnail: true, createdAt: a.createdAt.toISOString() },
      { id: b.id, conversationId, uploaderId: 2, fileName: 'b.png', contentType: 'image/png', size: 40_000, status: 'READY', width: 1200, height: 900, hasThumbnail: true, createdAt: b.createdAt.toISOString() },
    ]);
    expect(since('staff-ws').find((f) => f.event === 'chat-new-message')?.data.message).toEqual(reply.json.message);
    const history = await h.http('getMessages', { identity: people.staff, params: { conversationId }, query: { after: String(reply.json.message.seq - 1) } });
    expect(history.json.messages[0].attachments).toEqual(reply.json.message.attachments);

    await h.ws.connect('customer-ws', { token: h.token(people.customer) });
    const voice = await processed({ fileName: 'note.m4a', contentType: 'audio/mp4' });
    const ws = await h.ws.send('customer-ws', { action: 'sendMessage', data: { conversationId, content: '', messageType: 'VOICE', attachments: [{ id: voice.id }] }, requestId: 'voice-1' });
    const ack = ws.frames.find((f) => f.event === 'chat-ack' && f.data.requestId === 'voice-1');
    expect(ack?.data.data.message.attachments).toMatchObject([{ id: voice.id, contentType: 'audio/mp4' }]);
  });

  it('answers a retry with the same clientMessageId with the stored message (200)', async () => {
    const photo = await processed();
    const body = { messageType: 'IMAGE', attachments: [{ id: photo.id }], clientMessageId: 'retry-photo' };
    const first = await send(body);
    const again = await send(body);
    expect(first.status).toBe(201);
    expect(again.status).toBe(200);
    expect(again.json.message).toEqual(first.json.message);
  });

  it('refuses every attachment a message may not carry, over HTTP and WebSocket alike', async () => {
    const pending = await processed({}, null);
    const rejected = await processed({}, { status: 'REJECTED', reason: 'unreadable_image' });
    const staffPhoto = await processed({}, READY, people.staff);
    const audio = await processed({ contentType: 'audio/mpeg', fileName: 'x.mp3' });
    const photo = await processed();
    const sent = await processed();
    expect((await send({ messageType: 'IMAGE', attachments: [{ id: sent.id }] })).status).toBe(201);

    const cases: [string, Record<string, unknown>, number, string, string | null][] = [
      ['still PENDING', { messageType: 'IMAGE', attachments: [{ id: pending.id }] }, 409, 'CONFLICT', 'pending'],
      ['REJECTED', { messageType: 'IMAGE', attachments: [{ id: rejected.id }] }, 400, 'VALIDATION_ERROR', 'rejected'],
      ["someone else's", { messageType: 'IMAGE', attachments: [{ id: staffPhoto.id }] }, 400, 'VALIDATION_ERROR', 'not_yours'],
      ['already sent', { messageType: 'IMAGE', attachments: [{ id: sent.id }] }, 400, 'VALIDATION_ERROR', 'attached'],
      ['unknown', { messageType: 'FILE', attachments: [{ id: 'no-such-upload' }] }, 400, 'VALIDATION_ERROR', 'not_found'],
      ['audio as IMAGE', { messageType: 'IMAGE', attachments: [{ id: audio.id }] }, 400, 'VALIDATION_ERROR', 'wrong_type'],
      ['a photo as VOICE', { messageType: 'VOICE', attachments: [{ id: photo.id }] }, 400, 'VALIDATION_ERROR', 'wrong_type'],
      ['two on VOICE', { messageType: 'VOICE', attachments: [{ id: audio.id }, { id: photo.id }] }, 400, 'VALIDATION_ERROR', null],
      ['on TEXT', { messageType: 'TEXT', content: 'hi', attachments: [{ id: photo.id }] }, 400, 'VALIDATION_ERROR', null],
      ['on LOCATION', { messageType: 'LOCATION', metadata: { location: { latitude: 1, longitude: 2 } }, attachments: [{ id: photo.id }] }, 400, 'VALIDATION_ERROR', null],
      ['IMAGE without any', { messageType: 'IMAGE', content: 'look' }, 400, 'VALIDATION_ERROR', null],
    ];
    const before = (await h.http('getMessages', { identity: people.customer, params: { conversationId } })).json.pagination;
    let n = 0;
    for (const [what, body, status, code, reason] of cases) {
      const error = expectError(await send(body), status, code);
      if (reason) expect(error.details, what).toMatchObject({ field: 'attachments', refused: [{ reason }] });
      const ws = await h.ws.send('customer-ws', { action: 'sendMessage', data: { conversationId, content: '', ...body }, requestId: `refused-${++n}` });
      expect(ws.frames.find((f) => f.event === 'chat-error' && (f.data.requestId ?? f.requestId) === `refused-${n}`)?.data, what).toMatchObject({ code });
    }
    // Nothing was stored and no seq used.
    expect((await h.http('getMessages', { identity: people.customer, params: { conversationId } })).json.pagination).toEqual(before);
    expect((await send({ messageType: 'IMAGE', attachments: [{ id: photo.id }] })).status).toBe(201);
  });
});

describe('LOCATION messages', () => {
  it('carry metadata.location within range; anything else is refused naming the field', async () => {
    const ok = await send({ messageType: 'LOCATION', content: 'here', metadata: { location: { latitude: 52.52, longitude: 13.405, label: '  Car wash, Main St. 4 ' } } });
    expect(ok.status, ok.body).toBe(201);
    expect(ok.json.message.metadata).toEqual({ location: { latitude: 52.52, longitude: 13.405, label: 'Car wash, Main St. 4' } });
    const refusals: [unknown, string][] = [
      [{ location: { latitude: 91, longitude: 0 } }, 'metadata.location.latitude'],
      [{ location: { latitude: 0, longitude: -180.5 } }, 'metadata.location.longitude'],
      [{ location: { latitude: '1', longitude: 0 } }, 'metadata.location.latitude'],
      [{ location: { latitude: 0, longitude: 0, label: 'x'.repeat(201) } }, 'metadata.location.label'],
      [{ location: { latitude: 0, longitude: 0, url: 'https://maps' } }, 'metadata.location'],
      [{ location: [1, 2] }, 'metadata.location'],
    ];
    for (const [metadata, path] of refusals) {
      const error = expectError(await send({ messageType: 'LOCATION', content: 'here', metadata }), 400, 'VALIDATION_ERROR');
      expect(JSON.stringify(error.details), JSON.stringify(metadata)).toContain(path);
    }
    expectError(await send({ messageType: 'LOCATION', content: 'here' }), 400, 'VALIDATION_ERROR');
  });
});

describe('the change log and the sweep', () => {
  it("shows attachment.updated in the uploader's /sync only", async () => {
    const customerStart = (await h.http('sync', { identity: people.customer })).json.cursor;
    const staffStart = (await h.http('sync', { identity: people.staff })).json.cursor;
    const photo = await processed({ fileName: 'sync.jpg' });
    const customerSync = await h.http('sync', { identity: people.customer, query: { since: customerStart } });
    const changes = customerSync.json.changes.filter((c: Loose) => c.type === 'attachment.updated');
    expect(changes).toHaveLength(1);
    expect(changes[0].data.attachment).toMatchObject({ id: photo.id, status: 'READY', fileName: 'sync.jpg' });
    const staffSync = await h.http('sync', { identity: people.staff, query: { since: staffStart } });
    expect(staffSync.json.changes.filter((c: Loose) => c.type === 'attachment.updated')).toEqual([]);
  });

  it('the scheduled sweep runs and reports what it deleted', async () => {
    const result = await h.invoke('scheduled/sweep-attachments', { source: 'aws.events', 'detail-type': 'Scheduled Event', detail: {} });
    expect(result).toMatchObject({ orphans: 0, ofDeletedMessages: 0 });
  });
});
