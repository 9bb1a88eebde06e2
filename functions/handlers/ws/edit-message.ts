/** WebSocket route `editMessage`, the seed's `chat-edit-message` (declared in WS_ACTIONS). */
import { wsActionHandler } from '#handlers/shared/ws';
import '#handlers/shared/ports/postgres';

export const handler = wsActionHandler('editMessage');
