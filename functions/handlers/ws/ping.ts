/** WebSocket route `ping`, the seed's `chat-ping` (declared in WS_ACTIONS). */
import { action, wsActionHandler } from '#handlers/shared/ws';
import { useCase } from '#handlers/shared/use-cases';
import { makePing } from '#core/use-cases/ping';

export const ping = action('ping', () => useCase(makePing)());

export const handler = wsActionHandler(ping);
