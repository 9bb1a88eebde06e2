/**
 * A local Amazon S3 for attachment uploads and downloads, path-style
 * (`http://127.0.0.1:<port>/<bucket>/<key>`), that checks what S3 checks, so code written against
 * it behaves the same in AWS:
 *
 * - browser POST uploads (`@aws-sdk/s3-presigned-post` createPresignedPost): the policy's SigV4
 *   signature, its expiration, every condition and S3's "every field is covered" rule; the file is
 *   streamed to a temp file, refused as soon as it passes `content-length-range`, and renamed into
 *   place only when everything passed (a refused upload stores nothing);
 * - SigV4 header-signed REST calls of `@aws-sdk/client-s3` (PutObject with hex, unsigned or
 *   `aws-chunked` payloads and checksums, GetObject with Range, HeadObject, DeleteObject(s),
 *   CopyObject, ListObjects(V2), HeadBucket, CreateBucket, ListBuckets);
 * - presigned URLs (`@aws-sdk/s3-request-presigner`): signature, `X-Amz-Expires`, and the
 *   `response-*` overrides;
 * - CORS for the configured origins; S3 event notifications (`onObjectCreated`) shaped as S3
 *   sends them to SQS, after each object creation.
 *
 * Objects live under `<dataDir>/s3/<bucket>/` and survive restarts. See lib/local/README.md for
 * what is not emulated and why this is hand-written.
 *
 * ```ts
 * const s3 = await startLocalS3({ dataDir, region: 'us-east-1', credentials: { accessKeyId, secretAccessKey },
 *   buckets: ['chat-attachments'], corsOrigins: ['*'], onObjectCreated: async (event) => … });
 * // new S3Client({ endpoint: s3.endpoint, forcePathStyle: true, region, credentials })
 * await s3.stop();
 * ```
 *
 * The exported API (startLocalS3, LocalS3Options, LocalS3, S3EventNotification, S3EventRecord) is
 * stable.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { createServer, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import type { EmulatorLog } from './log.ts';
import { closeServer, listen, trackSockets } from './net.ts';
import { S3Error, XML_HEADER, accessDenied, element, errorXml, escapeXml, invalidArgument, invalidRequest } from './s3-error.ts';
import { MultipartReader, multipartBoundary } from './s3-multipart.ts';
import { MAX_PUT_BYTES, receivePayload } from './s3-payload.ts';
import { checkPolicy, parsePolicy } from './s3-post.ts';
import { ObjectStore, compareKeys, type NewObject, type StoredObject } from './s3-store.ts';
import { queryPairs, safeDecode, uriEncode, verifyPolicySignature, verifyRequest, type SigV4Context, type SigV4Credentials, type VerifiedRequest } from './sigv4.ts';

export interface LocalS3Options {
  /** Interface to bind; 127.0.0.1 by default. */
  host?: string;
  /** 0 (the default) for any free port. */
  port?: number;
  /** Objects are kept in `<dataDir>/s3/<bucket>/`. */
  dataDir: string;
  /** The region signatures must be scoped to (and `awsRegion` of notifications). */
  region: string;
  /** The one access key requests may be signed with. */
  credentials: SigV4Credentials;
  /** Buckets created at start (others can be created with CreateBucket). */
  buckets: string[];
  /** Origins allowed by CORS (`*` for any); none by default, as a bucket without CORS configuration. */
  corsOrigins?: string[];
  /** Called after each object creation (POST, PUT, Copy), after the answer; failures are logged. */
  onObjectCreated?: (notification: S3EventNotification) => Promise<void>;
  /** Which keys notify, as a notification configuration's `Filter.Key` rules (prefix and suffix); every key by default. */
  notificationFilter?: { prefix?: string; suffix?: string };
  /** `configurationId` of notifications; `local-object-created` by default. */
  notificationConfigurationId?: string;
  /** Refused requests (info) and internal or notification failures (error). */
  log?: EmulatorLog;
  /** Milliseconds since the epoch; for tests of expiry. */
  now?: () => number;
}

export interface LocalS3 {
  /** `http://127.0.0.1:<port>`: the S3Client's endpoint (with `forcePathStyle: true`). */
  endpoint: string;
  port: number;
  /** Waits for running requests' notifications, closes the server and its connections. */
  stop(): Promise<void>;
}

/** One record of an S3 event notification, as S3 sends it to SQS. */
export interface S3EventRecord {
  eventVersion: '2.1';
  eventSource: 'aws:s3';
  awsRegion: string;
  eventTime: string;
  eventName: 'ObjectCreated:Post' | 'ObjectCreated:Put' | 'ObjectCreated:Copy';
  userIdentity: { principalId: string };
  requestParameters: { sourceIPAddress: string };
  responseElements: { 'x-amz-request-id': string; 'x-amz-id-2': string };
  s3: {
    s3SchemaVersion: '1.0';
    configurationId: string;
    bucket: { name: string; ownerIdentity: { principalId: string }; arn: string };
    /** `key` URL-encoded as S3 does it (spaces as `+`); `eTag` without quotes. */
    object: { key: string; size: number; eTag: string; sequencer: string };
  };
}

/** The SQS message body S3 sends is `JSON.stringify(notification)`. */
export interface S3EventNotification {
  Records: S3EventRecord[];
}

// ─── Constants ──────────────────────────────────────────────────────────────────────────────

const XMLNS = 'http://s3.amazonaws.com/doc/2006-03-01/';
/** S3 refuses a POST whose fields before the file pass 20 KB. */
const MAX_POST_FIELDS_BYTES = 20 * 1024;
const MAX_KEY_BYTES = 1024;
/** User metadata (x-amz-meta-* names and values) is limited to 2 KB. */
const MAX_METADATA_BYTES = 2048;
const DEFAULT_CONTENT_TYPE = 'binary/octet-stream';
/** After refusing an upload mid-stream, what the client still sends is read and dropped up to this, then the connection is cut. */
const DRAIN_LIMIT_BYTES = 64 * 1024 * 1024;
/** The bucket owner's canonical user id (ListBuckets, ListObjects) and its principal id (notifications). */
const OWNER_ID = '75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a';
const OWNER_PRINCIPAL_ID = 'A1LOCALS3OWNER';
const OBJECT_HEADERS = ['cache-control', 'content-disposition', 'content-encoding', 'content-language', 'expires'];
const RESPONSE_OVERRIDES: Record<string, string> = {
  'response-content-type': 'content-type',
  'response-content-language': 'content-language',
  'response-expires': 'expires',
  'response-cache-control': 'cache-control',
  'response-content-disposition': 'content-disposition',
  'response-content-encoding': 'content-encoding',
};
/** Subresources S3 has that this one does not. */
const UNSUPPORTED_SUBRESOURCES = new Set([
  'accelerate', 'acl', 'analytics', 'attributes', 'cors', 'encryption', 'intelligent-tiering', 'inventory', 'legal-hold', 'lifecycle',
  'logging', 'metrics', 'notification', 'object-lock', 'ownershipControls', 'partNumber', 'policy', 'policyStatus', 'publicAccessBlock',
  'replication', 'requestPayment', 'restore', 'retention', 'select', 'tagging', 'torrent', 'uploadId', 'uploads', 'versioning', 'versions', 'website',
]);
const CORS_METHODS = ['GET', 'PUT', 'POST', 'DELETE', 'HEAD'];

const noSuchBucket = (bucket: string) => new S3Error(404, 'NoSuchBucket', 'The specified bucket does not exist', { BucketName: bucket });
const noSuchKey = (key: string) => new S3Error(404, 'NoSuchKey', 'The specified key does not exist.', { Key: key });
const notImplemented = (what: string) => new S3Error(501, 'NotImplemented', 'A header or query you provided implies functionality that is not implemented.', { Header: what });
const isValidBucketName = (name: string) => /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(name) && !/\.\.|^\d+\.\d+\.\d+\.\d+$/.test(name);

/** S3's encoding of keys in event notifications: form encoding (space as `+`), `/` kept. */
export function notificationKey(key: string): string {
  return encodeURIComponent(key)
    .replace(/%20/g, '+')
    .replace(/%2F/gi, '/')
    .replace(/[!'()~]/g, (character) => `%${character.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** The XML text of an element's first occurrence, entities decoded. */
function decodeXmlText(text: string): string {
  return text.replace(/&(amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);/g, (_, entity: string) => {
    if (entity.startsWith('#x')) return String.fromCodePoint(Number.parseInt(entity.slice(2), 16));
    if (entity.startsWith('#')) return String.fromCodePoint(Number(entity.slice(1)));
    return ({ amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" } as Record<string, string>)[entity]!;
  });
}

const httpDate = (iso: string) => new Date(iso).toUTCString();

interface Request {
  req: IncomingMessage;
  res: ServerResponse;
  requestId: string;
  hostId: string;
  rawPath: string;
  query: [string, string][];
  bucket: string;
  key: string;
  cors: OutgoingHttpHeaders;
}

// ─── The server ─────────────────────────────────────────────────────────────────────────────

/** Starts the local S3; resolves once it listens. */
export async function startLocalS3(options: LocalS3Options): Promise<LocalS3> {
  const host = options.host ?? '127.0.0.1';
  const log = options.log;
  const now = options.now ?? Date.now;
  const corsOrigins = options.corsOrigins ?? [];
  const context: SigV4Context = { credentials: options.credentials, region: options.region, now };
  for (const bucket of options.buckets) if (!isValidBucketName(bucket)) throw new Error(`invalid bucket name: ${bucket}`);
  const store = await ObjectStore.open(options.dataDir, options.buckets);
  const pendingNotifications = new Set<Promise<void>>();
  let sequence = 0n;
  let endpoint = '';

  // ── Answers ──

  function send(request: Request, status: number, headers: OutgoingHttpHeaders, body?: string | Buffer): void {
    const { res } = request;
    if (res.headersSent || res.destroyed) return;
    const payload = body === undefined ? undefined : Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8');
    res.writeHead(status, {
      'x-amz-request-id': request.requestId,
      'x-amz-id-2': request.hostId,
      server: 'AmazonS3',
      ...request.cors,
      ...(payload === undefined ? { 'content-length': 0 } : { 'content-type': 'application/xml', 'content-length': payload.length }),
      ...headers,
    });
    res.end(request.req.method === 'HEAD' ? undefined : payload);
  }

  const sendXml = (request: Request, status: number, xml: string, headers: OutgoingHttpHeaders = {}) => send(request, status, headers, XML_HEADER + xml);

  function sendError(request: Request, error: S3Error): void {
    if (error.status >= 500) log?.error(`S3: ${request.req.method} ${request.rawPath}: ${error.code}`, error);
    else if (error.status !== 404) log?.info(`S3: ${request.req.method} ${request.rawPath} refused: ${error.code}: ${error.message}`);
    // HEAD answers carry no body: the SDK sees the bare status (NotFound, Forbidden, …).
    if (request.req.method === 'HEAD') send(request, error.status, {});
    else send(request, error.status, {}, errorXml(error, request.requestId, request.hostId));
  }

  // ── Notifications ──

  function notify(request: Request, eventName: S3EventRecord['eventName'], accessKeyId: string, object: StoredObject): void {
    const callback = options.onObjectCreated;
    if (!callback) return;
    const filter = options.notificationFilter;
    if (filter && !(object.key.startsWith(filter.prefix ?? '') && object.key.endsWith(filter.suffix ?? ''))) return;
    sequence += 1n;
    const record: S3EventRecord = {
      eventVersion: '2.1',
      eventSource: 'aws:s3',
      awsRegion: options.region,
      eventTime: new Date(now()).toISOString(),
      eventName,
      userIdentity: { principalId: `AWS:${accessKeyId}` },
      requestParameters: { sourceIPAddress: request.req.socket.remoteAddress?.replace(/^::ffff:/, '') ?? '127.0.0.1' },
      responseElements: { 'x-amz-request-id': request.requestId, 'x-amz-id-2': request.hostId },
      s3: {
        s3SchemaVersion: '1.0',
        configurationId: options.notificationConfigurationId ?? 'local-object-created',
        bucket: { name: request.bucket, ownerIdentity: { principalId: OWNER_PRINCIPAL_ID }, arn: `arn:aws:s3:::${request.bucket}` },
        object: {
          key: notificationKey(object.key),
          size: object.size,
          eTag: object.etag,
          sequencer: (BigInt(now()) * 1000n + sequence).toString(16).toUpperCase().padStart(18, '0'),
        },
      },
    };
    // Asynchronous, as S3's notifications: after the answer, and a failure never fails the upload.
    const delivery = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => callback({ Records: [record] }))
      .catch((error: unknown) => log?.error(`S3: the ${eventName} notification for ${request.bucket}/${object.key} failed`, error));
    pendingNotifications.add(delivery);
    void delivery.finally(() => pendingNotifications.delete(delivery));
  }

  // ── CORS ──

  function corsHeaders(origin: string | undefined): OutgoingHttpHeaders {
    if (origin === undefined || !(corsOrigins.includes('*') || corsOrigins.includes(origin))) return {};
    return {
      'access-control-allow-origin': corsOrigins.includes('*') ? '*' : origin,
      'access-control-allow-methods': CORS_METHODS.join(', '),
      'access-control-expose-headers': 'ETag, x-amz-request-id, x-amz-id-2, x-amz-version-id',
      vary: 'Origin, Access-Control-Request-Headers, Access-Control-Request-Method',
    };
  }

  function preflight(request: Request): void {
    const { req } = request;
    const origin = req.headers.origin;
    const method = req.headers['access-control-request-method'];
    if (origin === undefined) throw new S3Error(400, 'BadRequest', 'Insufficient information. Origin request header needed.');
    if (typeof method !== 'string') throw new S3Error(400, 'BadRequest', 'Invalid Access-Control-Request-Method: null');
    if (request.bucket !== '' && !store.hasBucket(request.bucket)) throw new S3Error(403, 'AccessForbidden', 'CORSResponse: Bucket not found', { Method: method, ResourceType: 'BUCKET' });
    if (corsOrigins.length === 0) throw new S3Error(403, 'AccessForbidden', 'CORSResponse: CORS is not enabled for this bucket.', { Method: method, ResourceType: 'OBJECT' });
    const allowed = corsHeaders(origin);
    if (!allowed['access-control-allow-origin'] || !CORS_METHODS.includes(method)) {
      throw new S3Error(403, 'AccessForbidden', "CORSResponse: This CORS request is not allowed. This is usually because the evalution of Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers are not whitelisted by the resource's CORS spec.", { Method: method, ResourceType: 'OBJECT' });
    }
    const requestedHeaders = req.headers['access-control-request-headers'];
    send(request, 200, {
      ...allowed,
      'access-control-allow-methods': CORS_METHODS.join(', '),
      ...(requestedHeaders ? { 'access-control-allow-headers': requestedHeaders } : {}),
      'access-control-max-age': '3000',
    });
  }

  // ── Helpers ──

  function requireBucket(bucket: string): void {
    if (!store.hasBucket(bucket)) throw noSuchBucket(bucket);
  }

  function checkKey(key: string): void {
    const size = Buffer.byteLength(key, 'utf8');
    if (size > MAX_KEY_BYTES) throw new S3Error(400, 'KeyTooLongError', 'Your key is too long', { MaxSizeAllowed: MAX_KEY_BYTES, Size: size });
  }

  function checkMetadata(metadata: Record<string, string>): void {
    const size = Object.entries(metadata).reduce((sum, [name, value]) => sum + Buffer.byteLength(name) + Buffer.byteLength(value), 0);
    if (size > MAX_METADATA_BYTES) {
      throw new S3Error(400, 'MetadataTooLarge', 'Your metadata headers exceed the maximum allowed metadata size', { Size: size, MaxSizeAllowed: MAX_METADATA_BYTES });
    }
  }

  /** Content-Type, the object headers and x-amz-meta-* of a PUT or a copy with REPLACE. */
  function objectAttributes(req: IncomingMessage): Pick<NewObject, 'contentType' | 'headers' | 'metadata'> {
    const headers: Record<string, string> = {};
    const metadata: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (typeof value !== 'string') continue;
      if (OBJECT_HEADERS.includes(name)) headers[name] = value;
      if (name.startsWith('x-amz-meta-')) metadata[name.slice('x-amz-meta-'.length)] = value;
    }
    // aws-chunked is the transfer's encoding, not the object's.
    if (headers['content-encoding'] !== undefined) {
      const encodings = headers['content-encoding'].split(',').map((part) => part.trim()).filter((part) => part !== '' && part !== 'aws-chunked');
      if (encodings.length > 0) headers['content-encoding'] = encodings.join(',');
      else delete headers['content-encoding'];
    }
    checkMetadata(metadata);
    return { contentType: req.headers['content-type'] ?? DEFAULT_CONTENT_TYPE, headers, metadata };
  }

  /** Streams into a temp file; the writer rejects on disk errors. */
  function tempWriter(): { path: string; write: (chunk: Buffer) => Promise<void>; close: () => Promise<void> } {
    const path = store.tempPath();
    const stream: WriteStream = createWriteStream(path);
    let failure: Error | undefined;
    stream.on('error', (error) => (failure = error));
    return {
      path,
      write: (chunk) =>
        new Promise((resolve, reject) => {
          if (failure) return reject(failure);
          if (stream.write(chunk)) resolve();
          else stream.once('drain', resolve);
        }),
      close: () =>
        new Promise((resolve, reject) => {
          if (failure) return reject(failure);
          stream.end((error?: Error | null) => (error ? reject(error) : resolve()));
        }),
    };
  }

  /** After refusing a body mid-stream: drop what still comes, up to a limit, then cut the connection. */
  const draining = new WeakSet<IncomingMessage>();
  function drain(req: IncomingMessage): void {
    if (draining.has(req)) return;
    draining.add(req);
    // An abandoned reader's 'readable' listener would keep the stream from flowing.
    req.removeAllListeners('readable');
    let dropped = 0;
    req.on('data', (chunk: Buffer) => {
      dropped += chunk.length;
      if (dropped > DRAIN_LIMIT_BYTES) req.socket.destroy();
    });
    req.resume();
  }

  // ── Browser POST upload ──

  async function postObject(request: Request): Promise<void> {
    const { req, bucket } = request;
    requireBucket(bucket);
    const boundary = multipartBoundary(req.headers['content-type']);
    if (boundary === undefined) {
      throw new S3Error(412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', { Condition: 'Bucket POST must be of the enclosure-type multipart/form-data' });
    }
    const reader = new MultipartReader((req as AsyncIterable<Buffer>)[Symbol.asyncIterator](), boundary);
    const { fields: list, file } = await reader.fields(MAX_POST_FIELDS_BYTES);
    const fields = new Map<string, string>();
    for (const [name, value] of list) {
      const lower = name.toLowerCase();
      if (fields.has(lower)) throw invalidArgument(`Bucket POST must contain at most one field named '${name}'.`, name);
      fields.set(lower, value);
    }
    if (!file) throw invalidArgument('POST requires exactly one file upload per request.', 'file', '0');
    const keyTemplate = fields.get('key');
    if (keyTemplate === undefined) throw invalidArgument("Bucket POST must contain a field named 'key'.  If it is specified, please check the order of the fields.", 'key');
    const policyText = fields.get('policy');
    if (policyText === undefined) {
      // An upload without a policy is anonymous: refused, as for every bucket that is not public.
      throw accessDenied();
    }
    const accessKeyId = verifyPolicySignature(
      {
        policy: policyText,
        signature: fields.get('x-amz-signature'),
        algorithm: fields.get('x-amz-algorithm'),
        credential: fields.get('x-amz-credential'),
        amzDate: fields.get('x-amz-date'),
        securityToken: fields.get('x-amz-security-token'),
      },
      context,
    );
    const range = checkPolicy(parsePolicy(policyText), fields, bucket, now());
    const key = keyTemplate.replace(/\$\{filename\}/g, file.filename);
    if (key === '') throw invalidArgument('User key must have a length greater than 0.', 'key');
    checkKey(key);
    const metadata: Record<string, string> = {};
    const headers: Record<string, string> = {};
    for (const [name, value] of fields) {
      if (name.startsWith('x-amz-meta-')) metadata[name.slice('x-amz-meta-'.length)] = value;
      if (OBJECT_HEADERS.includes(name)) headers[name] = value;
    }
    checkMetadata(metadata);

    const max = Math.min(range.max, MAX_PUT_BYTES);
    const writer = tempWriter();
    const md5 = createHash('md5');
    let size = 0;
    try {
      await reader.pipeFile(async (chunk) => {
        size += chunk.length;
        if (size > max) throw new S3Error(400, 'EntityTooLarge', 'Your proposed upload exceeds the maximum allowed size', { ProposedSize: size, MaxSizeAllowed: max });
        md5.update(chunk);
        await writer.write(chunk);
      });
      await writer.close();
      if (size < range.min) throw new S3Error(400, 'EntityTooSmall', 'Your proposed upload is smaller than the minimum allowed size', { ProposedSize: size, MinSizeAllowed: range.min });
    } catch (error) {
      await writer.close().catch(() => undefined);
      await store.discard(writer.path);
      throw error;
    }
    const stored = await store.commit(bucket, writer.path, {
      key,
      size,
      etag: md5.digest('hex'),
      contentType: fields.get('content-type') ?? DEFAULT_CONTENT_TYPE,
      headers,
      metadata,
      checksums: {},
    });
    req.resume();
    const location = `${endpoint}/${uriEncode(bucket)}/${uriEncode(key, true)}`;
    const etag = `"${stored.etag}"`;
    const redirect = fields.get('success_action_redirect') ?? fields.get('redirect');
    let target: URL | undefined;
    try {
      target = redirect ? new URL(redirect) : undefined;
    } catch {
      target = undefined;
    }
    if (target) {
      target.searchParams.set('bucket', bucket);
      target.searchParams.set('key', key);
      target.searchParams.set('etag', etag);
      send(request, 303, { location: target.toString(), etag });
    } else {
      const status = fields.get('success_action_status');
      if (status === '201') {
        const xml = `<PostResponse>${element('Location', location)}${element('Bucket', bucket)}${element('Key', key)}${element('ETag', etag)}</PostResponse>`;
        sendXml(request, 201, xml, { etag, location });
      } else {
        send(request, status === '200' ? 200 : 204, { etag, location });
      }
    }
    notify(request, 'ObjectCreated:Post', accessKeyId, stored);
  }

  // ── Objects ──

  async function putObject(request: Request, verified: VerifiedRequest): Promise<void> {
    const { req, bucket, key } = request;
    requireBucket(bucket);
    checkKey(key);
    const attributes = objectAttributes(req);
    const writer = tempWriter();
    let received;
    try {
      received = await receivePayload(req, verified, writer.write, {
        maxBytes: MAX_PUT_BYTES,
        requireLength: true,
        tooLarge: (size) => new S3Error(400, 'EntityTooLarge', 'Your proposed upload exceeds the maximum allowed size', { ProposedSize: size, MaxSizeAllowed: MAX_PUT_BYTES }),
      });
      await writer.close();
    } catch (error) {
      await writer.close().catch(() => undefined);
      await store.discard(writer.path);
      drain(req);
      throw error;
    }
    // Conditional writes (If-None-Match: *, If-Match: <etag>) are decided when the upload is complete, as in S3.
    try {
      checkWriteConditions(req, key, store.get(bucket, key));
    } catch (error) {
      await store.discard(writer.path);
      throw error;
    }
    const stored = await store.commit(bucket, writer.path, { key, size: received.size, etag: received.md5, checksums: received.checksums, ...attributes });
    send(request, 200, { etag: `"${stored.etag}"`, 'x-amz-server-side-encryption': 'AES256', ...checksumHeaders(stored) });
    notify(request, 'ObjectCreated:Put', verified.accessKeyId, stored);
  }

  function checkWriteConditions(req: IncomingMessage, key: string, existing: StoredObject | undefined): void {
    const ifNoneMatch = req.headers['if-none-match'];
    const ifMatch = req.headers['if-match'];
    const failed = (condition: string) => new S3Error(412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', { Condition: condition });
    if (ifNoneMatch !== undefined) {
      if (ifNoneMatch.trim() !== '*') throw notImplemented('If-None-Match');
      if (existing) throw failed('If-None-Match');
    }
    if (ifMatch !== undefined) {
      if (!existing) throw noSuchKey(key);
      if (!ifMatch.split(',').some((tag) => tag.trim() === `"${existing.etag}"` || tag.trim() === existing.etag || tag.trim() === '*')) throw failed('If-Match');
    }
  }

  const checksumHeaders = (object: StoredObject) =>
    Object.fromEntries(Object.entries(object.checksums).map(([algorithm, value]) => [`x-amz-checksum-${algorithm.toLowerCase()}`, value]));

  async function copyObject(request: Request, verified: VerifiedRequest, source: string): Promise<void> {
    const { req, bucket, key } = request;
    requireBucket(bucket);
    checkKey(key);
    const decoded = safeDecode(source.split('?')[0]!).replace(/^\//, '');
    const slash = decoded.indexOf('/');
    if (slash <= 0 || slash === decoded.length - 1) throw invalidArgument('Invalid copy source encoding', 'x-amz-copy-source', source);
    const sourceBucket = decoded.slice(0, slash);
    const sourceKey = decoded.slice(slash + 1);
    requireBucket(sourceBucket);
    const original = store.get(sourceBucket, sourceKey);
    if (!original) throw noSuchKey(sourceKey);
    const directive = (req.headers['x-amz-metadata-directive'] as string | undefined)?.toUpperCase() ?? 'COPY';
    if (directive !== 'COPY' && directive !== 'REPLACE') throw invalidArgument('Unknown metadata directive.', 'x-amz-metadata-directive', directive);
    if (sourceBucket === bucket && sourceKey === key && directive === 'COPY') {
      throw invalidRequest(
        "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.",
      );
    }
    checkConditions(req, original, 'x-amz-copy-source-');
    const attributes = directive === 'REPLACE' ? objectAttributes(req) : { contentType: original.contentType, headers: original.headers, metadata: original.metadata };
    for await (const chunk of req as AsyncIterable<Buffer>) void chunk;
    const temp = await store.copyToTemp(sourceBucket, original);
    const stored = await store.commit(bucket, temp, { key, size: original.size, etag: original.etag, checksums: original.checksums, ...attributes });
    const xml = `<CopyObjectResult xmlns="${XMLNS}">${element('LastModified', stored.lastModified)}${element('ETag', `"${stored.etag}"`)}</CopyObjectResult>`;
    sendXml(request, 200, xml, { 'x-amz-server-side-encryption': 'AES256' });
    notify(request, 'ObjectCreated:Copy', verified.accessKeyId, stored);
  }

  /** If-Match / If-None-Match / If-(Un)Modified-Since (with a prefix for the copy source's). */
  function checkConditions(req: IncomingMessage, object: StoredObject, prefix = ''): 'not-modified' | undefined {
    const header = (name: string) => req.headers[`${prefix}${name}`] as string | undefined;
    const etag = `"${object.etag}"`;
    const matches = (list: string) => list.split(',').some((tag) => tag.trim() === '*' || tag.trim() === etag || tag.trim() === object.etag);
    const modified = Date.parse(object.lastModified);
    const failed = (condition: string) => new S3Error(412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', { Condition: condition });
    const ifMatch = header('if-match');
    const ifNoneMatch = header('if-none-match');
    const ifModifiedSince = header('if-modified-since');
    const ifUnmodifiedSince = header('if-unmodified-since');
    if (ifMatch !== undefined && !matches(ifMatch)) throw failed(`${prefix ? 'x-amz-copy-source-' : ''}If-Match`);
    if (ifMatch === undefined && ifUnmodifiedSince !== undefined && modified > Date.parse(ifUnmodifiedSince)) throw failed('If-Unmodified-Since');
    if (ifNoneMatch !== undefined && matches(ifNoneMatch)) {
      if (prefix) throw failed('x-amz-copy-source-If-None-Match');
      return 'not-modified';
    }
    if (ifNoneMatch === undefined && ifModifiedSince !== undefined && modified <= Date.parse(ifModifiedSince)) {
      if (prefix) throw failed('x-amz-copy-source-If-Modified-Since');
      return 'not-modified';
    }
    return undefined;
  }

  function getObject(request: Request): void {
    const { req, bucket, key, query } = request;
    requireBucket(bucket);
    const object = store.get(bucket, key);
    if (!object) throw noSuchKey(key);
    const headers: OutgoingHttpHeaders = {
      'content-type': object.contentType,
      etag: `"${object.etag}"`,
      'last-modified': httpDate(object.lastModified),
      'accept-ranges': 'bytes',
      'x-amz-server-side-encryption': 'AES256',
      ...object.headers,
      ...Object.fromEntries(Object.entries(object.metadata).map(([name, value]) => [`x-amz-meta-${name}`, value])),
    };
    if (checkConditions(req, object) === 'not-modified') {
      const { 'content-type': _type, ...rest } = headers;
      send(request, 304, rest);
      return;
    }
    for (const [name, value] of query) {
      const header = RESPONSE_OVERRIDES[name];
      if (header !== undefined) headers[header] = value;
    }
    let start = 0;
    let end = object.size - 1;
    let status = 200;
    const range = req.headers.range;
    const match = typeof range === 'string' ? /^bytes=(\d*)-(\d*)$/.exec(range.trim()) : null;
    if (match && (match[1] !== '' || match[2] !== '')) {
      if (match[1] === '') {
        start = Math.max(0, object.size - Number(match[2]));
      } else {
        start = Number(match[1]);
        if (match[2] !== '') end = Math.min(end, Number(match[2]));
      }
      if (start >= object.size || (match[1] !== '' && match[2] !== '' && Number(match[2]) < start) || (match[1] === '' && Number(match[2]) === 0)) {
        throw new S3Error(416, 'InvalidRange', 'The requested range is not satisfiable', { RangeRequested: range!, ActualObjectSize: object.size });
      }
      status = 206;
      headers['content-range'] = `bytes ${start}-${end}/${object.size}`;
    } else if (req.headers['x-amz-checksum-mode'] === 'ENABLED') {
      Object.assign(headers, checksumHeaders(object));
    }
    const length = object.size === 0 ? 0 : end - start + 1;
    headers['content-length'] = length;
    const { res } = request;
    res.writeHead(status, { 'x-amz-request-id': request.requestId, 'x-amz-id-2': request.hostId, server: 'AmazonS3', ...request.cors, ...headers });
    if (req.method === 'HEAD' || length === 0) {
      res.end();
      return;
    }
    const stream = createReadStream(store.dataPath(bucket, object), { start, end });
    stream.on('error', (error) => {
      log?.error(`S3: reading ${bucket}/${key} failed`, error);
      res.destroy();
    });
    stream.pipe(res);
  }

  async function deleteObject(request: Request): Promise<void> {
    requireBucket(request.bucket);
    await store.delete(request.bucket, request.key);
    send(request, 204, {});
  }

  async function deleteObjects(request: Request, verified: VerifiedRequest): Promise<void> {
    const { req, bucket } = request;
    requireBucket(bucket);
    if (req.headers['content-md5'] === undefined && !Object.keys(req.headers).some((name) => name.startsWith('x-amz-checksum-') || name === 'x-amz-sdk-checksum-algorithm')) {
      throw invalidRequest('Missing required header for this request: Content-MD5');
    }
    const chunks: Buffer[] = [];
    await receivePayload(req, verified, (chunk) => void chunks.push(chunk), {
      maxBytes: 2 * 1024 * 1024,
      requireLength: false,
      tooLarge: () => new S3Error(400, 'MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema'),
    });
    const body = Buffer.concat(chunks).toString('utf8');
    const malformed = () => new S3Error(400, 'MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema');
    if (!/<Delete[\s>]/.test(body)) throw malformed();
    const objects = [...body.matchAll(/<Object>([\s\S]*?)<\/Object>/g)].map((match) => {
      const keyMatch = /<Key>([\s\S]*?)<\/Key>/.exec(match[1]!);
      if (!keyMatch) throw malformed();
      return decodeXmlText(keyMatch[1]!);
    });
    if (objects.length === 0 || objects.length > 1000) throw malformed();
    const quiet = /<Quiet>\s*true\s*<\/Quiet>/i.test(body);
    for (const key of objects) await store.delete(bucket, key);
    const deleted = quiet ? '' : objects.map((key) => `<Deleted>${element('Key', key)}</Deleted>`).join('');
    sendXml(request, 200, `<DeleteResult xmlns="${XMLNS}">${deleted}</DeleteResult>`);
  }

  // ── Buckets ──

  function listObjects(request: Request, version: 1 | 2): void {
    const { bucket, query } = request;
    requireBucket(bucket);
    const param = (name: string) => query.find(([key]) => key === name)?.[1];
    const prefix = param('prefix') ?? '';
    const delimiter = param('delimiter') ?? '';
    const encodingType = param('encoding-type');
    if (encodingType !== undefined && encodingType !== 'url') throw invalidArgument('Invalid Encoding Method specified in Request', 'encoding-type', encodingType);
    const maxKeysText = param('max-keys');
    if (maxKeysText !== undefined && !/^\d+$/.test(maxKeysText)) throw invalidArgument('Provided max-keys not an integer or within integer range', 'max-keys', maxKeysText);
    const maxKeys = Math.min(1000, maxKeysText === undefined ? 1000 : Number(maxKeysText));
    const token = param('continuation-token');
    let after = version === 2 ? (param('start-after') ?? '') : (param('marker') ?? '');
    let skipPrefix: string | undefined;
    if (version === 2 && token !== undefined) {
      try {
        const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { after: string; skip?: string };
        if (typeof parsed.after !== 'string') throw new Error('token');
        after = parsed.after;
        skipPrefix = parsed.skip;
      } catch {
        throw invalidArgument('The continuation token provided is incorrect', 'continuation-token', token);
      }
    }
    if (version === 1 && delimiter !== '' && after.endsWith(delimiter)) skipPrefix = after;
    const encode = (text: string) => (encodingType === 'url' ? uriEncode(text, true) : text);
    const contents: StoredObject[] = [];
    const prefixes: string[] = [];
    let truncated = false;
    let last: { after: string; skip?: string } | undefined;
    for (const object of store.list(bucket)) {
      if (after !== '' && compareKeys(object.key, after) <= 0) continue;
      if (skipPrefix !== undefined && object.key.startsWith(skipPrefix)) continue;
      if (!object.key.startsWith(prefix)) continue;
      let commonPrefix: string | undefined;
      if (delimiter !== '') {
        const at = object.key.indexOf(delimiter, prefix.length);
        if (at >= 0) commonPrefix = object.key.slice(0, at + delimiter.length);
      }
      if (commonPrefix !== undefined && prefixes.at(-1) === commonPrefix) continue;
      if (contents.length + prefixes.length >= maxKeys) {
        truncated = true;
        break;
      }
      if (commonPrefix !== undefined) {
        prefixes.push(commonPrefix);
        last = { after: commonPrefix, skip: commonPrefix };
      } else {
        contents.push(object);
        last = { after: object.key };
      }
    }
    const contentXml = contents
      .map(
        (object) =>
          `<Contents>${element('Key', encode(object.key))}${element('LastModified', object.lastModified)}${element('ETag', `"${object.etag}"`)}` +
          Object.keys(object.checksums).map((algorithm) => element('ChecksumAlgorithm', algorithm)).join('') +
          `${element('Size', object.size)}${version === 1 || param('fetch-owner') === 'true' ? `<Owner>${element('ID', OWNER_ID)}</Owner>` : ''}${element('StorageClass', 'STANDARD')}</Contents>`,
      )
      .join('');
    const prefixXml = prefixes.map((common) => `<CommonPrefixes>${element('Prefix', encode(common))}</CommonPrefixes>`).join('');
    let xml = `<ListBucketResult xmlns="${XMLNS}">${element('Name', bucket)}${element('Prefix', encode(prefix))}`;
    if (version === 2) {
      xml += `${element('KeyCount', contents.length + prefixes.length)}${element('MaxKeys', maxKeys)}`;
      if (delimiter !== '') xml += element('Delimiter', encode(delimiter));
      xml += element('IsTruncated', String(truncated));
      if (token !== undefined) xml += element('ContinuationToken', token);
      if (truncated && last) xml += element('NextContinuationToken', Buffer.from(JSON.stringify(last)).toString('base64url'));
      if (param('start-after') !== undefined) xml += element('StartAfter', encode(param('start-after')!));
    } else {
      xml += `${element('Marker', encode(param('marker') ?? ''))}${element('MaxKeys', maxKeys)}`;
      if (delimiter !== '') xml += element('Delimiter', encode(delimiter));
      xml += element('IsTruncated', String(truncated));
      if (truncated && last && delimiter !== '') xml += element('NextMarker', encode(last.after));
    }
    xml += contentXml + prefixXml + (encodingType === 'url' ? element('EncodingType', 'url') : '') + '</ListBucketResult>';
    sendXml(request, 200, xml);
  }

  async function createBucket(request: Request): Promise<void> {
    const { bucket, req } = request;
    for await (const chunk of req as AsyncIterable<Buffer>) void chunk;
    if (!isValidBucketName(bucket)) throw new S3Error(400, 'InvalidBucketName', 'The specified bucket is not valid.', { BucketName: bucket });
    const created = await store.createBucket(bucket);
    if (!created && options.region !== 'us-east-1') {
      throw new S3Error(409, 'BucketAlreadyOwnedByYou', 'Your previous request to create the named bucket succeeded and you already own it.', { BucketName: bucket });
    }
    send(request, 200, { location: `/${bucket}` });
  }

  function listBuckets(request: Request): void {
    const buckets = store.bucketNames();
    const xml =
      `<ListAllMyBucketsResult xmlns="${XMLNS}"><Owner>${element('ID', OWNER_ID)}</Owner><Buckets>` +
      buckets.map((name) => `<Bucket>${element('Name', name)}${element('CreationDate', new Date(0).toISOString())}</Bucket>`).join('') +
      '</Buckets></ListAllMyBucketsResult>';
    sendXml(request, 200, xml);
  }

  // ── Routing ──

  async function route(request: Request): Promise<void> {
    const { req, bucket, key, query } = request;
    const method = req.method ?? 'GET';
    if (method === 'OPTIONS') return preflight(request);
    const has = (name: string) => query.some(([param]) => param === name);
    // The browser POST is authenticated by its policy, not by a signed request.
    if (method === 'POST' && bucket !== '' && key === '' && !has('delete')) return postObject(request);

    const rawQuery = (req.url ?? '').split('?').slice(1).join('?');
    const verified = verifyRequest(req, request.rawPath, rawQuery, context);
    const unsupported = query.find(([name]) => UNSUPPORTED_SUBRESOURCES.has(name));
    if (unsupported) throw notImplemented(unsupported[0]);

    if (bucket === '') {
      if (method === 'GET') return listBuckets(request);
      throw new S3Error(405, 'MethodNotAllowed', 'The specified method is not allowed against this resource.', { Method: method, ResourceType: 'SERVICE' });
    }
    if (key === '') {
      switch (method) {
        case 'HEAD':
          requireBucket(bucket);
          return send(request, 200, { 'x-amz-bucket-region': options.region, 'x-amz-access-point-alias': 'false' });
        case 'PUT':
          return createBucket(request);
        case 'GET':
          if (has('location')) {
            requireBucket(bucket);
            return sendXml(request, 200, `<LocationConstraint xmlns="${XMLNS}">${options.region === 'us-east-1' ? '' : escapeXml(options.region)}</LocationConstraint>`);
          }
          return listObjects(request, query.find(([name]) => name === 'list-type')?.[1] === '2' ? 2 : 1);
        case 'POST':
          return deleteObjects(request, verified);
        case 'DELETE':
          requireBucket(bucket);
          if (store.list(bucket).length > 0) throw new S3Error(409, 'BucketNotEmpty', 'The bucket you tried to delete is not empty', { BucketName: bucket });
          await store.deleteBucket(bucket);
          return send(request, 204, {});
        default:
          throw new S3Error(405, 'MethodNotAllowed', 'The specified method is not allowed against this resource.', { Method: method, ResourceType: 'BUCKET' });
      }
    }
    switch (method) {
      case 'PUT': {
        const source = req.headers['x-amz-copy-source'];
        return typeof source === 'string' ? copyObject(request, verified, source) : putObject(request, verified);
      }
      case 'GET':
      case 'HEAD':
        return getObject(request);
      case 'DELETE':
        return deleteObject(request);
      default:
        throw new S3Error(405, 'MethodNotAllowed', 'The specified method is not allowed against this resource.', { Method: method, ResourceType: 'OBJECT' });
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = req.url ?? '/';
    const question = url.indexOf('?');
    const rawPath = question < 0 ? url : url.slice(0, question);
    const slash = rawPath.indexOf('/', 1);
    const request: Request = {
      req,
      res,
      requestId: randomBytes(8).toString('hex').toUpperCase(),
      hostId: randomBytes(32).toString('base64'),
      rawPath,
      query: queryPairs(question < 0 ? '' : url.slice(question + 1)),
      bucket: safeDecode(slash < 0 ? rawPath.slice(1) : rawPath.slice(1, slash)),
      key: slash < 0 ? '' : safeDecode(rawPath.slice(slash + 1)),
      cors: corsHeaders(req.headers.origin),
    };
    try {
      await route(request);
    } catch (error) {
      if (res.headersSent) {
        log?.error(`S3: ${req.method} ${rawPath} failed after its answer started`, error);
        res.destroy();
        return;
      }
      if (error instanceof S3Error) {
        if (!req.complete) {
          res.setHeader('connection', 'close');
          drain(req);
        }
        sendError(request, error);
        return;
      }
      log?.error(`S3: ${req.method} ${rawPath} failed`, error);
      sendError(request, new S3Error(500, 'InternalError', 'We encountered an internal error. Please try again.'));
    }
  }

  const server = createServer((req, res) => void handle(req, res));
  const sockets = trackSockets(server);
  const port = await listen(server, options.port ?? 0, host);
  endpoint = `http://${host}:${port}`;

  let stopped: Promise<void> | undefined;
  return {
    endpoint,
    port,
    stop() {
      stopped ??= (async () => {
        const closing = closeServer(server);
        server.closeIdleConnections();
        await Promise.allSettled([...pendingNotifications]);
        await store.idle();
        for (const socket of sockets) socket.destroy();
        await closing;
      })();
      return stopped;
    },
  };
}
