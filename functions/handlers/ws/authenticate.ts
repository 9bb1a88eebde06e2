/** WebSocket route `authenticate`, the seed's `chat-authenticate` (declared in WS_ACTIONS). */
import { wsActionHandler } from '#handlers/shared/ws';
import '#handlers/shared/ports/postgres';
import '#handlers/shared/ports/auth';

export const handler = wsActionHandler('authenticate');
