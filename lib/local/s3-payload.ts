/**
 * Request payloads of the local S3 as S3 checks them while it reads them: `x-amz-content-sha256`
 * (`UNSIGNED-PAYLOAD`, the hex SHA-256 of the body, or one of the `aws-chunked` encodings the SDKs
 * send for streams: `STREAMING-UNSIGNED-PAYLOAD-TRAILER` with its checksum trailer, and the
 * chunk-signed `STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]`), `Content-MD5` and the flexible
 * checksums (`x-amz-checksum-crc32|crc32c|crc64nvme|sha1|sha256`, as a header or a trailer).
 * Bytes are handed on as they are decoded; every mismatch is S3's error, raised at the latest
 * when the body ends, so the caller discards what it wrote.
 */
import { createHash, type Hash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { crc32 } from 'node:zlib';
import { S3Error, invalidArgument } from './s3-error.ts';
import { chunkStringToSign, hmacHex, sameSignature, trailerStringToSign, type VerifiedRequest } from './sigv4.ts';

/** S3's limit for one PUT. */
export const MAX_PUT_BYTES = 5 * 1024 ** 3;

// ─── Checksums ───────────────────────────────────────────────────────────────────────────────

interface Checksum {
  update(data: Buffer): void;
  /** Base64 of the big-endian digest, as S3 writes checksums. */
  digest(): string;
}

function crc32cTable(): Uint32Array {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
}
let crc32c: Uint32Array | undefined;

function crc64Table(): BigUint64Array {
  const table = new BigUint64Array(256);
  const polynomial = 0x9a6c9329ac4bc9b5n;
  for (let n = 0n; n < 256n; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1n ? polynomial ^ (c >> 1n) : c >> 1n;
    table[Number(n)] = c;
  }
  return table;
}
let crc64: BigUint64Array | undefined;

const uint32Base64 = (value: number) => {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE(value >>> 0);
  return bytes.toString('base64');
};

/** The checksum algorithms S3 accepts, by their header suffix. */
const CHECKSUMS: Record<string, () => Checksum> = {
  crc32: () => {
    let value = 0;
    return { update: (data) => void (value = crc32(data, value)), digest: () => uint32Base64(value) };
  },
  crc32c: () => {
    const table = (crc32c ??= crc32cTable());
    let c = 0xffffffff;
    return {
      update: (data) => {
        for (const byte of data) c = table[(c ^ byte) & 0xff]! ^ (c >>> 8);
      },
      digest: () => uint32Base64((c ^ 0xffffffff) >>> 0),
    };
  },
  crc64nvme: () => {
    const table = (crc64 ??= crc64Table());
    let c = 0xffffffffffffffffn;
    return {
      update: (data) => {
        for (const byte of data) c = table[Number((c ^ BigInt(byte)) & 0xffn)]! ^ (c >> 8n);
      },
      digest: () => {
        const bytes = Buffer.alloc(8);
        bytes.writeBigUInt64BE(c ^ 0xffffffffffffffffn);
        return bytes.toString('base64');
      },
    };
  },
  sha1: () => hashChecksum(createHash('sha1')),
  sha256: () => hashChecksum(createHash('sha256')),
};

function hashChecksum(hash: Hash): Checksum {
  return { update: (data) => void hash.update(data), digest: () => hash.digest('base64') };
}

/** `CRC32`, `CRC64NVME`, … as S3 names them in messages and in GetObject's headers. */
export const checksumName = (algorithm: string) => algorithm.toUpperCase();

// ─── Reading ────────────────────────────────────────────────────────────────────────────────

export interface ReceivedPayload {
  size: number;
  /** Hex MD5: the ETag. */
  md5: string;
  /** The checksums the request supplied, verified: `{ CRC32: base64 }`. */
  checksums: Record<string, string>;
}

export interface PayloadOptions {
  maxBytes: number;
  /** Raised when the decoded body is over `maxBytes`. */
  tooLarge: (size: number) => S3Error;
  /** Whether a body without Content-Length (and not aws-chunked) is refused (PUT: MissingContentLength). */
  requireLength: boolean;
}

const STREAMING = new Set(['STREAMING-UNSIGNED-PAYLOAD-TRAILER', 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD', 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER']);

const incomplete = () => new S3Error(400, 'IncompleteBody', 'The request body terminated unexpectedly');
const badChunk = () => new S3Error(400, 'InvalidChunkSizeError', 'Only the last chunk is allowed to have a size less than 8192 bytes');

/** Reads and checks the body of `req`, handing each decoded chunk to `sink`. */
export async function receivePayload(
  req: IncomingMessage,
  verified: VerifiedRequest,
  sink: (chunk: Buffer) => Promise<void> | void,
  options: PayloadOptions,
): Promise<ReceivedPayload> {
  const payloadHash = verified.payloadHash;
  const hexSha = /^[0-9a-f]{64}$/.test(payloadHash);
  if (!hexSha && payloadHash !== 'UNSIGNED-PAYLOAD' && !STREAMING.has(payloadHash)) {
    throw invalidArgument('x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER, or a valid sha256 value.', 'x-amz-content-sha256', payloadHash);
  }
  const chunked = STREAMING.has(payloadHash);
  const headers = req.headers;
  const trailerName = typeof headers['x-amz-trailer'] === 'string' ? headers['x-amz-trailer'].trim().toLowerCase() : undefined;
  if (trailerName !== undefined && (!chunked || !payloadHash.endsWith('TRAILER'))) {
    throw invalidRequest('The x-amz-trailer header is only allowed with a STREAMING-…-TRAILER x-amz-content-sha256.');
  }
  if (chunked && payloadHash.endsWith('TRAILER') && trailerName === undefined) throw invalidRequest('Missing required header for this request: x-amz-trailer');

  // Checksums to verify: headers now, the trailer's at the end.
  const expected = new Map<string, string | undefined>();
  for (const [name, value] of Object.entries(headers)) {
    const match = /^x-amz-checksum-([a-z0-9]+)$/.exec(name);
    if (!match || typeof value !== 'string') continue;
    if (!CHECKSUMS[match[1]!]) throw invalidRequest(`Value for x-amz-checksum-${match[1]} header is invalid.`);
    expected.set(match[1]!, value);
  }
  if (trailerName !== undefined) {
    const match = /^x-amz-checksum-([a-z0-9]+)$/.exec(trailerName);
    if (!match || !CHECKSUMS[match[1]!]) throw invalidRequest(`The value specified in the x-amz-trailer header is not supported`);
    expected.set(match[1]!, undefined);
  }
  if (expected.size > 1) throw invalidRequest('Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.');
  const contentMd5 = typeof headers['content-md5'] === 'string' ? headers['content-md5'] : undefined;
  if (contentMd5 !== undefined && !/^[A-Za-z0-9+/]{22}==$/.test(contentMd5)) throw new S3Error(400, 'InvalidDigest', 'The Content-MD5 you specified was invalid.', { 'Content-MD5': contentMd5 });

  let declared: number | undefined;
  if (chunked) {
    const decoded = headers['x-amz-decoded-content-length'];
    if (typeof decoded !== 'string' || !/^\d+$/.test(decoded)) throw new S3Error(411, 'MissingContentLength', 'You must provide the Content-Length HTTP header.');
    declared = Number(decoded);
  } else if (headers['content-length'] !== undefined) {
    declared = Number(headers['content-length']);
  } else if (options.requireLength) {
    throw new S3Error(411, 'MissingContentLength', 'You must provide the Content-Length HTTP header.');
  }
  if (declared !== undefined && declared > options.maxBytes) throw options.tooLarge(declared);

  const md5 = createHash('md5');
  const sha256 = hexSha ? createHash('sha256') : undefined;
  const checksums = new Map([...expected.keys()].map((algorithm) => [algorithm, CHECKSUMS[algorithm]!()]));
  let size = 0;
  const take = async (data: Buffer) => {
    size += data.length;
    if (size > options.maxBytes) throw options.tooLarge(size);
    md5.update(data);
    sha256?.update(data);
    for (const checksum of checksums.values()) checksum.update(data);
    await sink(data);
  };

  if (chunked) {
    const trailer = await readAwsChunked(req, verified, take, payloadHash !== 'STREAMING-UNSIGNED-PAYLOAD-TRAILER');
    if (trailerName !== undefined) {
      const value = trailer.get(trailerName);
      if (value === undefined) throw new S3Error(400, 'MalformedTrailerError', 'The request contained trailing data that was not well-formed or did not conform to our published schema.');
      expected.set(/^x-amz-checksum-(.+)$/.exec(trailerName)![1]!, value);
    }
    if (size !== declared) throw incomplete();
  } else {
    // Not `for await`: leaving that loop on an error would destroy the request, and with it the
    // connection the error answer goes out on.
    const source = (req as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
    for (let next = await source.next(); !next.done; next = await source.next()) await take(next.value);
  }

  if (sha256) {
    const computed = sha256.digest('hex');
    if (computed !== payloadHash) {
      throw new S3Error(400, 'XAmzContentSHA256Mismatch', "The provided 'x-amz-content-sha256' header does not match what was computed.", {
        ClientComputedContentSHA256: payloadHash,
        S3ComputedContentSHA256: computed,
      });
    }
  }
  const md5Bytes = md5.digest();
  if (contentMd5 !== undefined && md5Bytes.toString('base64') !== contentMd5) {
    throw new S3Error(400, 'BadDigest', 'The Content-MD5 you specified did not match what we received.', { ExpectedDigest: contentMd5, CalculatedDigest: md5Bytes.toString('base64') });
  }
  const verifiedChecksums: Record<string, string> = {};
  for (const [algorithm, checksum] of checksums) {
    const computed = checksum.digest();
    if (expected.get(algorithm) !== computed) {
      throw new S3Error(400, 'BadDigest', `The ${checksumName(algorithm)} you specified did not match the calculated checksum.`);
    }
    verifiedChecksums[checksumName(algorithm)] = computed;
  }
  return { size, md5: md5Bytes.toString('hex'), checksums: verifiedChecksums };
}

function invalidRequest(message: string): S3Error {
  return new S3Error(400, 'InvalidRequest', message);
}

/**
 * Decodes an `aws-chunked` body (`<hex size>[;chunk-signature=…]\r\n<bytes>\r\n` … `0…\r\n`, then
 * trailer lines and an empty line), checking chunk and trailer signatures when `signed`.
 * Answers the trailer's headers by lower-case name.
 */
async function readAwsChunked(
  req: IncomingMessage,
  verified: VerifiedRequest,
  take: (data: Buffer) => Promise<void>,
  signed: boolean,
): Promise<Map<string, string>> {
  const source = (req as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  let buffer: Buffer = Buffer.alloc(0);
  let ended = false;
  const fill = async () => {
    if (ended) return false;
    const next = await source.next();
    if (next.done) {
      ended = true;
      return false;
    }
    buffer = buffer.length === 0 ? next.value : Buffer.concat([buffer, next.value]);
    return true;
  };
  /** The next CRLF-terminated line, or undefined at the end of the body. */
  const line = async (): Promise<string | undefined> => {
    for (;;) {
      const end = buffer.indexOf('\r\n');
      if (end >= 0) {
        const text = buffer.subarray(0, end).toString('latin1');
        buffer = buffer.subarray(end + 2);
        return text;
      }
      if (buffer.length > 16 * 1024) throw badChunk();
      if (!(await fill())) {
        if (buffer.length === 0) return undefined;
        const text = buffer.toString('latin1');
        buffer = Buffer.alloc(0);
        return text;
      }
    }
  };
  const signatureMismatch = () =>
    new S3Error(403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided. Check your key and signing method.');

  let previous = verified.signature;
  for (;;) {
    const header = await line();
    if (header === undefined) throw incomplete();
    const match = /^([0-9a-fA-F]+)(?:;chunk-signature=([0-9a-f]{64}))?$/.exec(header.trim());
    if (!match) throw new S3Error(400, 'InvalidChunkSizeError', 'The chunk header is malformed.');
    const length = Number.parseInt(match[1]!, 16);
    if (signed && match[2] === undefined) throw signatureMismatch();
    const chunkHash = signed ? createHash('sha256') : undefined;
    let remaining = length;
    while (remaining > 0) {
      if (buffer.length === 0 && !(await fill())) throw incomplete();
      const piece = buffer.subarray(0, Math.min(remaining, buffer.length));
      buffer = buffer.subarray(piece.length);
      remaining -= piece.length;
      chunkHash?.update(piece);
      await take(Buffer.from(piece));
    }
    if (signed) {
      const expected = hmacHex(verified.signingKey, chunkStringToSign(verified, previous, chunkHash!.digest('hex')));
      if (!sameSignature(expected, match[2]!)) throw signatureMismatch();
      previous = expected;
    }
    if (length === 0) break;
    while (buffer.length < 2) if (!(await fill())) throw incomplete();
    if (buffer[0] !== 0x0d || buffer[1] !== 0x0a) throw new S3Error(400, 'InvalidChunkSizeError', 'The chunk is longer than its declared size.');
    buffer = buffer.subarray(2);
  }
  const trailer = new Map<string, string>();
  const trailerLines: string[] = [];
  let trailerSigned = false;
  for (;;) {
    const text = await line();
    if (text === undefined || text === '') break;
    const colon = text.indexOf(':');
    if (colon < 0) throw new S3Error(400, 'MalformedTrailerError', 'The request contained trailing data that was not well-formed or did not conform to our published schema.');
    const name = text.slice(0, colon).trim().toLowerCase();
    const value = text.slice(colon + 1).trim();
    if (name === 'x-amz-trailer-signature') {
      if (signed) {
        const expected = hmacHex(verified.signingKey, trailerStringToSign(verified, previous, trailerLines.map((entry) => `${entry}\n`).join('')));
        if (!sameSignature(expected, value)) throw signatureMismatch();
      }
      trailerSigned = true;
      continue;
    }
    trailerLines.push(`${name}:${value}`);
    trailer.set(name, value);
  }
  if (signed && verified.payloadHash.endsWith('TRAILER') && !trailerSigned) throw signatureMismatch();
  while (!(await source.next()).done);
  return trailer;
}
