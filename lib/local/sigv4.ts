/**
 * AWS Signature Version 4 as S3 checks it, for the local S3 (`lib/local/s3.ts`): the
 * `Authorization` header of SDK calls, the query parameters of presigned URLs
 * (`X-Amz-Signature`, `X-Amz-Expires`) and the signature of a browser POST's policy. Every check
 * derives the signing key from the configured secret of the credential's access key, so a wrong
 * secret, a tampered request or a tampered policy is `SignatureDoesNotMatch`, as in S3.
 *
 * Reference: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html
 * and https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { S3Error, accessDenied, invalidRequest } from './s3-error.ts';

export const ALGORITHM = 'AWS4-HMAC-SHA256';
/** S3 refuses header-signed requests whose time is more than 15 minutes off. */
export const MAX_SKEW_MS = 15 * 60 * 1000;
/** Presigned URLs live at most a week. */
const MAX_EXPIRES_SECONDS = 604_800;

export interface SigV4Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  /** When set, requests must carry this token (`X-Amz-Security-Token`); when not, a token is not checked. */
  sessionToken?: string;
}

export interface SigV4Context {
  credentials: SigV4Credentials;
  region: string;
  /** Milliseconds since the epoch (injectable for tests). */
  now(): number;
}

/** What a verified request was signed with: what payload checks and chunk signatures need. */
export interface VerifiedRequest {
  accessKeyId: string;
  /** `x-amz-content-sha256` of a header-signed request; `UNSIGNED-PAYLOAD` for presigned URLs. */
  payloadHash: string;
  signingKey: Buffer;
  /** The request's signature: the seed of `aws-chunked` chunk signatures. */
  signature: string;
  amzDate: string;
  scope: string;
  presigned: boolean;
}

const sha256Hex = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data, 'utf8').digest();
export const hmacHex = (key: Buffer, data: string) => createHmac('sha256', key).update(data, 'utf8').digest('hex');

/** `kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request")`. */
export function signingKey(secretAccessKey: string, date: string, region: string, service = 's3'): Buffer {
  return hmac(hmac(hmac(hmac(`AWS4${secretAccessKey}`, date), region), service), 'aws4_request');
}

/** Compares two signatures in constant time (a different length is simply no match). */
export function sameSignature(expected: string, provided: string): boolean {
  const a = Buffer.from(expected, 'utf8');
  const b = Buffer.from(provided, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}

/** SigV4's URI encoding: every byte but `A-Za-z0-9-._~` as `%XX` (uppercase); `/` kept when `keepSlash`. */
export function uriEncode(text: string, keepSlash = false): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    const character = String.fromCharCode(byte);
    if (/[A-Za-z0-9\-._~]/.test(character) || (keepSlash && character === '/')) out += character;
    else out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** decodeURIComponent that leaves a malformed escape as it is. */
export function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** The query of a raw URL as decoded `[name, value]` pairs, in order (`+` is a plus, as SigV4 has it). */
export function queryPairs(rawQuery: string): [string, string][] {
  const pairs: [string, string][] = [];
  for (const part of rawQuery.split('&')) {
    if (part === '') continue;
    const equals = part.indexOf('=');
    const name = equals < 0 ? part : part.slice(0, equals);
    const value = equals < 0 ? '' : part.slice(equals + 1);
    pairs.push([safeDecode(name), safeDecode(value)]);
  }
  return pairs;
}

interface Scope {
  accessKeyId: string;
  date: string;
  region: string;
  service: string;
}

/** `<accessKeyId>/<yyyymmdd>/<region>/s3/aws4_request`; undefined when malformed. */
export function parseCredential(credential: string): Scope | undefined {
  const parts = credential.split('/');
  if (parts.length !== 5 || parts[4] !== 'aws4_request' || !/^\d{8}$/.test(parts[1]!) || parts[0] === '') return undefined;
  return { accessKeyId: parts[0]!, date: parts[1]!, region: parts[2]!, service: parts[3]! };
}

/** `yyyymmddThhmmssZ` as milliseconds, or NaN. */
export function parseAmzDate(value: string): number {
  const match = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (!match) return Number.NaN;
  const [, y, mo, d, h, mi, s] = match.map(Number) as number[];
  return Date.UTC(y!, mo! - 1, d!, h!, mi!, s!);
}

const isoSeconds = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** The configured secret for the access key, or S3's InvalidAccessKeyId. */
function secretFor(accessKeyId: string, context: SigV4Context): string {
  if (accessKeyId !== context.credentials.accessKeyId) {
    throw new S3Error(403, 'InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.', { AWSAccessKeyId: accessKeyId });
  }
  return context.credentials.secretAccessKey;
}

function checkToken(token: string | undefined, context: SigV4Context): void {
  const expected = context.credentials.sessionToken;
  if (expected !== undefined && token !== expected) throw new S3Error(403, 'InvalidToken', 'The provided token is malformed or otherwise invalid.');
}

const toBytes = (text: string) => [...Buffer.from(text, 'utf8')].map((byte) => byte.toString(16).padStart(2, '0')).join(' ');

function signatureDoesNotMatch(accessKeyId: string, stringToSign: string, provided: string, canonicalRequest?: string): S3Error {
  return new S3Error(403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided. Check your key and signing method.', {
    AWSAccessKeyId: accessKeyId,
    StringToSign: stringToSign,
    SignatureProvided: provided,
    StringToSignBytes: toBytes(stringToSign),
    ...(canonicalRequest === undefined ? {} : { CanonicalRequest: canonicalRequest, CanonicalRequestBytes: toBytes(canonicalRequest) }),
  });
}

// ─── Browser POST policy ─────────────────────────────────────────────────────────────────────

export interface PolicySignatureFields {
  policy: string;
  signature: string | undefined;
  algorithm: string | undefined;
  credential: string | undefined;
  amzDate: string | undefined;
  securityToken: string | undefined;
}

/**
 * Checks a POST form's `X-Amz-Signature`: the hex HMAC of the base64 `Policy` with the signing key
 * of `X-Amz-Credential`. Answers the access key it was signed with.
 */
export function verifyPolicySignature(fields: PolicySignatureFields, context: SigV4Context): string {
  const missing = (name: string) => new S3Error(400, 'InvalidArgument', `Bucket POST must contain a field named '${name}'.  If it is specified, please check the order of the fields.`, { ArgumentName: name });
  if (fields.algorithm === undefined) throw missing('X-Amz-Algorithm');
  if (fields.algorithm !== ALGORITHM) throw new S3Error(400, 'InvalidArgument', `Unsupported value for X-Amz-Algorithm: ${fields.algorithm}`, { ArgumentName: 'X-Amz-Algorithm', ArgumentValue: fields.algorithm });
  if (fields.credential === undefined) throw missing('X-Amz-Credential');
  if (fields.amzDate === undefined) throw missing('X-Amz-Date');
  if (fields.signature === undefined) throw missing('X-Amz-Signature');
  const scope = parseCredential(fields.credential);
  if (!scope) throw new S3Error(400, 'InvalidArgument', `Invalid argument: X-Amz-Credential '${fields.credential}' is malformed.`, { ArgumentName: 'X-Amz-Credential', ArgumentValue: fields.credential });
  if (Number.isNaN(parseAmzDate(fields.amzDate))) throw new S3Error(400, 'InvalidArgument', 'X-Amz-Date must be in the ISO8601 Long Format "yyyyMMdd\'T\'HHmmss\'Z\'"', { ArgumentName: 'X-Amz-Date', ArgumentValue: fields.amzDate });
  checkScope(scope, context, 'AuthorizationQueryParametersError');
  const secret = secretFor(scope.accessKeyId, context);
  checkToken(fields.securityToken, context);
  const expected = hmacHex(signingKey(secret, scope.date, scope.region, scope.service), fields.policy);
  if (!sameSignature(expected, fields.signature)) throw signatureDoesNotMatch(scope.accessKeyId, fields.policy, fields.signature);
  return scope.accessKeyId;
}

function checkScope(scope: Scope, context: SigV4Context, code: 'AuthorizationHeaderMalformed' | 'AuthorizationQueryParametersError'): void {
  const prefix = code === 'AuthorizationHeaderMalformed' ? 'The authorization header is malformed;' : 'Error parsing the X-Amz-Credential parameter;';
  if (scope.region !== context.region) {
    throw new S3Error(400, code, `${prefix} the region '${scope.region}' is wrong; expecting '${context.region}'`, { Region: context.region });
  }
  if (scope.service !== 's3') throw new S3Error(400, code, `${prefix} incorrect service '${scope.service}'. This endpoint belongs to 's3'.`);
}

// ─── Header and query authentication ─────────────────────────────────────────────────────────

/** A request's headers by lower-case name, duplicates joined with `,`, values trimmed with inner runs of spaces collapsed. */
function headerValues(req: IncomingMessage): Map<string, string> {
  const values = new Map<string, string[]>();
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i]!.toLowerCase();
    const value = req.rawHeaders[i + 1]!.trim().replace(/\s+/g, ' ');
    values.set(name, [...(values.get(name) ?? []), value]);
  }
  return new Map([...values].map(([name, list]) => [name, list.join(',')]));
}

/** The path as S3 signs it: each segment decoded once and URI-encoded (no double encoding for S3). */
function canonicalUri(rawPath: string): string {
  return rawPath
    .split('/')
    .map((segment) => uriEncode(safeDecode(segment)))
    .join('/');
}

function canonicalQuery(pairs: [string, string][]): string {
  return pairs
    .map(([name, value]) => [uriEncode(name), uriEncode(value)] as const)
    .sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0))
    .map(([name, value]) => `${name}=${value}`)
    .join('&');
}

interface ParsedAuthorization {
  credential: string;
  signedHeaders: string;
  signature: string;
}

function parseAuthorization(header: string): ParsedAuthorization {
  const malformed = (why: string) => new S3Error(400, 'AuthorizationHeaderMalformed', `The authorization header is malformed; ${why}`);
  if (!header.startsWith(`${ALGORITHM} `)) {
    throw invalidRequest('The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.');
  }
  const parts = new Map<string, string>();
  for (const part of header.slice(ALGORITHM.length + 1).split(',')) {
    const equals = part.indexOf('=');
    if (equals < 0) throw malformed(`the authorization component "${part.trim()}" is malformed.`);
    parts.set(part.slice(0, equals).trim(), part.slice(equals + 1).trim());
  }
  const credential = parts.get('Credential');
  const signedHeaders = parts.get('SignedHeaders');
  const signature = parts.get('Signature');
  if (!credential) throw malformed('missing Credential.');
  if (!signedHeaders) throw malformed('missing SignedHeaders.');
  if (!signature) throw malformed('missing Signature.');
  return { credential, signedHeaders, signature };
}

/** Whether the request is signed at all (header or query). */
export function isSigned(req: IncomingMessage, query: [string, string][]): boolean {
  return req.headers.authorization !== undefined || query.some(([name]) => name === 'X-Amz-Signature' || name === 'X-Amz-Credential');
}

/**
 * Verifies a header-signed or presigned request (path and query as received in `rawPath` and
 * `rawQuery`); throws S3's error for every failure. The payload itself is checked while it is
 * read (see `lib/local/s3-payload.ts`), against the `payloadHash` answered here.
 */
export function verifyRequest(req: IncomingMessage, rawPath: string, rawQuery: string, context: SigV4Context): VerifiedRequest {
  const query = queryPairs(rawQuery);
  const headers = headerValues(req);
  const get = (name: string) => query.find(([key]) => key === name)?.[1];
  const presigned = get('X-Amz-Signature') !== undefined || get('X-Amz-Algorithm') !== undefined;
  if (req.headers.authorization !== undefined && presigned) {
    throw invalidArgument('Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified', 'Authorization');
  }

  let credential: string;
  let signedHeaders: string;
  let signature: string;
  let amzDate: string;
  let payloadHash: string;
  let token: string | undefined;
  if (presigned) {
    const queryError = (message: string) => new S3Error(400, 'AuthorizationQueryParametersError', message);
    const algorithm = get('X-Amz-Algorithm');
    if (algorithm !== ALGORITHM) throw queryError('X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"');
    const required = ['X-Amz-Credential', 'X-Amz-Signature', 'X-Amz-SignedHeaders', 'X-Amz-Date', 'X-Amz-Expires'];
    if (required.some((name) => get(name) === undefined)) {
      throw queryError('Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.');
    }
    credential = get('X-Amz-Credential')!;
    signedHeaders = get('X-Amz-SignedHeaders')!;
    signature = get('X-Amz-Signature')!;
    amzDate = get('X-Amz-Date')!;
    payloadHash = 'UNSIGNED-PAYLOAD';
    token = get('X-Amz-Security-Token');
    const expires = get('X-Amz-Expires')!;
    if (!/^\d+$/.test(expires)) throw queryError('X-Amz-Expires should be a number');
    if (Number(expires) > MAX_EXPIRES_SECONDS) throw queryError(`X-Amz-Expires must be less than a week (in seconds) that is ${MAX_EXPIRES_SECONDS}`);
    const signedAt = parseAmzDate(amzDate);
    if (Number.isNaN(signedAt)) throw queryError("X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"");
    const now = context.now();
    if (signedAt - now > MAX_SKEW_MS) throw accessDenied('Request is not valid yet', { 'X-Amz-Date': amzDate, ServerTime: isoSeconds(now) });
    if (now > signedAt + Number(expires) * 1000) {
      throw accessDenied('Request has expired', { 'X-Amz-Expires': expires, Expires: isoSeconds(signedAt + Number(expires) * 1000), ServerTime: isoSeconds(now) });
    }
  } else {
    const authorization = req.headers.authorization;
    if (authorization === undefined) throw accessDenied();
    ({ credential, signedHeaders, signature } = parseAuthorization(authorization));
    const date = headers.get('x-amz-date');
    if (date === undefined) throw accessDenied('AWS authentication requires a valid Date or x-amz-date header');
    amzDate = date;
    const signedAt = parseAmzDate(amzDate);
    if (Number.isNaN(signedAt)) throw accessDenied('AWS authentication requires a valid Date or x-amz-date header');
    const now = context.now();
    if (Math.abs(now - signedAt) > MAX_SKEW_MS) {
      throw new S3Error(403, 'RequestTimeTooSkewed', 'The difference between the request time and the current time is too large.', {
        RequestTime: amzDate,
        ServerTime: isoSeconds(now),
        MaxAllowedSkewMilliseconds: MAX_SKEW_MS,
      });
    }
    const contentSha = headers.get('x-amz-content-sha256');
    if (contentSha === undefined) throw invalidRequest('Missing required header for this request: x-amz-content-sha256');
    payloadHash = contentSha;
    token = headers.get('x-amz-security-token');
  }

  const scope = parseCredential(credential);
  const malformedCode = presigned ? 'AuthorizationQueryParametersError' : 'AuthorizationHeaderMalformed';
  if (!scope) throw new S3Error(400, malformedCode, `${presigned ? 'Error parsing the X-Amz-Credential parameter;' : 'The authorization header is malformed;'} the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".`);
  checkScope(scope, context, malformedCode);
  if (scope.date !== amzDate.slice(0, 8)) {
    throw new S3Error(400, malformedCode, `${presigned ? 'Error parsing the X-Amz-Credential parameter;' : 'The authorization header is malformed;'} Invalid credential date "${scope.date}". This date is not the same as X-Amz-Date: "${amzDate.slice(0, 8)}".`);
  }
  const secret = secretFor(scope.accessKeyId, context);
  checkToken(token, context);

  const signedNames = signedHeaders.split(';').map((name) => name.trim().toLowerCase());
  if (!signedNames.includes('host')) throw accessDenied('There were headers present in the request which were not signed', { HeadersNotSigned: 'host' });
  const unsigned = [...headers.keys()].filter((name) => name.startsWith('x-amz-') && !signedNames.includes(name));
  if (unsigned.length > 0) throw accessDenied('There were headers present in the request which were not signed', { HeadersNotSigned: unsigned.join(', ') });

  const canonicalRequest = [
    req.method ?? 'GET',
    canonicalUri(rawPath),
    canonicalQuery(presigned ? query.filter(([name]) => name !== 'X-Amz-Signature') : query),
    signedNames.map((name) => `${name}:${headers.get(name) ?? ''}\n`).join(''),
    signedNames.join(';'),
    payloadHash,
  ].join('\n');
  const scopeString = `${scope.date}/${scope.region}/${scope.service}/aws4_request`;
  const stringToSign = [ALGORITHM, amzDate, scopeString, sha256Hex(canonicalRequest)].join('\n');
  const key = signingKey(secret, scope.date, scope.region, scope.service);
  if (!sameSignature(hmacHex(key, stringToSign), signature)) throw signatureDoesNotMatch(scope.accessKeyId, stringToSign, signature, canonicalRequest);
  return { accessKeyId: scope.accessKeyId, payloadHash, signingKey: key, signature, amzDate, scope: scopeString, presigned };
}

function invalidArgument(message: string, name: string): S3Error {
  return new S3Error(400, 'InvalidArgument', message, { ArgumentName: name });
}

/** The string a chunk of a `STREAMING-AWS4-HMAC-SHA256-PAYLOAD` body is signed with. */
export function chunkStringToSign(verified: VerifiedRequest, previousSignature: string, chunkSha256Hex: string): string {
  return ['AWS4-HMAC-SHA256-PAYLOAD', verified.amzDate, verified.scope, previousSignature, sha256Hex(''), chunkSha256Hex].join('\n');
}

/** The string the trailer of a `STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER` body is signed with. */
export function trailerStringToSign(verified: VerifiedRequest, previousSignature: string, trailer: string): string {
  return ['AWS4-HMAC-SHA256-TRAILER', verified.amzDate, verified.scope, previousSignature, sha256Hex(trailer)].join('\n');
}
