/** WebSocket route `react`, the seed's `chat-react` (declared in WS_ACTIONS). */
import { wsActionHandler } from '#handlers/shared/ws';
import '#handlers/shared/ports/postgres';

export const handler = wsActionHandler('react');
