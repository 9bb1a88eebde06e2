/** WebSocket route `typing`, the seed's `chat-typing` (declared in WS_ACTIONS). */
import { wsActionHandler } from '#handlers/shared/ws';
import '#handlers/shared/ports/postgres';

export const handler = wsActionHandler('typing');
