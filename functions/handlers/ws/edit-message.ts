/** WebSocket route `editMessage`, the seed's `chat-edit-message` (declared in WS_ACTIONS). */
import { wsActionHandler } from '#handlers/shared/ws';

export const handler = wsActionHandler('editMessage');
