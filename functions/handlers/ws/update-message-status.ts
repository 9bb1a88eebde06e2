/** WebSocket route `updateMessageStatus`, the seed's `chat-update-message-status`. */
import { wsMessageHandler } from '#handlers/shared/ws';

export const handler = wsMessageHandler();
