/** WebSocket route `deleteMessage`, the seed's `chat-delete-message` (declared in WS_ACTIONS). */
import { action, wsActionHandler } from '#handlers/shared/ws';
import { useCase } from '#handlers/shared/use-cases';
import { makeDeleteMessage } from '#core/use-cases/delete-message';
import '#handlers/shared/ports/postgres';

export const deleteMessage = action('deleteMessage', async ({ connection, data }) => {
  const { message } = await useCase(makeDeleteMessage)({ identity: connection.identity, ...data });
  return { message };
});

export const handler = wsActionHandler(deleteMessage);
