/** WebSocket route `deleteMessage`, the seed's `chat-delete-message` (declared in WS_ACTIONS). */
import { wsActionHandler } from '#handlers/shared/ws';
import '#handlers/shared/ports/postgres';

export const handler = wsActionHandler('deleteMessage');
