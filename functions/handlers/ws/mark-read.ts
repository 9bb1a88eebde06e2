/** WebSocket route `markRead`, the seed's `chat-mark-read`. */
import { wsMessageHandler } from '#handlers/shared/ws';

export const handler = wsMessageHandler();
