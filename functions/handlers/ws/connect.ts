/**
 * WebSocket `$connect`: with `?token=` the connection is signed in now (a bad token refuses the
 * upgrade with 401); without one it is admitted bare and must send `chat-authenticate` within
 * CHAT_AUTH_TIMEOUT_MS.
 */
import { withWebSocketStack } from '#handlers/shared/ws';
import { useCase } from '#handlers/shared/use-cases';
import { makeConnect } from '#core/use-cases/connect';
import { describeError } from '#handlers/shared/errors';
import { logger } from '#handlers/shared/observability';
import '#handlers/shared/ports/postgres';
import '#handlers/shared/ports/auth';

export const handler = withWebSocketStack(async (event) => {
  const token = event.queryStringParameters?.token;
  try {
    await useCase(makeConnect)({ connectionId: event.requestContext.connectionId, token });
    return { statusCode: 200 };
  } catch (error) {
    const described = describeError(error);
    if (described.internal) logger.error('connect failed', { error: error as Error });
    else logger.info('connect refused', { code: described.code });
    return { statusCode: described.status, body: JSON.stringify({ message: described.message }) };
  }
});
