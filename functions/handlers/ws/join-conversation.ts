/** WebSocket route `joinConversation`, the seed's `chat-join-conversation` (declared in WS_ACTIONS). */
import { wsActionHandler } from '#handlers/shared/ws';
import '#handlers/shared/ports/postgres';

export const handler = wsActionHandler('joinConversation');
