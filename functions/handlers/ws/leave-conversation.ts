/** WebSocket route `leaveConversation`, the seed's `chat-leave-conversation`. */
import { wsMessageHandler } from '#handlers/shared/ws';

export const handler = wsMessageHandler();
