/**
 * Port group: the attachments bucket (S3: presigned uploads and downloads, the processor's reads
 * and writes). Imported by the attachment routes, their sweep and their processor
 * (`import '#handlers/shared/ports/storage';`). The media libraries are a group of their own
 * (./media.ts), so only the processor's bundle carries them.
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
    return { ports: { storage: deferred(storage) } };
  },
});
