/** WebSocket route `joinConversation`, the seed's `chat-join-conversation`. */
import { wsMessageHandler } from '#handlers/shared/ws';

export const handler = wsMessageHandler();
