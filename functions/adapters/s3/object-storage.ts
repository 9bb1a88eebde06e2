/**
 * The ObjectStorage port over the attachments bucket.
 *
 * - Uploads are presigned POSTs (`@aws-sdk/s3-presigned-post`): the policy names the exact key,
 *   the exact Content-Type (`eq`) and a `content-length-range`, and expires; S3 itself refuses
 *   any upload that breaks one of them (403 AccessDenied, 400 EntityTooLarge/EntityTooSmall), so
 *   nothing the app did not declare is ever stored.
 * - Downloads are presigned GETs (`@aws-sdk/s3-request-presigner`) that override the response's
 *   Content-Type and Content-Disposition: images `inline` (shown in the app), anything else
 *   `attachment` with the uploader's file name (RFC 6266: an ASCII `filename` fallback and, when
 *   the name is not plain ASCII, `filename*=UTF-8''…` percent-encoded; built by the maintained
 *   `content-disposition` package, so quotes, CR/LF and non-Latin names never break the header).
 * - The processor reads, writes and deletes objects; deletes go by DeleteObjects in batches of
 *   1000 (its maximum), and a key that does not exist is not an error (S3 answers it deleted).
 */
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  NoSuchKey,
  PutObjectCommand,
  S3ServiceException,
  type S3Client,
} from '@aws-sdk/client-s3';
import { createPresignedPost } from '@aws-sdk/s3-presigned-post';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import contentDisposition from 'content-disposition';
import type { Clock, ObjectStorage, StoredObject, UploadForm, UploadPolicy } from '#core/ports';

/** DeleteObjects takes at most this many keys per request. */
export const DELETE_BATCH = 1000;

/** An ASCII stand-in for a file name, for clients that do not read `filename*`. */
function asciiFallback(fileName: string): string {
  return fileName
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .replace(/[^\x20-\x7e]/g, '_');
}

/** The Content-Disposition a download is served with. */
export function dispositionFor(fileName: string, contentType: string): string {
  const type = contentType.toLowerCase().startsWith('image/') ? 'inline' : 'attachment';
  const name = fileName.trim() || 'file';
  return contentDisposition(name, { type, fallback: asciiFallback(name) });
}

export function makeS3ObjectStorage({ client, bucket, clock }: { client: S3Client; bucket: string; clock: Clock }): ObjectStorage {
  return {
    async uploadForm(key: string, policy: UploadPolicy): Promise<UploadForm> {
      const expiresAt = new Date(clock.now().getTime() + policy.expiresInSeconds * 1000);
      const { url, fields } = await createPresignedPost(client, {
        Bucket: bucket,
        Key: key,
        // createPresignedPost itself adds the exact `{bucket}` and `{key}` conditions.
        Conditions: [
          ['eq', '$Content-Type', policy.contentType],
          ['content-length-range', policy.minBytes, policy.maxBytes],
        ],
        Fields: { 'Content-Type': policy.contentType },
        Expires: policy.expiresInSeconds,
      });
      return { url, fields, expiresAt };
    },

    async downloadUrl(key, { expiresInSeconds, fileName, contentType }): Promise<string> {
      const command = new GetObjectCommand({
        Bucket: bucket,
        Key: key,
        ResponseContentType: contentType,
        ResponseContentDisposition: dispositionFor(fileName, contentType),
      });
      return getSignedUrl(client, command, { expiresIn: expiresInSeconds });
    },

    async read(key: string): Promise<StoredObject | null> {
      try {
        const output = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
        if (!output.Body) return { bytes: new Uint8Array(0), contentType: output.ContentType };
        return { bytes: await output.Body.transformToByteArray(), contentType: output.ContentType };
      } catch (error) {
        if (error instanceof NoSuchKey || (error instanceof S3ServiceException && error.$metadata.httpStatusCode === 404)) return null;
        throw error;
      }
    },

    async write(key: string, bytes: Uint8Array, contentType: string): Promise<void> {
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: bytes, ContentType: contentType, ContentLength: bytes.byteLength }));
    },

    async remove(keys: readonly string[]): Promise<void> {
      for (let start = 0; start < keys.length; start += DELETE_BATCH) {
        const batch = keys.slice(start, start + DELETE_BATCH);
        const output = await client.send(
          new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } }),
        );
        // Quiet mode answers only the failures; a missing key is not one (S3 reports it deleted).
        const failed = (output.Errors ?? []).filter((error) => error.Code !== 'NoSuchKey');
        if (failed.length > 0) {
          throw new Error(`S3 did not delete ${failed.length} of ${batch.length} objects (${[...new Set(failed.map((error) => error.Code))].join(', ')})`);
        }
      }
    },
  };
}
