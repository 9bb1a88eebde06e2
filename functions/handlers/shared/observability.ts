/**
 * Powertools for AWS Lambda, created once per container: structured JSON logs, CloudWatch
 * metrics in embedded metric format, and X-Ray traces. The adapters below give use cases the
 * core `Metrics` and `Logger` ports without tying them to Powertools.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';
import type middy from '@middy/core';
import type { Logger as LoggerPort, MetricName, Metrics as MetricsPort } from '#core/ports';

const serviceName = process.env.POWERTOOLS_SERVICE_NAME ?? 'provider-customer-chat';

export const logger = new Logger({ serviceName });
export const metrics = new Metrics({
  serviceName,
  namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? 'ProviderCustomerChat',
});
export const tracer = new Tracer({ serviceName });

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
