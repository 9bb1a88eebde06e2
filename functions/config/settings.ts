/**
 * Every environment variable the product reads, defined once and validated with zod at cold
 * start. A bad value fails fast with the variable's name, never later in a request.
 */
import * as z from 'zod';
import { CONTACT_INFO_POLICIES, isPhoneCountry } from '#core/contact-info-policy';
import { PUSH_PREVIEWS } from '#core/push-notification';

const positiveInt = z.coerce.number().int().positive();
const optionalUrl = z.url().optional();

/** What an upload may be by default: photos, PDFs, voice notes and short videos. */
export const DEFAULT_ATTACHMENT_TYPES =
  'image/jpeg,image/png,image/webp,image/heic,image/gif,application/pdf,audio/mpeg,audio/mp4,audio/aac,audio/ogg,video/mp4';

export const settingsSchema = z.object({
  // The seed's chat settings.
  CHAT_MESSAGE_LIMIT: positiveInt.max(1000).default(100),
  CHAT_TYPING_TIMEOUT: positiveInt.default(3000),
  CHAT_MAX_CONNECTIONS_PER_USER: positiveInt.max(100).default(3),
  // The product's own limits.
  CHAT_MAX_CONTENT_LENGTH: positiveInt.max(16_000).default(4000),
  /** UTF-8 bytes of a message's metadata, serialised as JSON (keeps a message in one WebSocket frame). */
  CHAT_MAX_METADATA_BYTES: positiveInt.max(16_384).default(8192),
  CHAT_SEND_RATE_LIMIT: positiveInt.default(30),
  CHAT_SEND_RATE_WINDOW_MS: positiveInt.default(10_000),
  CHAT_AUTH_TIMEOUT_MS: positiveInt.default(30_000),
  CHAT_CONNECTION_TTL_SECONDS: positiveInt.default(2 * 60 * 60 + 5 * 60),
  CHAT_PRESENCE_TTL_DAYS: positiveInt.default(30),
  /** How long the change log keeps changes; an older `/sync` cursor answers 410 CURSOR_EXPIRED. */
  CHAT_SYNC_RETENTION_DAYS: positiveInt.max(3650).default(30),
  /** How long after sending its sender may edit a TEXT message. */
  CHAT_EDIT_WINDOW_SECONDS: positiveInt.default(900),
  /** Distinct emoji one message may carry. */
  CHAT_MAX_REACTIONS_PER_MESSAGE: positiveInt.max(100).default(20),
  /** A change whose event is not confirmed published after this long is published again by the sweeper. */
  CHAT_EVENT_REPUBLISH_AFTER_SECONDS: positiveInt.default(30),
  /**
   * Phone numbers, e-mail addresses and links in TEXT messages: `allow`; `flag` (stored, with
   * `metadata.flags: ["contact_info"]`, and an OPEN `off_platform` report for the admins); `mask`
   * (each replaced by `[hidden]`); `reject` (400 VALIDATION_ERROR, `details.reason: "contact_info"`).
   */
  CHAT_CONTACT_INFO_POLICY: z.enum(CONTACT_INFO_POLICIES).default('flag'),
  /** The country whose national formats phone numbers without a `+` are read in (ISO 3166-1 alpha-2). */
  CHAT_PHONE_DEFAULT_COUNTRY: z
    .string()
    .toUpperCase()
    .refine(isPhoneCountry, 'an ISO 3166-1 alpha-2 country code that has a numbering plan, such as DE or US')
    .default('DE'),
  /** What a push shows: `full` (the content, or its kind) or `none` (only "New message"). */
  CHAT_PUSH_PREVIEW: z.enum(PUSH_PREVIEWS).default('full'),

  // Signed webhooks (functions/core/webhooks.ts). Unset URL: no event is forwarded to the webhooks queue.
  /** Where the product POSTs its webhook events (http or https). */
  CHAT_WEBHOOK_URL: z.url({ protocol: /^https?$/ }).optional(),
  /** The signing secret, locally (in AWS it comes from Secrets Manager: CHAT_WEBHOOK_SECRET_ARN). */
  CHAT_WEBHOOK_SECRET: z.string().min(16, 'at least 16 characters').optional(),
  /** The Secrets Manager secret whose SecretString is the signing secret (set by the stack). */
  CHAT_WEBHOOK_SECRET_ARN: z.string().startsWith('arn:').optional(),
  /** How long one delivery attempt waits for the receiver's answer. */
  CHAT_WEBHOOK_TIMEOUT_MS: positiveInt.max(20_000).default(5000),
  /** The wait after the first failed attempt; it doubles with each further one. */
  CHAT_WEBHOOK_RETRY_BASE_SECONDS: positiveInt.max(3600).default(30),
  /** The longest wait between two attempts (SQS allows a visibility timeout of 12 hours at most). */
  CHAT_WEBHOOK_RETRY_MAX_SECONDS: positiveInt.max(43_200).default(3600),

  // Attachments (functions/core/attachments.ts): presigned uploads straight to the bucket.
  /** The content types an upload may declare (comma-separated `type/subtype`). */
  CHAT_ATTACHMENT_TYPES: z
    .string()
    .transform((list) => list.split(',').map((type) => type.trim().toLowerCase()).filter(Boolean))
    .pipe(z.array(z.string().regex(/^[a-z0-9][a-z0-9!#$&^_.+-]*\/[a-z0-9][a-z0-9!#$&^_.+-]*$/, 'a list of type/subtype content types')).min(1))
    .default(DEFAULT_ATTACHMENT_TYPES.split(',')),
  /** The largest upload, in bytes (the presigned POST's content-length-range, enforced by the storage). */
  CHAT_MAX_ATTACHMENT_BYTES: positiveInt.max(100 * 1024 * 1024).default(10 * 1024 * 1024),
  /** How long an upload intent's presigned POST is valid. */
  CHAT_UPLOAD_URL_TTL_SECONDS: positiveInt.max(7 * 24 * 60 * 60).default(300),
  /** How long a download redirect's presigned GET is valid. */
  CHAT_DOWNLOAD_URL_TTL_SECONDS: positiveInt.max(7 * 24 * 60 * 60).default(300),
  /** Uploads no message claimed are deleted after this many hours. */
  CHAT_ATTACHMENT_ORPHAN_HOURS: positiveInt.max(24 * 365).default(24),
  /** The attachments bucket (set by the stack; locally by the runtime). */
  ATTACHMENTS_BUCKET: z.string().min(3).optional(),
  /** Only set locally: the S3-compatible endpoint's URL (path-style addressing). */
  S3_ENDPOINT: optionalUrl,

  // DynamoDB tables (names come from the stack; the local runtime uses the defaults).
  CONNECTIONS_TABLE: z.string().min(3).default('chat-connections'),
  SUBSCRIPTIONS_TABLE: z.string().min(3).default('chat-subscriptions'),
  PRESENCE_TABLE: z.string().min(3).default('chat-presence'),
  TYPING_TABLE: z.string().min(3).default('chat-typing'),
  RATE_LIMITS_TABLE: z.string().min(3).default('chat-rate-limits'),
  /** Only set locally: the DynamoDB emulator's endpoint. */
  DYNAMODB_ENDPOINT: optionalUrl,
  // Every DynamoDB call is bounded so an outage answers 503 well inside the 10 s function timeout:
  // at most DYNAMODB_MAX_ATTEMPTS × (DYNAMODB_CONNECT_TIMEOUT_MS + DYNAMODB_REQUEST_TIMEOUT_MS).
  /** Opening a connection to DynamoDB. */
  DYNAMODB_CONNECT_TIMEOUT_MS: positiveInt.max(30_000).default(1000),
  /** One DynamoDB request, from sending it to its last byte. */
  DYNAMODB_REQUEST_TIMEOUT_MS: positiveInt.max(30_000).default(1500),
  /** Attempts per DynamoDB call, the first included (the SDK retries throttles, 5xx and network errors). */
  DYNAMODB_MAX_ATTEMPTS: positiveInt.max(10).default(2),

  // Postgres: a URL locally; in AWS a Secrets Manager secret read through RDS Proxy.
  DATABASE_URL: z.string().startsWith('postgres').optional(),
  DATABASE_SECRET_ARN: z.string().startsWith('arn:').optional(),
  DATABASE_HOST: z.string().optional(),
  DATABASE_NAME: z.string().default('chat'),
  DATABASE_POOL_SIZE: positiveInt.max(50).default(2),
  // Postgres stalls end well inside the function timeout (10 s in AWS, 30 s locally) with 503, so
  // the client retries (a send with its clientMessageId gets the stored message) instead of
  // Lambda timing out. Worst case for one query: connect + statement + 1 s.
  /** Opening a connection, and waiting for a free one of the pool (pg's connectionTimeoutMillis). */
  DATABASE_CONNECT_TIMEOUT_MS: positiveInt.max(30_000).default(2000),
  /**
   * The server cancels a statement (lock waits included) running longer than this
   * (statement_timeout; also idle_in_transaction_session_timeout). The client gives up waiting
   * for an answer 1 s later (query_timeout), for when the network, not the server, stalls.
   */
  DATABASE_STATEMENT_TIMEOUT_MS: positiveInt.max(30_000).default(3000),

  // SQS queues (functions/config/queues.ts): URLs come from the stack; locally from the runtime.
  EVENTS_QUEUE_URL: optionalUrl,
  PUSH_QUEUE_URL: optionalUrl,
  MODERATION_QUEUE_URL: optionalUrl,
  WEBHOOKS_QUEUE_URL: optionalUrl,
  /** The attachments queue: the bucket's ObjectCreated notifications for uploads. */
  ATTACHMENTS_QUEUE_URL: optionalUrl,
  /** The webhooks queue's dead-letter queue: where a delivery that was given up goes. */
  WEBHOOKS_DEAD_LETTER_QUEUE_URL: optionalUrl,
  /** Only set locally: the SQS emulator's endpoint. */
  SQS_ENDPOINT: optionalUrl,

  // Push: SNS platform applications (from the stack's context; locally the runtime's own). A
  // platform without one stores devices and sends nothing to them.
  PUSH_APNS_APPLICATION_ARN: z.string().startsWith('arn:').optional(),
  PUSH_FCM_APPLICATION_ARN: z.string().startsWith('arn:').optional(),
  /** Only set locally: the SNS emulator's endpoint. */
  SNS_ENDPOINT: optionalUrl,

  // WebSocket management API (the @connections callback URL).
  WEBSOCKET_CALLBACK_URL: optionalUrl,

  // Token verification.
  AUTH_ISSUER: z.string().min(1).optional(),
  AUTH_AUDIENCE: z.string().min(1).optional(),
  AUTH_JWKS_URI: optionalUrl,
  AUTH_CLAIM_USER_ID: z.string().min(1).default('userId'),
  AUTH_CLAIM_ROLE: z.string().min(1).default('role'),
  AUTH_CLAIM_PROVIDER_ID: z.string().min(1).default('providerId'),
  /**
   * An OAuth scope that makes a token a service's (a marketplace backend), e.g. `chat/service`:
   * for Cognito client-credentials access tokens, which carry `scope` and no custom claims. Unset:
   * only a `role` claim of `service` does.
   */
  AUTH_SERVICE_SCOPE: z.string().regex(/^\S+$/, 'one scope, without spaces').optional(),

  AWS_REGION: z.string().min(1).default('us-east-1'),
});

export type Settings = z.infer<typeof settingsSchema>;

/** Thrown at cold start when the environment is wrong; names every bad variable. */
export class SettingsError extends Error {
  constructor(readonly issues: { variable: string; problem: string }[]) {
    super(`Invalid configuration: ${issues.map((i) => `${i.variable}: ${i.problem}`).join('; ')}`);
    this.name = 'SettingsError';
  }
}

/** Parses settings from an environment (process.env by default). Empty strings count as unset. */
export function loadSettings(env: Record<string, string | undefined> = process.env): Settings {
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const parsed = settingsSchema.safeParse(present);
  if (!parsed.success) {
    throw new SettingsError(
      parsed.error.issues.map((issue) => ({ variable: issue.path.join('.'), problem: issue.message })),
    );
  }
  return parsed.data;
}

let cached: Settings | undefined;

/** The process's settings, parsed once per container. */
export function settings(): Settings {
  cached ??= loadSettings();
  return cached;
}
