/**
 * The composition root: the real adapters, built once per Lambda container (and once per local
 * runtime process) and only when a handler first needs them. Handlers take what they need from
 * here and pass it to use cases as ports.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { settings, type Settings } from '#config/settings';
import { tableNamesFrom } from '#config/tables';
import { systemClock } from '#core/ports';
import { UnavailableError } from '#core/errors';
import type { UseCasePorts } from '#core/use-cases/compose';
import type { PrismaClient } from '#adapters/postgres/prisma-client';
import { createDocumentClient } from '#adapters/dynamodb/client';
import { makeConnectionStore } from '#adapters/dynamodb/connection-store';
import { makeSubscriptionStore } from '#adapters/dynamodb/subscription-store';
import { makePresenceStore } from '#adapters/dynamodb/presence-store';
import { makeTypingStore } from '#adapters/dynamodb/typing-store';
import { createManagementClient, makeBroadcaster } from '#adapters/apigateway/broadcaster';
import { makeJwtVerifier } from '#adapters/auth/jwt-verifier';
import { createSqsClient } from '#adapters/sqs/client';
import { makeEventPublisher, makeQueueSender, type QueueSender } from '#adapters/sqs/event-publisher';
import { createSnsClient, makeSnsPushSender } from '#adapters/sns/push-sender';
import { makeSqsWebhookQueue } from '#adapters/sqs/webhook-queue';
import { makeHttpWebhookSender } from '#adapters/webhooks/http-sender';
import { makeWebhookSecret } from '#adapters/webhooks/secret';
import { queueUrlsFrom, type QueueKey } from '#config/queues';
import type { EventForwarder } from '#core/events';
import { loggerPort, metricsPort, tracer } from './observability.ts';

/** The Postgres URL: DATABASE_URL locally; in AWS, built from the RDS Proxy host and the Secrets Manager secret. */
export async function resolveDatabaseUrl(config: Settings, secrets = () => new SecretsManagerClient({ region: config.AWS_REGION })): Promise<string> {
  if (config.DATABASE_URL) return config.DATABASE_URL;
  if (!config.DATABASE_SECRET_ARN || !config.DATABASE_HOST) {
    throw new UnavailableError('No database is configured (DATABASE_URL, or DATABASE_HOST with DATABASE_SECRET_ARN)');
  }
  const { SecretString } = await secrets().send(new GetSecretValueCommand({ SecretId: config.DATABASE_SECRET_ARN }));
  const secret = JSON.parse(SecretString ?? '{}') as { username?: string; password?: string; port?: number; dbname?: string };
  if (!secret.username || !secret.password) throw new UnavailableError('The database secret has no username or password');
  const user = encodeURIComponent(secret.username);
  const password = encodeURIComponent(secret.password);
  const database = encodeURIComponent(secret.dbname ?? config.DATABASE_NAME);
  return `postgresql://${user}:${password}@${config.DATABASE_HOST}:${secret.port ?? 5432}/${database}?sslmode=require`;
}

function once<T>(build: () => T): () => T {
  let value: T | undefined;
  let built = false;
  return () => {
    if (!built) {
      value = build();
      built = true;
    }
    return value as T;
  };
}

/**
 * A port whose adapter is built on first use: every method waits for it. Lets functions that
 * never touch Postgres skip resolving its credentials.
 */
function deferred<T extends object>(load: () => Promise<T>): T {
  return new Proxy({} as T, {
    get: (_target, method) => async (...args: unknown[]) => {
      const port = (await load()) as Record<PropertyKey, (...a: unknown[]) => unknown>;
      return port[method]!(...args);
    },
  });
}

/** Every port, made real, under the names the use cases take them by. */
export type Ports = UseCasePorts;

export interface Container {
  settings: Settings;
  /** The Prisma client (for readiness checks). */
  prisma(): Promise<PrismaClient>;
  ports: Ports;
}

export function buildContainer(config: Settings = settings()): Container {
  const clock = systemClock;
  const tables = tableNamesFrom(config);
  // X-Ray subsegments for every DynamoDB and @connections call (a no-op where tracing is off).
  const doc = tracer.captureAWSv3Client(
    createDocumentClient({
      endpoint: config.DYNAMODB_ENDPOINT,
      region: config.AWS_REGION,
      connectTimeoutMs: config.DYNAMODB_CONNECT_TIMEOUT_MS,
      requestTimeoutMs: config.DYNAMODB_REQUEST_TIMEOUT_MS,
      maxAttempts: config.DYNAMODB_MAX_ATTEMPTS,
    }),
  );
  // Prisma (most of a bundle: its query compiler is WebAssembly) is evaluated only when a
  // function first touches Postgres, so functions that never do start faster.
  const prisma = once(async () => {
    const { createPrismaClient } = await import('#adapters/postgres/prisma-client');
    return createPrismaClient(await resolveDatabaseUrl(config), {
      poolSize: config.DATABASE_POOL_SIZE,
      connectTimeoutMs: config.DATABASE_CONNECT_TIMEOUT_MS,
      statementTimeoutMs: config.DATABASE_STATEMENT_TIMEOUT_MS,
    });
  });
  const broadcaster = once(() => {
    if (!config.WEBSOCKET_CALLBACK_URL) throw new UnavailableError('WEBSOCKET_CALLBACK_URL is not configured');
    const client = tracer.captureAWSv3Client(createManagementClient(config.WEBSOCKET_CALLBACK_URL, config.AWS_REGION));
    return makeBroadcaster({ client, logger: loggerPort });
  });
  const events = once(() => {
    // Without a queue the change log still holds every change; the sweeper publishes once one is configured.
    if (!config.EVENTS_QUEUE_URL) throw new UnavailableError('EVENTS_QUEUE_URL is not configured');
    return makeEventPublisher({ client: sqs(), queueUrl: config.EVENTS_QUEUE_URL });
  });
  const sqs = once(() => tracer.captureAWSv3Client(createSqsClient(config)));
  const queueSenders = new Map<QueueKey, QueueSender>();
  const forwarder: EventForwarder = {
    forward(queue, forwarded) {
      let sender = queueSenders.get(queue);
      if (!sender) {
        const queueUrl = queueUrlsFrom(config)[queue];
        if (!queueUrl) throw new UnavailableError(`The ${queue} queue's URL is not configured`);
        sender = makeQueueSender({ client: sqs(), queueUrl });
        queueSenders.set(queue, sender);
      }
      return sender.send(forwarded.map((event) => ({ id: event.id, body: JSON.stringify(event) })));
    },
  };
  // Without a platform application a platform's devices are stored and nothing is sent to them.
  const pushSender = makeSnsPushSender({
    client: tracer.captureAWSv3Client(createSnsClient(config)),
    applications: { apns: config.PUSH_APNS_APPLICATION_ARN, fcm: config.PUSH_FCM_APPLICATION_ARN },
    logger: loggerPort,
  });
  const verifier = once(() => {
    if (!config.AUTH_ISSUER || !config.AUTH_AUDIENCE) throw new UnavailableError('AUTH_ISSUER and AUTH_AUDIENCE are not configured');
    return makeJwtVerifier({
      issuer: config.AUTH_ISSUER,
      // A comma-separated list accepts tokens for any of several app clients.
      audience: config.AUTH_AUDIENCE.split(',').map((audience) => audience.trim()).filter(Boolean),
      jwksUri: config.AUTH_JWKS_URI,
      claimNames: { userId: config.AUTH_CLAIM_USER_ID, role: config.AUTH_CLAIM_ROLE, providerId: config.AUTH_CLAIM_PROVIDER_ID },
      serviceScope: config.AUTH_SERVICE_SCOPE,
      logger: loggerPort,
    });
  });
  const webhookQueue = once(() => {
    if (!config.WEBHOOKS_QUEUE_URL || !config.WEBHOOKS_DEAD_LETTER_QUEUE_URL) {
      throw new UnavailableError('WEBHOOKS_QUEUE_URL and WEBHOOKS_DEAD_LETTER_QUEUE_URL are not configured');
    }
    return makeSqsWebhookQueue({ client: sqs(), queueUrl: config.WEBHOOKS_QUEUE_URL, deadLetterQueueUrl: config.WEBHOOKS_DEAD_LETTER_QUEUE_URL });
  });
  return {
    settings: config,
    prisma,
    ports: {
      limits: config,
      clock,
      conversations: deferred(async () => (await import('#adapters/postgres/conversation-store')).makeConversationStore({ prisma: await prisma() })),
      messages: deferred(async () => (await import('#adapters/postgres/message-store')).makeMessageStore({ prisma: await prisma() })),
      changes: deferred(async () => (await import('#adapters/postgres/change-log')).makeChangeLog({ prisma: await prisma() })),
      events: deferred(async () => events()),
      forwarder,
      reports: deferred(async () => (await import('#adapters/postgres/report-store')).makeReportStore({ prisma: await prisma() })),
      search: deferred(async () => (await import('#adapters/postgres/message-search')).makeMessageSearch({ prisma: await prisma() })),
      statistics: deferred(async () => (await import('#adapters/postgres/provider-statistics')).makeProviderStatistics({ prisma: await prisma() })),
      pushRegistry: deferred(async () => (await import('#adapters/postgres/push-registry')).makePushRegistry({ prisma: await prisma() })),
      pushSender,
      connections: makeConnectionStore({ doc, tableName: tables.connections, clock }),
      subscriptions: makeSubscriptionStore({ doc, tableName: tables.subscriptions, clock }),
      presence: makePresenceStore({ doc, tableName: tables.presence, ttlDays: config.CHAT_PRESENCE_TTL_DAYS }),
      typing: makeTypingStore({ doc, tableName: tables.typing }),
      broadcaster: deferred(async () => broadcaster()),
      verifier: deferred(async () => verifier()),
      metrics: metricsPort,
      logger: loggerPort,
      webhookSender: makeHttpWebhookSender({ timeoutMs: config.CHAT_WEBHOOK_TIMEOUT_MS }),
      webhookSecret: makeWebhookSecret(config),
      webhookQueue: deferred(async () => webhookQueue()),
    },
  };
}

export { metricsPort as metrics, loggerPort as log };

let current: Container | undefined;

/** This container's adapters, built on first use. */
export function container(): Container {
  current ??= buildContainer();
  return current;
}
