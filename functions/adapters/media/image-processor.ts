/**
 * The MediaProcessor over maintained libraries: `file-type` reads the magic numbers, `sharp`
 * (libvips) re-encodes images, and `heic-decode` (libheif compiled to WebAssembly) decodes HEIC
 * photos, which the prebuilt sharp cannot (its libheif has no HEVC decoder, for patent reasons).
 *
 * Re-encoding is what strips an image's metadata: sharp writes none unless asked (no EXIF, so no
 * GPS position, camera or time; no XMP, no IPTC, and no ICC profile: pixels are converted to
 * sRGB). The EXIF orientation is applied to the pixels first (`rotate()` without an angle), so
 * the photo stays upright without it. A HEIC photo is kept as a JPEG, which every app shows.
 */
import decodeHeic from 'heic-decode';
import { fileTypeFromBuffer } from 'file-type';
import sharp, { type Sharp } from 'sharp';
import { ImageRejectedError, THUMBNAIL_MAX_SIDE, essenceOf, type MediaProcessor, type ProcessedImage } from '#core/media';

/**
 * The most pixels an image may have: a 48-megapixel phone photo passes; a decompression bomb (a
 * small file of gigantic dimensions) is refused before it is decoded.
 */
export const MAX_IMAGE_PIXELS = 70_000_000;

const JPEG_QUALITY = 85;
const WEBP_QUALITY = 85;
const THUMBNAIL_QUALITY = 75;

// One image at a time per record; libvips' operation cache would only hold memory between records.
sharp.cache(false);

const HEIC_TYPES = new Set(['image/heic', 'image/heif', 'image/heic-sequence', 'image/heif-sequence']);

function reject(error: unknown): never {
  if (error instanceof ImageRejectedError) throw error;
  const message = error instanceof Error ? error.message : String(error);
  if (/pixel limit/i.test(message)) throw new ImageRejectedError('too_large', message);
  throw new ImageRejectedError('unreadable_image', message);
}

type HeicImages = { width: number; height: number; decode(): Promise<{ width: number; height: number; data: Uint8ClampedArray }> }[] & { dispose(): void };

/** A HEIC photo's main image as raw RGBA pixels, for sharp to encode. */
async function heicPixels(bytes: Uint8Array): Promise<Sharp> {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // `all` tells each image's size before decoding it (the published types omit width and height).
  const images = (await decodeHeic.all({ buffer })) as unknown as HeicImages;
  try {
    const main = images[0];
    if (!main) throw new ImageRejectedError('unreadable_image', 'the HEIC file holds no image');
    if (main.width * main.height > MAX_IMAGE_PIXELS) throw new ImageRejectedError('too_large', `${main.width}x${main.height} exceeds the pixel limit`);
    const { width, height, data } = await main.decode();
    return sharp(Buffer.from(data.buffer, data.byteOffset, data.byteLength), { raw: { width, height, channels: 4 } });
  } finally {
    images.dispose();
  }
}

/** The image upright and re-encoded without metadata, as the kind of image it is (HEIC as JPEG). */
async function reencode(bytes: Uint8Array, type: string): Promise<{ data: Buffer; contentType: string; width: number; height: number }> {
  if (HEIC_TYPES.has(type)) {
    const { data, info } = await (await heicPixels(bytes)).jpeg({ quality: JPEG_QUALITY }).toBuffer({ resolveWithObject: true });
    return { data, contentType: 'image/jpeg', width: info.width, height: info.height };
  }
  const options = { limitInputPixels: MAX_IMAGE_PIXELS, failOn: 'warning' } as const;
  const metadata = await sharp(bytes, options).metadata();
  // An animated GIF or WebP keeps its frames; they carry no EXIF orientation to apply.
  const animated = (metadata.pages ?? 1) > 1 && (type === 'image/gif' || type === 'image/webp');
  const image = animated ? sharp(bytes, { ...options, animated: true }) : sharp(bytes, options).rotate();
  const encoded =
    type === 'image/jpeg'
      ? image.jpeg({ quality: JPEG_QUALITY })
      : type === 'image/png'
        ? image.png()
        : type === 'image/webp'
          ? image.webp({ quality: WEBP_QUALITY })
          : type === 'image/gif'
            ? image.gif()
            : type === 'image/avif'
              ? image.avif()
              : null;
  if (!encoded) throw new ImageRejectedError('unreadable_image', `${type} images are not processed`);
  const { data, info } = await encoded.toBuffer({ resolveWithObject: true });
  // An animation's frames are stacked vertically: its height is one page's.
  const height = animated && info.pageHeight ? info.pageHeight : info.height;
  return { data, contentType: type, width: info.width, height };
}

export function makeMediaProcessor(): MediaProcessor {
  return {
    async detectType(bytes) {
      const detected = await fileTypeFromBuffer(bytes);
      return detected ? essenceOf(detected.mime) : null;
    },

    async isText(bytes) {
      if (bytes.includes(0)) return false;
      try {
        new TextDecoder('utf-8', { fatal: true }).decode(bytes);
        return true;
      } catch {
        return false;
      }
    },

    async processImage(bytes, detectedType): Promise<ProcessedImage> {
      try {
        const original = await reencode(bytes, essenceOf(detectedType));
        const thumbnail = await sharp(original.data, { failOn: 'none' })
          .resize({ width: THUMBNAIL_MAX_SIDE, height: THUMBNAIL_MAX_SIDE, fit: 'inside', withoutEnlargement: true })
          .webp({ quality: THUMBNAIL_QUALITY })
          .toBuffer();
        return {
          original: { bytes: new Uint8Array(original.data), contentType: original.contentType },
          thumbnail: new Uint8Array(thumbnail),
          width: original.width,
          height: original.height,
        };
      } catch (error) {
        reject(error);
      }
    },
  };
}
