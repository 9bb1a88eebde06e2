/**
 * The wire protocol as zod schemas, one source of truth for validation, the protocol shim, the
 * OpenAPI document and the tests:
 *
 * - ./protocol/primitives.ts: ids, seqs, ISO times, storable JSON, one emoji;
 * - ./protocol/metadata.ts: what a message's metadata may carry that the product reads (cards);
 * - ./protocol/requests.ts: HTTP path parameters, queries and bodies;
 * - ./protocol/wire.ts: what the API answers (Message, Conversation, Presence, Attachment, Error)
 *   and the change log's entries (Change, CHANGE_DATA_SCHEMAS, the DomainEvent envelope);
 * - ./protocol/events.ts: server → client events, SERVER_EVENT_SCHEMAS;
 * - ./protocol/actions.ts: client → server WebSocket actions, WS_ACTIONS;
 * - ./protocol/http.ts: every HTTP route's requests and responses, HTTP_CONTRACT;
 * - ./protocol/validate.ts: checking responses and frames against all of the above.
 */
export * from './protocol/primitives.ts';
export * from './protocol/metadata.ts';
export * from './protocol/requests.ts';
export * from './protocol/wire.ts';
export * from './protocol/events.ts';
export * from './protocol/actions.ts';
export * from './protocol/http.ts';
export * from './protocol/validate.ts';
export * from './protocol/action-errors.ts';
