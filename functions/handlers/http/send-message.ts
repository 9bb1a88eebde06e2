/** POST /conversations/:id/messages: send (201), or the stored message for a repeated clientMessageId (200). */
import { authorizedHttpHandler } from '#handlers/shared/http';
import { useCase } from '#handlers/shared/use-cases';
import { makeSendMessage } from '#core/use-cases/send-message';
import { conversationIdParam, sendMessageBody } from '#core/protocol';
import '#handlers/shared/ports/postgres';
import '#handlers/shared/ports/realtime';

export const handler = authorizedHttpHandler({ params: conversationIdParam, body: sendMessageBody }, async ({ identity, params, body }) => {
  const { message, created } = await useCase(makeSendMessage)({ identity, conversationId: params.conversationId, ...body });
  return { status: created ? 201 : 200, body: { message } };
});
