/**
 * The S3 client of the attachments bucket, created once per container. In AWS the region and
 * credentials come from the Lambda environment; locally S3_ENDPOINT points at the runtime's
 * S3-compatible endpoint, addressed path-style (`<endpoint>/<bucket>/<key>`: no DNS per bucket)
 * with the fixed local credentials the runtime's endpoint verifies signatures with.
 */
import { S3Client } from '@aws-sdk/client-s3';
import type { Settings } from '#config/settings';

/** The credentials the local S3 endpoint accepts (lib/local/runtime.ts starts it with these). */
export const LOCAL_S3_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };

export interface S3ClientOptions {
  /**
   * Bounds on every call, so a stalled bucket fails the record (delivered again later) instead
   * of holding the invocation until the function's timeout: opening a connection, one request
   * (an object of CHAT_MAX_ATTACHMENT_BYTES included), and attempts per call (the first included).
   */
  connectTimeoutMs?: number;
  requestTimeoutMs?: number;
  maxAttempts?: number;
}

const DEFAULTS = { connectTimeoutMs: 3_000, requestTimeoutMs: 30_000, maxAttempts: 3 } satisfies Required<S3ClientOptions>;

/** An S3Client for the settings' region, pointed at S3_ENDPOINT (path-style) when it is set (local only). */
export function createS3Client(settings: Pick<Settings, 'AWS_REGION' | 'S3_ENDPOINT'>, options: S3ClientOptions = {}): S3Client {
  const { connectTimeoutMs, requestTimeoutMs, maxAttempts } = { ...DEFAULTS, ...options };
  const endpoint = settings.S3_ENDPOINT;
  return new S3Client({
    region: settings.AWS_REGION,
    ...(endpoint ? { endpoint, forcePathStyle: true, credentials: LOCAL_S3_CREDENTIALS } : {}),
    maxAttempts,
    // throwOnRequestTimeout: a request past requestTimeout fails (TimeoutError) instead of only being logged.
    requestHandler: { connectionTimeout: connectTimeoutMs, requestTimeout: requestTimeoutMs, throwOnRequestTimeout: true },
  });
}
