/** WebSocket route `typing`, the seed's `chat-typing` (declared in WS_ACTIONS). */
import { action, wsActionHandler } from '#handlers/shared/ws';
import { useCase } from '#handlers/shared/use-cases';
import { makeTyping } from '#core/use-cases/typing';
import '#handlers/shared/ports/postgres';

export const typing = action('typing', ({ connectionId, connection, data }) => useCase(makeTyping)({ identity: connection.identity, connectionId, ...data }));

export const handler = wsActionHandler(typing);
