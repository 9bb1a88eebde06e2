/**
 * The local S3's browser POST upload, driven exactly as an app uploads: the real
 * `@aws-sdk/s3-presigned-post` signs the policy, Node's fetch + FormData + Blob send the form.
 * Every refusal answers S3's status and code and stores nothing (no object, no notification).
 */
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appOrigin, bucket, keysUnder, parseError, png, postForm, presignPost, settle, startHarness, type Harness } from './s3-support.ts';

let h: Harness;
let counter = 0;
const prefix = () => `conversations/c${++counter}/`;

beforeAll(async () => {
  h = await startHarness();
});

afterAll(async () => {
  await h?.close();
});

/** Posts and expects S3's refusal; then nothing is stored under `under` and no notification came. */
async function expectRefused(response: Response, status: number, code: string, under: string): Promise<Record<string, string>> {
  const before = h.events.length;
  const body = await response.text();
  expect(response.status, body).toBe(status);
  expect(response.headers.get('content-type')).toBe('application/xml');
  const error = parseError(body);
  expect(error.code).toBe(code);
  await settle();
  expect(await keysUnder(h.client, under)).toEqual([]);
  expect(h.events.length).toBe(before);
  return error;
}

describe('local S3: browser POST upload', () => {
  it('stores the bytes with the form Content-Type and emits one ObjectCreated:Post notification', async () => {
    const key = `${prefix()}photo.png`;
    const { url, fields } = await presignPost(h.client, key);
    expect(url).toBe(`${h.s3.endpoint}/${bucket}`);
    const bytes = png(700);
    const before = h.events.length;
    const response = await postForm(url, fields, bytes);
    expect(response.status).toBe(204);
    expect(response.headers.get('etag')).toMatch(/^"[0-9a-f]{32}"$/);

    const object = await h.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    expect(object.ContentType).toBe('image/png');
    expect(object.ContentLength).toBe(700);
    expect(Buffer.from(await object.Body!.transformToByteArray())).toEqual(Buffer.from(bytes));
    expect(object.ETag).toBe(response.headers.get('etag'));

    await settle();
    expect(h.events.length).toBe(before + 1);
    const [record] = h.events.at(-1)!.Records;
    expect(record).toMatchObject({
      eventVersion: '2.1',
      eventSource: 'aws:s3',
      awsRegion: 'us-east-1',
      eventName: 'ObjectCreated:Post',
      userIdentity: { principalId: expect.stringContaining('AKIALOCALS3TEST') },
      requestParameters: { sourceIPAddress: '127.0.0.1' },
      responseElements: { 'x-amz-request-id': expect.any(String), 'x-amz-id-2': expect.any(String) },
      s3: {
        s3SchemaVersion: '1.0',
        configurationId: expect.any(String),
        bucket: { name: bucket, ownerIdentity: { principalId: expect.any(String) }, arn: `arn:aws:s3:::${bucket}` },
        object: { key, size: 700, eTag: response.headers.get('etag')!.replace(/"/g, ''), sequencer: expect.stringMatching(/^[0-9A-F]+$/) },
      },
    });
    expect(new Date(record!.eventTime).toISOString()).toBe(record!.eventTime);
  });

  it('answers success_action_status 201 with the XML PostResponse, and 200 with an empty body', async () => {
    const key = `${prefix()}receipt.pdf`;
    const { url, fields } = await presignPost(h.client, key, { contentType: 'application/pdf', conditions: [{ success_action_status: '201' }] });
    const response = await postForm(url, { ...fields, success_action_status: '201' }, png(10), 'receipt.pdf', 'application/pdf');
    expect(response.status).toBe(201);
    const xml = await response.text();
    expect(xml).toContain(`<Bucket>${bucket}</Bucket>`);
    expect(xml).toContain(`<Key>${key}</Key>`);
    expect(xml).toContain(`<Location>${h.s3.endpoint}/${bucket}/${key}</Location>`);
    expect(xml).toMatch(/<ETag>(&quot;|")[0-9a-f]{32}(&quot;|")<\/ETag>/);

    const other = `${prefix()}a.png`;
    const signed = await presignPost(h.client, other, { conditions: [['eq', '$success_action_status', '200']] });
    const ok = await postForm(signed.url, { ...signed.fields, success_action_status: '200' }, png(10));
    expect(ok.status).toBe(200);
    expect(await ok.text()).toBe('');
  });

  it('keeps keys with spaces and unicode, and encodes them in notifications as S3 does', async () => {
    const key = `${prefix()}Reçu de lavage (1).png`;
    const { url, fields } = await presignPost(h.client, key);
    expect((await postForm(url, fields, png(5))).status).toBe(204);
    expect(await keysUnder(h.client, key)).toEqual([key]);
    await settle();
    expect(h.events.at(-1)!.Records[0]!.s3.object.key).toBe(`${key.split('/').slice(0, 2).join('/')}/Re%C3%A7u+de+lavage+%281%29.png`);
  });

  it('substitutes ${filename} and compares field names case-insensitively', async () => {
    const under = prefix();
    const { url, fields } = await presignPost(h.client, `${under}\${filename}`);
    const { 'Content-Type': type, ...rest } = fields;
    const response = await postForm(url, { ...rest, 'content-type': type! }, png(3), 'car.png');
    expect(response.status).toBe(204);
    expect(await keysUnder(h.client, under)).toEqual([`${under}car.png`]);
  });

  it('refuses a tampered signature with 403 SignatureDoesNotMatch', async () => {
    const under = prefix();
    const { url, fields } = await presignPost(h.client, `${under}x.png`);
    const signature = fields['X-Amz-Signature']!;
    const tampered = (signature[0] === 'a' ? 'b' : 'a') + signature.slice(1);
    await expectRefused(await postForm(url, { ...fields, 'X-Amz-Signature': tampered }, png(10)), 403, 'SignatureDoesNotMatch', under);
  });

  it('refuses a tampered policy (a larger size limit) with 403 SignatureDoesNotMatch', async () => {
    const under = prefix();
    const { url, fields } = await presignPost(h.client, `${under}x.png`, { max: 10 });
    const policy = JSON.parse(Buffer.from(fields.Policy!, 'base64').toString('utf8')) as { conditions: unknown[] };
    policy.conditions = policy.conditions.map((condition) => (Array.isArray(condition) && condition[0] === 'content-length-range' ? ['content-length-range', 1, 10_000_000] : condition));
    const forged = Buffer.from(JSON.stringify(policy)).toString('base64');
    await expectRefused(await postForm(url, { ...fields, Policy: forged }, png(100)), 403, 'SignatureDoesNotMatch', under);
  });

  it('refuses a policy signed with the wrong secret (403 SignatureDoesNotMatch) or an unknown key (403 InvalidAccessKeyId)', async () => {
    const under = prefix();
    const wrong = await presignPost(h.clientWith({ secretAccessKey: 'not-the-secret' }), `${under}x.png`);
    await expectRefused(await postForm(wrong.url, wrong.fields, png(10)), 403, 'SignatureDoesNotMatch', under);
    const unknown = await presignPost(h.clientWith({ accessKeyId: 'AKIAUNKNOWN' }), `${under}x.png`);
    const error = await expectRefused(await postForm(unknown.url, unknown.fields, png(10)), 403, 'InvalidAccessKeyId', under);
    expect(error.aWSAccessKeyId).toBe('AKIAUNKNOWN');
  });

  it('refuses an expired policy with 403 AccessDenied "Policy expired."', async () => {
    const under = prefix();
    // Signed by a client whose clock is an hour behind: the policy expired 55 minutes ago.
    const { url, fields } = await presignPost(h.clientWith({ systemClockOffset: -3_600_000 }), `${under}x.png`, { expires: 300 });
    const error = await expectRefused(await postForm(url, fields, png(10)), 403, 'AccessDenied', under);
    expect(error.message).toBe('Invalid according to Policy: Policy expired.');
  });

  it('refuses a Content-Type other than the policy\'s exact one', async () => {
    const under = prefix();
    const { url, fields } = await presignPost(h.client, `${under}x.png`, { contentType: 'image/png' });
    const error = await expectRefused(await postForm(url, { ...fields, 'Content-Type': 'text/html' }, png(10)), 403, 'AccessDenied', under);
    expect(error.message).toBe('Invalid according to Policy: Policy Condition failed: ["eq", "$Content-Type", "image/png"]');
  });

  it('refuses a key outside the starts-with prefix or other than the exact key', async () => {
    const under = prefix();
    const starts = await presignPost(h.client, `${under}\${filename}`);
    const outside = `${prefix()}evil.png`;
    let error = await expectRefused(await postForm(starts.url, { ...starts.fields, key: outside }, png(10)), 403, 'AccessDenied', outside);
    expect(error.message).toBe(`Invalid according to Policy: Policy Condition failed: ["starts-with", "$key", "${under}"]`);
    const exact = await presignPost(h.client, `${under}photo.png`);
    error = await expectRefused(await postForm(exact.url, { ...exact.fields, key: `${under}other.png` }, png(10)), 403, 'AccessDenied', under);
    expect(error.message).toBe(`Invalid according to Policy: Policy Condition failed: ["eq", "$key", "${under}photo.png"]`);
  });

  it('refuses a file over the maximum (400 EntityTooLarge) and a 0-byte file under a minimum of 1 (400 EntityTooSmall)', async () => {
    const under = prefix();
    const { url, fields } = await presignPost(h.client, `${under}x.png`, { max: 1024 });
    let error = await expectRefused(await postForm(url, fields, png(1025)), 400, 'EntityTooLarge', under);
    expect(error.maxSizeAllowed).toBe('1024');
    error = await expectRefused(await postForm(url, fields, new Uint8Array(0)), 400, 'EntityTooSmall', under);
    expect(error.minSizeAllowed).toBe('1');
    expect(error.proposedSize).toBe('0');
  });

  it('stops reading a large file at the limit and refuses it without storing anything', async () => {
    const under = prefix();
    const { url, fields } = await presignPost(h.client, `${under}big.png`, { max: 1024 });
    const started = Date.now();
    const response = await postForm(url, fields, png(8 * 1024 * 1024));
    await expectRefused(response, 400, 'EntityTooLarge', under);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('answers a failed condition before a large file is sent, and the next upload on the same client works', async () => {
    const under = prefix();
    const { url, fields } = await presignPost(h.client, `${under}big.png`, { max: 100 * 1024 * 1024 });
    const started = Date.now();
    await expectRefused(await postForm(url, { ...fields, 'Content-Type': 'text/html' }, png(20 * 1024 * 1024)), 403, 'AccessDenied', under);
    expect(Date.now() - started).toBeLessThan(10_000);
    const next = await presignPost(h.client, `${under}small.png`);
    expect((await postForm(next.url, next.fields, png(10))).status).toBe(204);
  });

  it('refuses a field that no condition covers (an extra x-amz-meta-*), but not x-ignore-*', async () => {
    const under = prefix();
    const { url, fields } = await presignPost(h.client, `${under}x.png`);
    const error = await expectRefused(await postForm(url, { ...fields, 'x-amz-meta-owner': 'mallory' }, png(10)), 403, 'AccessDenied', under);
    expect(error.message).toBe('Invalid according to Policy: Extra input fields: x-amz-meta-owner');
    expect((await postForm(url, { ...fields, 'x-ignore-tracking': '1' }, png(10))).status).toBe(204);
  });

  it('refuses an unknown bucket (404 NoSuchBucket), a form without a file (400 InvalidArgument) and a non-multipart body', async () => {
    const under = prefix();
    const { fields } = await presignPost(h.client, `${under}x.png`);
    let response = await postForm(`${h.s3.endpoint}/no-such-bucket`, fields, png(10));
    expect(response.status).toBe(404);
    expect(parseError(await response.text()).code).toBe('NoSuchBucket');

    const form = new FormData();
    for (const [name, value] of Object.entries(fields)) form.append(name, value);
    response = await fetch(`${h.s3.endpoint}/${bucket}`, { method: 'POST', body: form });
    expect(response.status).toBe(400);
    expect(parseError(await response.text())).toMatchObject({ code: 'InvalidArgument', argumentName: 'file' });

    response = await fetch(`${h.s3.endpoint}/${bucket}`, { method: 'POST', body: new URLSearchParams(fields) });
    expect(response.status).toBe(412);
    expect(parseError(await response.text()).code).toBe('PreconditionFailed');
    expect(await keysUnder(h.client, under)).toEqual([]);
  });

  it('refuses a form signed for one bucket when it is posted to another', async () => {
    await h.client.send(new CreateBucketCommand({ Bucket: 'chat-other' }));
    const { fields } = await presignPost(h.client, 'x.png');
    const response = await postForm(`${h.s3.endpoint}/chat-other`, fields, png(10));
    expect(response.status).toBe(403);
    expect(parseError(await response.text())).toMatchObject({ code: 'AccessDenied', message: `Invalid according to Policy: Policy Condition failed: ["eq", "$bucket", "${bucket}"]` });
    expect((await h.client.send(new ListObjectsV2Command({ Bucket: 'chat-other' }))).KeyCount).toBe(0);
  });

  it('lets the browser app read the answer (CORS) and the ETag', async () => {
    const key = `${prefix()}x.png`;
    const { url, fields } = await presignPost(h.client, key);
    const form = new FormData();
    for (const [name, value] of Object.entries(fields)) form.append(name, value);
    form.append('file', new Blob([png(4)], { type: 'image/png' }), 'x.png');
    const response = await fetch(url, { method: 'POST', body: form, headers: { origin: appOrigin } });
    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-origin')).toBe(appOrigin);
    expect(response.headers.get('access-control-expose-headers')).toContain('ETag');
  });
});

describe('local S3: notifications are asynchronous', () => {
  it('logs a failing onObjectCreated and still answers the upload with success, the object stored', async () => {
    const errors: string[] = [];
    const failing = await startHarness({
      onObjectCreated: async () => {
        throw new Error('queue is down');
      },
      log: { info: () => {}, warn: () => {}, error: (message) => errors.push(message) },
    });
    try {
      const key = 'uploads/after-failure.png';
      const { url, fields } = await presignPost(failing.client, key);
      expect((await postForm(url, fields, png(12))).status).toBe(204);
      await settle();
      expect(errors).toEqual([expect.stringContaining(`ObjectCreated:Post notification for ${bucket}/${key} failed`)]);
      expect(await keysUnder(failing.client, 'uploads/')).toEqual([key]);
    } finally {
      await failing.close();
    }
  });
});

describe('local S3: notification filter', () => {
  it('notifies only keys matching the prefix and suffix, as a notification configuration\'s Filter', async () => {
    const filtered = await startHarness({ notificationFilter: { prefix: 'uploads/', suffix: '.png' } });
    try {
      for (const key of ['uploads/a.png', 'uploads/a.pdf', 'thumbnails/a.png']) {
        const { url, fields } = await presignPost(filtered.client, key);
        expect((await postForm(url, fields, png(5))).status).toBe(204);
      }
      await settle();
      expect(filtered.events.map((event) => event.Records[0]!.s3.object.key)).toEqual(['uploads/a.png']);
    } finally {
      await filtered.close();
    }
  });
});
