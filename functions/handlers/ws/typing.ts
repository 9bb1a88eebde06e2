/** WebSocket route `typing`, the seed's `chat-typing`. */
import { wsMessageHandler } from '#handlers/shared/ws';

export const handler = wsMessageHandler();
