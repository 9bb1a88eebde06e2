/** WebSocket route `react`, the seed's `chat-react` (declared in WS_ACTIONS). */
import { action, wsActionHandler } from '#handlers/shared/ws';
import { useCase } from '#handlers/shared/use-cases';
import { makeReact } from '#core/use-cases/react';
import '#handlers/shared/ports/postgres';

export const react = action('react', async ({ connection, data }) => {
  const { message } = await useCase(makeReact)({ identity: connection.identity, ...data });
  return { message };
});

export const handler = wsActionHandler(react);
