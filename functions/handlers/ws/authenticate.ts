/** WebSocket route `authenticate`, the seed's `chat-authenticate`. */
import { wsMessageHandler } from '#handlers/shared/ws';

export const handler = wsMessageHandler();
