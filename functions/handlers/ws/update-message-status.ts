/** WebSocket route `updateMessageStatus`, the seed's `chat-update-message-status` (declared in WS_ACTIONS). */
import { wsActionHandler } from '#handlers/shared/ws';
import '#handlers/shared/ports/postgres';

export const handler = wsActionHandler('updateMessageStatus');
