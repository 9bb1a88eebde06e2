/** POST /conversations/:id/messages: send (201), or the stored message for a repeated clientMessageId (200). */
import { authorizedHttpHandler } from '#handlers/shared/http';
import { useCases } from '#handlers/shared/use-cases';
import { conversationIdParam, sendMessageBody } from '#core/protocol';
import '#handlers/shared/ports/postgres';
import '#handlers/shared/ports/realtime';

export const handler = authorizedHttpHandler({ params: conversationIdParam, body: sendMessageBody }, async ({ identity, params, body }) => {
  const { message, created } = await useCases().sendMessage({ identity, conversationId: params.conversationId, ...body });
  return { status: created ? 201 : 200, body: { message } };
});
