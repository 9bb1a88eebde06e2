/**
 * Domain errors. Each carries one of the wire contract's error codes; the HTTP and
 * WebSocket error mappers turn them into status codes and `chat-error` frames.
 */
export const ERROR_STATUS = {
  VALIDATION_ERROR: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  /** A `/sync` cursor older than the change log keeps (CHAT_SYNC_RETENTION_DAYS): start over without one. */
  CURSOR_EXPIRED: 410,
  PAYLOAD_TOO_LARGE: 413,
  RATE_LIMITED: 429,
  UNAVAILABLE: 503,
  INTERNAL: 500,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

/** A failure the caller can act on; its message is safe to show. */
export class ChatError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = new.target.name;
  }

  get status(): number {
    return ERROR_STATUS[this.code];
  }
}

export class ValidationError extends ChatError {
  constructor(message: string, details?: unknown) {
    super('VALIDATION_ERROR', message, details);
  }
}
export class UnauthorizedError extends ChatError {
  constructor(message = 'A valid token is required') {
    super('UNAUTHORIZED', message);
  }
}
export class ForbiddenError extends ChatError {
  constructor(message = 'You may not access this resource') {
    super('FORBIDDEN', message);
  }
}
export class NotFoundError extends ChatError {
  constructor(message = 'Not found') {
    super('NOT_FOUND', message);
  }
}
export class ConflictError extends ChatError {
  constructor(message: string, details?: unknown) {
    super('CONFLICT', message, details);
  }
}
/** A `/sync` cursor whose changes the log no longer keeps: sync again from scratch (no `since`). */
export class CursorExpiredError extends ChatError {
  constructor(message = 'This sync cursor has expired; sync again without one', details?: unknown) {
    super('CURSOR_EXPIRED', message, details);
  }
}
export class PayloadTooLargeError extends ChatError {
  constructor(message: string, details?: unknown) {
    super('PAYLOAD_TOO_LARGE', message, details);
  }
}
export class RateLimitedError extends ChatError {
  constructor(message = 'Too many requests, slow down', details?: unknown) {
    super('RATE_LIMITED', message, details);
  }
}
export class UnavailableError extends ChatError {
  constructor(message = 'The service is temporarily unavailable') {
    super('UNAVAILABLE', message);
  }
}

/**
 * Not a failure: the consumer scheduled the record's next attempt itself (it stretched the
 * record's visibility timeout to a backoff of its choosing). The queue stack reports the record
 * failed so that SQS delivers it again then, logs it at INFO, and counts no failure: the consumer
 * has logged and counted its own outcome.
 */
export class RetryScheduledError extends Error {
  constructor(
    readonly reason: string,
    readonly retryInSeconds: number,
  ) {
    super(`${reason}; next attempt in ${retryInSeconds} s`);
    this.name = new.target.name;
  }
}
