/** WebSocket route `deleteMessage`, the seed's `chat-delete-message` (declared in WS_ACTIONS). */
import { wsActionHandler } from '#handlers/shared/ws';

export const handler = wsActionHandler('deleteMessage');
