/**
 * Shared set-up of the local S3 tests: a server on a free port with a data directory of its own,
 * the real SDK clients, and the helpers an app would use (createPresignedPost + fetch/FormData).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { createPresignedPost } from '@aws-sdk/s3-presigned-post';
import { startLocalS3, type LocalS3, type LocalS3Options, type S3EventNotification } from '#lib/local/s3';

export const region = 'us-east-1';
export const bucket = 'chat-attachments';
export const credentials = { accessKeyId: 'AKIALOCALS3TEST', secretAccessKey: 'local-secret-key-for-tests' };
export const appOrigin = 'http://app.localhost:5173';

export interface Harness {
  s3: LocalS3;
  dataDir: string;
  client: S3Client;
  events: S3EventNotification[];
  clientWith(overrides: { secretAccessKey?: string; accessKeyId?: string; systemClockOffset?: number }): S3Client;
  restart(): Promise<void>;
  close(): Promise<void>;
}

export async function startHarness(extra: Partial<LocalS3Options> = {}): Promise<Harness> {
  const dataDir = await mkdtemp(join(tmpdir(), 'local-s3-'));
  const events: S3EventNotification[] = [];
  const clients: S3Client[] = [];
  const start = (port = 0) =>
    startLocalS3({
      port,
      dataDir,
      region,
      credentials,
      buckets: [bucket],
      corsOrigins: [appOrigin],
      onObjectCreated: async (notification) => {
        events.push(notification);
      },
      ...extra,
    });
  const harness: Harness = {
    s3: await start(),
    dataDir,
    client: undefined as unknown as S3Client,
    events,
    clientWith(overrides) {
      const client = new S3Client({
        endpoint: harness.s3.endpoint,
        forcePathStyle: true,
        region,
        maxAttempts: 1,
        credentials: { accessKeyId: overrides.accessKeyId ?? credentials.accessKeyId, secretAccessKey: overrides.secretAccessKey ?? credentials.secretAccessKey },
        ...(overrides.systemClockOffset === undefined ? {} : { systemClockOffset: overrides.systemClockOffset }),
      });
      clients.push(client);
      return client;
    },
    async restart() {
      await harness.s3.stop();
      harness.s3 = await start(harness.s3.port);
      for (const client of clients) client.destroy();
      harness.client = harness.clientWith({});
    },
    async close() {
      for (const client of clients) client.destroy();
      await harness.s3.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
  harness.client = harness.clientWith({});
  return harness;
}

/** The S3 error of an XML answer: `{ code, message, … }`. */
export function parseError(xml: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const match of xml.matchAll(/<([A-Za-z-]+)>([^<]*)<\/\1>/g)) fields[match[1]!.charAt(0).toLowerCase() + match[1]!.slice(1)] = match[2]!.replace(/&quot;/g, '"').replace(/&amp;/g, '&');
  return fields;
}

/** What an app does with the answer of POST /attachments: every field, then the file. */
export async function postForm(url: string, fields: Record<string, string>, file: Uint8Array | Blob, filename = 'photo.png', type = 'image/png'): Promise<Response> {
  const form = new FormData();
  for (const [name, value] of Object.entries(fields)) form.append(name, value);
  form.append('file', file instanceof Blob ? file : new Blob([file], { type }), filename);
  return fetch(url, { method: 'POST', body: form });
}

/** A presigned POST as the attachment route makes it: exact content type, 1 byte to `max`. */
export function presignPost(client: S3Client, key: string, options: { contentType?: string; max?: number; min?: number; expires?: number; conditions?: unknown[] } = {}) {
  return createPresignedPost(client, {
    Bucket: bucket,
    Key: key,
    Conditions: [['content-length-range', options.min ?? 1, options.max ?? 1024], ...((options.conditions ?? []) as never[])],
    Fields: { 'Content-Type': options.contentType ?? 'image/png' },
    Expires: options.expires ?? 300,
  });
}

/** Keys under `prefix`, through ListObjectsV2. */
export async function keysUnder(client: S3Client, prefix: string): Promise<string[]> {
  const listed = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
  return (listed.Contents ?? []).map((object) => object.Key!);
}

/** Lets asynchronous notifications run. */
export const settle = () => new Promise((resolve) => setTimeout(resolve, 50));

export const png = (size: number) => {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = (i * 31 + 7) % 256;
  return bytes;
};
