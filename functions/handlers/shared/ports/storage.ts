/**
 * Port group: the attachments bucket (S3: presigned uploads and downloads, the processor's reads
 * and writes) and the media processor (file-type, sharp and the HEIC decoder). Imported by the
 * attachment routes, their sweep and their processor (`import '#handlers/shared/ports/storage';`);
 * the media libraries are loaded on the processor's first record, so the routes that only presign
 * never evaluate them.
 */
import { UnavailableError } from '#core/errors';
import { systemClock } from '#core/ports';
import { deferred, once, providePorts } from '../container.ts';
import { traced } from '../observability.ts';

providePorts({
  name: 'storage',
  build(config) {
    const storage = once(async () => {
      if (!config.ATTACHMENTS_BUCKET) throw new UnavailableError('ATTACHMENTS_BUCKET is not configured');
      const [{ createS3Client }, { makeS3ObjectStorage }] = await Promise.all([import('#adapters/s3/client'), import('#adapters/s3/object-storage')]);
      return makeS3ObjectStorage({ client: traced(createS3Client(config)), bucket: config.ATTACHMENTS_BUCKET, clock: systemClock });
    });
    const media = once(async () => (await import('#adapters/media/image-processor')).makeMediaProcessor());
    return { ports: { storage: deferred(storage), media: deferred(media) } };
  },
});
