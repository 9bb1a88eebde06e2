/**
 * The local S3 against the real `@aws-sdk/client-s3` (path-style, SigV4 header auth) and
 * `@aws-sdk/s3-request-presigner`: object and bucket round trips, the aws-chunked stream upload
 * the SDK sends for streams, signature, payload and checksum checks, presigned GET URLs, CORS and
 * persistence across a restart.
 */
import { createHash, createHmac } from 'node:crypto';
import { Readable, Transform } from 'node:stream';
import { crc32 } from 'node:zlib';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  CopyObjectCommand,
  CreateBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  paginateListObjectsV2,
  PutObjectCommand,
  type S3Client,
  type S3ServiceException,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appOrigin, bucket, credentials, keysUnder, parseError, png, region, settle, startHarness, type Harness } from './s3-support.ts';

let h: Harness;
let counter = 0;
const prefix = () => `objects/t${++counter}/`;

beforeAll(async () => {
  h = await startHarness();
});

afterAll(async () => {
  await h?.close();
});

/** The SDK error a call throws (its name is S3's code, or NotFound/Forbidden for HEAD). */
async function failure(promise: Promise<unknown>): Promise<S3ServiceException> {
  try {
    await promise;
  } catch (error) {
    return error as S3ServiceException;
  }
  throw new Error('the call succeeded');
}

interface WireRequest {
  path: string;
  headers: Record<string, string>;
  body: unknown;
}

/** Runs `change` on each HTTP request of `client` just before or just after it is signed. */
function aroundSigning(client: S3Client, relation: 'before' | 'after', name: string, change: (request: WireRequest) => void): void {
  const middleware = (next: (args: { request: WireRequest }) => Promise<unknown>) => async (args: { request: WireRequest }) => {
    change(args.request);
    return next(args);
  };
  client.middlewareStack.addRelativeTo(middleware as never, { relation, toMiddleware: 'httpSigningMiddleware', name });
}

/** Records the headers of each request as sent, after signing. */
function captureHeaders(client: S3Client): Record<string, string>[] {
  const seen: Record<string, string>[] = [];
  aroundSigning(client, 'after', 'captureHeaders', (request) => seen.push({ ...request.headers }));
  return seen;
}

/**
 * An aws-chunked body with chunk signatures, as SigV4 defines it
 * (https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html), seeded by the
 * signature of the request's headers; `forge` changes a byte of the second chunk.
 */
function chunkSigned(headers: Record<string, string>, bytes: Buffer, options: { trailer: boolean; forge?: boolean }): Buffer {
  const sha = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
  const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data).digest();
  const date = headers['x-amz-date']!;
  const scope = `${date.slice(0, 8)}/${region}/s3/aws4_request`;
  const key = hmac(hmac(hmac(hmac(`AWS4${credentials.secretAccessKey}`, date.slice(0, 8)), region), 's3'), 'aws4_request');
  let previous = /Signature=([0-9a-f]{64})/.exec(headers.authorization!)![1]!;
  const parts: Buffer[] = [];
  const size = 64 * 1024;
  const chunks = [...Array.from({ length: Math.ceil(bytes.length / size) }, (_, i) => bytes.subarray(i * size, (i + 1) * size)), Buffer.alloc(0)];
  chunks.forEach((chunk, index) => {
    const signature = hmac(key, ['AWS4-HMAC-SHA256-PAYLOAD', date, scope, previous, sha(''), sha(chunk)].join('\n')).toString('hex');
    previous = signature;
    const sent = options.forge && index === 1 ? Buffer.from(chunk).fill(0, 0, 1) : chunk;
    parts.push(Buffer.from(`${chunk.length.toString(16)};chunk-signature=${signature}\r\n`), sent, Buffer.from(chunk.length > 0 ? '\r\n' : ''));
  });
  if (options.trailer) {
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(bytes));
    const trailer = `x-amz-checksum-crc32:${crc.toString('base64')}\n`;
    const signature = hmac(key, ['AWS4-HMAC-SHA256-TRAILER', date, scope, previous, sha(trailer)].join('\n')).toString('hex');
    parts.push(Buffer.from(`${trailer.trimEnd()}\r\nx-amz-trailer-signature:${signature}\r\n\r\n`));
  } else {
    parts.push(Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}

/** Changes each request after it was signed. */
const tamperAfterSigning = (client: S3Client, change: (request: WireRequest) => void) => aroundSigning(client, 'after', 'tamper', change);

describe('local S3: objects through S3Client', () => {
  it('puts, heads, gets, ranges and deletes an object with its metadata', async () => {
    const key = `${prefix()}note.txt`;
    const put = await h.client.send(
      new PutObjectCommand({ Bucket: bucket, Key: key, Body: Buffer.from('hello, car wash'), ContentType: 'text/plain', Metadata: { uploader: 'u-7' }, CacheControl: 'max-age=60' }),
    );
    expect(put.ETag).toMatch(/^"[0-9a-f]{32}"$/);

    const head = await h.client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    expect(head).toMatchObject({ ContentType: 'text/plain', ContentLength: 15, ETag: put.ETag, Metadata: { uploader: 'u-7' }, CacheControl: 'max-age=60' });
    expect(head.LastModified).toBeInstanceOf(Date);
    expect(Math.abs(head.LastModified!.getTime() - Date.now())).toBeLessThan(5000);

    const got = await h.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    expect(await got.Body!.transformToString()).toBe('hello, car wash');
    const range = await h.client.send(new GetObjectCommand({ Bucket: bucket, Key: key, Range: 'bytes=7-9' }));
    expect(range.ContentRange).toBe('bytes 7-9/15');
    expect(await range.Body!.transformToString()).toBe('car');
    const suffix = await h.client.send(new GetObjectCommand({ Bucket: bucket, Key: key, Range: 'bytes=-4' }));
    expect(await suffix.Body!.transformToString()).toBe('wash');
    const invalid = await failure(h.client.send(new GetObjectCommand({ Bucket: bucket, Key: key, Range: 'bytes=100-' })));
    expect(invalid.name).toBe('InvalidRange');
    expect(invalid.$metadata.httpStatusCode).toBe(416);

    await h.client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    const missing = await failure(h.client.send(new GetObjectCommand({ Bucket: bucket, Key: key })));
    expect(missing.name).toBe('NoSuchKey');
    expect(missing.$metadata.httpStatusCode).toBe(404);
    const headMissing = await failure(h.client.send(new HeadObjectCommand({ Bucket: bucket, Key: key })));
    expect(headMissing.name).toBe('NotFound');
    expect(headMissing.$metadata.httpStatusCode).toBe(404);
    // Deleting what is not there is no error, as in S3.
    await h.client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
  });

  it('takes a stream upload in aws-chunked encoding with its checksum trailer', async () => {
    const key = `${prefix()}voice.ogg`;
    const client = h.clientWith({});
    const headers = captureHeaders(client);
    const bytes = Buffer.from(png(200_000));
    const before = h.events.length;
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: Readable.from([bytes.subarray(0, 70_000), bytes.subarray(70_000)]), ContentLength: bytes.length, ContentType: 'audio/ogg' }));
    expect(headers[0]).toMatchObject({ 'content-encoding': 'aws-chunked', 'x-amz-content-sha256': 'STREAMING-UNSIGNED-PAYLOAD-TRAILER', 'x-amz-trailer': 'x-amz-checksum-crc32' });
    const got = await h.client.send(new GetObjectCommand({ Bucket: bucket, Key: key, ChecksumMode: 'ENABLED' }));
    expect(got.ContentType).toBe('audio/ogg');
    expect(got.ContentEncoding).toBeUndefined();
    expect(got.ChecksumCRC32).toMatch(/^[A-Za-z0-9+/]{6}==$/);
    expect(Buffer.from(await got.Body!.transformToByteArray())).toEqual(bytes);
    await settle();
    expect(h.events.length).toBe(before + 1);
    expect(h.events.at(-1)!.Records[0]).toMatchObject({ eventName: 'ObjectCreated:Put', s3: { object: { key, size: 200_000 } } });
  });

  it('refuses an aws-chunked stream whose bytes do not match its trailer checksum (400 BadDigest)', async () => {
    const under = prefix();
    const client = h.clientWith({});
    tamperAfterSigning(client, (request) => {
      let flipped = false;
      request.body = (request.body as Readable).pipe(
        new Transform({
          transform(chunk: Buffer, _encoding, callback) {
            if (!flipped && chunk.length > 1000) {
              chunk = Buffer.from(chunk);
              chunk[500] = chunk[500]! ^ 0xff;
              flipped = true;
            }
            callback(null, chunk);
          },
        }),
      );
    });
    const bytes = Buffer.from(png(50_000));
    const error = await failure(client.send(new PutObjectCommand({ Bucket: bucket, Key: `${under}x`, Body: Readable.from([bytes]), ContentLength: bytes.length })));
    expect(error.name).toBe('BadDigest');
    expect(await keysUnder(h.client, under)).toEqual([]);
  });

  it('takes chunk-signed streams (STREAMING-AWS4-HMAC-SHA256-PAYLOAD, with and without a signed trailer) and refuses a forged chunk', async () => {
    const under = prefix();
    const bytes = Buffer.from(png(150_000));
    const upload = async (key: string, options: { trailer: boolean; forge?: boolean }) => {
      const client = h.clientWith({});
      aroundSigning(client, 'before', 'chunkedHeaders', ({ headers }) => {
          for (const name of Object.keys(headers)) if (name === 'content-length' || name.startsWith('x-amz-checksum-') || name === 'x-amz-sdk-checksum-algorithm') delete headers[name];
          headers['x-amz-content-sha256'] = options.trailer ? 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER' : 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD';
          headers['content-encoding'] = 'aws-chunked';
          headers['x-amz-decoded-content-length'] = String(bytes.length);
          if (options.trailer) headers['x-amz-trailer'] = 'x-amz-checksum-crc32';
      });
      tamperAfterSigning(client, (request) => {
        request.body = chunkSigned(request.headers, bytes, options);
      });
      return client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: bytes, ContentType: 'video/mp4' }));
    };
    await upload(`${under}plain.mp4`, { trailer: false });
    await upload(`${under}trailer.mp4`, { trailer: true });
    for (const key of [`${under}plain.mp4`, `${under}trailer.mp4`]) {
      const got = await h.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      expect(Buffer.from(await got.Body!.transformToByteArray())).toEqual(bytes);
    }
    const forged = await failure(upload(`${under}forged.mp4`, { trailer: false, forge: true }));
    expect(forged.name).toBe('SignatureDoesNotMatch');
    expect(await keysUnder(h.client, `${under}forged`)).toEqual([]);
  });

  it('refuses a checksum that does not match the bytes (400 BadDigest) and stores nothing', async () => {
    const under = prefix();
    const error = await failure(h.client.send(new PutObjectCommand({ Bucket: bucket, Key: `${under}x`, Body: Buffer.from('abc'), ChecksumCRC32: 'AAAAAA==' })));
    expect(error.name).toBe('BadDigest');
    expect(error.$metadata.httpStatusCode).toBe(400);
    expect(await keysUnder(h.client, under)).toEqual([]);
  });

  it('refuses a body changed after signing (XAmzContentSHA256Mismatch), a tampered path and a wrong secret (SignatureDoesNotMatch), an unknown key (InvalidAccessKeyId)', async () => {
    const under = prefix();
    // For a Buffer body the SDK signs the hex SHA-256 of the payload.
    const changedBody = h.clientWith({});
    const headers = captureHeaders(changedBody);
    tamperAfterSigning(changedBody, (request) => {
      request.body = Buffer.from('EVIL');
    });
    const error = await failure(changedBody.send(new PutObjectCommand({ Bucket: bucket, Key: `${under}a`, Body: Buffer.from('good') })));
    expect(headers[0]!['x-amz-content-sha256']).toMatch(/^[0-9a-f]{64}$/);
    expect(error.name).toBe('XAmzContentSHA256Mismatch');
    expect(error.$metadata.httpStatusCode).toBe(400);

    const changedPath = h.clientWith({});
    tamperAfterSigning(changedPath, (request) => {
      request.path = request.path.replace('/a', '/b');
    });
    expect((await failure(changedPath.send(new PutObjectCommand({ Bucket: bucket, Key: `${under}a`, Body: 'x' })))).name).toBe('SignatureDoesNotMatch');

    const wrongSecret = h.clientWith({ secretAccessKey: 'wrong' });
    const denied = await failure(wrongSecret.send(new PutObjectCommand({ Bucket: bucket, Key: `${under}a`, Body: 'x' })));
    expect(denied.name).toBe('SignatureDoesNotMatch');
    expect(denied.$metadata.httpStatusCode).toBe(403);
    expect((await failure(wrongSecret.send(new GetObjectCommand({ Bucket: bucket, Key: `${under}a` })))).name).toBe('SignatureDoesNotMatch');
    expect((await failure(h.clientWith({ accessKeyId: 'AKIANOBODY' }).send(new ListObjectsV2Command({ Bucket: bucket })))).name).toBe('InvalidAccessKeyId');
    expect(await keysUnder(h.client, under)).toEqual([]);
  });

  it('refuses a request signed with a clock off by more than 15 minutes (RequestTimeTooSkewed)', async () => {
    const skewed = h.clientWith({ systemClockOffset: -20 * 60 * 1000 });
    const error = await failure(skewed.send(new ListObjectsV2Command({ Bucket: bucket })));
    expect(error.name).toBe('RequestTimeTooSkewed');
    expect(error.$metadata.httpStatusCode).toBe(403);
  });

  it('copies objects with their metadata (COPY) or new metadata (REPLACE) and notifies ObjectCreated:Copy', async () => {
    const under = prefix();
    await h.client.send(new PutObjectCommand({ Bucket: bucket, Key: `${under}src.png`, Body: Buffer.from(png(64)), ContentType: 'image/png', Metadata: { width: '8' } }));
    const before = h.events.length;
    const copied = await h.client.send(new CopyObjectCommand({ Bucket: bucket, Key: `${under}copy.png`, CopySource: `${bucket}/${under}src.png` }));
    expect(copied.CopyObjectResult?.ETag).toMatch(/^"[0-9a-f]{32}"$/);
    const head = await h.client.send(new HeadObjectCommand({ Bucket: bucket, Key: `${under}copy.png` }));
    expect(head).toMatchObject({ ContentType: 'image/png', ContentLength: 64, Metadata: { width: '8' }, ETag: copied.CopyObjectResult!.ETag });
    await h.client.send(
      new CopyObjectCommand({ Bucket: bucket, Key: `${under}thumb.webp`, CopySource: encodeURIComponent(`${bucket}/${under}src.png`), MetadataDirective: 'REPLACE', ContentType: 'image/webp' }),
    );
    const replaced = await h.client.send(new HeadObjectCommand({ Bucket: bucket, Key: `${under}thumb.webp` }));
    expect(replaced.ContentType).toBe('image/webp');
    expect(replaced.Metadata).toEqual({});
    await settle();
    expect(h.events.slice(before).map((event) => event.Records[0]!.eventName)).toEqual(['ObjectCreated:Copy', 'ObjectCreated:Copy']);
    expect((await failure(h.client.send(new CopyObjectCommand({ Bucket: bucket, Key: `${under}z`, CopySource: `${bucket}/${under}nothing` })))).name).toBe('NoSuchKey');
  });

  it('writes conditionally: If-None-Match * refuses to overwrite (412), If-Match needs the current ETag', async () => {
    const key = `${prefix()}once.txt`;
    const first = await h.client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'one', IfNoneMatch: '*' }));
    const again = await failure(h.client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'two', IfNoneMatch: '*' })));
    expect(again.name).toBe('PreconditionFailed');
    expect(again.$metadata.httpStatusCode).toBe(412);
    expect((await failure(h.client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'two', IfMatch: '"0123456789abcdef0123456789abcdef"' })))).name).toBe('PreconditionFailed');
    await h.client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'three', IfMatch: first.ETag }));
    expect(await (await h.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToString()).toBe('three');
  });

  it('deletes several objects at once', async () => {
    const under = prefix();
    for (const name of ['a', 'b', 'c']) await h.client.send(new PutObjectCommand({ Bucket: bucket, Key: `${under}${name}`, Body: name }));
    const result = await h.client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: [{ Key: `${under}a` }, { Key: `${under}c` }, { Key: `${under}missing` }] } }));
    expect(result.Deleted?.map((deleted) => deleted.Key).sort()).toEqual([`${under}a`, `${under}c`, `${under}missing`]);
    expect(await keysUnder(h.client, under)).toEqual([`${under}b`]);
  });

  it('lists by prefix and delimiter, in pages with continuation tokens', async () => {
    const under = prefix();
    const keys = Array.from({ length: 7 }, (_, i) => `${under}file-${i}.txt`);
    for (const key of [...keys, `${under}sub/one`, `${under}sub/two`]) await h.client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'x' }));

    const pages: string[][] = [];
    for await (const page of paginateListObjectsV2({ client: h.client, pageSize: 3 }, { Bucket: bucket, Prefix: under })) {
      pages.push((page.Contents ?? []).map((object) => object.Key!));
    }
    expect(pages.map((page) => page.length)).toEqual([3, 3, 3]);
    expect(pages.flat()).toEqual([...keys, `${under}sub/one`, `${under}sub/two`]);

    const grouped = await h.client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: under, Delimiter: '/' }));
    expect(grouped.CommonPrefixes?.map((common) => common.Prefix)).toEqual([`${under}sub/`]);
    expect(grouped.KeyCount).toBe(8);
    const first = grouped.Contents![0]!;
    expect(first).toMatchObject({ Key: keys[0], Size: 1, StorageClass: 'STANDARD' });
    expect(first.LastModified).toBeInstanceOf(Date);
  });

  it('stores keys of any characters safely, inside the data directory', async () => {
    const under = prefix();
    const keys = [`${under}../../../escape.txt`, `${under}space and ünïcødé 🚗.txt`, `${under}a+b=c&d?e#f%20g`, `${under}dir//double/`];
    for (const key of keys) await h.client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: key }));
    for (const key of keys) expect(await (await h.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToString()).toBe(key);
    expect((await keysUnder(h.client, under)).sort()).toEqual([...keys].sort());
    expect(existsSync(join(h.dataDir, 's3', bucket, '..', 'escape.txt'))).toBe(false);
    expect(existsSync(join(h.dataDir, 'escape.txt'))).toBe(false);
  });

  it('answers HeadBucket, CreateBucket and NoSuchBucket', async () => {
    await h.client.send(new HeadBucketCommand({ Bucket: bucket }));
    const missing = await failure(h.client.send(new HeadBucketCommand({ Bucket: 'not-a-bucket' })));
    expect(missing.$metadata.httpStatusCode).toBe(404);
    expect((await failure(h.client.send(new PutObjectCommand({ Bucket: 'not-a-bucket', Key: 'k', Body: 'x' })))).name).toBe('NoSuchBucket');
    await h.client.send(new CreateBucketCommand({ Bucket: 'chat-exports' }));
    await h.client.send(new PutObjectCommand({ Bucket: 'chat-exports', Key: 'k', Body: 'x' }));
    await h.client.send(new HeadBucketCommand({ Bucket: 'chat-exports' }));
    expect((await failure(h.client.send(new CreateBucketCommand({ Bucket: 'Bad_Name' })))).name).toBe('InvalidBucketName');
  });
});

describe('local S3: presigned GET URLs', () => {
  it('serves the object with the response-content-disposition and response-content-type overrides', async () => {
    const key = `${prefix()}Reçu 1.pdf`;
    await h.client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: Buffer.from('%PDF-1.7'), ContentType: 'application/pdf' }));
    const url = await getSignedUrl(
      h.client,
      new GetObjectCommand({ Bucket: bucket, Key: key, ResponseContentDisposition: 'attachment; filename="receipt.pdf"', ResponseContentType: 'application/octet-stream' }),
      { expiresIn: 300 },
    );
    const response = await fetch(url);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-disposition')).toBe('attachment; filename="receipt.pdf"');
    expect(response.headers.get('content-type')).toBe('application/octet-stream');
    expect(await response.text()).toBe('%PDF-1.7');
    const plain = await fetch(await getSignedUrl(h.client, new GetObjectCommand({ Bucket: bucket, Key: key }), { expiresIn: 60 }));
    expect(plain.headers.get('content-type')).toBe('application/pdf');
  });

  it('refuses an expired URL (403 AccessDenied "Request has expired") and a tampered one (403 SignatureDoesNotMatch)', async () => {
    const key = `${prefix()}photo.png`;
    await h.client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'x' }));
    // Signed ten minutes ago for five minutes.
    const expired = await getSignedUrl(h.client, new GetObjectCommand({ Bucket: bucket, Key: key }), { expiresIn: 300, signingDate: new Date(Date.now() - 600_000) });
    let response = await fetch(expired);
    expect(response.status).toBe(403);
    expect(parseError(await response.text())).toMatchObject({ code: 'AccessDenied', message: 'Request has expired', 'x-Amz-Expires': '300' });

    const url = new URL(await getSignedUrl(h.client, new GetObjectCommand({ Bucket: bucket, Key: key }), { expiresIn: 300 }));
    url.pathname = url.pathname.replace('photo.png', 'other.png');
    response = await fetch(url);
    expect(response.status).toBe(403);
    expect(parseError(await response.text()).code).toBe('SignatureDoesNotMatch');

    const longer = new URL(await getSignedUrl(h.client, new GetObjectCommand({ Bucket: bucket, Key: key }), { expiresIn: 300 }));
    longer.searchParams.set('X-Amz-Expires', '604800');
    response = await fetch(longer);
    expect(response.status).toBe(403);
    expect(parseError(await response.text()).code).toBe('SignatureDoesNotMatch');

    response = await fetch(`${h.s3.endpoint}/${bucket}/${key}`);
    expect(response.status).toBe(403);
    expect(parseError(await response.text()).code).toBe('AccessDenied');
  });

  it('takes a presigned PUT', async () => {
    const key = `${prefix()}put.png`;
    const url = await getSignedUrl(h.client, new PutObjectCommand({ Bucket: bucket, Key: key, ContentType: 'image/png' }), { expiresIn: 60 });
    const response = await fetch(url, { method: 'PUT', body: Buffer.from(png(9)), headers: { 'content-type': 'image/png' } });
    expect(response.status).toBe(200);
    expect((await h.client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }))).ContentType).toBe('image/png');
  });
});

describe('local S3: CORS', () => {
  it('answers the preflight of a browser upload for the configured origin, and refuses others', async () => {
    let response = await fetch(`${h.s3.endpoint}/${bucket}`, {
      method: 'OPTIONS',
      headers: { origin: appOrigin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('access-control-allow-origin')).toBe(appOrigin);
    expect(response.headers.get('access-control-allow-methods')).toContain('POST');
    expect(response.headers.get('access-control-allow-headers')).toBe('content-type');

    response = await fetch(`${h.s3.endpoint}/${bucket}/x`, { method: 'OPTIONS', headers: { origin: 'http://evil.test', 'access-control-request-method': 'GET' } });
    expect(response.status).toBe(403);
    expect(parseError(await response.text()).code).toBe('AccessForbidden');
  });

  it('lets the app read a download (Access-Control-Allow-Origin, exposed ETag)', async () => {
    const key = `${prefix()}a.png`;
    await h.client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'x' }));
    const response = await fetch(await getSignedUrl(h.client, new GetObjectCommand({ Bucket: bucket, Key: key })), { headers: { origin: appOrigin } });
    expect(response.status).toBe(200);
    expect(response.headers.get('access-control-allow-origin')).toBe(appOrigin);
    expect(response.headers.get('access-control-expose-headers')).toContain('ETag');
    const other = await fetch(await getSignedUrl(h.client, new GetObjectCommand({ Bucket: bucket, Key: key })), { headers: { origin: 'http://evil.test' } });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('local S3: persistence', () => {
  it('keeps objects and their metadata across a restart', async () => {
    const key = `${prefix()}kept.png`;
    await h.client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: Buffer.from(png(33)), ContentType: 'image/png', Metadata: { a: 'b' } }));
    const before = await h.client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    await h.restart();
    const after = await h.client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    expect(after).toMatchObject({ ContentType: 'image/png', ContentLength: 33, ETag: before.ETag, Metadata: { a: 'b' }, LastModified: before.LastModified });
    expect(Buffer.from(await (await h.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToByteArray())).toEqual(Buffer.from(png(33)));
    expect(await keysUnder(h.client, key)).toEqual([key]);
  });
});
