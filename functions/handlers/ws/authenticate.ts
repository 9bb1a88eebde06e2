/** WebSocket route `authenticate`, the seed's `chat-authenticate` (declared in WS_ACTIONS). */
import { wsActionHandler } from '#handlers/shared/ws';

export const handler = wsActionHandler('authenticate');
