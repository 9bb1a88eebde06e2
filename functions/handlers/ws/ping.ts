/** WebSocket route `ping`, the seed's `chat-ping`. */
import { wsMessageHandler } from '#handlers/shared/ws';

export const handler = wsMessageHandler();
