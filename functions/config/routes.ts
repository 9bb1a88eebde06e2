/**
 * The route manifest: every HTTP route and WebSocket route key, and the handler module that
 * serves it. The CDK stack and the local API Gateway emulator both read this list, so the
 * deployed API and the local one can never disagree.
 *
 * A handler module lives at `functions/handlers/<entry>.ts` and exports `handler`.
 */
import { ROUTE_KEYS, WS_ACTIONS, type RouteKey } from '#core/protocol';
import type { QueueKey } from './queues.ts';

export const API_BASE_PATH = '/api/provider-customer-chat';

export type HttpMethod = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';

export interface HttpRoute {
  /** A stable name: the Lambda function's logical id and the OpenAPI operationId. */
  name: string;
  method: HttpMethod;
  /** API Gateway path syntax: `{param}` for path parameters. */
  path: string;
  /** The handler module under functions/handlers, without extension. */
  entry: string;
  /** Whether API Gateway's JWT authorizer guards the route. */
  authorized: boolean;
  /** Whether the function needs Postgres (and so runs in the VPC beside RDS Proxy). */
  database: boolean;
  summary: string;
}

export interface WebSocketRoute {
  /** API Gateway route key: `$connect`, `$disconnect`, `$default` or an action name. */
  routeKey: string;
  name: string;
  entry: string;
  database: boolean;
  summary: string;
}

const conversation = `${API_BASE_PATH}/conversations/{conversationId}`;

export const HTTP_ROUTES = [
  { name: 'startConversation', method: 'POST', path: `${API_BASE_PATH}/conversations`, entry: 'http/start-conversation', authorized: true, database: true, summary: 'Start a conversation between a provider and a customer, or get the ACTIVE one' },
  { name: 'listConversations', method: 'GET', path: `${API_BASE_PATH}/conversations`, entry: 'http/list-conversations', authorized: true, database: true, summary: "The caller's conversations, newest activity first" },
  { name: 'getMessages', method: 'GET', path: `${conversation}/messages`, entry: 'http/read-messages', authorized: true, database: true, summary: 'Message history: by page, after a seq, or before a seq' },
  { name: 'sendMessage', method: 'POST', path: `${conversation}/messages`, entry: 'http/send-message', authorized: true, database: true, summary: 'Send a message (idempotent by clientMessageId)' },
  { name: 'markRead', method: 'PATCH', path: `${conversation}/read`, entry: 'http/mark-read', authorized: true, database: true, summary: "Mark every message from the other side read for the caller's side" },
  { name: 'archiveConversation', method: 'PATCH', path: `${conversation}/archive`, entry: 'http/archive-conversation', authorized: true, database: true, summary: "Archive the conversation for the caller's side" },
  { name: 'getTyping', method: 'GET', path: `${conversation}/typing`, entry: 'http/get-typing', authorized: true, database: true, summary: 'Who is typing in a conversation now' },
  { name: 'onlineUsers', method: 'GET', path: `${API_BASE_PATH}/online-users`, entry: 'http/online-users', authorized: true, database: true, summary: 'Online users who share a conversation with the caller' },
  { name: 'editMessage', method: 'PATCH', path: `${conversation}/messages/{messageId}`, entry: 'http/edit-message', authorized: true, database: true, summary: "Edit a TEXT message's content (its sender, within CHAT_EDIT_WINDOW_SECONDS)" },
  { name: 'deleteMessage', method: 'DELETE', path: `${conversation}/messages/{messageId}`, entry: 'http/delete-message', authorized: true, database: true, summary: 'Delete a message, leaving a tombstone (its sender, or an admin)' },
  { name: 'addReaction', method: 'PUT', path: `${conversation}/messages/{messageId}/reactions/{emoji}`, entry: 'http/react', authorized: true, database: true, summary: "Add the caller's reaction to a message (idempotent)" },
  { name: 'removeReaction', method: 'DELETE', path: `${conversation}/messages/{messageId}/reactions/{emoji}`, entry: 'http/react', authorized: true, database: true, summary: "Remove the caller's reaction from a message (idempotent)" },
  { name: 'blockConversation', method: 'POST', path: `${conversation}/block`, entry: 'http/conversation-status', authorized: true, database: true, summary: 'Block the conversation: no more sends, and no new conversation for the pair while blocked' },
  { name: 'unblockConversation', method: 'POST', path: `${conversation}/unblock`, entry: 'http/conversation-status', authorized: true, database: true, summary: 'Lift a block (the side that blocked, or an admin)' },
  { name: 'endConversation', method: 'POST', path: `${conversation}/end`, entry: 'http/conversation-status', authorized: true, database: true, summary: "End the conversation for good (the provider's staff, or an admin)" },
  { name: 'assignConversation', method: 'PATCH', path: `${conversation}/assignee`, entry: 'http/conversation-status', authorized: true, database: true, summary: "Assign the conversation to a staff user in the provider's shared inbox (or to nobody)" },
  { name: 'reportMessage', method: 'POST', path: `${conversation}/messages/{messageId}/report`, entry: 'http/report-message', authorized: true, database: true, summary: "Report a message of the other side to the admins (once per user and message)" },
  { name: 'searchMessages', method: 'GET', path: `${API_BASE_PATH}/search/messages`, entry: 'http/read-messages', authorized: true, database: true, summary: 'Full-text search over the messages the caller may read, best match first' },
  { name: 'listReports', method: 'GET', path: `${API_BASE_PATH}/moderation/reports`, entry: 'http/moderation', authorized: true, database: true, summary: "The admins' review queue, oldest first" },
  { name: 'resolveReport', method: 'POST', path: `${API_BASE_PATH}/moderation/reports/{reportId}/resolve`, entry: 'http/moderation', authorized: true, database: true, summary: 'Resolve a report: dismiss it, or delete the message, block or end the conversation as the admin' },
  { name: 'registerDevice', method: 'POST', path: `${API_BASE_PATH}/devices`, entry: 'http/devices', authorized: true, database: true, summary: "Register the caller's push token (moves a token registered to another user)" },
  { name: 'listDevices', method: 'GET', path: `${API_BASE_PATH}/devices`, entry: 'http/devices', authorized: true, database: true, summary: "The caller's registered devices (never a whole token)" },
  { name: 'deleteDevice', method: 'DELETE', path: `${API_BASE_PATH}/devices/{deviceId}`, entry: 'http/devices', authorized: true, database: true, summary: "Forget one of the caller's devices: no more pushes to it" },
  { name: 'muteConversation', method: 'PATCH', path: `${conversation}/notifications`, entry: 'http/mute-conversation', authorized: true, database: true, summary: 'Mute or unmute pushes of a conversation for the caller (optionally until a time)' },
  { name: 'createAttachment', method: 'POST', path: `${conversation}/attachments`, entry: 'http/attachments', authorized: true, database: true, summary: 'Ask to upload a file: a PENDING attachment and a presigned POST straight to storage' },
  { name: 'getAttachment', method: 'GET', path: `${conversation}/attachments/{attachmentId}`, entry: 'http/attachments', authorized: true, database: true, summary: 'An attachment: its status, type, size and, for images, dimensions' },
  { name: 'getAttachmentContent', method: 'GET', path: `${conversation}/attachments/{attachmentId}/content`, entry: 'http/attachments', authorized: true, database: true, summary: "Redirect (302) to a short-lived signed URL of the attachment's original or thumbnail" },
  { name: 'providerStats', method: 'GET', path: `${API_BASE_PATH}/providers/{providerId}/stats`, entry: 'http/provider-stats', authorized: true, database: true, summary: "A provider's volumes and first-response times over a range (its staff, or an admin)" },
  { name: 'sync', method: 'GET', path: `${API_BASE_PATH}/sync`, entry: 'http/sync', authorized: true, database: true, summary: 'Every change visible to the caller since a cursor, in order, exactly once' },
  { name: 'health', method: 'GET', path: '/health', entry: 'http/health', authorized: false, database: true, summary: 'Readiness: 200 once Postgres and DynamoDB answer' },
  { name: 'apiDocs', method: 'GET', path: '/api/docs', entry: 'http/api-docs', authorized: false, database: false, summary: 'The OpenAPI document and a page to read it' },
  { name: 'openApiDocument', method: 'GET', path: '/api/docs/openapi.json', entry: 'http/api-docs', authorized: false, database: false, summary: 'The OpenAPI 3.1 document' },
] as const satisfies readonly HttpRoute[];

/** One WebSocket action's route, as WS_ACTIONS declares it. */
type ActionRoute = {
  [K in RouteKey]: { routeKey: K; name: `ws${Capitalize<K>}`; entry: (typeof WS_ACTIONS)[K]['entry']; database: (typeof WS_ACTIONS)[K]['database']; summary: string };
}[RouteKey];

/** Every action's route key, from the one declaration of the WebSocket actions (functions/core/protocol/actions.ts). */
const ACTION_ROUTES = ROUTE_KEYS.map((routeKey) => ({
  routeKey,
  name: `ws${routeKey.charAt(0).toUpperCase()}${routeKey.slice(1)}`,
  entry: WS_ACTIONS[routeKey].entry,
  database: WS_ACTIONS[routeKey].database,
  summary: WS_ACTIONS[routeKey].summary,
})) as ActionRoute[];

export const WEBSOCKET_ROUTES = [
  { routeKey: '$connect', name: 'wsConnect', entry: 'ws/connect', database: true, summary: 'Verify ?token, or admit a bare connection that must authenticate within 30 s' },
  { routeKey: '$disconnect', name: 'wsDisconnect', entry: 'ws/disconnect', database: true, summary: 'Forget the connection, its rooms and its presence' },
  { routeKey: '$default', name: 'wsDefault', entry: 'ws/default', database: true, summary: "The protocol shim: seed event names, bad JSON and unknown actions" },
  ...ACTION_ROUTES,
] as const satisfies readonly WebSocketRoute[];

export interface QueueConsumer {
  name: string;
  entry: string;
  /** The queue whose messages trigger it (functions/config/queues.ts). */
  queue: QueueKey;
  /** Records per invocation at most (SQS event source mapping: 1 to 10 without a window). */
  batchSize: number;
  /** How long the event source waits to fill a batch. */
  maxBatchingWindowSeconds: number;
  database: boolean;
  summary: string;
}

export interface ScheduledTask {
  name: string;
  entry: string;
  /** How often it runs in AWS (an EventBridge rate). */
  everyMinutes: number;
  /** How often the local runtime runs it. */
  localEverySeconds: number;
  database: boolean;
  summary: string;
}

export const SCHEDULED_TASKS = [
  { name: 'closeUnauthenticated', entry: 'scheduled/close-unauthenticated', everyMinutes: 1, localEverySeconds: 5, database: false, summary: 'Close bare WebSocket connections that did not authenticate in time' },
  { name: 'republishEvents', entry: 'scheduled/republish-events', everyMinutes: 1, localEverySeconds: 5, database: true, summary: 'Publish again the changes whose after-commit event never reached the events queue' },
  { name: 'sweepAttachments', entry: 'scheduled/sweep-attachments', everyMinutes: 60, localEverySeconds: 300, database: true, summary: 'Delete uploads no message claimed within CHAT_ATTACHMENT_ORPHAN_HOURS, records and objects' },
  { name: 'purgeChanges', entry: 'scheduled/purge-changes', everyMinutes: 60, localEverySeconds: 600, database: true, summary: 'Delete change-log rows older than CHAT_SYNC_RETENTION_DAYS' },
] as const satisfies readonly ScheduledTask[];

/** Queue-triggered handlers: the fourth trigger kind. */
export const QUEUE_CONSUMERS = [
  { name: 'routeEvents', entry: 'queue/route-events', queue: 'events', batchSize: 10, maxBatchingWindowSeconds: 1, database: true, summary: 'Mark each domain event published and forward it to the consumers of its type' },
  { name: 'fileFlaggedMessages', entry: 'queue/file-flagged-messages', queue: 'moderation', batchSize: 10, maxBatchingWindowSeconds: 1, database: true, summary: 'File each message the contact-detail policy flagged as an off_platform report for the admins' },
  { name: 'sendPushes', entry: 'queue/send-pushes', queue: 'push', batchSize: 10, maxBatchingWindowSeconds: 1, database: true, summary: "Push a new message to the receiving side's devices that have no live connection" },
  { name: 'deliverWebhooks', entry: 'queue/deliver-webhooks', queue: 'webhooks', batchSize: 10, maxBatchingWindowSeconds: 1, database: true, summary: 'POST each event, signed, to the webhook receiver; retry with backoff for 24 hours, then dead-letter' },
  { name: 'processAttachments', entry: 'queue/process-attachments', queue: 'attachments', batchSize: 5, maxBatchingWindowSeconds: 0, database: true, summary: "Check each upload's bytes against its declared type, strip image metadata, make the thumbnail, then READY or REJECTED" },
] as const satisfies readonly QueueConsumer[];

/** Every distinct handler entry (one Lambda function each). */
export const HANDLER_ENTRIES = [...new Set([...HTTP_ROUTES, ...WEBSOCKET_ROUTES, ...SCHEDULED_TASKS, ...QUEUE_CONSUMERS].map((route) => route.entry))];
