/** PATCH /conversations/:id/read: everything from the other side becomes READ for the caller's side. */
import { authorizedHttpHandler } from '#handlers/shared/http';
import { useCase } from '#handlers/shared/use-cases';
import { makeMarkRead } from '#core/use-cases/mark-read';
import { conversationIdParam } from '#core/protocol';
import '#handlers/shared/ports/postgres';
import '#handlers/shared/ports/realtime';

export const handler = authorizedHttpHandler({ params: conversationIdParam }, async ({ identity, params }) => ({
  status: 200,
  body: await useCase(makeMarkRead)({ identity, conversationId: params.conversationId }),
}));
