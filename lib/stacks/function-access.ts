/**
 * What each handler may touch, beyond Postgres (which the route manifest's `database` flag
 * decides): the DynamoDB tables it reads or writes and whether it posts to WebSocket connections.
 * The stateless stack grants exactly this and nothing else, so a function's IAM policy names only
 * its own tables.
 *
 * Keyed by the manifest's handler entries: the type makes a new entry in
 * functions/config/routes.ts fail to compile until its access is written down here.
 */
import type { HTTP_ROUTES, SCHEDULED_TASKS, WEBSOCKET_ROUTES } from '#config/routes';
import type { TableKey } from '#config/tables';

/** A handler module under functions/handlers, as the route manifest names it. */
export type HandlerEntry =
  | (typeof HTTP_ROUTES)[number]['entry']
  | (typeof WEBSOCKET_ROUTES)[number]['entry']
  | (typeof SCHEDULED_TASKS)[number]['entry'];

/** read: Get/BatchGet/Query/Scan/DescribeTable; readWrite adds Put/Update/Delete/BatchWrite. */
export type TableAccess = 'read' | 'readWrite';

export interface FunctionAccess {
  tables: Partial<Record<TableKey, TableAccess>>;
  /** Posts frames to, or closes, WebSocket connections through `@connections`. */
  connectionsApi: boolean;
}

/**
 * Fan-out (functions/core/use-cases/fan-out.ts): reads the parties' connections and room
 * members, posts through `@connections`, and prunes gone connections (deleting the connection,
 * its subscriptions and its presence entry).
 */
const FAN_OUT: FunctionAccess = {
  tables: { connections: 'readWrite', subscriptions: 'readWrite', presence: 'readWrite' },
  connectionsApi: true,
};

const NOTHING: FunctionAccess = { tables: {}, connectionsApi: false };

function extend(base: FunctionAccess, tables: FunctionAccess['tables']): FunctionAccess {
  return { tables: { ...base.tables, ...tables }, connectionsApi: base.connectionsApi };
}

export const FUNCTION_ACCESS: Record<HandlerEntry, FunctionAccess> = {
  // HTTP: Postgres only, unless the route fans out or reads live state.
  'http/start-conversation': NOTHING,
  'http/list-conversations': NOTHING,
  'http/get-messages': NOTHING,
  'http/archive-conversation': NOTHING,
  'http/send-message': extend(FAN_OUT, { rateLimits: 'readWrite' }),
  'http/mark-read': FAN_OUT,
  'http/get-typing': { tables: { typing: 'read' }, connectionsApi: false },
  'http/online-users': { tables: { presence: 'read' }, connectionsApi: false },
  // Readiness pings DynamoDB through the connections table.
  'http/health': { tables: { connections: 'read' }, connectionsApi: false },
  'http/api-docs': NOTHING,

  // WebSocket: every route answers its own connection through @connections, and every route but
  // authenticate and ping first reads the connection's identity (a late bare one is closed).
  'ws/connect': FAN_OUT,
  'ws/disconnect': FAN_OUT,
  'ws/authenticate': FAN_OUT,
  // Replies to the caller only (no fan-out, so no pruning).
  'ws/join-conversation': { tables: { connections: 'read', subscriptions: 'readWrite' }, connectionsApi: true },
  'ws/leave-conversation': { tables: { connections: 'read', subscriptions: 'readWrite' }, connectionsApi: true },
  'ws/send-message': extend(FAN_OUT, { rateLimits: 'readWrite' }),
  'ws/typing': extend(FAN_OUT, { typing: 'readWrite' }),
  'ws/update-message-status': FAN_OUT,
  'ws/mark-read': FAN_OUT,
  // Answers chat-pong and touches no state.
  'ws/ping': { tables: {}, connectionsApi: true },
  // The protocol shim dispatches seed event names to every action above, so it needs their union.
  'ws/default': extend(FAN_OUT, { typing: 'readWrite', rateLimits: 'readWrite' }),

  // Scheduled: finds bare connections past their deadline (byAuthDeadline index), tells each
  // why, closes it and deletes its record.
  'scheduled/close-unauthenticated': { tables: { connections: 'readWrite' }, connectionsApi: true },
};
