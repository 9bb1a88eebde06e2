/** PUT (add) and DELETE (remove) /conversations/:id/messages/:messageId/reactions/:emoji. */
import { authorizedHttpHandler } from '#handlers/shared/http';
import { useCase } from '#handlers/shared/use-cases';
import { makeReact } from '#core/use-cases/react';
import { reactionParam } from '#core/protocol';
import '#handlers/shared/ports/postgres';
import '#handlers/shared/ports/realtime';

export const handler = authorizedHttpHandler({ params: reactionParam }, async ({ identity, params, event }) => ({
  status: 200,
  body: await useCase(makeReact)({ identity, ...params, added: event.requestContext.http.method !== 'DELETE' }),
}));
