/** WebSocket route `markRead`, the seed's `chat-mark-read` (declared in WS_ACTIONS). */
import { wsActionHandler } from '#handlers/shared/ws';

export const handler = wsActionHandler('markRead');
