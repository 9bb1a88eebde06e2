/** WebSocket route `editMessage`, the seed's `chat-edit-message` (declared in WS_ACTIONS). */
import { action, wsActionHandler } from '#handlers/shared/ws';
import { useCase } from '#handlers/shared/use-cases';
import { makeEditMessage } from '#core/use-cases/edit-message';
import '#handlers/shared/ports/postgres';

export const editMessage = action('editMessage', async ({ connection, data }) => {
  const { message } = await useCase(makeEditMessage)({ identity: connection.identity, ...data });
  return { message };
});

export const handler = wsActionHandler(editMessage);
