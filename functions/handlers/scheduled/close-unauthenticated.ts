/** Scheduled: closes bare WebSocket connections past their authentication deadline. */
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { useCases } from '#handlers/shared/use-cases';
import { logger, publishMetrics } from '#handlers/shared/observability';

export const handler = middy()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(publishMetrics())
  .handler(async () => {
    const { closed } = await useCases().closeUnauthenticated();
    if (closed.length > 0) logger.info('closed connections that never authenticated', { count: closed.length });
    return { closed: closed.length };
  });
