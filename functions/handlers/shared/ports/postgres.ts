/**
 * Port group: Postgres, through Prisma on node-postgres. Conversations, messages, the change log,
 * reports, search, statistics, the push registry and the attachments' records. Every handler whose route's `database` flag
 * is true (functions/config/routes.ts) imports it once: `import '#handlers/shared/ports/postgres';`.
 * It brings ports/queues.ts, since the changes a use case commits are published as events.
 *
 * The Prisma client is created on a function's first database call: locally from DATABASE_URL,
 * in AWS from the RDS Proxy host and the credentials in Secrets Manager. Prisma and the stores
 * are imported dynamically: they are in the bundle, but evaluated on that first call, not at
 * init, which keeps the function's import time down.
 */
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Settings } from '#config/settings';
import { UnavailableError } from '#core/errors';
import type { PrismaClient } from '#adapters/postgres/prisma-client';
import { deferred, once, providePorts } from '../container.ts';
import { tracer } from '../observability.ts';
import './queues.ts';

/** The Postgres URL: DATABASE_URL locally; in AWS, built from the RDS Proxy host and the Secrets Manager secret. */
export async function resolveDatabaseUrl(config: Settings, secrets?: () => SecretsManagerClient): Promise<string> {
  if (config.DATABASE_URL) return config.DATABASE_URL;
  if (!config.DATABASE_SECRET_ARN || !config.DATABASE_HOST) {
    throw new UnavailableError('No database is configured (DATABASE_URL, or DATABASE_HOST with DATABASE_SECRET_ARN)');
  }
  const { GetSecretValueCommand, SecretsManagerClient } = await import('@aws-sdk/client-secrets-manager');
  const client = secrets?.() ?? new SecretsManagerClient({ region: config.AWS_REGION });
  const { SecretString } = await client.send(new GetSecretValueCommand({ SecretId: config.DATABASE_SECRET_ARN }));
  const secret = JSON.parse(SecretString ?? '{}') as { username?: string; password?: string; port?: number; dbname?: string };
  if (!secret.username || !secret.password) throw new UnavailableError('The database secret has no username or password');
  const user = encodeURIComponent(secret.username);
  const password = encodeURIComponent(secret.password);
  const database = encodeURIComponent(secret.dbname ?? config.DATABASE_NAME);
  return `postgresql://${user}:${password}@${config.DATABASE_HOST}:${secret.port ?? 5432}/${database}?sslmode=require`;
}

providePorts({
  name: 'postgres',
  build(config) {
    const prisma = once(async () => {
      const { createPrismaClient } = await import('#adapters/postgres/prisma-client');
      const url = await resolveDatabaseUrl(config);
      const sqlTracer = tracer;
      return createPrismaClient(url, {
        poolSize: config.DATABASE_POOL_SIZE,
        connectTimeoutMs: config.DATABASE_CONNECT_TIMEOUT_MS,
        statementTimeoutMs: config.DATABASE_STATEMENT_TIMEOUT_MS,
        // Where tracing is on, each statement becomes a subsegment of the invocation's trace.
        ...(sqlTracer ? { onQuery: (query) => sqlTracer.recordSql(query, { url }) } : {}),
      });
    });
    /** A store over the Prisma client, made on its first call. */
    const over = <T extends object>(make: (client: PrismaClient) => Promise<T>): T => deferred(once(async () => make(await prisma())));
    return {
      prisma,
      ports: {
        conversations: over(async (client) => (await import('#adapters/postgres/conversation-store')).makeConversationStore({ prisma: client })),
        messages: over(async (client) => (await import('#adapters/postgres/message-store')).makeMessageStore({ prisma: client })),
        changes: over(async (client) => (await import('#adapters/postgres/change-log')).makeChangeLog({ prisma: client })),
        reports: over(async (client) => (await import('#adapters/postgres/report-store')).makeReportStore({ prisma: client })),
        search: over(async (client) => (await import('#adapters/postgres/message-search')).makeMessageSearch({ prisma: client })),
        statistics: over(async (client) => (await import('#adapters/postgres/provider-statistics')).makeProviderStatistics({ prisma: client })),
        pushRegistry: over(async (client) => (await import('#adapters/postgres/push-registry')).makePushRegistry({ prisma: client })),
        attachments: over(async (client) => (await import('#adapters/postgres/attachment-store')).makeAttachmentStore({ prisma: client })),
      },
    };
  },
});
