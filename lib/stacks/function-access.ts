/**
 * What each handler may touch, beyond Postgres (which the route manifest's `database` flag
 * decides): the DynamoDB tables it reads or writes, whether it posts to WebSocket connections, and
 * the SQS queues it sends to or consumes. The stateless stack grants exactly this and nothing
 * else, so a function's IAM policy names only its own tables and queues.
 *
 * Keyed by the manifest's handler entries: the type makes a new entry in
 * functions/config/routes.ts fail to compile until its access is written down here.
 */
import type { QueueKey } from '#config/queues';
import type { HTTP_ROUTES, QUEUE_CONSUMERS, SCHEDULED_TASKS, WEBSOCKET_ROUTES } from '#config/routes';
import type { TableKey } from '#config/tables';
import { ROUTE_KEYS, unionOfAccess, WS_ACTIONS, type ActionAccess, type RouteKey } from '#core/protocol';

/** A handler module under functions/handlers, as the route manifest names it. */
export type HandlerEntry =
  | (typeof HTTP_ROUTES)[number]['entry']
  | (typeof WEBSOCKET_ROUTES)[number]['entry']
  | (typeof SCHEDULED_TASKS)[number]['entry']
  | (typeof QUEUE_CONSUMERS)[number]['entry'];

/** read: Get/BatchGet/Query/Scan/DescribeTable; readWrite adds Put/Update/Delete/BatchWrite. */
export type TableAccess = 'read' | 'readWrite';

/**
 * send: sqs:SendMessage on the queue, and its URL in the queue's settings variable
 * (EVENTS_QUEUE_URL, …). consume: the queue triggers the function (an event source mapping of
 * QUEUE_CONSUMERS), which may receive, delete and change the visibility of its messages.
 */
export type QueueAccess = 'send' | 'consume';

export interface FunctionAccess {
  tables: Partial<Record<TableKey, TableAccess>>;
  /** Posts frames to, or closes, WebSocket connections through `@connections`. */
  connectionsApi: boolean;
  queues: Partial<Record<QueueKey, QueueAccess>>;
  /** Pushes through SNS mobile push to the configured platform applications. */
  push?: true;
  /**
   * Delivers webhooks: reads the signing secret, and sends to the webhooks dead-letter queue what
   * it gives up (its queue's URL too, for ChangeMessageVisibility on its own records).
   */
  webhooks?: true;
  /**
   * The attachments bucket (functions/core/attachments.ts): `sign` presigns uploads under
   * `uploads/` and downloads of `files/`; `process` reads and deletes `uploads/` and writes
   * `files/`; `sweep` deletes both for attachments no message claimed.
   */
  attachments?: 'sign' | 'process' | 'sweep';
}

/**
 * Fan-out (functions/core/use-cases/fan-out.ts): reads the parties' connections and room
 * members, posts through `@connections`, and prunes gone connections (deleting the connection,
 * its subscriptions and its presence entry).
 */
const FAN_OUT: FunctionAccess = {
  tables: { connections: 'readWrite', subscriptions: 'readWrite', presence: 'readWrite' },
  connectionsApi: true,
  queues: {},
};

const NOTHING: FunctionAccess = { tables: {}, connectionsApi: false, queues: {} };

/**
 * Records changes in the change log, so publishes their domain events on the events queue after
 * commit (functions/core/events.ts).
 */
const SENDS_EVENTS: FunctionAccess['queues'] = { events: 'send' };

function extend(base: FunctionAccess, tables: FunctionAccess['tables'], queues: FunctionAccess['queues'] = {}): FunctionAccess {
  return { tables: { ...base.tables, ...tables }, connectionsApi: base.connectionsApi, queues: { ...base.queues, ...queues } };
}

/** An action's declared access as the stack grants it (actions only ever send to queues). */
function fromActionAccess(access: ActionAccess): FunctionAccess {
  return { tables: { ...access.tables }, connectionsApi: access.connectionsApi, queues: { ...access.queues } };
}

/** Each WebSocket action route's access, computed from WS_ACTIONS. */
const WS_ACTION_ACCESS = Object.fromEntries(ROUTE_KEYS.map((key) => [WS_ACTIONS[key].entry, fromActionAccess(WS_ACTIONS[key].access)])) as {
  [K in RouteKey as (typeof WS_ACTIONS)[K]['entry']]: FunctionAccess;
};

export const FUNCTION_ACCESS: Record<HandlerEntry, FunctionAccess> = {
  // HTTP: Postgres only, unless the route fans out or reads live state. Routes that change a
  // conversation record the change and publish its event.
  'http/start-conversation': extend(NOTHING, {}, SENDS_EVENTS),
  'http/list-conversations': NOTHING,
  // History and search: Postgres only.
  'http/read-messages': NOTHING,
  'http/archive-conversation': extend(NOTHING, {}, SENDS_EVENTS),
  'http/send-message': extend(FAN_OUT, {}, SENDS_EVENTS),
  'http/mark-read': extend(FAN_OUT, {}, SENDS_EVENTS),
  'http/edit-message': extend(FAN_OUT, {}, SENDS_EVENTS),
  'http/delete-message': extend(FAN_OUT, {}, SENDS_EVENTS),
  'http/react': extend(FAN_OUT, {}, SENDS_EVENTS),
  // Reads the change log: Postgres only.
  'http/sync': NOTHING,
  'http/provider-stats': NOTHING,
  'http/get-typing': { tables: { typing: 'read' }, connectionsApi: false, queues: {} },
  'http/online-users': { tables: { presence: 'read' }, connectionsApi: false, queues: {} },
  // Readiness pings DynamoDB through the connections table.
  'http/health': { tables: { connections: 'read' }, connectionsApi: false, queues: {} },
  'http/api-docs': NOTHING,
  // Status changes and assignment record a change and tell both sides.
  'http/conversation-status': extend(FAN_OUT, {}, SENDS_EVENTS),
  // Reports: a new report records its report.created change and publishes its event; resolving
  // one acts as the admin's route would (fan-out and events).
  'http/report-message': extend(NOTHING, {}, SENDS_EVENTS),
  'http/moderation': extend(FAN_OUT, {}, SENDS_EVENTS),
  // The device registry and mutes: Postgres only.
  'http/devices': NOTHING,
  'http/mute-conversation': NOTHING,
  // Attachments: Postgres and presigned URLs for the bucket (no fan-out: processing tells the uploader).
  'http/attachments': { ...NOTHING, attachments: 'sign' },

  // WebSocket: $connect signs in (evicting and announcing presence); $disconnect forgets the
  // connection and prunes. Every action route's access is declared once, with the action, in
  // WS_ACTIONS (functions/core/protocol/actions.ts).
  'ws/connect': FAN_OUT,
  'ws/disconnect': FAN_OUT,
  ...WS_ACTION_ACCESS,
  // The protocol shim dispatches seed event names to every action, so it needs their union.
  'ws/default': fromActionAccess(unionOfAccess(ROUTE_KEYS.map((key) => WS_ACTIONS[key].access))),

  // Scheduled: finds bare connections past their deadline (byAuthDeadline index), tells each
  // why, closes it and deletes its record.
  'scheduled/close-unauthenticated': { tables: { connections: 'readWrite' }, connectionsApi: true, queues: {} },
  // Publishes again, from the change log, the changes whose event was never confirmed.
  'scheduled/republish-events': extend(NOTHING, {}, SENDS_EVENTS),
  // Deletes change-log rows past retention: Postgres only.
  'scheduled/purge-changes': NOTHING,
  // Deletes the records and objects of uploads no message claimed.
  'scheduled/sweep-attachments': { ...NOTHING, attachments: 'sweep' },

  // Queue consumers: triggered by their queue (QUEUE_CONSUMERS). route-events marks each event's
  // change published (Postgres) and forwards it to the queues that subscribe to its type.
  'queue/route-events': extend(NOTHING, {}, { events: 'consume', push: 'send', moderation: 'send', webhooks: 'send' }),
  // Reads the message and files its report (Postgres), publishing the report's event.
  'queue/file-flagged-messages': extend(NOTHING, {}, { moderation: 'consume', ...SENDS_EVENTS }),
  // Reads the message, devices and badges (Postgres) and who is online (connections); the
  // platform applications' endpoints (SNS).
  'queue/send-pushes': { tables: { connections: 'read' }, connectionsApi: false, queues: { push: 'consume' }, push: true },
  // Reads what each event is about (Postgres), the signing secret (Secrets Manager), POSTs to the
  // receiver; stretches its own records' visibility and sends what it gives up to its dead-letter queue.
  'queue/deliver-webhooks': { tables: {}, connectionsApi: false, queues: { webhooks: 'consume' }, webhooks: true },
  // Reads each upload, writes what it keeps, records READY or REJECTED with its change (Postgres),
  // publishes its event and tells the uploader's own connections (fan-out).
  'queue/process-attachments': { ...extend(FAN_OUT, {}, { attachments: 'consume', ...SENDS_EVENTS }), attachments: 'process' },
};
