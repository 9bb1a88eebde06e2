/**
 * A streaming `multipart/form-data` reader for S3's browser POST: the fields before the `file`
 * part are read into memory (S3 caps them), the file's bytes are handed on chunk by chunk as they
 * arrive, so the server can stop at the policy's size limit without buffering the upload.
 * What follows the file is ignored, as S3 ignores it.
 *
 * Hand-written because the maintained parsers (busboy and the like) are not dependencies here and
 * the shape S3 needs (fields first, then one streamed part, then stop) is a few dozen lines.
 */
import { S3Error } from './s3-error.ts';

export interface FilePart {
  /** The part's `filename` (for `${filename}` in the key); '' when absent. */
  filename: string;
  /** The part's own Content-Type header, if any (S3 stores the form's Content-Type field instead). */
  contentType: string | undefined;
}

export const malformedPost = (why = 'The body of your POST request is not well-formed multipart/form-data.') => new S3Error(400, 'MalformedPOSTRequest', why);

/** The boundary of a `multipart/form-data` Content-Type, or undefined. */
export function multipartBoundary(contentType: string | undefined): string | undefined {
  if (!contentType || !/^multipart\/form-data\s*(;|$)/i.test(contentType)) return undefined;
  const match = /;\s*boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  return match?.[1] ?? match?.[2];
}

/** Undoes the HTML form encoding of names and filenames (`"` as %22, CR and LF as %0D/%0A). */
const unescapeName = (text: string) => text.replace(/%22/g, '"').replace(/%0D/gi, '\r').replace(/%0A/gi, '\n');

function dispositionParameter(disposition: string, name: string): string | undefined {
  const match = new RegExp(`;\\s*${name}=(?:"((?:[^"\\\\]|\\\\.)*)"|([^;]*))`, 'i').exec(disposition);
  if (!match) return undefined;
  return unescapeName(match[1] !== undefined ? match[1].replace(/\\(.)/g, '$1') : match[2]!.trim());
}

export class MultipartReader {
  private buffer: Buffer = Buffer.alloc(0);
  private ended = false;
  private readonly dashBoundary: Buffer;
  private readonly delimiter: Buffer;
  private consumed = 0;

  constructor(
    private readonly source: AsyncIterator<Buffer>,
    boundary: string,
  ) {
    this.dashBoundary = Buffer.from(`--${boundary}`);
    this.delimiter = Buffer.from(`\r\n--${boundary}`);
  }

  /** Reads one more chunk; false at the end of the body. */
  private async fill(): Promise<boolean> {
    if (this.ended) return false;
    const next = await this.source.next();
    if (next.done) {
      this.ended = true;
      return false;
    }
    this.buffer = this.buffer.length === 0 ? next.value : Buffer.concat([this.buffer, next.value]);
    return true;
  }

  private take(length: number): Buffer {
    const taken = this.buffer.subarray(0, length);
    this.buffer = this.buffer.subarray(length);
    this.consumed += length;
    return taken;
  }

  /** `needle` was not found: past `limit`, what is being read is already too large. */
  private check(limit: number, tooLarge: () => S3Error): void {
    if (this.consumed + this.buffer.length > limit) throw tooLarge();
  }

  /** Waits until `needle` is in the buffer; its index, or -1 at the end of the body. */
  private async find(needle: Buffer, limit: number, tooLarge: () => S3Error): Promise<number> {
    for (;;) {
      const index = this.buffer.indexOf(needle);
      if (index >= 0) return index;
      this.check(limit, tooLarge);
      if (!(await this.fill())) return -1;
    }
  }

  /** After a boundary: true when it closes the body (`--`), false when a part follows (CRLF). */
  private async afterBoundary(limit: number, tooLarge: () => S3Error): Promise<boolean> {
    while (this.buffer.length < 2) if (!(await this.fill())) throw malformedPost();
    if (this.buffer[0] === 0x2d && this.buffer[1] === 0x2d) return true;
    const lineEnd = await this.find(Buffer.from('\r\n'), limit, tooLarge);
    if (lineEnd < 0 || this.buffer.subarray(0, lineEnd).toString('latin1').trim() !== '') throw malformedPost();
    this.take(lineEnd + 2);
    return false;
  }

  /**
   * Reads the fields up to the `file` part's headers (`maxBytes` of form before the file, else
   * S3's MaxPostPreDataLengthExceeded). `file` is undefined when the form has no file part.
   */
  async fields(maxBytes: number): Promise<{ fields: [string, string][]; file: FilePart | undefined }> {
    const tooLarge = () => new S3Error(400, 'MaxPostPreDataLengthExceeded', 'Your POST request fields preceding the upload file were too large.');
    const fields: [string, string][] = [];
    const first = await this.find(this.dashBoundary, maxBytes, tooLarge);
    if (first < 0) throw malformedPost();
    this.take(first + this.dashBoundary.length);
    for (;;) {
      if (await this.afterBoundary(maxBytes, tooLarge)) return { fields, file: undefined };
      const headersEnd = await this.find(Buffer.from('\r\n\r\n'), maxBytes, tooLarge);
      if (headersEnd < 0) throw malformedPost();
      const headerLines = this.take(headersEnd + 4).toString('utf8').split('\r\n').filter(Boolean);
      const headers = new Map<string, string>();
      for (const line of headerLines) {
        const colon = line.indexOf(':');
        if (colon < 0) throw malformedPost();
        headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
      }
      const disposition = headers.get('content-disposition');
      if (!disposition || !/^form-data\s*(;|$)/i.test(disposition)) throw malformedPost();
      const name = dispositionParameter(disposition, 'name');
      if (name === undefined) throw malformedPost();
      if (name.toLowerCase() === 'file') {
        return { fields, file: { filename: dispositionParameter(disposition, 'filename') ?? '', contentType: headers.get('content-type') } };
      }
      const end = await this.find(this.delimiter, maxBytes, tooLarge);
      if (end < 0) throw malformedPost();
      fields.push([name, this.take(end).toString('utf8')]);
      this.take(this.delimiter.length);
      if (this.consumed > maxBytes) throw tooLarge();
    }
  }

  /**
   * Hands the file part's bytes to `onChunk` as they arrive, up to the delimiter that ends the
   * part; a body that ends inside the file is MalformedPOSTRequest. Throwing from `onChunk`
   * (the size limit) stops the reading.
   */
  async pipeFile(onChunk: (chunk: Buffer) => Promise<void> | void): Promise<void> {
    const keep = this.delimiter.length - 1;
    for (;;) {
      const index = this.buffer.indexOf(this.delimiter);
      if (index >= 0) {
        if (index > 0) await onChunk(Buffer.from(this.take(index)));
        this.take(this.delimiter.length);
        return;
      }
      if (this.buffer.length > keep) await onChunk(Buffer.from(this.take(this.buffer.length - keep)));
      if (!(await this.fill())) throw malformedPost();
    }
  }
}
