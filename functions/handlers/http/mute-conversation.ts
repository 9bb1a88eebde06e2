/** PATCH /conversations/:id/notifications: mutes or unmutes the conversation's pushes for the caller. */
import { authorizedHttpHandler } from '#handlers/shared/http';
import { useCase } from '#handlers/shared/use-cases';
import { makeMuteConversation } from '#core/use-cases/devices';
import { conversationIdParam, muteConversationBody } from '#core/protocol';
import '#handlers/shared/ports/postgres';
import '#handlers/shared/ports/realtime';

export const handler = authorizedHttpHandler({ params: conversationIdParam, body: muteConversationBody }, async ({ identity, params, body }) => ({
  status: 200,
  body: await useCase(makeMuteConversation)({
    identity,
    conversationId: params.conversationId,
    muted: body.muted,
    mutedUntil: body.mutedUntil ? new Date(body.mutedUntil) : null,
  }),
}));
