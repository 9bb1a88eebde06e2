/**
 * The whole local runtime in one call: Postgres, DynamoDB, the local SQS with the product's
 * queues, the local token issuer, the handlers' environment and the API Gateway emulator (with
 * the queue consumers). `npm start` (bin/start.ts) runs it on the usual ports with data under
 * `.data/`; tests and benchmarks run it in-process on free ports with a temp data directory, or
 * against servers they already started.
 *
 * Order matters: the handlers' environment is set before the emulator serves its first request
 * (or a queue consumer receives its first batch), and handler modules are only loaded by that
 * first invocation, so every module-scope read of process.env (settings are parsed once per
 * container) sees the local values.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { CreateQueueCommand, GetQueueAttributesCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { z } from 'zod';
import { DEV_JWKS_FILE, loadOrCreateDevIssuer, type DevIssuer } from '#adapters/auth/dev-issuer';
import { createDynamoClient } from '#adapters/dynamodb/client';
import { createSqsClient } from '#adapters/sqs/client';
import { LOCAL_S3_CREDENTIALS } from '#adapters/s3/client';
import { decodeS3Key } from '#adapters/s3/notifications';
import { deadLetterName, QUEUE_KEYS, QUEUES, type QueueDefinition, type QueueKey } from '#config/queues';
import { applyMigrations } from '#adapters/postgres/migrator';
import { loadSettings } from '#config/settings';
import { ensureTables, TABLE_KEYS, TABLES, tableNamesFrom, type TableNames } from '#config/tables';
import { waitUntilDynamoAnswers, startDynamoLocal } from './dynamodb.ts';
import { startEmulator, type Emulator, type EmulatorOptions } from './emulator.ts';
import { consoleLog, type EmulatorLog } from './log.ts';
import { ensureDatabase, resolveClusterDir, startEmbeddedPostgres, withDatabase } from './postgres.ts';
import { startSqsEmulator, type SqsEmulator } from './sqs.ts';
import { startSnsEmulator, type SnsEmulator } from './sns.ts';
import { devPushesRoute } from './dev-pushes.ts';
import { startLocalS3, type LocalS3, type S3EventNotification } from './s3.ts';

export const MIGRATIONS_DIR = fileURLToPath(new URL('../../prisma/migrations', import.meta.url));

const REGION = 'us-east-1';
/** The database the runtime keeps its data in, on the embedded server. */
const DATABASE_NAME = 'chat';
/**
 * The local queues' visibility timeout: AWS's (functions/config/queues.ts, minutes) would make a
 * failed record wait that long before its next try; locally it comes back in seconds.
 */
export const LOCAL_QUEUE_VISIBILITY_SECONDS = 10;

/** The local attachments bucket (ATTACHMENTS_BUCKET of the handlers); its objects live under `<dataDir>/s3/`. */
export const LOCAL_ATTACHMENTS_BUCKET = 'chat-attachments';

/** The local SNS's platform applications (one per platform) share this name. */
export const LOCAL_PUSH_APPLICATION = 'chat-local';

export interface LocalRuntimeOptions {
  /** Where data lives across restarts (Postgres, DynamoDB, the issuer's key); `.data` by default. */
  dataDir?: string;
  host?: string;
  /** HTTP API port: 3000 by default, 0 for any free port. */
  httpPort?: number;
  /** WebSocket API port: 3001 by default, 0 for any free port. */
  wsPort?: number;
  /** Use this Postgres database instead of starting the embedded server (migrations still apply). */
  databaseUrl?: string;
  /** Use this DynamoDB instead of starting DynamoDB Local (tables are still ensured). */
  dynamoEndpoint?: string;
  /** The local SQS port: 0 (the default) for any free port; `npm start` uses 3002 (SQS_PORT). */
  sqsPort?: number;
  /** The local S3 port: 0 (the default) for any free port; `npm start` uses 3003 (S3_PORT). */
  s3Port?: number;
  /** Visibility timeout of the local queues (not their dead-letter queues); 10 s by default. */
  queueVisibilityTimeoutSeconds?: number;
  /** Physical table names (tests use their own per file); the settings defaults otherwise. */
  tableNames?: TableNames;
  /** Apply pending migrations; true by default. */
  migrate?: boolean;
  /** The token issuer; by default the one whose key is kept in the data directory. */
  issuer?: DevIssuer;
  /** More environment for the handlers (settings such as CHAT_MESSAGE_LIMIT). */
  env?: Record<string, string>;
  /** Emulator settings: handlersDir, timeouts, WebSocket limits, queueConsumers, onPost, log… */
  emulator?: Omit<EmulatorOptions, 'host' | 'httpPort' | 'wsPort' | 'issuer' | 'sqs'>;
  /** Progress lines ("Postgres ready in 812 ms"); silent by default. */
  progress?: (line: string) => void;
  /** Fixed ports for the embedded Postgres and DynamoDB Local; free ones by default. */
  postgresPort?: number;
  dynamoPort?: number;
  /**
   * An embedded server that exits by itself (killed, crashed) is started again on the same port
   * and data, up to this many times per runtime (5 by default); then `onServerLost` is called.
   */
  maxServerRestarts?: number;
  /** A server could not be kept running: by default logged; `npm start` exits non-zero. */
  onServerLost?: (error: Error) => void;
}

export interface LocalRuntime {
  httpUrl: string;
  wsUrl: string;
  /** WEBSOCKET_CALLBACK_URL, the `@connections` endpoint. */
  callbackUrl: string;
  databaseUrl: string;
  dynamoEndpoint: string;
  /** SQS_ENDPOINT: the local SQS (`sqs.queues()` shows every queue's counts). */
  sqsEndpoint: string;
  sqs: SqsEmulator;
  /** S3_ENDPOINT: the local S3 holding the attachments bucket (path-style; the fixed local credentials). */
  s3Endpoint: string;
  s3: LocalS3;
  /** SNS_ENDPOINT: the local SNS the push consumer publishes to (`sns.published()`; `GET /dev/pushes`). */
  sns: SnsEmulator;
  /** Each queue's URL (EVENTS_QUEUE_URL…), and its dead-letter queue's. */
  queueUrls: Record<QueueKey, { url: string; deadLetterUrl: string }>;
  dataDir: string;
  tableNames: TableNames;
  issuer: DevIssuer;
  emulator: Emulator;
  /** Every variable the runtime set for the handlers. */
  env: Record<string, string>;
  /** Milliseconds per start-up step, and `total`. */
  timings: Record<string, number>;
  /** Stops the queue consumers, closes WebSockets (firing $disconnect), the servers, the local SQS, DynamoDB Local and Postgres; restores process.env. */
  stop(): Promise<void>;
}

const port = z.coerce.number().int().min(0).max(65_535);

/** The runtime's own environment variables (the product's are in functions/config/settings.ts). */
export const runtimeEnvSchema = z.object({
  PORT: port.default(3000),
  WS_PORT: port.default(3001),
  /** The local SQS (SQS_ENDPOINT of the handlers). */
  SQS_PORT: port.default(3002),
  /** The local S3 (S3_ENDPOINT of the handlers; the attachments bucket). */
  S3_PORT: port.default(3003),
  /** The embedded Postgres's port (free one by default). */
  CHAT_POSTGRES_PORT: port.optional(),
  /** DynamoDB Local's port (free one by default). */
  CHAT_DYNAMODB_PORT: port.optional(),
  /** Visibility timeout of the local queues, so a failed record is retried within seconds. */
  CHAT_LOCAL_QUEUE_VISIBILITY_SECONDS: z.coerce.number().int().min(0).max(43_200).default(LOCAL_QUEUE_VISIBILITY_SECONDS),
  CHAT_DATA_DIR: z.string().min(1).default('.data'),
  /** An external Postgres database to use instead of the embedded one. */
  DATABASE_URL: z.string().startsWith('postgres').optional(),
  /** An external DynamoDB to use instead of DynamoDB Local. */
  DYNAMODB_ENDPOINT: z.url().optional(),
  /** WebSocket idle timeout (API Gateway: 10 minutes). */
  CHAT_WS_IDLE_TIMEOUT_MS: z.coerce.number().int().positive().optional(),
  /** WebSocket maximum connection duration (API Gateway: 2 hours). */
  CHAT_WS_MAX_CONNECTION_MS: z.coerce.number().int().positive().optional(),
  /** Lambda function timeout for every handler (default 30 s). */
  CHAT_FUNCTION_TIMEOUT_MS: z.coerce.number().int().positive().optional(),
});

/** Runtime options from environment variables (PORT, WS_PORT, CHAT_DATA_DIR, DATABASE_URL, …). */
export function runtimeOptionsFromEnv(env: Record<string, string | undefined> = process.env): LocalRuntimeOptions {
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const parsed = runtimeEnvSchema.safeParse(present);
  if (!parsed.success) {
    throw new Error(`Invalid configuration: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  const values = parsed.data;
  return {
    dataDir: values.CHAT_DATA_DIR,
    httpPort: values.PORT,
    wsPort: values.WS_PORT,
    sqsPort: values.SQS_PORT,
    s3Port: values.S3_PORT,
    postgresPort: values.CHAT_POSTGRES_PORT || undefined,
    dynamoPort: values.CHAT_DYNAMODB_PORT || undefined,
    queueVisibilityTimeoutSeconds: values.CHAT_LOCAL_QUEUE_VISIBILITY_SECONDS,
    databaseUrl: values.DATABASE_URL,
    dynamoEndpoint: values.DYNAMODB_ENDPOINT,
    emulator: {
      idleTimeoutMs: values.CHAT_WS_IDLE_TIMEOUT_MS,
      maxConnectionMs: values.CHAT_WS_MAX_CONNECTION_MS,
      functionTimeoutMs: values.CHAT_FUNCTION_TIMEOUT_MS,
    },
  };
}

/** The superuser password of the embedded cluster, made on first start and kept beside it. */
async function postgresPassword(dataDir: string): Promise<string> {
  const file = path.join(dataDir, 'postgres-password');
  try {
    const stored = (await readFile(file, 'utf8')).trim();
    if (stored) return stored;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const password = randomBytes(18).toString('base64url');
  await writeFile(file, `${password}\n`, { mode: 0o600 });
  return password;
}

/**
 * Creates every queue of functions/config/queues.ts with its dead-letter queue and redrive
 * policy, through the SDK as the stack does in AWS.
 */
async function createQueues(client: SQSClient, visibilityTimeoutSeconds: number): Promise<LocalRuntime['queueUrls']> {
  const entries = await Promise.all(
    QUEUE_KEYS.map(async (key) => {
      const queue = QUEUES[key];
      const deadLetter = await client.send(
        new CreateQueueCommand({
          QueueName: deadLetterName(queue.localName),
          Attributes: { MessageRetentionPeriod: String(queue.deadLetterRetentionSeconds) },
        }),
      );
      const { Attributes } = await client.send(new GetQueueAttributesCommand({ QueueUrl: deadLetter.QueueUrl, AttributeNames: ['QueueArn'] }));
      const created = await client.send(
        new CreateQueueCommand({
          QueueName: queue.localName,
          Attributes: {
            VisibilityTimeout: String(visibilityTimeoutSeconds),
            MessageRetentionPeriod: String(queue.retentionSeconds),
            RedrivePolicy: JSON.stringify({ deadLetterTargetArn: Attributes?.QueueArn, maxReceiveCount: queue.maxReceiveCount }),
          },
        }),
      );
      return [key, { url: created.QueueUrl!, deadLetterUrl: deadLetter.QueueUrl! }] as const;
    }),
  );
  return Object.fromEntries(entries) as LocalRuntime['queueUrls'];
}

interface Supervised {
  port: number;
  pid: number | undefined;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stop(): Promise<void>;
}

/**
 * Keeps an embedded server running: when it exits by itself it is started again (same port, same
 * data) after a short pause, with a log line, at most `budget.left` times in all. Resolves the
 * returned stop() with the current instance's stop.
 */
function supervise<T extends Supervised>(
  name: string,
  first: T,
  restart: (port: number) => Promise<T>,
  budget: { left: number; max: number },
  log: EmulatorLog,
  lost: (error: Error) => void,
): () => Promise<void> {
  let current: T = first;
  let stopped = false;
  let restarting: Promise<void> | undefined;
  const watch = (server: T) => {
    void server.exited.then(async ({ code, signal }) => {
      if (stopped) return;
      const how = signal ?? `code ${code}`;
      restarting = (async () => {
        let lastError: unknown;
        while (!stopped && budget.left > 0) {
          budget.left -= 1;
          log.warn(`${name} (pid ${server.pid}) exited (${how}); restarting it on port ${server.port} (restart ${budget.max - budget.left} of ${budget.max})`);
          try {
            await new Promise((resolve) => setTimeout(resolve, 500));
            if (stopped) return;
            current = await restart(server.port);
            log.warn(`${name} is back (pid ${current.pid})`);
            watch(current);
            return;
          } catch (error) {
            lastError = error;
            log.error(`${name} did not restart`, error);
          }
        }
        if (!stopped) {
          lost(new Error(`${name} exited (${how}) and was restarted ${budget.max} time(s) already; giving up${lastError instanceof Error ? `: ${lastError.message.split('\n')[0]}` : ''}`));
        }
      })();
    });
  };
  watch(first);
  return async () => {
    stopped = true;
    await restarting;
    await current.stop();
  };
}

async function timed<T>(timings: Record<string, number>, name: string, work: () => Promise<T>): Promise<T> {
  const started = performance.now();
  try {
    return await work();
  } finally {
    timings[name] = Math.round(performance.now() - started);
  }
}

export async function startLocalRuntime(options: LocalRuntimeOptions = {}): Promise<LocalRuntime> {
  const began = performance.now();
  const progress = options.progress ?? (() => {});
  const timings: Record<string, number> = {};
  const dataDir = path.resolve(options.dataDir ?? '.data');
  await mkdir(dataDir, { recursive: true });
  // As root, embedded Postgres runs as the `postgres` user, which must be able to reach its directory.
  if (process.getuid?.() === 0) await chmod(dataDir, 0o755).catch(() => {});

  const stops: (() => Promise<void>)[] = [];
  const supervisorLog = options.emulator?.log ?? consoleLog();
  const maxRestarts = options.maxServerRestarts ?? 5;
  const restartBudget = { left: maxRestarts, max: maxRestarts };
  const lost = options.onServerLost ?? ((error: Error) => supervisorLog.error(error.message));
  const stopAll = async () => {
    await Promise.allSettled(stops.splice(0).map((stop) => stop()));
  };

  // The settings' names (defaults, or CONNECTIONS_TABLE… from the environment); also fails fast on a bad setting.
  const tableNames = options.tableNames ?? tableNamesFrom(loadSettings());

  const postgres = async (): Promise<string> => {
    let url: string;
    if (options.databaseUrl) {
      url = options.databaseUrl;
    } else {
      const password = await postgresPassword(dataDir);
      // As root, the cluster moves out of directories the `postgres` user cannot reach (a symlink stays here).
      const cluster = await resolveClusterDir(path.join(dataDir, 'postgres'));
      if (cluster.reason) progress(`PostgreSQL data lives in ${cluster.dir} (${cluster.reason})`);
      const startServer = (port: number | undefined) =>
        startEmbeddedPostgres({ dataDir: cluster.dir, password, persistent: true, durable: true, ownProcessGroup: true, port });
      const server = await timed(timings, 'postgres', () => startServer(options.postgresPort));
      stops.push(supervise('PostgreSQL', server, startServer, restartBudget, supervisorLog, lost));
      progress(`PostgreSQL ${server.created ? 'created and ' : ''}started in ${timings.postgres} ms (${cluster.dir})`);
      await ensureDatabase(server.url, DATABASE_NAME);
      url = withDatabase(server.url, DATABASE_NAME);
    }
    if (options.migrate ?? true) {
      const applied = await timed(timings, 'migrations', () => applyMigrations({ connectionString: url, migrationsDir: MIGRATIONS_DIR }));
      progress(applied.length ? `Applied ${applied.length} migration(s): ${applied.join(', ')}` : 'Database schema is up to date');
    }
    return url;
  };

  const dynamo = async (): Promise<string> => {
    let endpoint: string;
    if (options.dynamoEndpoint) {
      endpoint = options.dynamoEndpoint;
      await waitUntilDynamoAnswers(endpoint);
    } else {
      const startServer = (port: number | undefined) =>
        startDynamoLocal({ dbPath: path.join(dataDir, 'dynamodb'), sharedDb: true, ownProcessGroup: true, host: options.host, port });
      const server = await timed(timings, 'dynamodb', () => startServer(options.dynamoPort));
      stops.push(supervise('DynamoDB Local', server, startServer, restartBudget, supervisorLog, lost));
      endpoint = server.endpoint;
      progress(`DynamoDB Local started in ${timings.dynamodb} ms (${path.join(dataDir, 'dynamodb')})`);
    }
    const client = createDynamoClient({ endpoint, region: REGION });
    try {
      await timed(timings, 'tables', () => ensureTables(client, tableNames));
    } finally {
      client.destroy();
    }
    return endpoint;
  };

  const queues = async (): Promise<{ sqs: SqsEmulator; queueUrls: LocalRuntime['queueUrls'] }> => {
    const sqs = await timed(timings, 'sqs', async () => {
      try {
        return await startSqsEmulator({ host: options.host, port: options.sqsPort ?? 0, region: REGION, log: options.emulator?.log ?? consoleLog() });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
          throw new Error(`${(error as Error).message}: another process uses the port (set SQS_PORT to another)`, { cause: error });
        }
        throw error;
      }
    });
    stops.push(() => sqs.stop());
    const client = createSqsClient({ AWS_REGION: REGION, SQS_ENDPOINT: sqs.endpoint });
    try {
      const queueUrls = await timed(timings, 'queues', () => createQueues(client, options.queueVisibilityTimeoutSeconds ?? LOCAL_QUEUE_VISIBILITY_SECONDS));
      return { sqs, queueUrls };
    } finally {
      client.destroy();
    }
  };

  const pushService = async (): Promise<SnsEmulator> => {
    const started = await timed(timings, 'sns', () => startSnsEmulator({ host: options.host, region: REGION, log: options.emulator?.log ?? consoleLog() }));
    stops.push(() => started.stop());
    return started;
  };

  let databaseUrl: string;
  let dynamoEndpoint: string;
  let issuer: DevIssuer;
  let sqs: SqsEmulator;
  let sns: SnsEmulator;
  let queueUrls: LocalRuntime['queueUrls'];
  try {
    const results = await Promise.allSettled([
      postgres(),
      dynamo(),
      options.issuer ? Promise.resolve(options.issuer) : loadOrCreateDevIssuer(dataDir),
      queues(),
      pushService(),
    ]);
    const failed = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failed) throw failed.reason;
    let local: { sqs: SqsEmulator; queueUrls: LocalRuntime['queueUrls'] };
    [databaseUrl, dynamoEndpoint, issuer, local, sns] = results.map((result) => (result as PromiseFulfilledResult<unknown>).value) as [
      string,
      string,
      DevIssuer,
      { sqs: SqsEmulator; queueUrls: LocalRuntime['queueUrls'] },
      SnsEmulator,
    ];
    ({ sqs, queueUrls } = local);
  } catch (error) {
    await stopAll();
    throw error;
  }

  // The attachments bucket: each object created under a queue's `notifiedByUploadsUnder` goes to
  // that queue as the S3 event notification itself (the SQS message body, as S3 sends it).
  const notified = QUEUE_KEYS.flatMap((key) => {
    const prefix = (QUEUES[key] as QueueDefinition).notifiedByUploadsUnder;
    return prefix ? [{ prefix, queueUrl: queueUrls[key].url }] : [];
  });
  const notifier = createSqsClient({ AWS_REGION: REGION, SQS_ENDPOINT: sqs.endpoint });
  const onObjectCreated = async (notification: S3EventNotification) => {
    for (const { prefix, queueUrl } of notified) {
      const records = notification.Records.filter((record) => decodeS3Key(record.s3.object.key).startsWith(prefix));
      if (records.length === 0) continue;
      await notifier.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify({ ...notification, Records: records }) }));
    }
  };
  let s3: LocalS3;
  try {
    s3 = await timed(timings, 's3', async () => {
      try {
        return await startLocalS3({
          host: options.host,
          port: options.s3Port ?? 0,
          dataDir,
          region: REGION,
          credentials: LOCAL_S3_CREDENTIALS,
          buckets: [LOCAL_ATTACHMENTS_BUCKET],
          // The app uploads straight from the browser or the device, from any origin.
          corsOrigins: ['*'],
          onObjectCreated,
          log: options.emulator?.log ?? consoleLog(),
        });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
          throw new Error(`${(error as Error).message}: another process uses the port (set S3_PORT to another)`, { cause: error });
        }
        throw error;
      }
    });
  } catch (error) {
    notifier.destroy();
    await stopAll();
    throw error;
  }
  // Stopped before the local SQS (stops run together; a notification in flight may fail and is logged).
  stops.push(async () => {
    await s3.stop();
    notifier.destroy();
  });

  // The handlers' verifier reads the issuer's public keys from this file (aws-jwt-verify fetches over https only).
  const jwksFile = path.join(dataDir, DEV_JWKS_FILE);
  await writeFile(jwksFile, `${JSON.stringify(issuer.jwks, null, 2)}\n`);

  let emulator: Emulator;
  try {
    emulator = await timed(timings, 'emulator', () =>
      startEmulator({
        ...options.emulator,
        log: options.emulator?.log ?? consoleLog(),
        host: options.host,
        httpPort: options.httpPort,
        wsPort: options.wsPort,
        issuer,
        devRoutes: [devPushesRoute(() => sns.published())],
        sqs: {
          endpoint: sqs.endpoint,
          queueUrls: Object.fromEntries(QUEUE_KEYS.map((key) => [key, queueUrls[key].url])),
        },
      }),
    );
  } catch (error) {
    await stopAll();
    throw error;
  }

  // Set synchronously after the servers bound and before any request can be read (I/O comes after this continuation).
  const env: Record<string, string> = {
    // Locally: no EMF metrics on stdout and no X-Ray; warnings and errors only, unless asked.
    POWERTOOLS_METRICS_DISABLED: process.env.POWERTOOLS_METRICS_DISABLED ?? 'true',
    POWERTOOLS_TRACE_ENABLED: process.env.POWERTOOLS_TRACE_ENABLED ?? 'false',
    POWERTOOLS_LOG_LEVEL: process.env.POWERTOOLS_LOG_LEVEL ?? 'WARN',
    ...options.env,
    DATABASE_URL: databaseUrl,
    DYNAMODB_ENDPOINT: dynamoEndpoint,
    SQS_ENDPOINT: sqs.endpoint,
    // Attachments: the local S3, path-style, with the fixed local credentials (the S3 client uses them when S3_ENDPOINT is set).
    S3_ENDPOINT: s3.endpoint,
    ATTACHMENTS_BUCKET: LOCAL_ATTACHMENTS_BUCKET,
    // Push goes through the real SNS client to the local SNS, with one platform application per platform (development builds use APNs' sandbox).
    SNS_ENDPOINT: sns.endpoint,
    PUSH_APNS_APPLICATION_ARN: sns.platformApplication(LOCAL_PUSH_APPLICATION, 'APNS_SANDBOX'),
    PUSH_FCM_APPLICATION_ARN: sns.platformApplication(LOCAL_PUSH_APPLICATION, 'GCM'),
    ...Object.fromEntries(QUEUE_KEYS.map((key) => [QUEUES[key].urlSettingsKey, queueUrls[key].url])),
    // A consumer that dead-letters records itself (webhooks) is told where its dead-letter queue is.
    ...Object.fromEntries(
      QUEUE_KEYS.flatMap((key) => {
        const settingsKey = (QUEUES[key] as QueueDefinition).deadLetterUrlSettingsKey;
        return settingsKey ? [[settingsKey, queueUrls[key].deadLetterUrl]] : [];
      }),
    ),
    WEBSOCKET_CALLBACK_URL: emulator.callbackUrl,
    AUTH_ISSUER: issuer.issuer,
    AUTH_AUDIENCE: issuer.audience,
    AUTH_JWKS_URI: pathToFileURL(jwksFile).href,
    AWS_REGION: REGION,
    AWS_DEFAULT_REGION: REGION,
    // Dummy credentials: the local endpoints accept any, and real ones must never be used from here.
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    ...Object.fromEntries(TABLE_KEYS.map((key) => [TABLES[key].settingsKey, tableNames[key]])),
  };
  const cleared = ['AWS_SESSION_TOKEN', 'AWS_PROFILE'];
  const previous = Object.fromEntries([...Object.keys(env), ...cleared].map((name) => [name, process.env[name]]));
  for (const name of cleared) delete process.env[name];
  Object.assign(process.env, env);

  timings.total = Math.round(performance.now() - began);
  let stopped: Promise<void> | undefined;
  return {
    httpUrl: emulator.httpUrl,
    wsUrl: emulator.wsUrl,
    callbackUrl: emulator.callbackUrl,
    databaseUrl,
    dynamoEndpoint,
    sqsEndpoint: sqs.endpoint,
    sqs,
    s3Endpoint: s3.endpoint,
    s3,
    sns,
    queueUrls,
    dataDir,
    tableNames,
    issuer,
    emulator,
    env,
    timings,
    stop() {
      stopped ??= (async () => {
        try {
          await emulator.stop();
        } finally {
          await stopAll();
          for (const [name, value] of Object.entries(previous)) {
            if (value === undefined) delete process.env[name];
            else process.env[name] = value;
          }
        }
      })();
      return stopped;
    },
  };
}
