/**
 * One Lambda function of the product, with the defaults every function shares, and `bind…()`
 * helpers that set an environment variable and grant the matching access in one call, so a
 * function never has a table name or queue URL without the right to use it (or the reverse).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import type { IWebSocketApi, IWebSocketStage } from 'aws-cdk-lib/aws-apigatewayv2';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { Charset, LogLevel, NodejsFunction, OutputFormat, SourceMapMode, type ICommandHooks } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { IDatabaseProxy } from 'aws-cdk-lib/aws-rds';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct, Node } from 'constructs';
import { QUEUES, type QueueKey } from '#config/queues';
import { HTTP_ROUTES, QUEUE_CONSUMERS, SCHEDULED_TASKS, WEBSOCKET_ROUTES } from '#config/routes';
import { TABLES, type TableKey } from '#config/tables';
import { lambdaPlatformModules } from '#lib/constructs/lambda-platform-modules';
import { nagResource } from '#lib/constructs/nag';
import type { QueueAccess, TableAccess } from '#lib/stacks/function-access';

/** The repository root: NodejsFunction bundles from here with the project's lockfile and tsconfig. */
export const PROJECT_ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** Where handler modules live; a manifest entry `http/health` is `functions/handlers/http/health.ts`. */
export const HANDLERS_DIR = path.join(PROJECT_ROOT, 'functions', 'handlers');

/**
 * The handler entries whose routes touch Postgres (the `database` flag of functions/config/routes.ts):
 * their bundles hold Prisma, and the query compiler's WebAssembly ships beside index.mjs.
 */
export const DATABASE_ENTRIES: ReadonlySet<string> = new Set(
  [...HTTP_ROUTES, ...WEBSOCKET_ROUTES, ...SCHEDULED_TASKS, ...QUEUE_CONSUMERS].filter((route) => route.database).map((route) => route.entry),
);

/**
 * Where bin/prisma-generate.ts writes the query compiler's WebAssembly
 * (`query_compiler_<build>_bg.wasm`); the generated client reads it from beside itself, which in
 * a bundle is beside index.mjs.
 */
export const QUERY_COMPILER_DIR = path.join(PROJECT_ROOT, 'functions', 'adapters', 'postgres', 'generated', 'internal');

/** The bundling step that puts the query compiler's WebAssembly beside a database function's index.mjs. */
export function copyQueryCompiler(inputDir: string, outputDir: string): string {
  const from = path.posix.join(inputDir, path.relative(PROJECT_ROOT, QUERY_COMPILER_DIR).split(path.sep).join('/'));
  return `cp "${from}"/query_compiler_*_bg.wasm "${outputDir}/"`;
}

/** Runs the function's own hooks, then, for a database function, copies the query compiler. */
function bundlingHooks(own: ICommandHooks | undefined, database: boolean): ICommandHooks | undefined {
  if (!database) return own;
  return {
    beforeBundling: (inputDir, outputDir) => own?.beforeBundling(inputDir, outputDir) ?? [],
    beforeInstall: (inputDir, outputDir) => own?.beforeInstall(inputDir, outputDir) ?? [],
    afterBundling: (inputDir, outputDir) => [...(own?.afterBundling(inputDir, outputDir) ?? []), copyQueryCompiler(inputDir, outputDir)],
  };
}

/**
 * Left out of every bundle: pg's optional native binding (never loaded: pg-native is not
 * installed), and the AWS SDK's credential providers a Lambda function never reaches. Lambda
 * puts the function's credentials in its environment, the first provider of the SDK's default
 * chain (credential-provider-env, bundled); SSO, shared ini files, credential processes, web
 * identity tokens, console login and the EC2/ECS metadata services come after it and are only
 * imported, dynamically, when the ones before have failed. Leaving them out takes about
 * 110 KiB off every function.
 */
export const EXTERNAL_MODULES = [
  'pg-native',
  '@aws-sdk/credential-provider-ini',
  '@aws-sdk/credential-provider-sso',
  '@aws-sdk/credential-provider-process',
  '@aws-sdk/credential-provider-web-identity',
  '@aws-sdk/credential-provider-login',
  '@aws-sdk/credential-provider-http',
  '@aws-sdk/nested-clients',
  '@aws-sdk/token-providers',
  '@smithy/credential-provider-imds',
];

/**
 * Prepended to every ESM bundle. Bundled CommonJS dependencies (the Prisma runtime, pg, the
 * Powertools internals) call `require()` for Node built-ins and read `__filename`/`__dirname`,
 * none of which exist in an ES module; esbuild's shim would throw "Dynamic require of … is not
 * supported" at cold start. The aliases keep the banner's own imports from colliding with
 * bundled names.
 */
export const ESM_REQUIRE_BANNER = [
  "import { createRequire as __chatCreateRequire } from 'node:module';",
  "import { fileURLToPath as __chatFileURLToPath } from 'node:url';",
  "import { dirname as __chatDirname } from 'node:path';",
  'const require = __chatCreateRequire(import.meta.url);',
  'const __filename = __chatFileURLToPath(import.meta.url);',
  'const __dirname = __chatDirname(__filename);',
].join(' ');

/** How a function in the VPC is placed: the subnets and the security group the proxy admits. */
export interface ChatFunctionNetwork {
  vpc: ec2.IVpc;
  subnets: ec2.SubnetSelection;
  securityGroups: ec2.ISecurityGroup[];
}

export interface ChatFunctionProps {
  /** The handler module under functions/handlers, without extension (a route manifest entry). */
  entry: string;
  /** Shown in the Lambda console; defaults to the entry. */
  description?: string;
  /** @default 512 */
  memorySize?: number;
  /** @default 10 seconds */
  timeout?: Duration;
  /** Powertools' service name: the `service` dimension of every custom metric and log line. */
  serviceName: string;
  /** CloudWatch namespace of the Powertools (EMF) metrics. */
  metricsNamespace: string;
  logRetention: logs.RetentionDays;
  /** What happens to the log group when the function is deleted. @default DESTROY */
  logRemovalPolicy?: RemovalPolicy;
  /** Places the function in the VPC; required before {@link ChatFunction.bindDatabase}. */
  network?: ChatFunctionNetwork;
  environment?: Record<string, string>;
  /** Extra bundling steps, e.g. copying the migrations next to the bundle. */
  commandHooks?: ICommandHooks;
  /** Installed into the bundle's node_modules for Lambda's platform instead of bundled (native addons such as sharp). */
  nodeModules?: string[];
}

/**
 * esbuild's log level from the context value `bundlingLogLevel` (verbose, debug, info, warning,
 * error, silent): the test suite sets `error`, so bundle listings do not interleave its results.
 */
function bundlingLogLevel(scope: Construct): { logLevel?: LogLevel } {
  const value: unknown = Node.of(scope).tryGetContext('bundlingLogLevel');
  if (value === undefined) return {};
  if (!(Object.values(LogLevel) as unknown[]).includes(value)) {
    throw new Error(`Context bundlingLogLevel must be one of ${Object.values(LogLevel).join(', ')}; got ${String(value)}`);
  }
  return { logLevel: value as LogLevel };
}

const DEFAULT_MEMORY_MB = 512;
const DEFAULT_TIMEOUT = Duration.seconds(10);

/**
 * A NodejsFunction with the product's defaults: Node.js 22 on ARM64, an esbuild ESM bundle
 * (minified, with source maps), active X-Ray tracing, a log group with a retention, and the
 * Powertools environment.
 *
 * When the stack skips bundling (context `aws:cdk:bundling-stacks: []`, as the infrastructure
 * tests do) a missing handler module is tolerated, so the stacks can be synthesized while the
 * handlers are still being written; a real bundle of a missing module fails with its path.
 */
export class ChatFunction extends Construct {
  readonly function: NodejsFunction;
  readonly logGroup: logs.LogGroup;
  /** The manifest entry this function serves. */
  readonly entry: string;
  private readonly boundTables = new Map<TableKey, TableAccess>();
  private readonly boundQueues = new Map<QueueKey, QueueAccess>();

  constructor(scope: Construct, id: string, props: ChatFunctionProps) {
    super(scope, id);
    this.entry = props.entry;
    const entryPath = path.join(HANDLERS_DIR, `${props.entry}.ts`);
    const stack = Stack.of(this);
    let bundledEntry = entryPath;
    if (!existsSync(entryPath)) {
      if (stack.bundlingRequired) {
        throw new Error(`Handler module ${path.relative(PROJECT_ROOT, entryPath)} does not exist (route manifest entry '${props.entry}').`);
      }
      // Bundling is skipped, so the entry is never read; NodejsFunction only checks that it exists.
      bundledEntry = fileURLToPath(import.meta.url);
    }

    this.logGroup = new logs.LogGroup(this, 'LogGroup', {
      retention: props.logRetention,
      removalPolicy: props.logRemovalPolicy ?? RemovalPolicy.DESTROY,
    });

    this.function = new NodejsFunction(this, 'Function', {
      entry: bundledEntry,
      handler: 'handler',
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: path.join(PROJECT_ROOT, 'package-lock.json'),
      description: props.description ?? props.entry,
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? DEFAULT_MEMORY_MB,
      timeout: props.timeout ?? DEFAULT_TIMEOUT,
      tracing: lambda.Tracing.ACTIVE,
      logGroup: this.logGroup,
      ...(props.network
        ? { vpc: props.network.vpc, vpcSubnets: props.network.subnets, securityGroups: props.network.securityGroups }
        : {}),
      environment: {
        POWERTOOLS_SERVICE_NAME: props.serviceName,
        POWERTOOLS_METRICS_NAMESPACE: props.metricsNamespace,
        POWERTOOLS_LOG_LEVEL: 'INFO',
        // Stack traces point at the TypeScript sources through the bundled source maps.
        NODE_OPTIONS: '--enable-source-maps',
        ...props.environment,
      },
      bundling: {
        format: OutputFormat.ESM,
        target: 'node22',
        minify: true,
        sourceMap: true,
        sourceMapMode: SourceMapMode.DEFAULT,
        sourcesContent: false,
        mainFields: ['module', 'main'],
        banner: ESM_REQUIRE_BANNER,
        // Bundle the AWS SDK too: the versions the tests ran are the versions that run in Lambda.
        externalModules: EXTERNAL_MODULES,
        // Non-ASCII characters as they are, not as \u escapes: smaller bundles.
        charset: Charset.UTF8,
        ...(() => {
          const commandHooks = bundlingHooks(props.commandHooks, DATABASE_ENTRIES.has(props.entry));
          return commandHooks ? { commandHooks } : {};
        })(),
        ...(props.nodeModules ? lambdaPlatformModules(props.nodeModules) : {}),
        ...bundlingLogLevel(scope),
      },
    });

    Validations.of(this).acknowledge(
      {
        id: 'AwsSolutions-L1',
        reason: 'The product targets Node.js 22 (the runtime its dependencies and tests are pinned to); moving to a newer runtime is a deliberate upgrade.',
      },
      {
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
        reason: 'The AWS-maintained basic execution policy only lets the function write its own CloudWatch logs.',
      },
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: 'X-Ray tracing: xray:PutTraceSegments and xray:PutTelemetryRecords do not support resource-level permissions.',
      },
    );
    if (props.network) {
      Validations.of(this).acknowledge({
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole]',
        reason: 'The AWS-maintained VPC access policy only manages the network interfaces Lambda needs to run the function in the VPC.',
      });
    }
  }

  /** The tables this function is bound to, with the access granted. */
  get tables(): ReadonlyMap<TableKey, TableAccess> {
    return this.boundTables;
  }

  /** The queues this function sends to or consumes. */
  get queues(): ReadonlyMap<QueueKey, QueueAccess> {
    return this.boundQueues;
  }

  /** Sets an environment variable on the function. */
  addEnvironment(name: string, value: string): this {
    this.function.addEnvironment(name, value);
    return this;
  }

  /**
   * Gives the function one DynamoDB table: its name in the table's settings variable
   * (CONNECTIONS_TABLE, …) and read or read-write data access to the table and its indexes.
   */
  bindTable(key: TableKey, table: ITable, access: TableAccess): this {
    if (this.boundTables.has(key)) throw new Error(`${this.node.path} is already bound to the ${key} table`);
    this.boundTables.set(key, access);
    this.function.addEnvironment(TABLES[key].settingsKey, table.tableName);
    if (access === 'read') table.grantReadData(this.function);
    else table.grantReadWriteData(this.function);
    if (TABLES[key].globalSecondaryIndexes.length > 0) {
      // The connection store reads both parties of a conversation with one PartiQL SELECT on an
      // index (`partyKey IN [...]`), which CDK's data grants do not include. Reads only.
      table.grant(this.function, 'dynamodb:PartiQLSelect');
      Validations.of(this).acknowledge({
        id: `AwsSolutions-IAM5[Resource::${nagResource(this, `${table.tableArn}/index/*`)}]`,
        reason: `Queries the ${key} table's global secondary indexes (${TABLES[key].globalSecondaryIndexes.map((index) => index.name).join(', ')}); the grant is limited to that one table's indexes.`,
      });
    }
    return this;
  }

  /**
   * Lets the function send to one SQS queue: its URL in the queue's settings variable
   * (EVENTS_QUEUE_URL, …) and sqs:SendMessage (with GetQueueAttributes and GetQueueUrl) on that
   * queue only. Never receive or delete: a publisher cannot take what a consumer should get.
   */
  bindQueue(key: QueueKey, queue: IQueue): this {
    if (this.boundQueues.has(key)) throw new Error(`${this.node.path} is already bound to the ${key} queue`);
    this.boundQueues.set(key, 'send');
    this.function.addEnvironment(QUEUES[key].urlSettingsKey, queue.queueUrl);
    queue.grantSendMessages(this.function);
    return this;
  }

  /**
   * Makes one SQS queue trigger the function: an event source mapping with the batch size and
   * window given, reporting partial batch failures (the handler answers `batchItemFailures`, so
   * only the failed records are delivered again, and after the queue's maxReceiveCount they move
   * to its dead-letter queue). The mapping grants receive, delete and change-visibility on this
   * queue only. The function gets no URL and no right to send: it is handed its records.
   */
  consumeQueue(key: QueueKey, queue: IQueue, options: { batchSize: number; maxBatchingWindow: Duration }): this {
    if (this.boundQueues.has(key)) throw new Error(`${this.node.path} is already bound to the ${key} queue`);
    this.boundQueues.set(key, 'consume');
    this.function.addEventSource(
      new SqsEventSource(queue, {
        batchSize: options.batchSize,
        maxBatchingWindow: options.maxBatchingWindow,
        reportBatchItemFailures: true,
      }),
    );
    return this;
  }

  /**
   * Gives the function Postgres through RDS Proxy: the proxy endpoint (DATABASE_HOST), the
   * credentials secret (DATABASE_SECRET_ARN, read access) and the database name. The function
   * must already be in the VPC, in the security group the proxy admits; it never reaches the
   * database instance directly.
   */
  bindDatabase(proxy: IDatabaseProxy, secret: ISecret, databaseName: string): this {
    if (!this.function.isBoundToVpc) {
      throw new Error(`${this.node.path} must be placed in the VPC (props.network) before it can reach the database`);
    }
    this.function.addEnvironment('DATABASE_HOST', proxy.endpoint);
    this.function.addEnvironment('DATABASE_SECRET_ARN', secret.secretArn);
    this.function.addEnvironment('DATABASE_NAME', databaseName);
    secret.grantRead(this.function);
    return this;
  }

  /**
   * Lets the function post to, read and close WebSocket connections of one API stage, and tells
   * it where (WEBSOCKET_CALLBACK_URL, the stage's `@connections` endpoint).
   */
  bindConnectionsApi(api: IWebSocketApi, stage: IWebSocketStage): this {
    this.function.addEnvironment('WEBSOCKET_CALLBACK_URL', stage.callbackUrl);
    const connectionsArn = Stack.of(this).formatArn({
      service: 'execute-api',
      resource: api.apiId,
      resourceName: `${stage.stageName}/*/@connections/*`,
    });
    this.function.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['execute-api:ManageConnections'], resources: [connectionsArn] }),
    );
    Validations.of(this).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${nagResource(this, connectionsArn)}]`,
      reason: 'Connection ids are only known at run time; the grant is limited to @connections of this one API stage.',
    });
    return this;
  }

  /**
   * Lets the function push through SNS mobile push to the given platform applications: their
   * ARNs in PUSH_APNS_APPLICATION_ARN / PUSH_FCM_APPLICATION_ARN, sns:CreatePlatformEndpoint on
   * those applications only, and Publish, Get/SetEndpointAttributes and DeleteEndpoint on their
   * endpoints only (`endpoint/<platform>/<application>/*`).
   */
/**
   * Lets the function deliver webhooks: the receiver's URL (when configured), read access to the
   * signing secret and nothing else of Secrets Manager, its queue's URL (its records' visibility
   * comes with consuming it) and sending to that queue's dead-letter queue, for what it gives up.
   */
  bindWebhooks(props: { url?: string; secret: ISecret; queue: IQueue; deadLetterQueue: IQueue }): this {
    if (props.url) this.function.addEnvironment('CHAT_WEBHOOK_URL', props.url);
    this.function.addEnvironment('CHAT_WEBHOOK_SECRET_ARN', props.secret.secretArn);
    this.function.addEnvironment(QUEUES.webhooks.urlSettingsKey, props.queue.queueUrl);
    this.function.addEnvironment(QUEUES.webhooks.deadLetterUrlSettingsKey, props.deadLetterQueue.queueUrl);
    props.secret.grantRead(this.function);
    props.deadLetterQueue.grantSendMessages(this.function);
    return this;
  }

    bindPushApplications(applications: { apnsApplicationArn?: string; fcmApplicationArn?: string }): this {
    const arns = [applications.apnsApplicationArn, applications.fcmApplicationArn].filter((arn): arn is string => Boolean(arn));
    if (applications.apnsApplicationArn) this.function.addEnvironment('PUSH_APNS_APPLICATION_ARN', applications.apnsApplicationArn);
    if (applications.fcmApplicationArn) this.function.addEnvironment('PUSH_FCM_APPLICATION_ARN', applications.fcmApplicationArn);
    if (arns.length === 0) return this;
    const endpoints = arns.map((arn) => `${arn.replace(':app/', ':endpoint/')}/*`);
    this.function.addToRolePolicy(new iam.PolicyStatement({ actions: ['sns:CreatePlatformEndpoint'], resources: arns }));
    this.function.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['sns:Publish', 'sns:GetEndpointAttributes', 'sns:SetEndpointAttributes', 'sns:DeleteEndpoint'], resources: endpoints }),
    );
    for (const endpoint of endpoints) {
      Validations.of(this).acknowledge({
        id: `AwsSolutions-IAM5[Resource::${nagResource(this, endpoint)}]`,
        reason: "A device's endpoint ARN is made by SNS at run time; the grant is limited to the endpoints of this one platform application.",
      });
    }
    return this;
  }
}
