/** WebSocket route `authenticate`, the seed's `chat-authenticate` (declared in WS_ACTIONS). */
import { action, wsActionHandler } from '#handlers/shared/ws';
import { useCase } from '#handlers/shared/use-cases';
import { makeAuthenticate } from '#core/use-cases/authenticate';
import '#handlers/shared/ports/postgres';
import '#handlers/shared/ports/auth';

export const authenticate = action('authenticate', ({ connectionId, data }) => useCase(makeAuthenticate)({ connectionId, token: data.token }));

export const handler = wsActionHandler(authenticate);
