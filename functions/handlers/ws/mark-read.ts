/** WebSocket route `markRead`, the seed's `chat-mark-read` (declared in WS_ACTIONS). */
import { wsActionHandler } from '#handlers/shared/ws';
import '#handlers/shared/ports/postgres';

export const handler = wsActionHandler('markRead');
