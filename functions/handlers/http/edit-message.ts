/** PATCH /conversations/:id/messages/:messageId: its sender edits a TEXT message's content. */
import { authorizedHttpHandler } from '#handlers/shared/http';
import { useCase } from '#handlers/shared/use-cases';
import { makeEditMessage } from '#core/use-cases/edit-message';
import { editMessageBody, messageIdParam } from '#core/protocol';
import '#handlers/shared/ports/postgres';
import '#handlers/shared/ports/realtime';

export const handler = authorizedHttpHandler({ params: messageIdParam, body: editMessageBody }, async ({ identity, params, body }) => ({
  status: 200,
  body: await useCase(makeEditMessage)({ identity, ...params, content: body.content }),
}));
