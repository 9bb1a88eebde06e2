/** WebSocket route `sendMessage`, the seed's `chat-send-message` (declared in WS_ACTIONS). */
import { wsActionHandler } from '#handlers/shared/ws';
import '#handlers/shared/ports/postgres';

export const handler = wsActionHandler('sendMessage');
