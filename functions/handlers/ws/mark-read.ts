/** WebSocket route `markRead`, the seed's `chat-mark-read` (declared in WS_ACTIONS). */
import { action, wsActionHandler } from '#handlers/shared/ws';
import { useCase } from '#handlers/shared/use-cases';
import { makeMarkRead } from '#core/use-cases/mark-read';
import '#handlers/shared/ports/postgres';

export const markRead = action('markRead', async ({ connection, data }) => {
  const { conversationId, lastReadSeq, unreadCount, readCount } = await useCase(makeMarkRead)({ identity: connection.identity, conversationId: data.conversationId });
  return { conversationId, lastReadSeq, unreadCount, readCount };
});

export const handler = wsActionHandler(markRead);
