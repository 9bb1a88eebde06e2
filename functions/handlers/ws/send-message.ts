/** WebSocket route `sendMessage`, the seed's `chat-send-message`. */
import { wsMessageHandler } from '#handlers/shared/ws';

export const handler = wsMessageHandler();
