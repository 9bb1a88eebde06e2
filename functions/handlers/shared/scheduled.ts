/**
 * The one middy stack of scheduled (EventBridge) handlers: Powertools logger and metrics around
 * one use case call; what it returns is logged when it did something.
 */
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logger, publishMetrics } from './observability.ts';

export function scheduledHandler<R extends Record<string, number>>(run: () => Promise<R>) {
  return middy()
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(publishMetrics())
    .handler(async () => {
      const result = await run();
      if (Object.values(result).some((count) => count > 0)) logger.info('scheduled task did work', result);
      return result;
    });
}
