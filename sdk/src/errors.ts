import type { ErrorCode } from './protocol.ts';

/** Codes of the client's own, beside the contract's error codes. */
export type ClientErrorCode = 'DISCONNECTED' | 'TIMEOUT' | 'NETWORK' | 'CLOSED' | 'UPLOAD_REFUSED';

/** An error the API answered (HTTP or `chat-error`), or one of the client's own. */
export class ChatError extends Error {
  override readonly name = 'ChatError';
  constructor(
    readonly code: ErrorCode | ClientErrorCode,
    message: string,
    readonly details?: unknown,
    /** The HTTP status, for an error of the REST API. */
    readonly status?: number,
  ) {
    super(message);
  }
}

/** Refusals that retrying cannot change: the outbox marks the message failed. */
const PERMANENT: ReadonlySet<string> = new Set(['VALIDATION_ERROR', 'FORBIDDEN', 'NOT_FOUND', 'CONFLICT', 'PAYLOAD_TOO_LARGE']);

export function isPermanent(error: unknown): boolean {
  return error instanceof ChatError && PERMANENT.has(error.code);
}
