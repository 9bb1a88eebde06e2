/**
 * Port group: the media processor (file-type, sharp and the HEIC decoder's WebAssembly). Only the
 * attachments' processor imports it (`import '#handlers/shared/ports/media';`): sharp is a native
 * module shipped beside that one function's bundle, and the decoder is megabytes. Loaded on the
 * first record, not at init.
 */
import { deferred, once, providePorts } from '../container.ts';

providePorts({
  name: 'media',
  build() {
    const media = once(async () => (await import('#adapters/media/image-processor')).makeMediaProcessor());
    return { ports: { media: deferred(media) } };
  },
});
