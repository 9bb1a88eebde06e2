/** WebSocket `$disconnect`: forgets the connection, its rooms and (with its last connection) the user's presence. */
import { withWebSocketStack } from '#handlers/shared/ws';
import { useCase } from '#handlers/shared/use-cases';
import { type WiredPorts } from '#core/use-cases/wiring';
import '#handlers/shared/ports/postgres';

/** The disconnect use case, wired with the fan-out that announces the user offline. */
const disconnectOf = ({ disconnect }: WiredPorts) => disconnect;

export const handler = withWebSocketStack(async (event) => {
  await useCase(disconnectOf)({ connectionId: event.requestContext.connectionId });
  return { statusCode: 200 };
});
