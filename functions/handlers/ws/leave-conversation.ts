/** WebSocket route `leaveConversation`, the seed's `chat-leave-conversation` (declared in WS_ACTIONS). */
import { wsActionHandler } from '#handlers/shared/ws';

export const handler = wsActionHandler('leaveConversation');
