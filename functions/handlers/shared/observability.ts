/**
 * Powertools for AWS Lambda, created once per container: structured JSON logs, CloudWatch
 * metrics in embedded metric format, and X-Ray traces. The adapters below give use cases the
 * core `Metrics` and `Logger` ports without tying them to Powertools.
 *
 * The tracer is loaded only where tracing is on. Loading Powertools Tracer loads the X-Ray SDK,
 * which installs async hooks (cls-hooked) for the whole process even when tracing is off: every
 * promise then pays for context bookkeeping (about 1.5 ms of CPU per WebSocket send, plus the
 * garbage it makes). Tracing is on where Powertools itself would trace: in a Lambda execution
 * environment, not SAM or Amplify local, unless POWERTOOLS_TRACE_ENABLED is `false`. The stack
 * runs every function with active X-Ray tracing, so deployed functions keep their traces; the
 * local runtime, the tests and the bench never load it.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Tracer } from '@aws-lambda-powertools/tracer';
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

async function loadTracing() {
  const [{ Tracer }, { captureLambdaHandler }] = await Promise.all([
    import('@aws-lambda-powertools/tracer'),
    import('@aws-lambda-powertools/tracer/middleware'),
  ]);
  // AWS SDK calls are captured client by client (`traced`), so Powertools does not also patch
  // node's http and https: one subsegment per call instead of two.
  const tracer = new Tracer({ serviceName, captureHTTPsRequests: false });
  return { tracer, captureLambdaHandler };
}

const tracing = tracingEnabled() ? await loadTracing() : undefined;

/** The Powertools tracer where tracing is on; undefined elsewhere. */
export const tracer: Tracer | undefined = tracing?.tracer;

/** The handler's X-Ray subsegment (annotations, cold start, errors); a no-op where tracing is off. */
export function traceHandler(): middy.MiddlewareObj {
  // middy refuses a middleware with no hook at all.
  return tracing ? tracing.captureLambdaHandler(tracing.tracer) : { before: () => undefined };
}

/** An AWS SDK v3 client whose calls become X-Ray subsegments where tracing is on; the client itself elsewhere. */
export function traced<T>(client: T): T {
  return tracing ? tracing.tracer.captureAWSv3Client(client) : client;
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
