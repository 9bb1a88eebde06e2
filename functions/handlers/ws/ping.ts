/** WebSocket route `ping`, the seed's `chat-ping` (declared in WS_ACTIONS). */
import { wsActionHandler } from '#handlers/shared/ws';

export const handler = wsActionHandler('ping');
