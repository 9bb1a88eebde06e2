/** WebSocket route `sendMessage`, the seed's `chat-send-message` (declared in WS_ACTIONS). */
import { action, wsActionHandler } from '#handlers/shared/ws';
import { useCase } from '#handlers/shared/use-cases';
import { makeSendMessage } from '#core/use-cases/send-message';
import '#handlers/shared/ports/postgres';

// The sender's own connections receive chat-new-message through the fan-out.
export const sendMessage = action('sendMessage', async ({ connection, data }) => {
  const { message, created } = await useCase(makeSendMessage)({ identity: connection.identity, ...data });
  return { message, created };
});

export const handler = wsActionHandler(sendMessage);
