/**
 * The one mapping from anything a handler can throw onto the contract's error codes. HTTP answers
 * `{"error":{code,message,details}}` with the status; WebSocket answers a `chat-error` frame.
 * 5xx messages stay generic: internals are logged, never sent.
 */
import { ZodError } from 'zod';
import { ChatError, ERROR_STATUS, type ErrorCode } from '#core/errors';

export interface DescribedError {
  status: number;
  code: ErrorCode;
  message: string;
  details?: unknown;
  /** Whether this is our fault (logged as an error) rather than the caller's. */
  internal: boolean;
}

// ─── Outages and timeouts ──────────────────────────────────────────────────────────────
//
// Anything that says Postgres or DynamoDB did not answer (unreachable, refused, reset, timed
// out, throttled, overloaded, shutting down) is 503 UNAVAILABLE, never 500: the client retries
// (a send with its clientMessageId, so a send that was stored answers the stored message).
// Recognised on the error and everything it wraps: `cause` chains, Prisma's
// `meta.driverAdapterError(.cause)` and AggregateError's `errors`.

/** Node socket and DNS failures (also what the AWS SDK throws when an endpoint is down). */
const NETWORK_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'ETIMEDOUT', 'ESOCKETTIMEDOUT', 'EPIPE', 'ENOTFOUND',
  'EAI_AGAIN', 'EHOSTUNREACH', 'EHOSTDOWN', 'ENETUNREACH', 'ENETDOWN',
]);

/**
 * Prisma's codes for an unreachable or overloaded database: P1001 can't reach, P1002 timed out,
 * P1008 operation timed out, P1011 TLS, P1017 connection closed, P2024 pool timeout, P2028
 * transaction timed out or closed, P2034 write conflict or deadlock (retry), P2037 too many
 * connections.
 */
const PRISMA_CODES = new Set(['P1001', 'P1002', 'P1008', 'P1011', 'P1017', 'P2024', 'P2028', 'P2034', 'P2037']);

/**
 * Driver adapter error kinds (@prisma/driver-adapter-utils MappedError; adapter-pg maps
 * ECONNREFUSED/ENOTFOUND, ECONNRESET, ETIMEDOUT, TLS failures and SQLSTATE 53300 onto them).
 */
const ADAPTER_KINDS = new Set([
  'DatabaseNotReachable', 'ConnectionClosed', 'SocketTimeout', 'TlsConnectionError', 'TooManyConnections',
  'TransactionWriteConflict', 'TransactionAlreadyClosed',
]);

/**
 * SQLSTATEs of a server that is going away, overloaded, or that cancelled a statement for taking
 * too long: class 08 (connection exception), 53 (insufficient resources), 57P0x (shutdown,
 * cannot connect now), 57014 (statement_timeout), 55P03 (lock_timeout), 25P03
 * (idle_in_transaction_session_timeout), 40001/40P01 (serialization failure, deadlock: retry).
 */
const SQLSTATES = /^(08[0-9A-Z]{3}|53[0-9A-Z]{3}|57P0[1-5]|57014|55P03|25P03|40001|40P01)$/;

/** What pg and pg-pool throw (plain Errors, no code) when the server or the network stalls. */
const PG_MESSAGES = [
  /^Connection terminated/i, // unexpectedly / due to connection timeout
  /^timeout exceeded when trying to connect$/i, // pg-pool: no client free within connectionTimeoutMillis
  /^Query read timeout$/i, // pg: query_timeout
  /is not queryable/i, // a client whose connection already failed
  /^Can't reach database server/i,
];

/** AWS SDK v3 error names of a service that is down, overloaded, throttling or too slow. */
const AWS_NAMES = new Set([
  'TimeoutError', 'RequestTimeout', 'RequestTimeoutException', 'ServiceUnavailable', 'ServiceUnavailableException',
  'InternalServerError', 'InternalFailure', 'InternalServerException', 'ThrottlingException', 'Throttling',
  'ThrottledException', 'TooManyRequestsException', 'RequestLimitExceeded', 'LimitExceededException',
  'ProvisionedThroughputExceededException', 'TransactionConflictException', 'TransactionInProgressException',
]);

interface ErrorShape {
  name?: unknown;
  code?: unknown;
  message?: unknown;
  cause?: unknown;
  errors?: unknown;
  kind?: unknown;
  originalCode?: unknown;
  meta?: { code?: unknown; driverAdapterError?: unknown };
  $metadata?: { httpStatusCode?: unknown };
  $retryable?: unknown;
}

/** Whether this one error (not what it wraps) says a backing service is down or too slow. */
function isOutageItself(shape: ErrorShape): boolean {
  const { name, code, message, kind } = shape;
  if (typeof code === 'string' && (NETWORK_CODES.has(code) || PRISMA_CODES.has(code) || SQLSTATES.test(code))) return true;
  if (typeof name === 'string' && (name === 'PrismaClientInitializationError' || AWS_NAMES.has(name))) return true;
  if (typeof kind === 'string' && ADAPTER_KINDS.has(kind)) return true;
  // A driver adapter's `postgres` kind carries the SQLSTATE as `code` (handled above) or `originalCode`.
  if (typeof shape.originalCode === 'string' && SQLSTATES.test(shape.originalCode)) return true;
  if (typeof shape.meta?.code === 'string' && SQLSTATES.test(shape.meta.code)) return true;
  if (typeof message === 'string' && PG_MESSAGES.some((pattern) => pattern.test(message))) return true;
  // An AWS service error: 5xx, 429, or retryable throttling.
  const status = shape.$metadata?.httpStatusCode;
  if (typeof status === 'number' && (status >= 500 || status === 429)) return true;
  const retryable = shape.$retryable as { throttling?: unknown } | undefined;
  return typeof retryable === 'object' && retryable !== null && retryable.throttling === true;
}

/** Whether `error`, or anything it wraps, says Postgres or DynamoDB is down or too slow. */
export function isOutage(error: unknown): boolean {
  const seen = new Set<unknown>();
  const pending: unknown[] = [error];
  while (pending.length > 0 && seen.size < 32) {
    const next = pending.pop();
    if (!next || typeof next !== 'object' || seen.has(next)) continue;
    seen.add(next);
    // A refusal the caller can act on is never an outage, whatever it wraps.
    if (next instanceof ChatError && next.code !== 'UNAVAILABLE') continue;
    const shape = next as ErrorShape;
    if (next instanceof ChatError || isOutageItself(shape)) return true;
    pending.push(shape.cause, shape.meta?.driverAdapterError);
    if (Array.isArray(shape.errors)) pending.push(...(shape.errors as unknown[]));
  }
  return false;
}

/** The `Retry-After` of a 429, in whole seconds rounded up (at least 1), from `details.retryAfterMs`. */
export function retryAfterSeconds(details: unknown): number {
  const ms = (details as { retryAfterMs?: unknown } | null | undefined)?.retryAfterMs;
  return typeof ms === 'number' && Number.isFinite(ms) ? Math.max(1, Math.ceil(ms / 1000)) : 1;
}

/** Zod issues as `[{path, message}]`, the contract's `details` for VALIDATION_ERROR. */
export function zodDetails(error: ZodError): { path: string; message: string }[] {
  return error.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message }));
}

export function describeError(error: unknown): DescribedError {
  if (error instanceof ChatError) {
    return { status: error.status, code: error.code, message: error.message, details: error.details, internal: error.status >= 500 };
  }
  if (error instanceof ZodError) {
    return { status: 400, code: 'VALIDATION_ERROR', message: 'The request is not valid', details: zodDetails(error), internal: false };
  }
  if (isOutage(error)) {
    return { status: ERROR_STATUS.UNAVAILABLE, code: 'UNAVAILABLE', message: 'The service is temporarily unavailable, try again', internal: true };
  }
  return { status: 500, code: 'INTERNAL', message: 'Something went wrong on our side', internal: true };
}

export function errorBody(described: DescribedError): { error: { code: ErrorCode; message: string; details?: unknown } } {
  return {
    error: {
      code: described.code,
      message: described.message,
      ...(described.details === undefined ? {} : { details: described.details }),
    },
  };
}
