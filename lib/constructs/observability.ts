/**
 * One CloudWatch dashboard for the whole product and the alarms on-call acts on, all notifying one
 * SNS topic. Each alarm has an entry in docs/operations.md (what it means, what to check first,
 * what to do); its thresholds are the named constants below.
 */
import { Duration, Stack } from 'aws-cdk-lib';
import type { IHttpApi, IWebSocketApi, IWebSocketStage } from 'aws-cdk-lib/aws-apigatewayv2';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { METRICS, TIMING_METRICS, type MetricName } from '#core/ports';
import type { QueueKey } from '#config/queues';
import type { TableKey } from '#config/tables';
import type { ChatFunction } from './chat-function.ts';

/** Alarm thresholds. Changing one changes the alarm and the runbook's wording must follow. */
export const ALARM_THRESHOLDS = {
  /** HTTP API: share of requests answered 5xx over 5 minutes, in percent... */
  httpServerErrorRatePercent: 5,
  /** ...once at least this many requests arrived in those 5 minutes (no paging on 1 of 2). */
  httpServerErrorMinimumRequests: 20,
  /** Errors of one function in 5 minutes. */
  lambdaErrors: 5,
  /** Throttled invocations of one function in 5 minutes. */
  lambdaThrottles: 1,
  /** Read plus write throttle events of one table (and its indexes) in 5 minutes. */
  dynamoDbThrottleEvents: 10,
  /** Database CPU, average over 5 minutes, three periods in a row. */
  databaseCpuPercent: 80,
  /** Database connections as a share of the instance's max_connections, two periods in a row. */
  databaseConnectionsPercent: 80,
  /** DeliveryFailures per MessagesSent over 5 minutes, in percent... */
  deliveryFailureRatePercent: 5,
  /** ...once at least this many messages were sent in those 5 minutes. */
  deliveryMinimumMessages: 20,
  /** Messages in a dead-letter queue (maximum over 5 minutes): one is enough, each is an event nobody handled. */
  deadLetterMessages: 1,
  /** Age of a queue's oldest message in seconds (maximum over 5 minutes): its consumers are behind or failing. */
  queueOldestMessageAgeSeconds: 300,
  /** EventPublishFailures per event publish attempted (published, republished or failed) over 5 minutes, in percent... */
  eventPublishFailureRatePercent: 5,
  /** ...once at least this many publishes were attempted in those 5 minutes. */
  eventPublishMinimumAttempts: 20,
  /** PushFailures per push attempted (sent or failed) over 5 minutes, in percent... */
  pushFailureRatePercent: 10,
  /** ...once at least this many pushes were attempted in those 5 minutes. */
  pushMinimumAttempts: 20,
  /** Devices removed in 5 minutes because the push service called their tokens dead: a wrong platform application or credentials, not users leaving. */
  devicesRemoved: 50,
  /** Failed webhook attempts (retried or given up) in 5 minutes, two periods in a row: the receiver is down or refusing. */
  webhookFailures: 10,
  /** Upload records the attachments processor failed on (each is delivered again, five times, then dead-lettered) in 5 minutes. */
  attachmentProcessingFailures: 3,
  /** Uploads REJECTED per 100 processed (READY or REJECTED) over 15 minutes, in percent... */
  attachmentRejectionRatePercent: 50,
  /** ...once at least this many uploads were processed in those 15 minutes. */
  attachmentMinimumOutcomes: 10,
} as const;

/**
 * The attachments processor's outcomes (Powertools EMF metrics of queue/process-attachments):
 * uploads made READY, uploads REJECTED (a wrong type, an unreadable image: the uploader's
 * problem, not a failure) and the time one upload took (ms).
 */
export const ATTACHMENT_METRICS = {
  processed: 'AttachmentsProcessed',
  rejected: 'AttachmentsRejected',
  processingTime: 'AttachmentProcessingTime',
} as const;

/**
 * Records the attachments processor failed on (an exception: storage, database, a broken
 * decoder), counted from its own ERROR log lines by a metric filter, so the count does not depend
 * on the handler remembering to emit it. No dimensions: one processor.
 */
export const ATTACHMENT_FAILURES_METRIC = 'AttachmentProcessingFailures';

/** The event pipeline's business metrics, plotted beside the queues rather than with the chat's. */
const EVENT_METRICS = ['EventsPublished', 'EventsRepublished', 'EventPublishFailures', 'EventRecordFailures'] as const satisfies readonly MetricName[];
const CHANGE_LOG_METRICS = ['ChangesPurged'] as const satisfies readonly MetricName[];
const PUSH_METRICS = ['PushesSent', 'PushFailures', 'DevicesRemoved'] as const satisfies readonly MetricName[];
const WEBHOOK_METRICS = ['WebhooksDelivered', 'WebhookFailures', 'WebhooksDeadLettered'] as const satisfies readonly MetricName[];

const PERIOD = Duration.minutes(5);

export interface FunctionGroup {
  /** Shown on the dashboard: HTTP, WebSocket, Deployment. */
  name: string;
  functions: ChatFunction[];
}

/** A queue of functions/config/queues.ts, its dead-letter queue and the functions it triggers. */
export interface ObservedQueue {
  key: QueueKey;
  queue: IQueue;
  deadLetterQueue: IQueue;
  consumers: ChatFunction[];
}

export interface ObservabilityProps {
  /** Prefixes alarm and dashboard names. */
  prefix: string;
  serviceName: string;
  metricsNamespace: string;
  httpApi: IHttpApi;
  webSocketApi: IWebSocketApi;
  webSocketStage: IWebSocketStage;
  functionGroups: FunctionGroup[];
  tables: Record<TableKey, ITable>;
  queues: ObservedQueue[];
  /** The attachments processor (queue/process-attachments): its failures alarm and dashboard row. */
  attachmentsProcessor?: ChatFunction;
  databaseInstanceIdentifier: string;
  /** The instance's max_connections (estimated from its size unless given). */
  databaseMaxConnections: number;
  proxyName: string;
  alarmEmail?: string;
}

export class Observability extends Construct {
  readonly topic: sns.Topic;
  readonly dashboard: cloudwatch.Dashboard;
  readonly alarms: cloudwatch.Alarm[] = [];

  private readonly props: ObservabilityProps;

  constructor(scope: Construct, id: string, props: ObservabilityProps) {
    super(scope, id);
    this.props = props;

    this.topic = new sns.Topic(this, 'AlarmTopic', {
      topicName: `${props.prefix}-alarms`,
      displayName: `${props.prefix} alarms`,
      enforceSSL: true,
    });
    if (props.alarmEmail) this.topic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: props.prefix,
      defaultInterval: Duration.hours(3),
    });

    this.createAlarms();
    this.createDashboard();
  }

  // ── Metrics ──────────────────────────────────────────────────────────────────────────────

  private httpMetric(metricName: string, statistic = 'Sum', label?: string): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: 'AWS/ApiGateway',
      metricName,
      dimensionsMap: { ApiId: this.props.httpApi.apiId },
      statistic,
      period: PERIOD,
      ...(label ? { label } : {}),
    });
  }

  private webSocketMetric(metricName: string, statistic = 'Sum', label?: string): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: 'AWS/ApiGateway',
      metricName,
      dimensionsMap: { ApiId: this.props.webSocketApi.apiId, Stage: this.props.webSocketStage.stageName },
      statistic,
      period: PERIOD,
      ...(label ? { label } : {}),
    });
  }

  private databaseMetric(metricName: string, statistic = 'Average'): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: 'AWS/RDS',
      metricName,
      dimensionsMap: { DBInstanceIdentifier: this.props.databaseInstanceIdentifier },
      statistic,
      period: PERIOD,
    });
  }

  private proxyMetric(metricName: string, label: string): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: 'AWS/RDS',
      metricName,
      dimensionsMap: { ProxyName: this.props.proxyName },
      statistic: 'Maximum',
      period: PERIOD,
      label,
    });
  }

  /** A Powertools (EMF) metric: Powertools adds the `service` dimension to every metric. */
  customMetric(metricName: MetricName | (typeof ATTACHMENT_METRICS)[keyof typeof ATTACHMENT_METRICS], statistic = 'Sum'): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: this.props.metricsNamespace,
      metricName,
      dimensionsMap: { service: this.props.serviceName },
      statistic,
      period: PERIOD,
    });
  }

  private queueMetric(queue: IQueue, metricName: string, statistic: string, label?: string): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: 'AWS/SQS',
      metricName,
      dimensionsMap: { QueueName: queue.queueName },
      statistic,
      period: PERIOD,
      ...(label ? { label } : {}),
    });
  }

  private tableThrottles(key: TableKey, table: ITable): cloudwatch.MathExpression {
    const metric = (metricName: string) =>
      new cloudwatch.Metric({
        namespace: 'AWS/DynamoDB',
        metricName,
        dimensionsMap: { TableName: table.tableName },
        statistic: 'Sum',
        period: PERIOD,
      });
    return new cloudwatch.MathExpression({
      // Ids unique per table: a dashboard graph shows every table's expression side by side.
      expression: `FILL(${key}Reads, 0) + FILL(${key}Writes, 0)`,
      usingMetrics: { [`${key}Reads`]: metric('ReadThrottleEvents'), [`${key}Writes`]: metric('WriteThrottleEvents') },
      label: `${key} throttle events`,
      period: PERIOD,
    });
  }

  // ── Alarms ───────────────────────────────────────────────────────────────────────────────

  private alarm(id: string, props: Omit<cloudwatch.AlarmProps, 'alarmName' | 'actionsEnabled'> & { name: string }): cloudwatch.Alarm {
    const { name, ...rest } = props;
    const alarm = new cloudwatch.Alarm(this, id, {
      alarmName: `${this.props.prefix}-${name}`,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      ...rest,
    });
    alarm.addAlarmAction(new actions.SnsAction(this.topic));
    alarm.addOkAction(new actions.SnsAction(this.topic));
    this.alarms.push(alarm);
    return alarm;
  }

  private createAlarms(): void {
    const t = ALARM_THRESHOLDS;
    const p = this.props;

    this.alarm('HttpServerErrorRate', {
      name: 'http-5xx-rate',
      alarmDescription: `More than ${t.httpServerErrorRatePercent}% of HTTP API requests answered 5xx in 5 minutes (with at least ${t.httpServerErrorMinimumRequests} requests). Runbook: docs/operations.md#http-5xx-rate`,
      metric: new cloudwatch.MathExpression({
        expression: `IF(requests >= ${t.httpServerErrorMinimumRequests}, 100 * FILL(errors, 0) / requests, 0)`,
        usingMetrics: { requests: this.httpMetric('Count'), errors: this.httpMetric('5xx') },
        label: 'HTTP 5xx rate (%)',
        period: PERIOD,
      }),
      threshold: t.httpServerErrorRatePercent,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
    });

    for (const group of p.functionGroups) {
      for (const chatFunction of group.functions) {
        const name = chatFunction.entry.replace(/[^a-z0-9]+/gi, '-');
        this.alarm(`${chatFunction.node.id}Errors`, {
          name: `lambda-errors-${name}`,
          alarmDescription: `${chatFunction.entry} failed more than ${t.lambdaErrors} times in 5 minutes. Runbook: docs/operations.md#lambda-errors`,
          metric: chatFunction.function.metricErrors({ period: PERIOD, statistic: 'Sum' }),
          threshold: t.lambdaErrors,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
          evaluationPeriods: 1,
        });
        this.alarm(`${chatFunction.node.id}Throttles`, {
          name: `lambda-throttles-${name}`,
          alarmDescription: `${chatFunction.entry} was throttled at least ${t.lambdaThrottles} time(s) in 5 minutes. Runbook: docs/operations.md#lambda-throttles`,
          metric: chatFunction.function.metricThrottles({ period: PERIOD, statistic: 'Sum' }),
          threshold: t.lambdaThrottles,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          evaluationPeriods: 1,
        });
      }
    }

    for (const [key, table] of Object.entries(p.tables) as [TableKey, ITable][]) {
      this.alarm(`${key}TableThrottles`, {
        name: `dynamodb-throttles-${key}`,
        alarmDescription: `The ${key} table throttled more than ${t.dynamoDbThrottleEvents} requests in 5 minutes. Runbook: docs/operations.md#dynamodb-throttles`,
        metric: this.tableThrottles(key, table),
        threshold: t.dynamoDbThrottleEvents,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
      });
    }

    this.alarm('DatabaseCpu', {
      name: 'database-cpu',
      alarmDescription: `Database CPU above ${t.databaseCpuPercent}% for 15 minutes. Runbook: docs/operations.md#database-cpu`,
      metric: this.databaseMetric('CPUUtilization'),
      threshold: t.databaseCpuPercent,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 3,
    });

    const connectionsThreshold = Math.floor((p.databaseMaxConnections * t.databaseConnectionsPercent) / 100);
    this.alarm('DatabaseConnections', {
      name: 'database-connections',
      alarmDescription: `Database connections above ${connectionsThreshold} (${t.databaseConnectionsPercent}% of max_connections ≈ ${p.databaseMaxConnections}) for 10 minutes. Runbook: docs/operations.md#database-connections`,
      metric: this.databaseMetric('DatabaseConnections', 'Maximum'),
      threshold: connectionsThreshold,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 2,
    });

    this.alarm('DeliveryFailureRate', {
      name: 'delivery-failure-rate',
      alarmDescription: `More than ${t.deliveryFailureRatePercent} WebSocket delivery failures per 100 messages sent in 5 minutes (with at least ${t.deliveryMinimumMessages} messages). Runbook: docs/operations.md#delivery-failure-rate`,
      metric: new cloudwatch.MathExpression({
        expression: `IF(sent >= ${t.deliveryMinimumMessages}, 100 * FILL(failures, 0) / sent, 0)`,
        usingMetrics: { sent: this.customMetric('MessagesSent'), failures: this.customMetric('DeliveryFailures') },
        label: 'Delivery failures per 100 messages',
        period: PERIOD,
      }),
      threshold: t.deliveryFailureRatePercent,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
    });

    for (const { key, queue, deadLetterQueue } of p.queues) {
      // The attachments queue holds S3 notifications, not domain events, and its redrive has a deadline of its own.
      const deadLetters =
        key === 'attachments'
          ? `uploads the processor failed on at every delivery (their records stay PENDING; redrive within a day, before the upload expires). Runbook: docs/operations.md#dead-letters-attachments`
          : `events its consumers failed on every delivery. Runbook: docs/operations.md#dead-letters`;
      this.alarm(`${key}DeadLetterMessages`, {
        name: `dead-letters-${key}`,
        alarmDescription: `The ${key} queue's dead-letter queue holds at least ${t.deadLetterMessages} message(s): ${deadLetters}`,
        metric: this.queueMetric(deadLetterQueue, 'ApproximateNumberOfMessagesVisible', 'Maximum'),
        threshold: t.deadLetterMessages,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
      });
      this.alarm(`${key}QueueOldestMessage`, {
        name: `queue-age-${key}`,
        alarmDescription: `The ${key} queue's oldest message is more than ${t.queueOldestMessageAgeSeconds} s old: its consumers are behind or failing. Runbook: docs/operations.md#queue-age`,
        metric: this.queueMetric(queue, 'ApproximateAgeOfOldestMessage', 'Maximum'),
        threshold: t.queueOldestMessageAgeSeconds,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
      });
    }

    this.alarm('EventPublishFailureRate', {
      name: 'event-publish-failure-rate',
      alarmDescription: `More than ${t.eventPublishFailureRatePercent} of every 100 domain event publishes failed in 5 minutes (with at least ${t.eventPublishMinimumAttempts} attempts). Runbook: docs/operations.md#event-publish-failure-rate`,
      metric: new cloudwatch.MathExpression({
        expression: `IF(FILL(published, 0) + FILL(republished, 0) + FILL(failures, 0) >= ${t.eventPublishMinimumAttempts}, 100 * FILL(failures, 0) / (FILL(published, 0) + FILL(republished, 0) + FILL(failures, 0)), 0)`,
        usingMetrics: {
          published: this.customMetric('EventsPublished'),
          republished: this.customMetric('EventsRepublished'),
          failures: this.customMetric('EventPublishFailures'),
        },
        label: 'Event publish failures per 100 attempts',
        period: PERIOD,
      }),
      threshold: t.eventPublishFailureRatePercent,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
    });

    this.alarm('PushFailureRate', {
      name: 'push-failure-rate',
      alarmDescription: `More than ${t.pushFailureRatePercent} of every 100 pushes failed in 5 minutes (with at least ${t.pushMinimumAttempts} attempts), two periods in a row: SNS, APNs or FCM refuse or throttle. Runbook: docs/operations.md#push-failure-rate`,
      metric: new cloudwatch.MathExpression({
        expression: `IF(FILL(sent, 0) + FILL(failures, 0) >= ${t.pushMinimumAttempts}, 100 * FILL(failures, 0) / (FILL(sent, 0) + FILL(failures, 0)), 0)`,
        usingMetrics: { sent: this.customMetric('PushesSent'), failures: this.customMetric('PushFailures') },
        label: 'Push failures per 100 attempts',
        period: PERIOD,
      }),
      threshold: t.pushFailureRatePercent,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 2,
    });
    this.alarm('DevicesRemoved', {
      name: 'push-devices-removed',
      alarmDescription: `More than ${t.devicesRemoved} devices were removed in 5 minutes because the push service called their tokens dead: usually a wrong or expired platform application credential, not users leaving. Runbook: docs/operations.md#push-devices-removed`,
      metric: this.customMetric('DevicesRemoved'),
      threshold: t.devicesRemoved,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
    });
    this.alarm('WebhookFailures', {
      name: 'webhook-failures',
      alarmDescription: `At least ${t.webhookFailures} webhook attempts failed in 5 minutes, two periods in a row: the receiver is down, slow or refusing (events are retried for 24 hours, then dead-lettered). Runbook: docs/operations.md#webhook-failures`,
      metric: this.customMetric('WebhookFailures'),
      threshold: t.webhookFailures,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 2,
    });

    if (p.attachmentsProcessor) this.createAttachmentAlarms(p.attachmentsProcessor);
  }

  private attachmentFailures(): cloudwatch.Metric {
    return new cloudwatch.Metric({ namespace: this.props.metricsNamespace, metricName: ATTACHMENT_FAILURES_METRIC, statistic: 'Sum', period: PERIOD });
  }

  private createAttachmentAlarms(processor: ChatFunction): void {
    const t = ALARM_THRESHOLDS;
    // Every ERROR line of the processor is a record it failed on (the queue handler logs one per
    // failed or poison record, with the record's id and receive count) or a failed invocation.
    new logs.MetricFilter(this, 'AttachmentProcessingFailuresFilter', {
      logGroup: processor.logGroup,
      filterPattern: logs.FilterPattern.stringValue('$.level', '=', 'ERROR'),
      metricNamespace: this.props.metricsNamespace,
      metricName: ATTACHMENT_FAILURES_METRIC,
      metricValue: '1',
      defaultValue: 0,
      unit: cloudwatch.Unit.COUNT,
    });
    this.alarm('AttachmentProcessingFailures', {
      name: 'attachment-processing-failures',
      alarmDescription: `The attachments processor failed on at least ${t.attachmentProcessingFailures} upload records in 5 minutes (storage, database or image decoder errors; the uploads stay PENDING and are retried, then dead-lettered). Runbook: docs/operations.md#attachment-processing-failures`,
      metric: this.attachmentFailures(),
      threshold: t.attachmentProcessingFailures,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
    });
    const window = Duration.minutes(15);
    this.alarm('AttachmentRejectionRate', {
      name: 'attachment-rejection-rate',
      alarmDescription: `More than ${t.attachmentRejectionRatePercent} of every 100 processed uploads were REJECTED in 15 minutes (with at least ${t.attachmentMinimumOutcomes} uploads): a client declaring wrong types, or a decoder that stopped reading a format. Runbook: docs/operations.md#attachment-rejection-rate`,
      metric: new cloudwatch.MathExpression({
        expression: `IF(FILL(ready, 0) + FILL(rejected, 0) >= ${t.attachmentMinimumOutcomes}, 100 * FILL(rejected, 0) / (FILL(ready, 0) + FILL(rejected, 0)), 0)`,
        usingMetrics: {
          ready: this.customMetric(ATTACHMENT_METRICS.processed).with({ period: window }),
          rejected: this.customMetric(ATTACHMENT_METRICS.rejected).with({ period: window }),
        },
        label: 'Rejected uploads per 100 processed',
        period: window,
      }),
      threshold: t.attachmentRejectionRatePercent,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
    });
  }

  // ── Dashboard ────────────────────────────────────────────────────────────────────────────

  private createDashboard(): void {
    const p = this.props;
    const graph = (title: string, left: cloudwatch.IMetric[], extra: Partial<cloudwatch.GraphWidgetProps> = {}) =>
      new cloudwatch.GraphWidget({ title, left, width: 8, height: 6, ...extra });
    const region = Stack.of(this).region;

    this.dashboard.addWidgets(
      new cloudwatch.TextWidget({
        markdown: `# ${p.prefix}\nAPIs, functions, state stores and business metrics. Alarms and what to do about them: docs/operations.md (region ${region}).`,
        width: 24,
        height: 2,
      }),
    );

    this.dashboard.addWidgets(
      graph('HTTP API: requests', [this.httpMetric('Count', 'Sum', 'Requests')]),
      graph('HTTP API: 4xx / 5xx', [this.httpMetric('4xx', 'Sum', '4xx'), this.httpMetric('5xx', 'Sum', '5xx')]),
      graph('HTTP API: latency', [
        this.httpMetric('Latency', 'p50', 'Latency p50'),
        this.httpMetric('Latency', 'p99', 'Latency p99'),
        this.httpMetric('IntegrationLatency', 'p99', 'Integration latency p99'),
      ]),
    );

    this.dashboard.addWidgets(
      graph('WebSocket API: connects / messages', [
        this.webSocketMetric('ConnectCount', 'Sum', 'Connects'),
        this.webSocketMetric('MessageCount', 'Sum', 'Messages'),
      ]),
      graph('WebSocket API: errors', [
        this.webSocketMetric('ClientError', 'Sum', '4xx (ClientError)'),
        this.webSocketMetric('ExecutionError', 'Sum', '5xx (ExecutionError)'),
        this.webSocketMetric('IntegrationError', 'Sum', 'Integration errors'),
      ]),
      graph('WebSocket API: integration latency', [
        this.webSocketMetric('IntegrationLatency', 'p50', 'Integration latency p50'),
        this.webSocketMetric('IntegrationLatency', 'p99', 'Integration latency p99'),
      ]),
    );

    for (const group of p.functionGroups) {
      const per = (metric: (f: ChatFunction) => cloudwatch.IMetric) => group.functions.map(metric);
      const labelled = (f: ChatFunction, metric: cloudwatch.Metric) => metric.with({ label: f.entry });
      this.dashboard.addWidgets(
        new cloudwatch.GraphWidget({
          title: `${group.name} functions: errors`,
          left: per((f) => labelled(f, f.function.metricErrors({ period: PERIOD, statistic: 'Sum' }))),
          width: 6,
          height: 6,
        }),
        new cloudwatch.GraphWidget({
          title: `${group.name} functions: throttles`,
          left: per((f) => labelled(f, f.function.metricThrottles({ period: PERIOD, statistic: 'Sum' }))),
          width: 6,
          height: 6,
        }),
        new cloudwatch.GraphWidget({
          title: `${group.name} functions: duration p99`,
          left: per((f) => labelled(f, f.function.metricDuration({ period: PERIOD, statistic: 'p99' }))),
          width: 6,
          height: 6,
        }),
        new cloudwatch.GraphWidget({
          title: `${group.name} functions: concurrency`,
          left: per((f) =>
            labelled(f, f.function.metric('ConcurrentExecutions', { period: PERIOD, statistic: 'Maximum' })),
          ),
          width: 6,
          height: 6,
        }),
      );
    }

    this.dashboard.addWidgets(
      graph(
        'DynamoDB: throttle events',
        (Object.entries(p.tables) as [TableKey, ITable][]).map(([key, table]) => this.tableThrottles(key, table)),
      ),
      graph('RDS: CPU', [this.databaseMetric('CPUUtilization')], {
        leftAnnotations: [{ value: ALARM_THRESHOLDS.databaseCpuPercent, label: 'alarm' }],
        leftYAxis: { min: 0, max: 100 },
      }),
      graph('RDS: connections', [this.databaseMetric('DatabaseConnections', 'Maximum')], {
        leftAnnotations: [{ value: p.databaseMaxConnections, label: 'max_connections (estimated)' }],
      }),
    );

    this.dashboard.addWidgets(
      graph('RDS: free storage', [this.databaseMetric('FreeStorageSpace', 'Minimum')]),
      graph('RDS Proxy: connections', [
        this.proxyMetric('ClientConnections', 'Client connections'),
        this.proxyMetric('DatabaseConnections', 'Database connections'),
      ]),
      graph('RDS Proxy: borrow latency / pinning', [
        this.proxyMetric('DatabaseConnectionsBorrowLatency', 'Borrow latency (µs, max)'),
        this.proxyMetric('DatabaseConnectionsCurrentlySessionPinned', 'Session-pinned connections'),
      ]),
    );

    const pipeline: readonly MetricName[] = [...EVENT_METRICS, ...CHANGE_LOG_METRICS, ...PUSH_METRICS];
    const counts = METRICS.filter((metric) => !TIMING_METRICS.includes(metric) && !pipeline.includes(metric));
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Chat: messages and deliveries',
        left: counts.map((metric) => this.customMetric(metric).with({ label: metric })),
        width: 12,
        height: 6,
      }),
      new cloudwatch.GraphWidget({
        title: 'Chat: fan-out latency (ms)',
        left: [
          this.customMetric('FanOutLatency', 'p50').with({ label: 'FanOutLatency p50' }),
          this.customMetric('FanOutLatency', 'p99').with({ label: 'FanOutLatency p99' }),
        ],
        width: 12,
        height: 6,
      }),
      new cloudwatch.GraphWidget({
        title: "Chat: providers' first response time (minutes)",
        left: (['p50', 'p90'] as const).map(
          (statistic) =>
            new cloudwatch.MathExpression({
              expression: `${statistic}ms / 60000`,
              usingMetrics: { [`${statistic}ms`]: this.customMetric('FirstResponseTime', statistic) },
              label: `FirstResponseTime ${statistic}`,
              period: Duration.hours(1),
            }),
        ),
        width: 12,
        height: 6,
      }),
    );

    // ── The event pipeline: publishing, the queues, their consumers, the change log ──────────
    const consumers = [...new Set(p.queues.flatMap((queue) => queue.consumers))];
    const labelled = (f: ChatFunction, metric: cloudwatch.Metric, what: string) => metric.with({ label: `${f.entry} ${what}` });
    this.dashboard.addWidgets(
      graph(
        'Events: published / republished / failed',
        EVENT_METRICS.map((metric) => this.customMetric(metric).with({ label: metric })),
      ),
      graph(
        'Queues: depth / oldest message',
        p.queues.flatMap(({ key, queue }) => [
          this.queueMetric(queue, 'ApproximateNumberOfMessagesVisible', 'Maximum', `${key} visible`),
          this.queueMetric(queue, 'ApproximateNumberOfMessagesNotVisible', 'Maximum', `${key} in flight`),
        ]),
        {
          right: p.queues.map(({ key, queue }) => this.queueMetric(queue, 'ApproximateAgeOfOldestMessage', 'Maximum', `${key} oldest message (s)`)),
          rightAnnotations: [{ value: ALARM_THRESHOLDS.queueOldestMessageAgeSeconds, label: 'age alarm' }],
        },
      ),
      graph(
        'Queues: dead-letter depth',
        p.queues.map(({ key, deadLetterQueue }) =>
          this.queueMetric(deadLetterQueue, 'ApproximateNumberOfMessagesVisible', 'Maximum', `${key} dead letters`),
        ),
        { leftAnnotations: [{ value: ALARM_THRESHOLDS.deadLetterMessages, label: 'alarm' }] },
      ),
    );
    this.dashboard.addWidgets(
      graph('Queue consumers: invocations / errors', [
        ...consumers.map((f) => labelled(f, f.function.metricInvocations({ period: PERIOD, statistic: 'Sum' }), 'invocations')),
        ...consumers.map((f) => labelled(f, f.function.metricErrors({ period: PERIOD, statistic: 'Sum' }), 'errors')),
      ]),
      graph('Queue consumers: duration', [
        ...consumers.map((f) => labelled(f, f.function.metricDuration({ period: PERIOD, statistic: 'p50' }), 'p50')),
        ...consumers.map((f) => labelled(f, f.function.metricDuration({ period: PERIOD, statistic: 'p99' }), 'p99')),
      ]),
      graph('Change log: rows purged', CHANGE_LOG_METRICS.map((metric) => this.customMetric(metric).with({ label: metric }))),
    );
    this.dashboard.addWidgets(
      graph('Push: sent / failed / devices removed', PUSH_METRICS.map((metric) => this.customMetric(metric).with({ label: metric })), { width: 12 }),
      graph('Webhooks: delivered / failed attempts / dead-lettered', WEBHOOK_METRICS.map((metric) => this.customMetric(metric).with({ label: metric })), {
        width: 12,
        leftAnnotations: [{ value: ALARM_THRESHOLDS.webhookFailures, label: 'failures alarm' }],
      }),
    );

    if (p.attachmentsProcessor) {
      const processor = p.attachmentsProcessor.function;
      this.dashboard.addWidgets(
        graph(
          'Attachments: uploads processed / rejected / failed',
          [
            this.customMetric(ATTACHMENT_METRICS.processed).with({ label: 'READY (AttachmentsProcessed)' }),
            this.customMetric(ATTACHMENT_METRICS.rejected).with({ label: 'REJECTED (AttachmentsRejected)' }),
            this.attachmentFailures().with({ label: 'failed records (AttachmentProcessingFailures)' }),
          ],
          { leftAnnotations: [{ value: ALARM_THRESHOLDS.attachmentProcessingFailures, label: 'failures alarm' }] },
        ),
        graph('Attachments: processing time per upload (ms)', [
          this.customMetric(ATTACHMENT_METRICS.processingTime, 'p50').with({ label: 'AttachmentProcessingTime p50' }),
          this.customMetric(ATTACHMENT_METRICS.processingTime, 'p99').with({ label: 'AttachmentProcessingTime p99' }),
          processor.metricDuration({ period: PERIOD, statistic: 'p99' }).with({ label: 'processor invocation duration p99' }),
        ]),
        graph(
          'Attachments: queue / dead letters / processor concurrency',
          p.queues
            .filter(({ key }) => key === 'attachments')
            .flatMap(({ queue, deadLetterQueue }) => [
              this.queueMetric(queue, 'ApproximateNumberOfMessagesVisible', 'Maximum', 'uploads waiting'),
              this.queueMetric(queue, 'ApproximateAgeOfOldestMessage', 'Maximum', 'oldest upload waiting (s)'),
              this.queueMetric(deadLetterQueue, 'ApproximateNumberOfMessagesVisible', 'Maximum', 'dead letters'),
            ]),
          { right: [processor.metric('ConcurrentExecutions', { period: PERIOD, statistic: 'Maximum' }).with({ label: 'processor concurrency' })] },
        ),
      );
    }

    this.dashboard.addWidgets(
      new cloudwatch.AlarmStatusWidget({
        title: 'Alarms',
        alarms: this.alarms,
        width: 24,
        height: Math.min(12, 2 + Math.ceil(this.alarms.length / 4)),
      }),
    );
  }
}
