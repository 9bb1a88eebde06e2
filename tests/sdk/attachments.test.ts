/**
 * Attachment upload against an injected fetch: the upload intent, then a multipart POST to the
 * presigned URL with every field in order and the file last, and the storage's refusal.
 */
import { describe, expect, it } from 'vitest';
import { ChatClient, ChatError, type FetchLike } from '../../sdk/src/index.ts';
import { FakeServer } from './support/fake-socket.ts';

const attachment = {
  id: 'att-1',
  conversationId: 'c1',
  uploaderId: 2,
  fileName: 'wheel.jpg',
  contentType: 'image/jpeg',
  size: 5,
  status: 'PENDING',
  hasThumbnail: false,
  createdAt: '2030-01-01T00:00:00.000Z',
};
const upload = { url: 'https://storage.test/bucket', fields: { key: 'uploads/c1/att-1', 'Content-Type': 'image/jpeg', Policy: 'p', 'X-Amz-Signature': 's' }, expiresAt: '2030-01-01T00:05:00.000Z' };

function setup(storageAnswer: { status: number; body: string }) {
  const calls: { url: string; init: Parameters<FetchLike>[1] & { body?: unknown } }[] = [];
  const fetch = (async (url: string, init: Parameters<FetchLike>[1]) => {
    calls.push({ url, init });
    const answer = url.startsWith('https://storage.test') ? storageAnswer : { status: 201, body: JSON.stringify({ attachment, upload }) };
    return { status: answer.status, text: async () => answer.body, headers: { get: () => null } };
  }) as FetchLike;
  const client = new ChatClient({ httpUrl: 'http://chat.test', wsUrl: 'ws://chat.test/ws', getToken: () => 'token-1', WebSocket: new FakeServer().WebSocket, fetch });
  return { client, calls };
}

describe('uploadAttachment', () => {
  it('asks for an upload intent, posts every field then the file to the presigned URL, and resolves with the attachment', async () => {
    const { client, calls } = setup({ status: 204, body: '' });
    const file = new Blob(['12345'], { type: 'image/jpeg' });
    await expect(client.uploadAttachment('c1', file, { fileName: 'wheel.jpg', contentType: 'image/jpeg' })).resolves.toEqual(attachment);

    expect(calls).toHaveLength(2);
    expect(calls[0]!.url).toBe('http://chat.test/api/provider-customer-chat/conversations/c1/attachments');
    expect(calls[0]!.init.method).toBe('POST');
    expect(calls[0]!.init.headers.authorization).toBe('Bearer token-1');
    expect(JSON.parse(calls[0]!.init.body as string)).toEqual({ fileName: 'wheel.jpg', contentType: 'image/jpeg', size: 5 });

    expect(calls[1]!.url).toBe(upload.url);
    expect(calls[1]!.init.method).toBe('POST');
    // No content-type of the client's: fetch sets multipart/form-data with its boundary.
    expect(calls[1]!.init.headers).toEqual({});
    const form = calls[1]!.init.body as unknown as FormData;
    expect([...form.keys()]).toEqual(['key', 'Content-Type', 'Policy', 'X-Amz-Signature', 'file']);
    expect(form.get('key')).toBe('uploads/c1/att-1');
    const sent = form.get('file') as File;
    expect(sent.name).toBe('wheel.jpg');
    expect(await sent.text()).toBe('12345');
  });

  it('rejects with UPLOAD_REFUSED and the storage’s code when the storage refuses the upload', async () => {
    const { client } = setup({ status: 400, body: '<?xml version="1.0"?><Error><Code>EntityTooLarge</Code></Error>' });
    const refused = await client.uploadAttachment('c1', new Blob(['12345']), { fileName: 'big.jpg', contentType: 'image/jpeg' }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(ChatError);
    expect(refused).toMatchObject({ code: 'UPLOAD_REFUSED', status: 400, details: { status: 400, code: 'EntityTooLarge' } });
  });
});
