/**
 * Port group: the WebSocket side. Connection, subscription, presence and typing state in
 * DynamoDB, and posting to connections through API Gateway's @connections API.
 * Every WebSocket function has it (ws.ts imports it); an HTTP, queue or scheduled handler that
 * delivers to connections imports it once: `import '#handlers/shared/ports/realtime';`.
 */
import { tableNamesFrom } from '#config/tables';
import { UnavailableError } from '#core/errors';
import { systemClock } from '#core/ports';
import { createDocumentClient } from '#adapters/dynamodb/client';
import { makeConnectionStore } from '#adapters/dynamodb/connection-store';
import { makeSubscriptionStore } from '#adapters/dynamodb/subscription-store';
import { makePresenceStore } from '#adapters/dynamodb/presence-store';
import { makeTypingStore } from '#adapters/dynamodb/typing-store';
import { createManagementClient, makeBroadcaster } from '#adapters/apigateway/broadcaster';
import { deferred, once, providePorts } from '../container.ts';
import { loggerPort, traced } from '../observability.ts';

providePorts({
  name: 'realtime',
  build(config) {
    const clock = systemClock;
    const tables = tableNamesFrom(config);
    // X-Ray subsegments for every DynamoDB and @connections call (where tracing is on).
    const doc = traced(
      createDocumentClient({
        endpoint: config.DYNAMODB_ENDPOINT,
        region: config.AWS_REGION,
        connectTimeoutMs: config.DYNAMODB_CONNECT_TIMEOUT_MS,
        requestTimeoutMs: config.DYNAMODB_REQUEST_TIMEOUT_MS,
        maxAttempts: config.DYNAMODB_MAX_ATTEMPTS,
      }),
    );
    const broadcaster = once(() => {
      if (!config.WEBSOCKET_CALLBACK_URL) throw new UnavailableError('WEBSOCKET_CALLBACK_URL is not configured');
      const client = traced(createManagementClient(config.WEBSOCKET_CALLBACK_URL, config.AWS_REGION));
      return makeBroadcaster({ client, logger: loggerPort });
    });
    return {
      ports: {
        connections: makeConnectionStore({ doc, tableName: tables.connections, clock }),
        subscriptions: makeSubscriptionStore({ doc, tableName: tables.subscriptions, clock }),
        presence: makePresenceStore({ doc, tableName: tables.presence, ttlDays: config.CHAT_PRESENCE_TTL_DAYS }),
        typing: makeTypingStore({ doc, tableName: tables.typing }),
        broadcaster: deferred(async () => broadcaster()),
      },
    };
  },
});
