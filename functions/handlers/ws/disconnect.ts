/** WebSocket `$disconnect`: forgets the connection, its rooms and (with its last connection) the user's presence. */
import { withWebSocketStack } from '#handlers/shared/ws';
import { useCases } from '#handlers/shared/use-cases';
import '#handlers/shared/ports/postgres';

export const handler = withWebSocketStack(async (event) => {
  await useCases().disconnect({ connectionId: event.requestContext.connectionId });
  return { statusCode: 200 };
});
