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

const CONNECTION_ERROR_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'P1001', 'P1002', 'P1017', 'P2024']);

function isUnavailable(error: unknown): boolean {
  if (!error || typeof error !== 'object') return false;
  const { code, name } = error as { code?: unknown; name?: unknown };
  return (
    (typeof code === 'string' && CONNECTION_ERROR_CODES.has(code)) ||
    name === 'PrismaClientInitializationError' ||
    name === 'ProvisionedThroughputExceededException' ||
    name === 'ThrottlingException' ||
    name === 'RequestLimitExceeded'
  );
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
  if (isUnavailable(error)) {
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
