/**
 * Powertools for AWS Lambda, created once per container: structured JSON logs and CloudWatch
 * metrics in embedded metric format. X-Ray traces come from functions/adapters/x-ray/tracer.ts
 * (why not the X-Ray SDK: it is there): under Lambda's own segment of each invocation, a
 * `## <handler>` subsegment, one per AWS SDK call and one per SQL statement. The adapters below
 * give use cases the core `Metrics` and `Logger` ports without tying them to Powertools.
 *
 * Tracing is on where Powertools Tracer would trace: in a Lambda execution environment, not SAM
 * or Amplify local, unless POWERTOOLS_TRACE_ENABLED is `false`; the stack runs every function
 * with active X-Ray tracing, and Lambda's sampling decides which invocations are recorded. The
 * local runtime, the tests and the bench do not trace.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { XRayTracer, type TraceableClient } from '#adapters/x-ray/tracer';
import type middy from '@middy/core';
import type { Logger as LoggerPort, MetricName, Metrics as MetricsPort } from '#core/ports';

const serviceName = process.env.POWERTOOLS_SERVICE_NAME ?? 'provider-customer-chat';

export const logger = new Logger({ serviceName });
export const metrics = new Metrics({
  serviceName,
  namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? 'ProviderCustomerChat',
});
/** Whether this process traces, by the rules Powertools Tracer applies to its environment. */
export function tracingEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  if ((env.POWERTOOLS_TRACE_ENABLED ?? '').toLowerCase() === 'false') return false;
  const executionEnv = env.AWS_EXECUTION_ENV ?? '';
  return executionEnv !== '' && executionEnv !== 'AWS_Lambda_amplify-mock' && (env.AWS_SAM_LOCAL ?? '') === '';
}

/** The X-Ray tracer where tracing is on; undefined elsewhere. */
export const tracer: XRayTracer | undefined = tracingEnabled()
  ? new XRayTracer({ serviceName, handlerName: process.env._HANDLER ?? 'handler' })
  : undefined;

/** The invocation's X-Ray subsegment (cold start, service, the error that failed it); a no-op where tracing is off. */
export function traceHandler(): middy.MiddlewareObj {
  if (!tracer) return { before: () => undefined };
  return {
    before: () => tracer.startInvocation(),
    after: () => tracer.endInvocation(),
    onError: (request) => tracer.endInvocation(request.error ?? new Error('The invocation failed')),
  };
}

/** An AWS SDK v3 client whose calls become X-Ray subsegments where tracing is on; the client itself elsewhere. */
export function traced<T extends TraceableClient>(client: T): T {
  return tracer ? tracer.captureClient(client) : client;
}

export const metricsPort: MetricsPort = {
  count(metric: MetricName, value = 1) {
    metrics.addMetric(metric, MetricUnit.Count, value);
  },
  timing(metric: MetricName, ms: number) {
    metrics.addMetric(metric, MetricUnit.Milliseconds, ms);
  },
};

export const loggerPort: LoggerPort = {
  info: (message, details) => logger.info(message, details ?? {}),
  warn: (message, details) => logger.warn(message, details ?? {}),
  error: (message, details) => logger.error(message, details ?? {}),
};

let coldStart = true;

/**
 * Publishes the invocation's metrics (EMF) after it, success or failure, and the cold-start
 * metric once per container. Unlike Powertools' own logMetrics, an invocation that recorded
 * nothing (a ping) writes nothing, instead of a warning per request.
 */
export function publishMetrics(): middy.MiddlewareObj {
  const publish = async () => {
    if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
  };
  return {
    before: async () => {
      if (coldStart) {
        coldStart = false;
        metrics.captureColdStartMetric();
      }
    },
    after: publish,
    onError: publish,
  };
}
