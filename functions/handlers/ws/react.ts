/** WebSocket route `react`, the seed's `chat-react` (declared in WS_ACTIONS). */
import { wsActionHandler } from '#handlers/shared/ws';

export const handler = wsActionHandler('react');
