/**
 * What processing needs to know about an upload's bytes, independent of the libraries that read
 * them (functions/adapters/media makes it real with file-type, sharp and a HEIC decoder).
 *
 * The declared type (what the app said, and the presigned POST's exact Content-Type) must match
 * the type the bytes really are, found by their magic numbers. Several names mean the same
 * thing (an M4A voice note is `audio/mp4` to the app and `audio/x-m4a` to the detector), so the
 * match goes through an equivalence table rather than string equality.
 */

/** Names of one kind of file, any of which may be declared for bytes detected as any other. */
const EQUIVALENT_TYPES: readonly (readonly string[])[] = [
  ['image/jpeg', 'image/jpg', 'image/pjpeg'],
  ['image/heic', 'image/heif', 'image/heic-sequence', 'image/heif-sequence'],
  ['audio/mp4', 'audio/m4a', 'audio/x-m4a', 'video/mp4'],
  ['audio/mpeg', 'audio/mp3', 'audio/mpeg3', 'audio/x-mpeg'],
  ['audio/aac', 'audio/x-aac', 'audio/aacp'],
  ['audio/ogg', 'audio/opus', 'audio/vorbis', 'application/ogg', 'video/ogg'],
  ['audio/wav', 'audio/x-wav', 'audio/wave', 'audio/vnd.wave'],
  ['video/quicktime', 'video/mp4'],
  ['application/zip', 'application/x-zip-compressed'],
];

/** A content type without its parameters, lower-cased (`audio/ogg; codecs=opus` is `audio/ogg`). */
export const essenceOf = (contentType: string) => contentType.split(';')[0]!.trim().toLowerCase();

/** Whether bytes detected as `detected` are what was declared as `declared`. */
export function typesMatch(declared: string, detected: string): boolean {
  const a = essenceOf(declared);
  const b = essenceOf(detected);
  if (a === b) return true;
  return EQUIVALENT_TYPES.some((group) => group.includes(a) && group.includes(b));
}

/** Declared types that have no magic numbers: accepted when the bytes are text. */
export const isTextType = (contentType: string) => {
  const essence = essenceOf(contentType);
  return essence.startsWith('text/') || essence === 'application/json';
};

export const isImageType = (contentType: string) => essenceOf(contentType).startsWith('image/');

/** The images processing re-encodes (any other declared image/* is refused as unsupported). */
export const PROCESSED_IMAGE_TYPES = ['image/jpeg', 'image/png', 'image/webp', 'image/gif', 'image/heic', 'image/avif'] as const;

/** The longest side of a thumbnail, in pixels (a smaller image is never enlarged). */
export const THUMBNAIL_MAX_SIDE = 320;

/** An image as processing keeps it: re-encoded upright, without metadata, and its thumbnail. */
export interface ProcessedImage {
  original: { bytes: Uint8Array; contentType: string };
  /** WebP, longest side THUMBNAIL_MAX_SIDE at most. */
  thumbnail: Uint8Array;
  /** Of the upright image (after applying its EXIF orientation). */
  width: number;
  height: number;
}

/** Why an image could not be kept. */
export class ImageRejectedError extends Error {
  constructor(
    readonly reason: 'unreadable_image' | 'too_large',
    message: string,
  ) {
    super(message);
    this.name = 'ImageRejectedError';
  }
}

/** Reading and re-encoding uploads' bytes. */
export interface MediaProcessor {
  /** The type the bytes really are by their magic numbers; null when they have none (text, or garbage). */
  detectType(bytes: Uint8Array): Promise<string | null>;
  /** Whether the bytes are UTF-8 text (for declared types without magic numbers). */
  isText(bytes: Uint8Array): Promise<boolean>;
  /** The image re-encoded as the kind of image `detectedType` is (HEIC as JPEG); throws ImageRejectedError. */
  processImage(bytes: Uint8Array, detectedType: string): Promise<ProcessedImage>;
}
