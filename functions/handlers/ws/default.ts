/**
 * WebSocket `$default`: the protocol shim. Frames whose action is a seed event name
 * (`chat-send-message`, …), and anything API Gateway could not route (bad JSON, unknown
 * actions), land here and go through the same pipeline as the route keys: it serves every action
 * of WS_ACTIONS, and its grants are their union.
 */
import { wsShimHandler } from '#handlers/shared/ws';
import { ACTION_IMPLEMENTATIONS } from './actions.ts';
import '#handlers/shared/ports/postgres';
import '#handlers/shared/ports/auth';

export const handler = wsShimHandler(ACTION_IMPLEMENTATIONS);
