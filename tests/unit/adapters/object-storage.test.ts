/**
 * The S3 object storage against aws-sdk-client-mock: the presigned POST's policy is what the
 * storage enforces (exact key and type, the size range, the expiry), downloads are presigned
 * GETs served inline for images and as a safely named attachment otherwise, and deletes go in
 * batches of 1000 with missing keys not an error.
 */
import { DeleteObjectsCommand, GetObjectCommand, NoSuchKey, PutObjectCommand, S3Client, type GetObjectCommandOutput } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { createS3Client } from '#adapters/s3/client';
import { DELETE_BATCH, dispositionFor, makeS3ObjectStorage } from '#adapters/s3/object-storage';

const NOW = new Date('2026-12-05T10:00:00Z');
const clock = { now: () => NOW };
const BUCKET = 'chat-attachments-test';
const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' };
const client = new S3Client({ region: 'eu-central-1', credentials });
const storage = makeS3ObjectStorage({ client, bucket: BUCKET, clock });
const s3 = mockClient(S3Client);

afterEach(() => s3.reset());

const policyOf = (fields: Record<string, string>) =>
  JSON.parse(Buffer.from(fields.Policy!, 'base64').toString('utf8')) as { expiration: string; conditions: unknown[] };

describe('uploadForm', () => {
  it('signs a POST the storage holds to the exact key, the exact type, 1..max bytes and the expiry', async () => {
    const key = 'uploads/c1/a1';
    const form = await storage.uploadForm(key, { contentType: 'image/jpeg', minBytes: 1, maxBytes: 5_000_000, expiresInSeconds: 300 });

    expect(form.url).toBe(`https://${BUCKET}.s3.eu-central-1.amazonaws.com/`);
    expect(form.fields).toMatchObject({ key, 'Content-Type': 'image/jpeg', bucket: BUCKET, 'X-Amz-Algorithm': 'AWS4-HMAC-SHA256' });
    expect(form.fields['X-Amz-Signature']).toMatch(/^[0-9a-f]{64}$/);
    expect(form.expiresAt).toEqual(new Date(NOW.getTime() + 300_000));

    const policy = policyOf(form.fields);
    expect(policy.conditions).toEqual(
      expect.arrayContaining([{ key }, { bucket: BUCKET }, ['eq', '$Content-Type', 'image/jpeg'], ['content-length-range', 1, 5_000_000]]),
    );
    // No starts-with: neither the key nor the type can be chosen by the uploader.
    expect(JSON.stringify(policy.conditions)).not.toContain('starts-with');
    const expiresIn = new Date(policy.expiration).getTime() - Date.now();
    expect(expiresIn).toBeGreaterThan(290_000);
    expect(expiresIn).toBeLessThanOrEqual(300_000);
  });

  it('addresses a local endpoint path-style', async () => {
    const local = createS3Client({ AWS_REGION: 'us-east-1', S3_ENDPOINT: 'http://127.0.0.1:3003' });
    const form = await makeS3ObjectStorage({ client: local, bucket: 'chat-attachments', clock }).uploadForm('uploads/c/a', {
      contentType: 'application/pdf',
      minBytes: 1,
      maxBytes: 10,
      expiresInSeconds: 60,
    });
    expect(form.url).toBe('http://127.0.0.1:3003/chat-attachments');
  });
});

describe('downloadUrl', () => {
  it('presigns a GET that serves an image inline with its type', async () => {
    const url = new URL(await storage.downloadUrl('files/c1/a1/original', { expiresInSeconds: 120, fileName: 'beach.jpg', contentType: 'image/jpeg' }));
    expect(url.pathname).toBe('/files/c1/a1/original');
    expect(url.searchParams.get('X-Amz-Expires')).toBe('120');
    expect(url.searchParams.get('response-content-type')).toBe('image/jpeg');
    expect(url.searchParams.get('response-content-disposition')).toBe('inline; filename="beach.jpg"');
    expect(url.searchParams.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);
  });

  it('serves any other file as an attachment under its name, non-ASCII names percent-encoded', async () => {
    const url = new URL(await storage.downloadUrl('files/c1/a2/original', { expiresInSeconds: 60, fileName: 'Rechnung März (1).pdf', contentType: 'application/pdf' }));
    expect(url.searchParams.get('response-content-disposition')).toBe(
      `attachment; filename="Rechnung Marz (1).pdf"; filename*=UTF-8''Rechnung%20M%C3%A4rz%20%281%29.pdf`,
    );
  });

  it('never lets a file name break the header', () => {
    expect(dispositionFor('a"b.pdf', 'application/pdf')).toBe('attachment; filename="a\\"b.pdf"');
    const injected = dispositionFor('x\r\nSet-Cookie: a=b.pdf', 'application/pdf');
    expect(injected).not.toMatch(/[\r\n]/);
    expect(injected).toContain("filename*=UTF-8''x%0D%0ASet-Cookie%3A%20a%3Db.pdf");
    expect(dispositionFor('日本語.txt', 'text/plain')).toBe(`attachment; filename="___.txt"; filename*=UTF-8''%E6%97%A5%E6%9C%AC%E8%AA%9E.txt`);
  });
});

describe('read and write', () => {
  it('reads the bytes and type of an object, and null for a missing one', async () => {
    // The SDK's streaming body, as far as the adapter uses it.
    const body = { transformToByteArray: async () => new Uint8Array(Buffer.from('hello')) } as unknown as GetObjectCommandOutput['Body'];
    s3.on(GetObjectCommand, { Bucket: BUCKET, Key: 'uploads/c/a' }).resolves({ Body: body, ContentType: 'text/plain' });
    s3.on(GetObjectCommand, { Bucket: BUCKET, Key: 'uploads/c/missing' }).rejects(new NoSuchKey({ message: 'The specified key does not exist.', $metadata: { httpStatusCode: 404 } }));

    const stored = await storage.read('uploads/c/a');
    expect(Buffer.from(stored!.bytes).toString()).toBe('hello');
    expect(stored!.contentType).toBe('text/plain');
    expect(await storage.read('uploads/c/missing')).toBeNull();
  });

  it('throws other failures so the record is delivered again', async () => {
    s3.on(GetObjectCommand).rejects(new Error('socket hang up'));
    await expect(storage.read('uploads/c/a')).rejects.toThrow('socket hang up');
  });

  it('writes the bytes with their type', async () => {
    s3.on(PutObjectCommand).resolves({});
    await storage.write('files/c/a/thumbnail', new Uint8Array([1, 2, 3]), 'image/webp');
    expect(s3.commandCalls(PutObjectCommand)[0]!.args[0].input).toMatchObject({ Bucket: BUCKET, Key: 'files/c/a/thumbnail', ContentType: 'image/webp', ContentLength: 3 });
  });
});

describe('remove', () => {
  it('deletes in batches of 1000', async () => {
    s3.on(DeleteObjectsCommand).resolves({});
    const keys = Array.from({ length: 2 * DELETE_BATCH + 5 }, (_, index) => `files/c/${index}/original`);
    await storage.remove(keys);
    const batches = s3.commandCalls(DeleteObjectsCommand).map((call) => call.args[0].input.Delete!.Objects!.map((object) => object.Key));
    expect(batches.map((batch) => batch.length)).toEqual([1000, 1000, 5]);
    expect(batches.flat()).toEqual(keys);
  });

  it('does nothing for no keys', async () => {
    await storage.remove([]);
    expect(s3.commandCalls(DeleteObjectsCommand)).toHaveLength(0);
  });

  it('fails when S3 could not delete some of them', async () => {
    s3.on(DeleteObjectsCommand).resolves({ Errors: [{ Key: 'files/c/1/original', Code: 'AccessDenied' }] });
    await expect(storage.remove(['files/c/1/original'])).rejects.toThrow(/did not delete 1 of 1 objects \(AccessDenied\)/);
  });
});
