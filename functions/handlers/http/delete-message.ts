/** DELETE /conversations/:id/messages/:messageId: its sender or an admin leaves a tombstone. */
import { authorizedHttpHandler } from '#handlers/shared/http';
import { useCase } from '#handlers/shared/use-cases';
import { makeDeleteMessage } from '#core/use-cases/delete-message';
import { messageIdParam } from '#core/protocol';
import '#handlers/shared/ports/postgres';
import '#handlers/shared/ports/realtime';

export const handler = authorizedHttpHandler({ params: messageIdParam }, async ({ identity, params }) => ({
  status: 200,
  body: await useCase(makeDeleteMessage)({ identity, ...params }),
}));
