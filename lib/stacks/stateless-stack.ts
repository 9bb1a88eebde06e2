/**
 * Everything that is code and configuration: one Lambda function per handler module in the route
 * manifest, the HTTP and WebSocket APIs wired from the manifest, the schedules and queue event
 * sources that trigger the other functions, the migrations custom resource, and the dashboard and
 * alarms. Safe to destroy and redeploy; it holds no data (the queues live in the stateful stack).
 */
import { Annotations, CfnOutput, Duration, NestedStack, Stack, Validations, type StackProps } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import {
  CorsHttpMethod,
  DomainName,
  HttpApi,
  HttpMethod,
  HttpStage,
  LogGroupLogDestination,
  WebSocketApi,
  WebSocketStage,
  type IAccessLogSettings,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpJwtAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration, WebSocketLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { QUEUE_KEYS, type QueueKey } from '#config/queues';
import { HANDLER_ENTRIES, HTTP_ROUTES, QUEUE_CONSUMERS, SCHEDULED_TASKS, WEBSOCKET_ROUTES } from '#config/routes';
import { TABLE_KEYS, TABLES, type TableKey } from '#config/tables';
import { bindAttachmentsBucket } from '#lib/constructs/attachments-access';
import { ChatFunction, type ChatFunctionNetwork } from '#lib/constructs/chat-function';
import { DatabaseMigrations } from '#lib/constructs/database-migrations';
import { Observability } from '#lib/constructs/observability';
import type { DeploymentSettings } from './deployment-settings.ts';
import { FUNCTION_ACCESS, type HandlerEntry, type QueueAccess } from './function-access.ts';
import { functionTimeout } from './function-timeouts.ts';
import { attachmentsBucketName, deadLetterQueueName, pascalCase, queueName, resourcePrefix, SERVICE_NAME, tableName } from './naming.ts';
import { SUBNETS, type StatefulStack } from './stateful-stack.ts';

/** API Gateway throttling per stage (requests per second, and burst). */
const HTTP_THROTTLE = { rateLimit: 500, burstLimit: 1000 } as const;
const WEBSOCKET_THROTTLE = { rateLimit: 500, burstLimit: 1000 } as const;

/** Functions that use Postgres get more memory: Prisma compiles its query engine (WASM) at cold start. */
const DATABASE_FUNCTION_MEMORY_MB = 1024;
const FUNCTION_MEMORY_MB = 512;

/**
 * Functions that need more than their kind. The attachments processor holds a decoded photo
 * (a 12-megapixel image is 36 MB of pixels, more while sharp rotates and re-encodes it, and a
 * HEIC's WASM decoder its own heap) next to Prisma; Lambda's CPU grows with memory too.
 */
export const ENTRY_MEMORY_MB: Partial<Record<HandlerEntry, number>> = {
  'queue/process-attachments': 1536,
};

/**
 * Dependencies installed into a function's bundle (node_modules, for Lambda's linux-arm64)
 * instead of bundled by esbuild: native addons. sharp loads its prebuilt binary
 * (@img/sharp-linux-arm64 with @img/sharp-libvips-linux-arm64) from node_modules at run time.
 */
export const ENTRY_NODE_MODULES: Partial<Record<HandlerEntry, readonly string[]>> = {
  'queue/process-attachments': ['sharp'],
};

const HTTP_ACCESS_LOG_FORMAT = JSON.stringify({
  requestId: '$context.requestId',
  ip: '$context.identity.sourceIp',
  userAgent: '$context.identity.userAgent',
  requestTime: '$context.requestTime',
  httpMethod: '$context.httpMethod',
  routeKey: '$context.routeKey',
  path: '$context.path',
  status: '$context.status',
  protocol: '$context.protocol',
  responseLength: '$context.responseLength',
  responseLatency: '$context.responseLatency',
  integrationLatency: '$context.integrationLatency',
  integrationError: '$context.integrationErrorMessage',
  authorizerError: '$context.authorizer.error',
});

// No query string: a WebSocket client connects with ?token=<JWT>, which must not reach the logs.
const WEBSOCKET_ACCESS_LOG_FORMAT = JSON.stringify({
  requestId: '$context.requestId',
  connectionId: '$context.connectionId',
  eventType: '$context.eventType',
  routeKey: '$context.routeKey',
  status: '$context.status',
  ip: '$context.identity.sourceIp',
  requestTime: '$context.requestTime',
  integrationLatency: '$context.integrationLatency',
  integrationError: '$context.integrationErrorMessage',
  error: '$context.error.message',
});

/** Estimated max_connections of RDS PostgreSQL: LEAST(DBInstanceClassMemory / 9531392, 5000). */
export function estimateMaxConnections(instanceType: string): number | undefined {
  const [family = '', size = ''] = instanceType.split('.');
  const gibibytesBySize: Record<string, number> = {
    micro: 1,
    small: 2,
    medium: 4,
    large: 8,
    xlarge: 16,
    '2xlarge': 32,
    '4xlarge': 64,
    '8xlarge': 128,
    '12xlarge': 192,
    '16xlarge': 256,
    '24xlarge': 384,
  };
  const base = gibibytesBySize[size];
  if (base === undefined) return undefined;
  // Memory-optimised classes have twice (r) or four times (x) the memory per size step.
  const factor = family.startsWith('r') ? 2 : family.startsWith('x') ? 4 : 1;
  return Math.min(Math.floor((base * factor * 1024 ** 3) / 9_531_392), 5000);
}

export interface StatelessStackProps extends StackProps {
  settings: DeploymentSettings;
  stateful: StatefulStack;
}

export class StatelessStack extends Stack {
  /** One function per handler entry of the route manifest. */
  readonly functions = new Map<HandlerEntry, ChatFunction>();
  readonly httpApi: HttpApi;
  readonly httpStage: HttpStage;
  readonly webSocketApi: WebSocketApi;
  readonly webSocketStage: WebSocketStage;
  readonly jwtAuthorizer: HttpJwtAuthorizer;
  readonly migrations: DatabaseMigrations;
  /**
   * The dashboard, the alarms and their topic, in a nested stack of their own: two alarms per
   * function make them a quarter of this stack's resources, and CloudFormation allows 500 per
   * stack. References to the functions, APIs, tables and queues become the nested stack's
   * parameters (CDK wires them).
   */
  readonly monitoring: NestedStack;
  readonly observability: Observability;

  constructor(scope: Construct, id: string, props: StatelessStackProps) {
    super(scope, id, props);
    const { settings, stateful } = props;
    const prefix = resourcePrefix(settings.stage);
    const logRetention = settings.logRetentionDays as logs.RetentionDays;
    const network: ChatFunctionNetwork = {
      vpc: stateful.vpc,
      subnets: { subnetGroupName: SUBNETS.application },
      securityGroups: [stateful.databaseClientSecurityGroup],
    };

    // Tables by their fixed names: no cross-stack exports to pin, and readable IAM policies.
    const tables = Object.fromEntries(
      TABLE_KEYS.map((key) => {
        const indexes = TABLES[key].globalSecondaryIndexes.map((index) => index.name);
        return [
          key,
          dynamodb.Table.fromTableAttributes(this, `${pascalCase(key)}Table`, {
            tableName: tableName(settings.stage, key),
            ...(indexes.length > 0 ? { globalIndexes: indexes } : {}),
          }),
        ];
      }),
    ) as Record<TableKey, dynamodb.ITable>;

    // Queues by their fixed names too (the stateful stack creates them).
    const queueByName = (id: string, name: string) =>
      sqs.Queue.fromQueueAttributes(this, id, {
        queueName: name,
        queueArn: this.formatArn({ service: 'sqs', resource: name }),
        queueUrl: `https://sqs.${this.region}.${this.urlSuffix}/${this.account}/${name}`,
      });
    const queues = Object.fromEntries(
      QUEUE_KEYS.map((key) => [
        key,
        {
          queue: queueByName(`${pascalCase(key)}Queue`, queueName(settings.stage, key)),
          deadLetterQueue: queueByName(`${pascalCase(key)}DeadLetterQueue`, deadLetterQueueName(settings.stage, key)),
        },
      ]),
    ) as Record<QueueKey, { queue: sqs.IQueue; deadLetterQueue: sqs.IQueue }>;

    // The attachments bucket by its fixed name, like the tables: IAM policies name its prefixes.
    const attachmentsBucket = s3.Bucket.fromBucketName(this, 'AttachmentsBucket', attachmentsBucketName(settings.stage, this.account));

    // ── WebSocket API (first: the functions need its callback URL) ─────────────────────────
    this.webSocketApi = new WebSocketApi(this, 'WebSocketApi', {
      apiName: `${prefix}-ws`,
      description: 'Provider-customer chat: real-time frames ({"action": NAME, "data": {…}})',
      routeSelectionExpression: '$request.body.action',
    });
    const webSocketAccessLogs = new logs.LogGroup(this, 'WebSocketAccessLogs', { retention: logRetention });
    this.webSocketStage = new WebSocketStage(this, 'WebSocketStage', {
      webSocketApi: this.webSocketApi,
      stageName: settings.stage,
      autoDeploy: true,
      throttle: WEBSOCKET_THROTTLE,
      accessLogSettings: accessLogs(webSocketAccessLogs, WEBSOCKET_ACCESS_LOG_FORMAT),
      ...(settings.customDomain?.webSocketDomainName
        ? { domainMapping: { domainName: this.customDomain('WebSocketDomain', settings.customDomain.webSocketDomainName, settings.customDomain.certificateArn) } }
        : {}),
    });
    if (settings.apiGatewayAccountRole) {
      // WebSocket (unlike HTTP) APIs log through API Gateway's account-wide CloudWatch role.
      const role = new iam.Role(this, 'ApiGatewayCloudWatchRole', {
        assumedBy: new iam.ServicePrincipal('apigateway.amazonaws.com'),
        managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('service-role/AmazonAPIGatewayPushToCloudWatchLogs')],
      });
      Validations.of(role).acknowledge({
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
        reason: "API Gateway's account logging role needs exactly the AWS-maintained push-to-CloudWatch-Logs policy.",
      });
      const account = new apigateway.CfnAccount(this, 'ApiGatewayAccount', { cloudWatchRoleArn: role.roleArn });
      this.webSocketStage.node.addDependency(account);
    }

    // ── Functions ──────────────────────────────────────────────────────────────────────────
    const auth = stateful.tokenIssuer;
    const authEnvironment = {
      AUTH_ISSUER: auth.issuer,
      AUTH_AUDIENCE: auth.audience.join(','),
      AUTH_JWKS_URI: auth.jwksUri,
      AUTH_CLAIM_USER_ID: auth.claims.userId,
      AUTH_CLAIM_ROLE: auth.claims.role,
      AUTH_CLAIM_PROVIDER_ID: auth.claims.providerId,
      ...(auth.serviceScope ? { AUTH_SERVICE_SCOPE: auth.serviceScope } : {}),
    };
    // Every trigger of the manifest, with how long its kind of function may run.
    const routes = [
      ...[...HTTP_ROUTES, ...WEBSOCKET_ROUTES].map((route) => ({ ...route, timeout: functionTimeout(route.entry, 'api') })),
      ...SCHEDULED_TASKS.map((task) => ({ ...task, timeout: functionTimeout(task.entry, 'scheduled') })),
      ...QUEUE_CONSUMERS.map((consumer) => ({ ...consumer, timeout: functionTimeout(consumer.entry, 'queue') })),
    ] as readonly { entry: HandlerEntry; database: boolean; summary: string; timeout: Duration }[];
    for (const entry of HANDLER_ENTRIES as HandlerEntry[]) {
      const served = routes.filter((route) => route.entry === entry);
      const database = served.some((route) => route.database);
      const access = FUNCTION_ACCESS[entry];
      const chatFunction = new ChatFunction(this, pascalCase(entry), {
        entry,
        description: `${entry}: ${served[0]?.summary ?? ''}`.slice(0, 256),
        memorySize: ENTRY_MEMORY_MB[entry] ?? (database ? DATABASE_FUNCTION_MEMORY_MB : FUNCTION_MEMORY_MB),
        timeout: Duration.seconds(Math.max(...served.map((route) => route.timeout.toSeconds()))),
        serviceName: SERVICE_NAME,
        metricsNamespace: settings.metricsNamespace,
        logRetention,
        ...(database ? { network } : {}),
        environment: authEnvironment,
        ...(ENTRY_NODE_MODULES[entry] ? { nodeModules: [...ENTRY_NODE_MODULES[entry]] } : {}),
      });
      if (database) chatFunction.bindDatabase(stateful.proxy, stateful.databaseSecret, stateful.databaseName);
      for (const [key, level] of Object.entries(access.tables) as [TableKey, 'read' | 'readWrite'][]) {
        chatFunction.bindTable(key, tables[key], level);
      }
      if (access.connectionsApi) chatFunction.bindConnectionsApi(this.webSocketApi, this.webSocketStage);
      if (access.attachments) bindAttachmentsBucket(chatFunction, attachmentsBucket, access.attachments);
      if (access.push) chatFunction.bindPushApplications(settings.push);
      if (access.webhooks) {
        chatFunction.bindWebhooks({ url: settings.webhookUrl, secret: stateful.webhookSecret, ...queues.webhooks });
      } else if (access.queues.webhooks === 'send' && settings.webhookUrl) {
        // The events queue's consumer forwards to the webhooks queue only while a receiver is configured.
        chatFunction.function.addEnvironment('CHAT_WEBHOOK_URL', settings.webhookUrl);
      }
      for (const [key, level] of Object.entries(access.queues) as [QueueKey, QueueAccess][]) {
        if (level === 'send') {
          chatFunction.bindQueue(key, queues[key].queue);
          continue;
        }
        // A consumer's access and its trigger are one decision: the manifest must name it too.
        const consumers = QUEUE_CONSUMERS.filter((consumer) => consumer.entry === entry && consumer.queue === key);
        if (consumers.length !== 1) {
          throw new Error(`${entry} consumes the ${key} queue (lib/stacks/function-access.ts) but QUEUE_CONSUMERS names it ${consumers.length} times for that queue`);
        }
        chatFunction.consumeQueue(key, queues[key].queue, {
          batchSize: consumers[0]!.batchSize,
          maxBatchingWindow: Duration.seconds(consumers[0]!.maxBatchingWindowSeconds),
        });
      }
      this.functions.set(entry, chatFunction);
    }
    for (const consumer of QUEUE_CONSUMERS) {
      if (FUNCTION_ACCESS[consumer.entry].queues[consumer.queue] !== 'consume') {
        throw new Error(`QUEUE_CONSUMERS has ${consumer.entry} consume the ${consumer.queue} queue; give it { ${consumer.queue}: 'consume' } in lib/stacks/function-access.ts`);
      }
    }

    // ── Migrations: applied before any function that needs the new schema is updated ───────
    this.migrations = new DatabaseMigrations(this, 'DatabaseMigrations', {
      network,
      proxy: stateful.proxy,
      secret: stateful.databaseSecret,
      databaseName: stateful.databaseName,
      serviceName: SERVICE_NAME,
      metricsNamespace: settings.metricsNamespace,
      logRetention,
    });
    for (const [entry, chatFunction] of this.functions) {
      if (routes.some((route) => route.entry === entry && route.database)) {
        chatFunction.function.node.addDependency(this.migrations.resource);
      }
    }

    // ── HTTP API ───────────────────────────────────────────────────────────────────────────
    this.httpApi = new HttpApi(this, 'HttpApi', {
      apiName: `${prefix}-http`,
      description: 'Provider-customer chat: REST',
      createDefaultStage: false,
      corsPreflight: {
        allowOrigins: settings.corsAllowOrigins,
        allowMethods: [CorsHttpMethod.GET, CorsHttpMethod.POST, CorsHttpMethod.PATCH, CorsHttpMethod.OPTIONS],
        allowHeaders: ['authorization', 'content-type'],
        maxAge: Duration.hours(1),
      },
    });
    const httpAccessLogs = new logs.LogGroup(this, 'HttpAccessLogs', { retention: logRetention });
    this.httpStage = new HttpStage(this, 'HttpStage', {
      httpApi: this.httpApi,
      stageName: '$default',
      autoDeploy: true,
      throttle: HTTP_THROTTLE,
      accessLogSettings: accessLogs(httpAccessLogs, HTTP_ACCESS_LOG_FORMAT),
      ...(settings.customDomain?.httpDomainName
        ? { domainMapping: { domainName: this.customDomain('HttpDomain', settings.customDomain.httpDomainName, settings.customDomain.certificateArn) } }
        : {}),
    });
    this.jwtAuthorizer = new HttpJwtAuthorizer('JwtAuthorizer', auth.issuer, {
      authorizerName: 'jwt',
      jwtAudience: auth.audience,
      identitySource: ['$request.header.Authorization'],
    });

    const httpIntegrations = new Map<HandlerEntry, HttpLambdaIntegration>();
    for (const route of HTTP_ROUTES) {
      const chatFunction = this.functions.get(route.entry)!;
      let integration = httpIntegrations.get(route.entry);
      if (!integration) {
        integration = new HttpLambdaIntegration(`${pascalCase(route.entry)}Integration`, chatFunction.function);
        httpIntegrations.set(route.entry, integration);
      }
      const [created] = this.httpApi.addRoutes({
        path: route.path,
        methods: [HttpMethod[route.method]],
        integration,
        ...(route.authorized ? { authorizer: this.jwtAuthorizer } : {}),
      });
      if (!route.authorized && created) {
        Validations.of(created).acknowledge({
          id: 'AwsSolutions-APIG4',
          reason: `${route.method} ${route.path} is public by contract (${route.summary}); it serves no user data.`,
        });
      }
    }

    // ── WebSocket routes ───────────────────────────────────────────────────────────────────
    for (const route of WEBSOCKET_ROUTES) {
      const chatFunction = this.functions.get(route.entry)!;
      const created = this.webSocketApi.addRoute(route.routeKey, {
        integration: new WebSocketLambdaIntegration(`${pascalCase(route.name)}Integration`, chatFunction.function),
      });
      Validations.of(created).acknowledge({
        id: 'AwsSolutions-APIG4',
        reason:
          route.routeKey === '$connect'
            ? 'A client may connect bare and send chat-authenticate within 30 s (wire contract); ws/connect verifies ?token itself and closes bare connections that never authenticate.'
            : 'API Gateway authorizes WebSocket APIs only on $connect; every message route looks up the identity its connection authenticated with and refuses unauthenticated connections.',
      });
    }

    // ── Scheduled tasks ────────────────────────────────────────────────────────────────────
    for (const task of SCHEDULED_TASKS) {
      new events.Rule(this, `${pascalCase(task.name)}Schedule`, {
        description: task.summary,
        schedule: events.Schedule.rate(Duration.minutes(task.everyMinutes)),
        // A missed run is covered by the next one a minute later: no retries piling up.
        targets: [new targets.LambdaFunction(this.functions.get(task.entry)!.function, { retryAttempts: 0 })],
      });
    }

    // ── Observability ──────────────────────────────────────────────────────────────────────
    const group = (name: string, entries: readonly { entry: HandlerEntry }[]) => ({
      name,
      functions: [...new Set(entries.map((route) => route.entry))].map((entry) => this.functions.get(entry)!),
    });
    const maxConnections = settings.database.maxConnections ?? estimateMaxConnections(settings.database.instanceType);
    if (maxConnections === undefined) {
      throw new Error(`Cannot estimate max_connections of ${settings.database.instanceType}; set the databaseMaxConnections context value.`);
    }
    this.monitoring = new NestedStack(this, 'Monitoring', { description: `${prefix}: dashboard, alarms and the alarm topic` });
    this.observability = new Observability(this.monitoring, 'Observability', {
      prefix,
      serviceName: SERVICE_NAME,
      metricsNamespace: settings.metricsNamespace,
      httpApi: this.httpApi,
      webSocketApi: this.webSocketApi,
      webSocketStage: this.webSocketStage,
      functionGroups: [
        group('HTTP', HTTP_ROUTES),
        group('WebSocket', WEBSOCKET_ROUTES),
        group('Scheduled', SCHEDULED_TASKS),
        group('Queue', QUEUE_CONSUMERS),
        { name: 'Deployment', functions: [this.migrations.handler] },
      ],
      tables,
      queues: QUEUE_KEYS.map((key) => ({
        key,
        ...queues[key],
        consumers: [...new Set(QUEUE_CONSUMERS.filter((consumer) => consumer.queue === key).map((consumer) => consumer.entry))].map(
          (entry) => this.functions.get(entry)!,
        ),
      })),
      ...(this.functions.has('queue/process-attachments') ? { attachmentsProcessor: this.functions.get('queue/process-attachments')! } : {}),
      databaseInstanceIdentifier: stateful.databaseInstanceIdentifier,
      databaseMaxConnections: maxConnections,
      proxyName: stateful.proxyName,
      ...(settings.alarmEmail ? { alarmEmail: settings.alarmEmail } : {}),
    });

    const pushPlatforms = [settings.push.apnsApplicationArn ? 'APNs' : null, settings.push.fcmApplicationArn ? 'FCM' : null].filter(Boolean);
    if (pushPlatforms.length < 2) {
      Annotations.of(this).addWarningV2(
        'chat:push-not-configured',
        `Push is not configured for ${pushPlatforms.length ? 'every platform' : 'any platform'} (pushApnsApplicationArn, pushFcmApplicationArn): devices are stored and nothing is pushed to ${pushPlatforms.length ? 'the others' : 'them'}. See docs/operations.md#push.`,
      );
    }
    new CfnOutput(this, 'PushPlatforms', { value: pushPlatforms.length ? pushPlatforms.join(', ') : 'none (push not configured)' });
    new CfnOutput(this, 'HttpApiUrl', { value: this.httpStage.url });
    new CfnOutput(this, 'WebSocketUrl', { value: this.webSocketStage.url });
    new CfnOutput(this, 'WebSocketCallbackUrl', { value: this.webSocketStage.callbackUrl });
    new CfnOutput(this, 'DashboardName', { value: this.observability.dashboard.dashboardName });
    new CfnOutput(this, 'AlarmTopicArn', { value: this.observability.topic.topicArn });
  }

  private customDomain(id: string, domainName: string, certificateArn: string): DomainName {
    const domain = new DomainName(this, id, {
      domainName,
      certificate: acm.Certificate.fromCertificateArn(this, `${id}Certificate`, certificateArn),
    });
    new CfnOutput(this, `${id}Target`, {
      value: domain.regionalDomainName,
      description: `Point a CNAME (or alias) for ${domainName} at this name`,
    });
    return domain;
  }
}

function accessLogs(logGroup: logs.ILogGroup, format: string): IAccessLogSettings {
  return {
    destination: new LogGroupLogDestination(logGroup),
    format: apigateway.AccessLogFormat.custom(format),
  };
}
