/** WebSocket route `updateMessageStatus`, the seed's `chat-update-message-status` (declared in WS_ACTIONS). */
import { action, wsActionHandler } from '#handlers/shared/ws';
import { useCase } from '#handlers/shared/use-cases';
import { makeUpdateMessageStatus } from '#core/use-cases/update-message-status';
import '#handlers/shared/ports/postgres';

export const updateMessageStatus = action('updateMessageStatus', async ({ connection, data }) => {
  const { message, changed } = await useCase(makeUpdateMessageStatus)({ identity: connection.identity, ...data });
  return { message, changed };
});

export const handler = wsActionHandler(updateMessageStatus);
